"""Forged certificates, as an attacker would make them, are refused with the failing check named.

The attacker can write any JSON, deploy an ``AnchorRegistry`` of their own on the same chain
and anchor any root in it, build a Merkle tree of their own, and replay genuine transactions
and proofs of other records. The verifier trusts only the registry, chain and anchorer
accounts it chose (the operator's published trust anchors); everything in the certificate is
a claim. Each forgery is refused by :func:`verify_certificate` and by ``carbon-ledger verify``
(exit 1), naming the check that fails.
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3

from anchoring.certificate import (
    CERTIFICATE_FORMAT_V1,
    build_pledge_certificate,
    build_retirement_certificate,
    render_certificate,
    same_claim,
    verify_certificate,
)
from anchoring.leaf import encode_leaf
from anchoring.merkle import inclusion_proof, leaf_hash, root_from_leaf_hashes
from anchoring.trust import TrustAnchors, trust_anchors_of
from contracts import load_artifact
from ledger.cli import main
from ledger.runtime import LedgerRuntime, Settings
from tests.anchoring.conftest import ANVIL_PRIVATE_KEY, CHAIN_KINDS
from tests.anchoring.test_certificate import RETIRE, open_runtime
from tests.ledger.projections.scenario import issue_batch, make_cast

MALLORY = "Mallory Corp"


@contextmanager
def make_world(tmp_path: Path, kind: str, request: Any) -> Iterator[dict[str, Any]]:
    runtime = open_runtime(tmp_path, kind, request)
    ledger = runtime.ledger
    cast = make_cast(ledger)
    batch = issue_batch(ledger, cast, count=40)
    retirement = ledger.retire(actor=cast.platform, batch_id=batch, quantity=123_456, **RETIRE)
    pledge = ledger.pledge(actor=cast.bank, batch_id=batch, holder=cast.platform,
                           bank=cast.bank, loan_reference="GL-1", quantity=50_000)
    runtime.sync()
    runtime.anchoring.anchor_now()
    try:
        yield {"runtime": runtime, "cast": cast, "batch": batch, "retirement": retirement,
               "pledge": pledge, "kind": kind, "tmp": tmp_path}
    finally:
        runtime.close()


@pytest.fixture(params=CHAIN_KINDS)
def world(tmp_path, request):
    with make_world(tmp_path, request.param, request) as made:
        yield made


@pytest.fixture
def local_world(tmp_path, request):
    """The same world on the embedded chain only: for forgeries no chain read is needed for."""
    with make_world(tmp_path, "in-process", request) as made:
        yield made


def certificate(world: dict[str, Any], kind: str = "retirement") -> dict[str, Any]:
    runtime = world["runtime"]
    anchoring = runtime.anchoring
    build = build_retirement_certificate if kind == "retirement" else build_pledge_certificate
    cert = build(runtime, anchoring.merkle_log, anchoring.anchorer, world[kind])
    return json.loads(json.dumps(cert))  # what a holder keeps is plain JSON


def trust_of(world: dict[str, Any]) -> TrustAnchors:
    return trust_anchors_of(world["runtime"].anchoring)


def verify(world: dict[str, Any], cert: dict[str, Any]) -> Any:
    return verify_certificate(cert, world["runtime"].anchoring.chain, trust_of(world))


def run_cli(world: dict[str, Any], cert: dict[str, Any], capsys: Any,
            *extra: str) -> tuple[int, str, str]:
    """``carbon-ledger verify`` in a fresh chain client, with the published trust anchors."""
    runtime, tmp = world["runtime"], world["tmp"]
    path, trust = tmp / f"cert-{secrets.token_hex(4)}.json", tmp / "trust.json"
    path.write_text(json.dumps(cert))
    trust.write_text(json.dumps(trust_of(world).to_document()))
    args = ["--data-dir", str(runtime.settings.data_dir), "verify", str(path), "--trust",
            str(trust), *extra]
    if world["kind"] == "json-rpc":
        args += ["--rpc-url", runtime.settings.rpc_url]
    capsys.readouterr()
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_refused(world: dict[str, Any], cert: dict[str, Any], capsys: Any,
                   expected: set[str], cli_expected: set[str] | None = None) -> None:
    verification = verify(world, cert)
    assert verification.verdict == "refused", verification.checks
    assert verification.exit_code == 1
    assert expected <= set(verification.failed), verification.failed
    rendered = render_certificate(cert, verification)
    assert "RESULT: REFUSED" in rendered and "[verified]" not in rendered
    code, out, err = run_cli(world, cert, capsys)
    assert code == 1, out
    assert "[verified]" not in out
    for name in cli_expected if cli_expected is not None else expected:
        assert f"[FAIL] {name}:" in out
        assert name in err


# ------------------------------------------------------------------------- forging helpers


def reencode(cert: dict[str, Any], role: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Change an event's stored bytes and make its leaf hash consistent with the change."""
    event = next(e for e in cert["events"] if e["role"] == role)
    data = json.loads(base64.b64decode(event["state_base64"]))
    change(data)
    state = json.dumps(data, separators=(",", ":")).encode()
    event["state_base64"] = base64.b64encode(state).decode()
    event["leaf_hash"] = leaf_hash(encode_leaf(event["position"], UUID(event["originator_id"]),
                                               event["originator_version"], event["topic"],
                                               state)).hex()


