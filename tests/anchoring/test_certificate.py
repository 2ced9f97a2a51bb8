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
from ledger.cli import main
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


def test_retirement_certificate_verifies_against_the_chain(world):
    cert = build(world, "retirement", world["retirement"])
    checks = verify_certificate(cert, world["runtime"].anchoring.chain)
    assert failed(checks) == []
    assert {c.name for c in checks} >= {"content: retirement", "chain: anchor"}
    assert cert["record"]["quantity_g"] == 123_456
    assert cert["record"]["serial_ranges"] == [[1, 123_457]]
    assert "RETIREMENT CERTIFICATE" in render_certificate(cert, checks)


def test_pledge_certificate_verifies(world):
    cert = build(world, "pledge", world["pledge"])
    assert failed(verify_certificate(cert, world["runtime"].anchoring.chain)) == []
    assert cert["record"]["bank"] == str(world["cast"].bank)


def test_behaviour_certificate_proves_the_behaviour_is_in_its_batch(world):
    runtime = world["runtime"]
    behaviour = runtime.views.batch_behaviour_leaves(
        runtime.ledger.batch(world["batch"]).source["request"])[17]
    cert = build(world, "behaviour", behaviour["id"])
    checks = verify_certificate(cert, runtime.anchoring.chain)
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
                        "content: retirement"),
    "other beneficiary": (lambda c, w: c["record"].update(beneficiary="Someone else"),
                          "content: retirement"),
    "altered proof hash": (lambda c, w: c["events"][1]["inclusion_proof"].__setitem__(
        0, "00" * 32), "retirement event (position {p}): inclusion"),
    "altered event bytes": (lambda c, w: _reencode(c, "retirement", lambda d: d.update(
        quantity=999)), "retirement event (position {p}): inclusion"),
    "wrong leaf index": (lambda c, w: c["events"][1].update(
        leaf_index=c["events"][1]["leaf_index"] - 1), "retirement event (position {p}): "
        "inclusion"),
    "forged root": (lambda c, w: c["anchor"].update(root="11" * 32), "chain: anchor"),
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_forged_certificates_are_rejected(world, forgery):
    cert = build(world, "retirement", world["retirement"])
    position = cert["events"][1]["position"]
    mutate, expected = FORGERIES[forgery]
    mutate(cert, world)
    names = failed(verify_certificate(cert, world["runtime"].anchoring.chain))
    assert expected.format(p=position) in names


def test_a_genuine_proof_of_another_retirement_does_not_prove_this_one(world):
    cert = build(world, "retirement", world["retirement"])
    other = build(world, "retirement", world["other"])
    cert["events"][1] = other["events"][1]  # a real, anchored event of another retirement
    names = failed(verify_certificate(cert, world["runtime"].anchoring.chain))
    assert names == ["content: retirement"]


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
        assert failed(verify_certificate(cert, anchoring.chain)) == []
    finally:
        runtime.close()


def test_cli_verify_passes_and_names_the_failing_check(world, tmp_path, capsys):
    runtime = world["runtime"]
    cert = build(world, "retirement", world["retirement"])
    path = tmp_path / "cert.json"
    path.write_text(json.dumps(cert))
    args = ["--data-dir", str(runtime.settings.data_dir), "verify", str(path)]
    if world["kind"] == "json-rpc":
        args += ["--rpc-url", runtime.settings.rpc_url]
    assert main(args) == 0
    assert "[PASS] chain: anchor" in capsys.readouterr().out
    cert["events"][1]["inclusion_proof"][0] = "00" * 32
    path.write_text(json.dumps(cert))
    assert main(args) == 2
    captured = capsys.readouterr()
    assert "[FAIL] retirement event" in captured.out
    assert "certificate verification failed: retirement event" in captured.err


def test_cli_verify_without_any_chain_says_the_chain_was_not_consulted(world, tmp_path, capsys):
    cert = copy.deepcopy(build(world, "retirement", world["retirement"]))
    path = tmp_path / "cert.json"
    path.write_text(json.dumps(cert))
    assert main(["--data-dir", str(tmp_path / "elsewhere"), "verify", str(path)]) == 0
    assert "SKIPPED" in capsys.readouterr().out
