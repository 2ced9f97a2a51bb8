from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest

from anchoring.certificate import (
    CertificateError,
    build_behaviour_certificate,
    build_pledge_certificate,
    build_retirement_certificate,
    render_certificate,
    verify_certificate,
)
from anchoring.leaf import encode_leaf
from anchoring.merkle import leaf_hash
from anchoring.trust import trust_anchors_of
from ledger.application import TradeInstruction
from ledger.cli import main
from ledger.domain.holding import holding_id
from ledger.runtime import LedgerRuntime, Settings
from tests.anchoring.conftest import ANVIL_PRIVATE_KEY, CHAIN_KINDS, mine_blocks
from tests.ledger.projections.scenario import issue_batch, make_cast

RETIRE = {"beneficiary": "Shu's Group", "purpose": "compliance_offset",
          "jurisdiction": "Hubei", "consumption_period": "2023",
          "details": {"compliance_period": "2023"}}


def open_runtime(tmp_path: Path, kind: str, request: pytest.FixtureRequest,
                 confirmations: int = 0) -> LedgerRuntime:
    if kind == "in-process":
        return LedgerRuntime(Settings(data_dir=tmp_path / "ledger"))
    url = request.getfixturevalue("anvil_url")
    return LedgerRuntime(Settings(data_dir=tmp_path / "ledger", rpc_url=url,
                                  chain_key=ANVIL_PRIVATE_KEY, confirmations=confirmations))


@pytest.fixture(params=CHAIN_KINDS)
def world(tmp_path, request):
    runtime = open_runtime(tmp_path, request.param, request)
    ledger = runtime.ledger
    cast = make_cast(ledger)
    batch = issue_batch(ledger, cast, count=40)
    retirement = ledger.retire(actor=cast.platform, batch_id=batch, quantity=123_456, **RETIRE)
    other = ledger.retire(actor=cast.platform, batch_id=batch, quantity=1_000, **RETIRE)
    pledge = ledger.pledge(actor=cast.platform, batch_id=batch, holder=cast.platform,
                           bank=cast.bank, loan_reference="GL-1", quantity=50_000)
    runtime.sync()
    runtime.anchoring.anchor_now()
    yield {"runtime": runtime, "cast": cast, "batch": batch, "retirement": retirement,
           "other": other, "pledge": pledge, "kind": request.param}
    runtime.close()


def build(world, kind: str, record_id) -> dict:
    runtime = world["runtime"]
    builders = {"retirement": build_retirement_certificate, "pledge": build_pledge_certificate,
                "behaviour": build_behaviour_certificate}
    cert = builders[kind](runtime, runtime.anchoring.merkle_log, runtime.anchoring.anchorer,
                          record_id)
    return json.loads(json.dumps(cert))  # what a holder keeps is plain JSON


def failed(checks) -> list[str]:
    return [c.name for c in checks if not c.ok]


def verify(world, cert):
    """Verify against the world's chain and the trust anchors its operator publishes."""
    anchoring = world["runtime"].anchoring
    return verify_certificate(cert, anchoring.chain, trust_anchors_of(anchoring))


def cli_args(world, tmp_path, cert) -> list[str]:
    """``carbon-ledger verify`` of ``cert`` with the operator's trust anchors in a file."""
    runtime = world["runtime"]
    path = tmp_path / "cert.json"
    path.write_text(json.dumps(cert))
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(trust_anchors_of(runtime.anchoring).to_document()))
    args = ["--data-dir", str(runtime.settings.data_dir), "verify", str(path), "--trust",
            str(trust)]
    if world["kind"] == "json-rpc":
        args += ["--rpc-url", runtime.settings.rpc_url]
    return args


def test_retirement_certificate_verifies_against_the_chain(world):
    cert = build(world, "retirement", world["retirement"])
    checks = verify(world, cert)
    assert failed(checks) == []
    assert checks.verdict == "verified" and checks.exit_code == 0
    assert {c.name for c in checks} >= {"content: retirement", "chain: checkpoint",
                                        "chain: anchorer", "chain: anchoring transaction",
                                        "chain: checkpoint event", "chain: finality"}
    assert cert["record"]["quantity_g"] == 123_456
    assert cert["record"]["serial_ranges"] == [[1, 123_457]]
    assert "RETIREMENT CERTIFICATE" in render_certificate(cert, checks)