def mallory_certificate(cert: dict[str, Any], tree_size: int | None = None) -> dict[str, Any]:
    """The retirement for Mallory Corp that never happened: the event rewritten, in a tree
    the attacker built (padded to ``tree_size`` leaves), every proof consistent with it."""
    forged = copy.deepcopy(cert)
    reencode(forged, "retirement", lambda d: d["details"].update(beneficiary=MALLORY))
    forged["record"]["beneficiary"] = MALLORY
    hashes = [bytes.fromhex(e["leaf_hash"]) for e in forged["events"]]
    hashes += [secrets.token_bytes(32) for _ in range((tree_size or len(hashes)) - len(hashes))]
    for i, event in enumerate(forged["events"]):
        event["leaf_index"] = i
        event["inclusion_proof"] = [p.hex() for p in inclusion_proof(hashes, i)]
    forged["anchor"].update(tree_size=len(hashes), root=root_from_leaf_hashes(hashes).hex())
    return forged


def chain_w3(world: dict[str, Any]) -> Any:
    chain = world["runtime"].anchoring.chain
    return getattr(chain, "_chain", chain)  # the embedded chain wraps an InProcessChain


def attacker_account(world: dict[str, Any]) -> tuple[Web3, str]:
    inner = chain_w3(world)
    w3 = inner.w3
    tester = getattr(inner, "tester", None)
    if tester is None:  # anvil: its second dev account (unlocked)
        return w3, w3.eth.accounts[1]
    account = tester.add_account("0x" + secrets.token_hex(32))
    funding = w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": account,
                                       "value": 10**20})
    w3.eth.wait_for_transaction_receipt(funding)
    return w3, account


def send(w3: Web3, function: Any, sender: str) -> Any:
    receipt = w3.eth.wait_for_transaction_receipt(
        function.transact({"from": sender, "gas": 3_000_000}))
    assert receipt["status"] == 1
    return receipt


def anchor_claims(receipt: Any, contract: Any) -> dict[str, Any]:
    [event] = contract.events.CheckpointAnchored().process_receipt(receipt)
    return {"contract_address": contract.address,
            "transaction": receipt["transactionHash"].to_0x_hex(),
            "block_number": int(receipt["blockNumber"]),
            "checkpoint_index": int(event["args"]["index"])}


