"""The certificate pages in a real browser (Debian's chromium, driven by Playwright): a real
retirement verifies with every check passed; forged certificates fail visibly, naming the
check; the JSON-RPC URL and trust anchors are the reader's to change."""

from __future__ import annotations

import copy
import json
from typing import Any
from uuid import uuid4

import pytest

from anchoring.certificate import build_pledge_certificate, build_retirement_certificate

TIMEOUT_MS = 30_000


def verdict_of(page: Any) -> str:
    page.wait_for_selector("#verdict:not([data-verdict='pending'])", timeout=TIMEOUT_MS)
    return str(page.get_attribute("#verdict", "data-verdict"))


def results(page: Any) -> dict[str, str]:
    """Check name -> PASS / FAIL / NOT CHECKED, as the page shows them."""
    rows = page.query_selector_all("#checks tbody tr")
    return {str(row.get_attribute("data-check")): str(row.get_attribute("data-result"))
            for row in rows}


@pytest.fixture(scope="module")
def certificate(ledger_world: dict[str, Any]) -> dict[str, Any]:
    runtime = ledger_world["runtime"]
    anchoring = runtime.anchoring
    cert = build_retirement_certificate(runtime, anchoring.merkle_log, anchoring.anchorer,
                                        ledger_world["retirement"])
    return json.loads(json.dumps(cert))


def verify_file(page: Any, live_server: str, cert: dict[str, Any]) -> str:
    page.goto(f"{live_server}/explorer/certificates?lang=en")
    page.fill("#certificate-input", json.dumps(cert))
    page.click("#verify-button")
    return verdict_of(page)


def test_a_real_retirement_verifies_with_every_check_passed(page, live_server, ledger_world):
    page.goto(f"{live_server}/explorer/certificates/{ledger_world['retirement']}")
    assert verdict_of(page) == "verified"
    shown = results(page)
    assert set(shown.values()) == {"PASS"}
    assert {"format", "content: retirement", "record", "anchor: registry",
            "chain: anchoring transaction", "chain: anchorer", "chain: checkpoint event",
            "chain: checkpoint", "chain: finality"} <= set(shown)
    assert sum(name.endswith(": inclusion") for name in shown) == 2
    assert "VERIFIED" in page.inner_text("#verdict")
    # Every printed field is marked verified, in words.
    statuses = page.query_selector_all("#fields tbody tr")
    assert statuses and all(row.get_attribute("data-status") == "ok" for row in statuses)
    assert "Hubei Power Co." in page.inner_text("#fields")
    assert "Compliance offset" in page.inner_text("#fields")
    assert page.errors == []


def test_the_page_speaks_chinese(page, live_server, ledger_world):
    page.goto(f"{live_server}/explorer/certificates/{ledger_world['retirement']}?lang=zh")
    assert verdict_of(page) == "verified"
    assert "注销证明" in page.inner_text("h1")
    assert "已验证" in page.inner_text("#verdict")
    assert "配额清缴抵销" in page.inner_text("#fields")
    assert "通过" in page.inner_text("#checks")


def test_a_forged_beneficiary_fails_visibly(page, live_server, certificate):
    forged = copy.deepcopy(certificate)
    forged["record"]["beneficiary"] = "Somebody Else Ltd."
    assert verify_file(page, live_server, forged) == "refused"
    assert results(page)["record: beneficiary"] == "FAIL"
    verdict = page.inner_text("#verdict")
    assert "REFUSED" in verdict and "record: beneficiary" in verdict
    row = page.query_selector("#fields tr[data-field='beneficiary']")
    assert "MISMATCH" in row.inner_text()
    assert page.is_visible("#verdict")


def test_a_forged_proof_hash_fails_visibly(page, live_server, certificate):
    forged = copy.deepcopy(certificate)
    event = next(e for e in forged["events"] if e["role"] == "retirement")
    event["inclusion_proof"][0] = "ff" * 32
    assert verify_file(page, live_server, forged) == "refused"
    name = f"retirement event (position {event['position']}): inclusion"
    assert results(page)[name] == "FAIL"
    assert name in page.inner_text("#verdict")
    assert all(row.get_attribute("data-status") != "ok"
               for row in page.query_selector_all("#fields tbody tr"))


def test_a_certificate_pointing_at_another_registry_is_refused(page, live_server, certificate):
    forged = copy.deepcopy(certificate)
    forged["anchor"]["contract_address"] = "0x" + "42" * 20
    assert verify_file(page, live_server, forged) == "refused"
    assert results(page)["anchor: registry"] == "FAIL"
    assert "anchor: registry" in page.inner_text("#verdict")


def test_trust_anchors_naming_another_registry_refuse_a_genuine_certificate(
        page, live_server, ledger_world):
    """Where to verify is the reader's choice: with other trust anchors, the genuine
    certificate's registry and transaction are not trusted."""
    page.goto(f"{live_server}/explorer/certificates/{ledger_world['retirement']}")
    assert verdict_of(page) == "verified"
    trust = json.loads(page.input_value("#trust-anchors"))
    trust["registry"] = "0x" + "42" * 20
    page.click("details summary")
    page.fill("#trust-anchors", json.dumps(trust))
    page.click("#verify-button")
    assert verdict_of(page) == "refused"
    shown = results(page)
    assert shown["anchor: registry"] == "FAIL"
    assert shown["chain: anchoring transaction"] == "FAIL"
    assert shown["chain: checkpoint"] == "FAIL"


def test_an_unreachable_rpc_url_is_not_verified_against_a_chain(page, live_server,
                                                               ledger_world):
    page.goto(f"{live_server}/explorer/certificates/{ledger_world['retirement']}")
    assert verdict_of(page) == "verified"
    page.fill("#rpc-url", "http://127.0.0.1:9/")  # discard port: nothing listens
    page.click("#verify-button")
    assert verdict_of(page) == "not-verified-against-a-chain"
    shown = results(page)
    assert shown["chain"] == "NOT CHECKED"
    assert "FAIL" not in shown.values()
    verdict = page.inner_text("#verdict")
    assert "NOT VERIFIED AGAINST A CHAIN" in verdict and not verdict.startswith("VERIFIED")
    assert all(row.get_attribute("data-status") != "ok"
               for row in page.query_selector_all("#fields tbody tr"))
    # No URL at all: offline checks only, the same verdict.
    page.fill("#rpc-url", "")
    page.click("#verify-button")
    assert verdict_of(page) == "not-verified-against-a-chain"


def test_a_pledge_certificate_file_verifies(page, live_server, ledger_world):
    runtime = ledger_world["runtime"]
    anchoring = runtime.anchoring
    cert = build_pledge_certificate(runtime, anchoring.merkle_log, anchoring.anchorer,
                                    ledger_world["pledge"])
    assert verify_file(page, live_server, json.loads(json.dumps(cert))) == "verified"
    assert results(page)["content: pledge"] == "PASS"
    assert "GL-1" in page.inner_text("#fields")
    assert "50 kg" in page.inner_text("#fields")  # quantity_g 50000, shown as people read it
    assert "active when pledged" in page.inner_text("#notes")


def test_not_json_is_said_so(page, live_server):
    page.goto(f"{live_server}/explorer/certificates?lang=en")
    page.fill("#certificate-input", "{not json")
    page.click("#verify-button")
    assert page.is_visible("#certificate-error")
    assert "not JSON" in page.inner_text("#certificate-error")


def test_an_unknown_retirement_is_a_404_page(page, live_server):
    response = page.goto(f"{live_server}/explorer/certificates/{uuid4()}")
    assert response.status == 404
    assert "There is no retirement" in page.inner_text("#certificate-error")