def test_pledge_certificate_verifies(world):
    cert = build(world, "pledge", world["pledge"])
    assert failed(verify(world, cert)) == []
    assert cert["record"]["bank"] == str(world["cast"].bank)


def test_holding_events_prove_a_closed_pledge_and_a_retirement_on_delivery(world):
    """Issue #17: pledges and listings live on holdings; an enforced pledge and a trade
    retired on delivery are proven by their holdings' events, against the chain."""
    runtime, cast, batch = world["runtime"], world["cast"], world["batch"]
    ledger = runtime.ledger
    ledger.enforce_pledge(actor=cast.bank, batch_id=batch, pledge_id=world["pledge"])
    ledger.grant_mandate(actor=cast.platform, agent=cast.exchange, scope="listing")
    ledger.list_for_sale(actor=cast.exchange, batch_id=batch, seller=cast.platform,
                         listing_ref="L-1", quantity=9_000)
    delivered = ledger.settle_trade(actor=cast.exchange, trade=TradeInstruction(
        trade_ref="T-1", listing_ref="L-1", batch_id=batch, seller=cast.platform,
        buyer=cast.holders[0], quantity=8_000, price_per_tonne="40", currency="CNY",
        retire_on_delivery=RETIRE)).retirement_id
    runtime.sync()
    runtime.anchoring.anchor_now()

    pledge = build(world, "pledge", world["pledge"])
    assert [(e["role"], e["topic"].rpartition(".")[2]) for e in pledge["events"]] == [
        ("issuance", "Issued"), ("pledge", "Pledged"), ("pledge_closed", "PledgeEnforced")]
    assert {e["originator_id"] for e in pledge["events"][1:]} == {
        str(holding_id(batch, cast.platform))}
    assert pledge["record"]["status"] == "enforced"
    assert failed(verify(world, pledge)) == []
    retirement = build(world, "retirement", delivered)
    event = next(e for e in retirement["events"] if e["role"] == "retirement")
    assert event["topic"] == "ledger.domain.holding:Holding.TradeSettled"
    assert retirement["record"]["holder"] == str(cast.holders[0])
    assert retirement["record"]["trade_ref"] == "T-1"
    checks = verify(world, retirement)
    assert failed(checks) == [] and checks.verdict == "verified"


def test_behaviour_certificate_proves_the_behaviour_is_in_its_batch(world):
    runtime = world["runtime"]
    behaviour = runtime.views.batch_behaviour_leaves(
        runtime.ledger.batch(world["batch"]).source["request"])[17]
    cert = build(world, "behaviour", behaviour["id"])
    checks = verify(world, cert)
    assert failed(checks) == []
    assert "content: behaviour in batch" in {c.name for c in checks}
    assert cert["behaviour_proof"]["leaf_index"] == 17
    assert cert["behaviour_proof"]["leaf_count"] == 40


def _reencode(cert: dict, role: str, change) -> None:
    """Change an event's stored bytes and make its leaf hash consistent with the change."""
    event = next(e for e in cert["events"] if e["role"] == role)
    data = json.loads(base64.b64decode(event["state_base64"]))
    change(data)
    state = json.dumps(data, separators=(",", ":")).encode()
    event["state_base64"] = base64.b64encode(state).decode()
    event["leaf_hash"] = leaf_hash(encode_leaf(event["position"], __import__("uuid").UUID(
        event["originator_id"]), event["originator_version"], event["topic"], state)).hex()