def foreign_registry(world: dict[str, Any], tree_size: int, root: bytes) -> dict[str, Any]:
    """The attacker deploys an AnchorRegistry on the same chain and anchors a root in it."""
    w3, attacker = attacker_account(world)
    artifact = load_artifact("AnchorRegistry")
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    deployed = send(w3, factory.constructor(attacker), attacker)
    registry = w3.eth.contract(address=deployed["contractAddress"], abi=artifact["abi"])
    return anchor_claims(send(w3, registry.functions.anchor(tree_size, root), attacker),
                         registry)


# ------------------------------------------------------------------------- record fields

RETIREMENT_FIELDS: dict[str, Any] = {
    "holder": str(uuid4()), "vintage": 2019, "region": "Mallory Island",
    "methodology": "FAKE-METHOD v9", "registry": "XXCER",
    "retired_at": "2020-01-01T00:00:00.000000Z", "jurisdiction": "Nowhere",
    "consumption_period": "1999", "beneficiary": MALLORY, "purpose": "voluntary_offset",
    "quantity_g": 999_999_999, "serial_ranges": [[1, 999_999]],
    "details": {"compliance_period": "1999"}, "trade_ref": "T-1",
    "block": "HBCER-2024-999999", "batch_id": str(uuid4()), "retirement_id": str(uuid4()),
}
PLEDGE_FIELDS: dict[str, Any] = {
    "loan_reference": "GL-999", "pledged_at": "2020-01-01T00:00:00.000000Z",
    "status": "released", "holder": str(uuid4()), "bank": str(uuid4()),
    "quantity_g": 1, "serial_ranges": [[1, 2]], "pledge_id": str(uuid4()),
    "block": "HBCER-2024-999999", "batch_id": str(uuid4()),
}


@pytest.mark.parametrize(("kind", "name", "value"),
                         [("retirement", k, v) for k, v in RETIREMENT_FIELDS.items()]
                         + [("pledge", k, v) for k, v in PLEDGE_FIELDS.items()])
def test_a_changed_record_field_is_refused(local_world, capsys, kind, name, value):
    cert = certificate(local_world, kind)
    assert cert["record"][name] != value
    cert["record"][name] = value
    assert_refused(local_world, cert, capsys, {f"record: {name}"})


def test_a_retired_at_in_another_notation_of_the_same_instant_is_not_a_forgery(local_world):
    cert = certificate(local_world)
    cert["record"]["retired_at"] = cert["record"]["retired_at"].replace("Z", "+00:00")
    assert verify(local_world, cert).verdict == "verified"


def test_a_field_no_event_states_is_shown_unverified_not_verified(local_world, capsys):
    cert = certificate(local_world)
    cert["record"]["audited_by"] = "Big Four LLP"
    verification = verify(local_world, cert)
    assert verification.verdict == "verified"
    [field] = [f for f in verification.fields if f.name == "audited_by"]
    assert not field.proven
    code, out, _ = run_cli(local_world, cert, capsys)
    assert code == 0
    assert "Big Four LLP  [unverified]" in out
    assert "record: 17 fields match the proven events; unverified: audited_by" in out


def test_the_event_rewritten_to_say_what_the_record_says_breaks_its_proof(local_world, capsys):
    cert = certificate(local_world)
    reencode(cert, "retirement", lambda d: d["details"].update(beneficiary=MALLORY))
    cert["record"]["beneficiary"] = MALLORY
    position = cert["events"][1]["position"]
    assert_refused(local_world, cert, capsys, {f"retirement event (position {position}): "
                                               "inclusion"})


# ------------------------------------------------------------------------- proofs, root, size


def test_a_changed_inclusion_proof_is_refused(world, capsys):
    cert = certificate(world)
    cert["events"][0]["inclusion_proof"][-1] = "ab" * 32
    position = cert["events"][0]["position"]
    assert_refused(world, cert, capsys, {f"issuance event (position {position}): inclusion"})


def test_a_changed_root_is_refused(world, capsys):
    cert = certificate(world)
    cert["anchor"]["root"] = "11" * 32
    assert_refused(world, cert, capsys, {"chain: checkpoint event", "chain: checkpoint"})


@pytest.mark.parametrize("delta", [1, -1])
def test_a_changed_tree_size_is_refused(world, capsys, delta):
    cert = certificate(world)
    cert["anchor"]["tree_size"] += delta
    assert_refused(world, cert, capsys, {"chain: checkpoint event", "chain: checkpoint"})


def test_proofs_against_a_smaller_genuine_tree_do_not_match_the_anchored_size(world, capsys):
    """Proofs recomputed against the operator's own tree at another size, with its true root:
    the anchoring transaction anchored another size and root."""
    cert = certificate(world)
    merkle_log = world["runtime"].anchoring.merkle_log
    size = max(e["leaf_index"] for e in cert["events"]) + 1
    assert size < cert["anchor"]["tree_size"]
    for event in cert["events"]:
        event["inclusion_proof"] = [p.hex() for p in
                                    merkle_log.inclusion_proof(event["leaf_index"], size)]
    cert["anchor"].update(tree_size=size, root=merkle_log.root(size).hex())
    assert_refused(world, cert, capsys, {"chain: checkpoint event", "chain: checkpoint"})


# ------------------------------------------------------------------------- transaction, block


def test_an_unknown_transaction_is_refused(world, capsys):
    cert = certificate(world)
    cert["anchor"]["transaction"] = "0x" + "ab" * 32
    assert_refused(world, cert, capsys, {"chain: anchoring transaction"})


def test_another_genuine_anchoring_transaction_is_refused(world, capsys):
    cert = certificate(world)
    runtime = world["runtime"]
    runtime.ledger.retire(actor=world["cast"].platform, batch_id=world["batch"], quantity=7,
                          **RETIRE)
    later = runtime.anchoring.anchor_now().anchor
    cert["anchor"].update(transaction=later.tx_hash, block_number=later.block_number)
    assert_refused(world, cert, capsys, {"chain: checkpoint event", "chain: checkpoint"})


def test_a_changed_block_number_is_refused(world, capsys):
    cert = certificate(world)
    cert["anchor"]["block_number"] += 1
    assert_refused(world, cert, capsys, {"chain: anchoring transaction", "chain: checkpoint"})


def test_a_changed_checkpoint_index_is_refused(world, capsys):
    cert = certificate(world)
    cert["anchor"]["checkpoint_index"] += 1
    assert_refused(world, cert, capsys, {"chain: checkpoint event", "chain: checkpoint"})


@pytest.mark.parametrize("claim", ["chain_id", "contract_address"])
def test_a_certificate_naming_another_registry_or_chain_is_refused(world, capsys, claim):
    cert = certificate(world)
    cert["anchor"][claim] = 5 if claim == "chain_id" else Web3.to_checksum_address(
        "0x" + secrets.token_hex(20))
    assert_refused(world, cert, capsys, {"anchor: registry"})


# ------------------------------------------------------------------------- the attacker's chain


def test_mallory_in_her_own_registry_is_refused(world, capsys):
    """The reported attack: a retirement for Mallory Corp that never happened, in a tree the
    attacker built, anchored in a registry she deployed on the same chain. Before, the client
    read the registry named by the certificate, and everything passed."""
    forged = mallory_certificate(certificate(world))
    forged["anchor"].update(foreign_registry(world, forged["anchor"]["tree_size"],
                                             bytes.fromhex(forged["anchor"]["root"])))
    offline = verify_certificate(forged)  # every offline check holds: the tree is hers
    assert offline.failed == [] and offline.verdict == "not-verified-against-a-chain"
    expected = {"anchor: registry", "chain: anchoring transaction", "chain: checkpoint"}
    seen = expected | {"chain: anchorer", "chain: checkpoint event"}
    if world["kind"] == "json-rpc":  # the CLI reads the same node: her transaction is there
        assert_refused(world, forged, capsys, seen)
    else:  # a fresh embedded chain replays only the operator's anchors
        assert_refused(world, forged, capsys, seen, expected)