FORGERIES = {
    "inflated record": (lambda c, w: c["record"].update(quantity_g=999_999_999),
                        "record: quantity_g"),
    "other beneficiary": (lambda c, w: c["record"].update(beneficiary="Someone else"),
                          "record: beneficiary"),
    "altered proof hash": (lambda c, w: c["events"][1]["inclusion_proof"].__setitem__(
        0, "00" * 32), "retirement event (position {p}): inclusion"),
    "altered event bytes": (lambda c, w: _reencode(c, "retirement", lambda d: d.update(
        quantity=999)), "retirement event (position {p}): inclusion"),
    "wrong leaf index": (lambda c, w: c["events"][1].update(
        leaf_index=c["events"][1]["leaf_index"] - 1), "retirement event (position {p}): "
        "inclusion"),
    "forged root": (lambda c, w: c["anchor"].update(root="11" * 32), "chain: checkpoint"),
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_forged_certificates_are_rejected(world, forgery):
    cert = build(world, "retirement", world["retirement"])
    position = cert["events"][1]["position"]
    mutate, expected = FORGERIES[forgery]
    mutate(cert, world)
    names = failed(verify(world, cert))
    assert expected.format(p=position) in names


def test_a_genuine_proof_of_another_retirement_does_not_prove_this_one(world):
    cert = build(world, "retirement", world["retirement"])
    other = build(world, "retirement", world["other"])
    cert["events"][1] = other["events"][1]  # a real, anchored event of another retirement
    names = failed(verify(world, cert))
    assert names == ["record: retirement_id", "record: quantity_g", "record: serial_ranges",
                     "record: retired_at"]


def test_a_certificate_needs_a_final_anchor(tmp_path, request):
    runtime = open_runtime(tmp_path, "json-rpc", request, confirmations=2)
    try:
        cast = make_cast(runtime.ledger)
        batch = issue_batch(runtime.ledger, cast, count=5)
        retirement = runtime.ledger.retire(actor=cast.platform, batch_id=batch, quantity=10,
                                           **RETIRE)
        runtime.anchoring.anchor_now()
        anchoring = runtime.anchoring
        with pytest.raises(CertificateError, match="not yet in a final"):
            build_retirement_certificate(runtime, anchoring.merkle_log, anchoring.anchorer,
                                         retirement)
        mine_blocks(anchoring.chain, 2)
        anchoring.anchorer.refresh_confirmations()
        cert = build_retirement_certificate(runtime, anchoring.merkle_log, anchoring.anchorer,
                                            retirement)
        assert failed(verify_certificate(cert, anchoring.chain,
                                         trust_anchors_of(anchoring))) == []
    finally:
        runtime.close()


def test_cli_verify_passes_and_names_the_failing_check(world, tmp_path, capsys):
    cert = build(world, "retirement", world["retirement"])
    args = cli_args(world, tmp_path, cert)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "[PASS] chain: checkpoint" in out and "RESULT: VERIFIED" in out
    assert "beneficiary          Shu's Group  [verified]" in out
    cert["events"][1]["inclusion_proof"][0] = "00" * 32
    args = cli_args(world, tmp_path, cert)
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "[FAIL] retirement event" in captured.out
    assert "certificate verification failed: retirement event" in captured.err
    assert "[verified]" not in captured.out


def test_cli_verify_without_trust_anchors_is_not_a_success(world, tmp_path, capsys):
    """No trust anchors: the chain named by the certificate is not consulted, and the result
    is "not verified against a chain" (exit 3), never a pass."""
    cert = copy.deepcopy(build(world, "retirement", world["retirement"]))
    path = tmp_path / "cert.json"
    path.write_text(json.dumps(cert))
    args = ["--data-dir", str(world["runtime"].settings.data_dir), "verify", str(path)]
    if world["kind"] == "json-rpc":
        args += ["--rpc-url", world["runtime"].settings.rpc_url]
    assert main(args) == 3
    captured = capsys.readouterr()
    assert "RESULT: NOT VERIFIED AGAINST A CHAIN" in captured.out
    assert "[verified]" not in captured.out
    assert "not verified against a chain" in captured.err
    verification = verify_certificate(cert)
    assert verification.verdict == "not-verified-against-a-chain"
    assert verification.exit_code == 3 and not verification.ok
    assert verification.failed == [] and verification.undecided == ["trust anchors"]


def test_cli_verify_with_trust_anchors_but_no_chain_is_not_a_success(world, tmp_path, capsys):
    cert = build(world, "retirement", world["retirement"])
    args = cli_args(world, tmp_path, cert)
    args[1] = str(tmp_path / "elsewhere")  # --data-dir without an embedded chain
    args = [a for a in args if a != "--rpc-url" and a != world["runtime"].settings.rpc_url]
    assert main(args) == 3
    assert "[NOT CHECKED] chain: not verified against a chain" in capsys.readouterr().out
    anchoring = world["runtime"].anchoring
    verification = verify_certificate(cert, None, trust_anchors_of(anchoring))
    assert verification.undecided == ["chain"]