def test_mallory_naming_the_trusted_registry_with_her_transaction_is_refused(world, capsys):
    forged = mallory_certificate(certificate(world))
    claims = foreign_registry(world, forged["anchor"]["tree_size"],
                              bytes.fromhex(forged["anchor"]["root"]))
    claims["contract_address"] = trust_of(world).registry
    forged["anchor"].update(claims)
    verification = verify(world, forged)
    assert "anchor: registry" not in verification.failed
    assert {"chain: anchoring transaction", "chain: anchorer", "chain: checkpoint event",
            "chain: checkpoint"} <= set(verification.failed)
    assert_refused(world, forged, capsys, {"chain: anchoring transaction"})


def test_a_checkpoint_written_by_an_account_that_is_not_a_trusted_anchorer_is_refused(
        world, capsys):
    """The registry's admin granted ANCHORER_ROLE to another account, which anchored Mallory's
    root in the trusted registry itself: only the sender betrays it."""
    chain = chain_w3(world)
    registry = chain.contract
    w3, attacker = attacker_account(world)
    role = registry.functions.ANCHORER_ROLE().call()
    send(w3, registry.functions.grantRole(role, attacker), trust_of(world).anchorers[0])
    latest = registry.functions.latestCheckpoint().call()[0]
    forged = mallory_certificate(certificate(world), tree_size=latest + 100)
    receipt = send(w3, registry.functions.anchor(forged["anchor"]["tree_size"],
                                                 bytes.fromhex(forged["anchor"]["root"])),
                   attacker)
    forged["anchor"].update(anchor_claims(receipt, registry))
    verification = verify(world, forged)
    assert verification.failed == ["chain: anchorer"]
    if world["kind"] == "json-rpc":
        assert_refused(world, forged, capsys, {"chain: anchorer"})
    else:  # the operator's journal never saw it: a fresh embedded chain does not hold it
        assert_refused(world, forged, capsys, {"chain: anchorer"},
                       {"chain: anchoring transaction"})
    trusting_her = TrustAnchors.of(chain_id=trust_of(world).chain_id,
                                   registry=trust_of(world).registry,
                                   anchorers=[*trust_of(world).anchorers, attacker],
                                   confirmations=0)
    assert verify_certificate(forged, world["runtime"].anchoring.chain, trusting_her).ok


def test_an_offline_self_built_tree_is_never_a_success(world, capsys):
    """Offline, Mallory's self-built tree passes every offline check: the verdict is "not
    verified against a chain" (exit 3), and against the trusted registry it is refused."""
    forged = mallory_certificate(certificate(world))
    offline = verify_certificate(forged, None, trust_of(world))
    assert offline.failed == [] and offline.undecided == ["chain"]
    assert offline.verdict == "not-verified-against-a-chain" and offline.exit_code == 3
    rendered = render_certificate(forged, offline)
    assert "[verified]" not in rendered and "RESULT: NOT VERIFIED AGAINST A CHAIN" in rendered
    path = world["tmp"] / "mallory.json"
    path.write_text(json.dumps(forged))
    assert main(["--data-dir", str(world["tmp"] / "nowhere"), "verify", str(path)]) == 3
    assert "not verified against a chain" in capsys.readouterr().err
    # it still names the genuine anchoring transaction, which anchored another root and size
    assert_refused(world, forged, capsys, {"chain: checkpoint event", "chain: checkpoint"})


# ------------------------------------------------------------------------- finality


def test_an_anchor_without_k_confirmations_is_not_verified_yet(world, capsys):
    cert = certificate(world)
    trust = trust_of(world)
    strict = TrustAnchors.of(chain_id=trust.chain_id, registry=trust.registry,
                             anchorers=trust.anchorers, confirmations=5)
    chain = world["runtime"].anchoring.chain
    pending = verify_certificate(cert, chain, strict)
    assert pending.failed == [] and pending.undecided == ["chain: finality"]
    assert pending.exit_code == 3
    code, out, _ = run_cli(world, cert, capsys, "--confirmations", "5")
    assert code == 3 and "[NOT CHECKED] chain: finality" in out
    inner = chain_w3(world)
    if hasattr(inner, "mine_blocks"):
        inner.mine_blocks(5)
    else:
        inner.w3.provider.make_request("anvil_mine", [hex(5)])
    assert verify_certificate(cert, chain, strict).ok


# ------------------------------------------------------------------------- what can be proven


def test_a_pledge_released_after_the_checkpoint_is_the_limit_of_a_certificate(local_world,
                                                                              capsys):
    """A certificate proves the events it holds; it cannot prove that no later event exists.
    An old certificate still shows the pledge active (with the caveat); a new one proves the
    release; claiming a release without its event, or hiding one, is refused."""
    world = local_world
    runtime, cast = world["runtime"], world["cast"]
    before = certificate(world, "pledge")
    runtime.ledger.release_pledge(actor=cast.bank, batch_id=world["batch"],
                                  pledge_id=world["pledge"])
    runtime.sync()
    runtime.anchoring.anchor_now()
    after = certificate(world, "pledge")
    assert after["record"]["status"] == "released"
    assert [e["role"] for e in after["events"]] == ["issuance", "pledge", "pledge_closed"]
    assert verify(world, after).ok

    old = verify(world, before)
    assert old.ok
    [status] = [f for f in old.fields if f.name == "status"]
    assert status.proven and "not excluded" in status.caveat
    assert any("cannot prove the absence" in note for note in old.notes)
    code, out, _ = run_cli(world, before, capsys)
    assert code == 0 and "active  [verified: active when pledged" in out

    claimed = copy.deepcopy(before)
    claimed["record"]["status"] = "released"
    assert_refused(world, claimed, capsys, {"record: status"})
    hidden = copy.deepcopy(after)
    hidden["record"]["status"] = "active"
    assert_refused(world, hidden, capsys, {"record: status"})
    foreign = copy.deepcopy(after)
    foreign["events"][2] = copy.deepcopy(foreign["events"][1])  # not a closing event
    foreign["events"][2]["role"] = "pledge_closed"
    assert_refused(world, foreign, capsys, {"content: pledge closed"})


def test_a_corrected_vintage_is_proven_by_its_correction_event(local_world, capsys):
    world = local_world
    runtime = world["runtime"]
    runtime.ledger.correct_batch(actor=world["cast"].operator, batch_id=world["batch"],
                                 field="vintage", value=2023, reason="typo in the report")
    runtime.sync()
    runtime.anchoring.anchor_now()
    cert = certificate(world)
    assert cert["record"]["vintage"] == 2023
    assert [e["role"] for e in cert["events"]] == ["issuance", "retirement", "correction"]
    verification = verify(world, cert)
    assert verification.ok
    [vintage] = [f for f in verification.fields if f.name == "vintage"]
    assert "corrected by correction event" in vintage.source
    without = copy.deepcopy(cert)
    without["events"] = without["events"][:2]
    assert_refused(world, without, capsys, {"record: vintage"})
    moved = copy.deepcopy(cert)
    moved["events"][2] = copy.deepcopy(moved["events"][1])
    moved["events"][2]["role"] = "correction"
    position = moved["events"][2]["position"]
    assert_refused(world, moved, capsys, {f"content: correction (position {position})"})


# ------------------------------------------------------------------------- format v1


def as_v1(cert: dict[str, Any]) -> dict[str, Any]:
    """A certificate as format v1 built it: no corrections or closing events, and a pledge's
    status as ``status_when_built``."""
    old = copy.deepcopy(cert)
    old["format"] = CERTIFICATE_FORMAT_V1
    old["events"] = [e for e in old["events"] if e["role"] not in ("correction",
                                                                   "pledge_closed")]
    if "status" in old["record"]:
        old["record"]["status_when_built"] = old["record"].pop("status")
    return old


@pytest.mark.parametrize("kind", ["retirement", "pledge"])
def test_v1_certificates_still_verify_with_what_they_prove(local_world, capsys, kind):
    old = as_v1(certificate(local_world, kind))
    verification = verify(local_world, old)
    assert verification.ok, verification.failed
    unproven = {f.name for f in verification.fields if not f.proven}
    assert unproven == ({"status_when_built"} if kind == "pledge" else set())
    code, out, _ = run_cli(local_world, old, capsys)
    assert code == 0
    if kind == "pledge":
        assert "active  [unverified]" in out
    forged = copy.deepcopy(old)
    forged["record"]["quantity_g"] += 1
    assert_refused(local_world, forged, capsys, {"record: quantity_g"})


def test_a_v1_certificate_of_a_corrected_batch_shows_the_vintage_unverified(local_world):
    world = local_world
    runtime = world["runtime"]
    runtime.ledger.correct_batch(actor=world["cast"].operator, batch_id=world["batch"],
                                 field="region", value="Hubei", reason="wrong city")
    runtime.sync()
    runtime.anchoring.anchor_now()
    old = as_v1(certificate(world))
    verification = verify(world, old)
    assert verification.ok
    [region] = [f for f in verification.fields if f.name == "region"]
    assert not region.proven and not region.contradicted
    assert "v1" in region.source


# ------------------------------------------------------------------------- trust anchors


def test_trust_anchors_are_exported_by_the_cli_and_given_as_flags(world, capsys, monkeypatch):
    runtime = world["runtime"]
    if world["kind"] == "json-rpc":
        monkeypatch.setenv("CARBON_LEDGER_RPC_URL", runtime.settings.rpc_url)
        monkeypatch.setenv("CARBON_LEDGER_CHAIN_KEY", ANVIL_PRIVATE_KEY)
        monkeypatch.setenv("CARBON_LEDGER_CONFIRMATIONS", "0")
    out = world["tmp"] / "exported.json"
    assert main(["--data-dir", str(runtime.settings.data_dir), "trust-anchors", "-o",
                 str(out)]) == 0
    exported = json.loads(out.read_text())
    trust = trust_of(world)
    assert exported == trust.to_document()
    assert exported["anchorers"] == [runtime.anchoring.chain.anchorer_address]
    cert = certificate(world)
    path = world["tmp"] / "flags.json"
    path.write_text(json.dumps(cert))
    args = ["--data-dir", str(runtime.settings.data_dir), "verify", str(path), "--registry",
            trust.registry.lower(), "--chain-id", str(trust.chain_id), "--anchorer",
            trust.anchorers[0], "--confirmations", "0"]
    if world["kind"] == "json-rpc":
        args += ["--rpc-url", runtime.settings.rpc_url]
    capsys.readouterr()
    assert main(args) == 0
    stranger = Web3.to_checksum_address("0x" + secrets.token_hex(20))
    args[args.index("--anchorer") + 1] = stranger
    assert main(args) == 1
    assert "chain: anchorer" in capsys.readouterr().err


@pytest.mark.parametrize("document", [
    "not json", json.dumps({"format": "x"}),
    json.dumps({"format": "carbon-ledger/trust-anchors/v1", "chain_id": 1,
                "registry": "0x123", "anchorers": ["0x" + "11" * 20]}),
    json.dumps({"format": "carbon-ledger/trust-anchors/v1", "chain_id": 1,
                "registry": "0x" + "11" * 20, "anchorers": []}),
    json.dumps({"format": "carbon-ledger/trust-anchors/v1", "chain_id": True,
                "registry": "0x" + "11" * 20, "anchorers": ["0x" + "11" * 20]}),
])
def test_malformed_trust_anchors_are_an_input_error(tmp_path: Path, capsys, document):
    trust = tmp_path / "trust.json"
    trust.write_text(document)
    cert = tmp_path / "cert.json"
    cert.write_text("{}")
    assert main(["--data-dir", str(tmp_path), "verify", str(cert), "--trust",
                 str(trust)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("carbon-ledger: error [") and err.count("\n") == 1


def test_flags_without_a_complete_set_of_trust_anchors_are_an_input_error(tmp_path, capsys):
    cert = tmp_path / "cert.json"
    cert.write_text("{}")
    assert main(["--data-dir", str(tmp_path), "verify", str(cert), "--registry",
                 "0x" + "11" * 20]) == 2
    assert "invalid-trust-anchors" in capsys.readouterr().err


# ------------------------------------------------------------------------- properties


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    """Genuine retirement and pledge certificates (for offline properties: a refusal needs
    no chain)."""
    tmp = tmp_path_factory.mktemp("genuine")
    with make_world(tmp, "in-process", None) as made:
        yield {"retirement": certificate(made), "pledge": certificate(made, "pledge")}


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=6)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_change_to_any_bound_field_is_refused_naming_it(genuine, data):
    kind = data.draw(st.sampled_from(["retirement", "pledge"]))
    cert = copy.deepcopy(genuine[kind])
    name = data.draw(st.sampled_from(sorted(cert["record"])))
    value = data.draw(JSON_VALUES.filter(lambda v: not same_claim(name, v,
                                                                  cert["record"][name])))
    cert["record"][name] = value
    verification = verify_certificate(cert)
    assert verification.verdict == "refused"
    assert {f"record: {name}", "structure", "content: chain burn"} & set(verification.failed)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_flipped_bit_of_any_event_is_refused(genuine, data):
    cert = copy.deepcopy(genuine[data.draw(st.sampled_from(["retirement", "pledge"]))])
    event = data.draw(st.sampled_from(cert["events"]))
    state = bytearray(base64.b64decode(event["state_base64"]))
    bit = data.draw(st.integers(0, len(state) * 8 - 1))
    state[bit // 8] ^= 1 << (bit % 8)
    event["state_base64"] = base64.b64encode(bytes(state)).decode()
    if data.draw(st.booleans()):  # and the leaf hash made to match the new bytes
        event["leaf_hash"] = leaf_hash(encode_leaf(
            event["position"], UUID(event["originator_id"]), event["originator_version"],
            event["topic"], bytes(state))).hex()
    verification = verify_certificate(cert)
    assert verification.verdict == "refused"
    label = f"{event['role']} event (position {event['position']})"
    assert {f"{label}: leaf", f"{label}: inclusion"} & set(verification.failed)


def test_a_closed_pledge_is_proven_by_its_event_on_each_backend(backend, tmp_path):
    """The closing event is found in the event store (SQLite and PostgreSQL) past unrelated
    events, and an enforced pledge is proven enforced."""
    runtime = LedgerRuntime(Settings(data_dir=tmp_path / "ledger"))
    try:
        ledger = runtime.ledger
        cast = make_cast(ledger)
        batch = issue_batch(ledger, cast, count=5)
        pledges = [ledger.pledge(actor=cast.bank, batch_id=batch, holder=cast.platform,
                                 bank=cast.bank, loan_reference=f"GL-{i}", quantity=100)
                   for i in range(2)]
        for pledge in pledges:
            ledger.retire(actor=cast.platform, batch_id=batch, quantity=10, **RETIRE)
            ledger.enforce_pledge(actor=cast.bank, batch_id=batch, pledge_id=pledge)
        runtime.sync()
        runtime.anchoring.anchor_now()
        anchoring = runtime.anchoring
        cert = build_pledge_certificate(runtime, anchoring.merkle_log, anchoring.anchorer,
                                        pledges[0])
        closed = cert["events"][-1]
        assert closed["role"] == "pledge_closed" and closed["topic"].endswith("PledgeEnforced")
        assert json.loads(base64.b64decode(closed["state_base64"]))["pledge_id"] == str(
            pledges[0])
        verification = verify_certificate(json.loads(json.dumps(cert)), anchoring.chain,
                                          trust_anchors_of(anchoring))
        assert verification.ok and cert["record"]["status"] == "enforced"
    finally:
        runtime.close()
