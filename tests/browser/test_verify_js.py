"""The browser verifier (api/explorer/static/verify.js) against the Python one, run by node.

Same vectors as tests/anchoring/test_leaf.py and test_merkle.py (SHA-256, leaf bytes and
hashes, RFC 9162 inclusion proofs and their tampered probes), and real certificates, genuine
and forged: every check's name and result, every field's status and the verdict must be the
ones ``anchoring.certificate.verify_certificate`` gives. No browser needed; skipped if node is
not installed.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from anchoring.certificate import (
    HOLDING_RETIRED_TOPIC,
    build_pledge_certificate,
    build_retirement_certificate,
    verify_certificate,
)
from anchoring.leaf import encode_leaf
from anchoring.merkle import inclusion_proof, leaf_hash, root_from_leaf_hashes, verify_inclusion
from anchoring.trust import trust_anchors_of
from api.explorer import STATIC_DIR
from ledger.domain.holding import NS_HOLDING, holding_id
from tests.anchoring.test_merkle import (
    CT_INCLUSION_PROOFS,
    CT_LEAF_HASHES,
    CT_LEAVES,
    CT_ROOTS,
    inclusion_probes,
)

NODE = shutil.which("node")
RUNNER = Path(__file__).with_name("verify_runner.mjs")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run_js(tasks: dict[str, Any]) -> dict[str, Any]:
    tasks = {"sha256": [], "leaves": [], "inclusion": [], "certificates": [], **tasks}
    done = subprocess.run([NODE, str(RUNNER), str(STATIC_DIR / "verify.js")],
                          input=json.dumps(tasks), capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _number(value: Any) -> Any:
    """Integers beyond JavaScript's safe range travel as strings (the verifier takes both)."""
    return str(value) if isinstance(value, int) and abs(value) > 2**53 else value


def test_sha256_and_leaf_vectors_match_python() -> None:
    messages = [b"", b"abc", b"a" * 55, b"a" * 56, b"a" * 64, b"a" * 1000, bytes(range(256))]
    originator = uuid.UUID("ffffffff-0000-4000-8000-123456789abc")
    leaves = [
        (1, uuid.UUID("01020304-0506-0708-090a-0b0c0d0e0f10"), 1, "t", b"{}"),
        (2**64 - 1, originator, 2**40 + 7, "ledger.domain:Événement", bytes(range(256)) * 3),
        (0, originator, 0, "", b""),
        (7, originator, 1, "topic", "状态".encode()),
    ]
    answers = run_js({
        "sha256": [m.hex() for m in messages],
        "leaves": [[_number(p), str(i), _number(v), t, s.hex()] for p, i, v, t, s in leaves],
    })
    assert answers["sha256"] == [hashlib.sha256(m).hexdigest() for m in messages]
    expected = [[encode_leaf(*leaf).hex(), leaf_hash(encode_leaf(*leaf)).hex()]
                for leaf in leaves]
    assert answers["leaves"] == expected
    # the documented example of anchoring/leaf.py
    assert answers["leaves"][0][1] == (
        "2ca8ca7367d22a07cd7da9f77acd66f83f11ccac181c18938a5adc2db3191b19")


# SHA-1 and UUIDv5 (the ids of holdings) are not in verify_runner.mjs: a runner of their own.
UUID5_RUNNER = """
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
const { sha1, uuid5, holdingId, NS_HOLDING, fromHex, toHex } =
  await import(pathToFileURL(process.argv[1]).href);
const tasks = JSON.parse(readFileSync(0, "utf-8"));
const attempt = (f) => { try { return f(); } catch (error) { return ["error", error.message]; } };
process.stdout.write(JSON.stringify({
  ns_holding: NS_HOLDING,
  sha1: tasks.sha1.map((hex) => toHex(sha1(fromHex(hex)))),
  uuid5: tasks.uuid5.map(([namespace, name]) => attempt(() => uuid5(namespace, name))),
  holding_id: tasks.holding_id.map(([batch, holder]) => holdingId(batch, holder)),
}));
"""


def test_sha1_and_uuid5_match_python() -> None:
    messages = [b"", b"abc", b"a" * 55, b"a" * 56, b"a" * 64, b"a" * 1000, bytes(range(256)) * 5]
    namespaces = [uuid.NAMESPACE_DNS, uuid.NAMESPACE_URL, NS_HOLDING,
                  uuid.UUID("ffffffff-ffff-ffff-ffff-ffffffffffff"), uuid.UUID(int=0)]
    names = ["", "python.org", "Événement/Übertrag", "状态/账户", "emoji 🌍/𝄞", "x" * 1000,
             f"{uuid.uuid4()}/{uuid.uuid4()}"]
    pairs = [(str(ns), name) for ns in namespaces for name in names]
    holdings = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(5)]
    tasks = {"sha1": [m.hex() for m in messages], "uuid5": pairs, "holding_id": holdings}
    done = subprocess.run([NODE, "--input-type=module", "-e", UUID5_RUNNER,
                           str(STATIC_DIR / "verify.js")],
                          input=json.dumps(tasks), capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)
    assert answers["sha1"] == [hashlib.sha1(m).hexdigest() for m in messages]
    assert answers["uuid5"] == [str(uuid.uuid5(uuid.UUID(ns), name)) for ns, name in pairs]
    assert answers["ns_holding"] == str(NS_HOLDING)
    assert answers["holding_id"] == [str(holding_id(b, h)) for b, h in holdings]


def test_uuid5_refuses_what_python_refuses() -> None:
    bad = [["not-a-uuid", "name"], [str(NS_HOLDING), "lone \ud800 surrogate"],
           [str(NS_HOLDING), 7]]
    done = subprocess.run([NODE, "--input-type=module", "-e", UUID5_RUNNER,
                           str(STATIC_DIR / "verify.js")],
                          input=json.dumps({"sha1": [], "uuid5": bad, "holding_id": []}),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert [a[0] for a in json.loads(done.stdout)["uuid5"]] == ["error"] * 3
    with pytest.raises(UnicodeEncodeError):
        uuid.uuid5(NS_HOLDING, "lone \ud800 surrogate")


def test_out_of_range_leaf_fields_are_refused_as_in_python() -> None:
    answers = run_js({"leaves": [[str(2**64), str(uuid.uuid4()), 1, "t", ""],
                                 [-1, str(uuid.uuid4()), 1, "t", ""],
                                 [1, "not-a-uuid", 1, "t", ""]]})
    assert [a[0] for a in answers["leaves"]] == ["error"] * 3


def _inclusion_cases() -> list[tuple[bytes, int, int, list[bytes], bytes]]:
    cases = []
    for index, size, proof in CT_INCLUSION_PROOFS:
        genuine = (CT_LEAF_HASHES[index], index, size, proof, CT_ROOTS[size - 1])
        cases.append(genuine)
        cases += [args for _, args in inclusion_probes(*genuine)]
    hashes = [leaf_hash(bytes([i])) for i in range(37)]
    for size in (1, 2, 3, 5, 8, 13, 21, 37):
        root = root_from_leaf_hashes(hashes[:size])
        for index in range(size):
            proof = inclusion_proof(hashes[:size], index)
            cases.append((hashes[index], index, size, proof, root))
            cases += [args for _, args in inclusion_probes(hashes[index], index, size, proof,
                                                           root)]
    return cases


def test_inclusion_proofs_and_tampered_probes_match_python() -> None:
    assert len(CT_LEAVES) == 8
    cases = _inclusion_cases()
    answers = run_js({"inclusion": [[leaf.hex(), _number(index), _number(size),
                                     [p.hex() for p in proof], root.hex()]
                                    for leaf, index, size, proof, root in cases]})
    expected = [verify_inclusion(*case) for case in cases]
    assert answers["inclusion"] == expected
    assert expected.count(True) >= 90 and expected.count(False) >= 900  # both sides exercised


def test_abi_constants_are_the_registry_abi() -> None:
    abi = run_js({})["abi"]
    assert abi == {
        "checkpoint": Web3.keccak(text="checkpoint(uint256)")[:4].to_0x_hex(),
        "rootOf": Web3.keccak(text="rootOf(uint64)")[:4].to_0x_hex(),
        "checkpointAnchored": Web3.keccak(
            text="CheckpointAnchored(uint256,uint64,bytes32,uint64)").to_0x_hex(),
    }


# ------------------------------------------------------------------------ real certificates


def _state(event: dict[str, Any], **changes: Any) -> None:
    data = json.loads(base64.b64decode(event["state_base64"]))
    data.update(changes)
    event["state_base64"] = base64.b64encode(json.dumps(data).encode()).decode()


def _role(cert: dict[str, Any], role: str) -> dict[str, Any]:
    return next(e for e in cert["events"] if e["role"] == role)


def _forgeries(retirement: dict[str, Any], pledge: dict[str, Any], enforced: dict[str, Any],
               delivered: dict[str, Any]) -> dict[str, dict[str, Any]]:
    other_holder = str(uuid.uuid4())

    def forged(base: dict[str, Any], change: Any) -> dict[str, Any]:
        cert = copy.deepcopy(base)
        change(cert)
        return cert

    def flip_proof(cert: dict[str, Any]) -> None:
        proof = _role(cert, "retirement")["inclusion_proof"]
        proof[0] = ("0" if proof[0][0] != "0" else "1") + proof[0][1:]

    return {
        "retirement": retirement,
        "pledge": pledge,
        "beneficiary": forged(retirement, lambda c: c["record"].update(beneficiary="Someone")),
        "quantity": forged(retirement, lambda c: c["record"].update(quantity_g=999_999)),
        "proof hash": forged(retirement, flip_proof),
        "leaf hash": forged(retirement, lambda c: _role(c, "retirement").update(
            leaf_hash="00" * 32)),
        "event state": forged(retirement, lambda c: _state(_role(c, "retirement"),
                                                           quantity=999_999)),
        "registry": forged(retirement, lambda c: c["anchor"].update(
            contract_address="0x" + "11" * 20)),
        "chain id": forged(retirement, lambda c: c["anchor"].update(chain_id=1)),
        "same instant": forged(retirement, lambda c: c["record"].update(
            retired_at=c["record"]["retired_at"].replace("Z", "+00:00"))),
        "other instant": forged(retirement, lambda c: c["record"].update(
            retired_at="2020-01-01T00:00:00Z")),
        "serials": forged(retirement, lambda c: c["record"].update(
            serial_ranges=[[1, 10**12]])),
        "two retirements": forged(retirement, lambda c: c["events"].append(
            copy.deepcopy(_role(c, "retirement")))),
        "no retirement": forged(retirement, lambda c: c.update(
            events=[e for e in c["events"] if e["role"] != "retirement"])),
        "unknown kind": forged(retirement, lambda c: c.update(kind="gift")),
        "format": forged(retirement, lambda c: c.update(format="carbon-ledger/certificate/v9")),
        "pledge status": forged(pledge, lambda c: c["record"].update(status="released")),
        "pledge bank": forged(pledge, lambda c: c["record"].update(bank=str(uuid.uuid4()))),
        "bad base64": forged(retirement, lambda c: _role(c, "issuance").update(
            state_base64="not base64!")),
        # Holding.Retired: the event must be of the holding of this batch and its holder
        "holding of another batch": forged(retirement, lambda c: _state(
            _role(c, "retirement"), batch=str(uuid.uuid4()))),
        "holding of another holder": forged(retirement, lambda c: (
            _state(_role(c, "retirement"), holder=other_holder),
            c["record"].update(holder=other_holder))),
        "holder not a string": forged(retirement, lambda c: _state(_role(c, "retirement"),
                                                                   holder=12345)),
        "holder not UTF-8": forged(retirement, lambda c: _state(_role(c, "retirement"),
                                                                holder="\ud800")),
        "holding event of the batch": forged(retirement, lambda c: _role(c, "retirement").update(
            originator_id=_role(c, "issuance")["originator_id"])),
        # Holding.Pledged and its closing event: of the holding of this batch and pledgor
        "enforced pledge": enforced,
        "pledge of another batch": forged(pledge, lambda c: _state(
            _role(c, "pledge"), batch=str(uuid.uuid4()))),
        "pledge of another holder": forged(pledge, lambda c: (
            _state(_role(c, "pledge"), holder=other_holder),
            c["record"].update(holder=other_holder))),
        "pledge holder not a string": forged(pledge, lambda c: _state(_role(c, "pledge"),
                                                                      holder=["x"])),
        "pledge event of the batch": forged(pledge, lambda c: _role(c, "pledge").update(
            originator_id=_role(c, "issuance")["originator_id"])),
        "pledge as a batch event": forged(pledge, lambda c: _role(c, "pledge").update(
            topic="ledger.domain.credit_batch:CreditBatch.Pledged")),
        "closed on another holding": forged(enforced, lambda c: _role(c, "pledge_closed").update(
            originator_id=str(uuid.uuid4()))),
        "closed by a batch event": forged(enforced, lambda c: _role(c, "pledge_closed").update(
            topic="ledger.domain.credit_batch:CreditBatch.PledgeEnforced")),
        "closed by a prototype key": forged(enforced, lambda c: _role(c, "pledge_closed").update(
            topic="constructor")),
        # Holding.TradeSettled retired on delivery: of the holding of this batch and seller
        "retired on delivery": delivered,
        "delivered from another batch": forged(delivered, lambda c: _state(
            _role(c, "retirement"), batch=str(uuid.uuid4()))),
        "delivered by another seller": forged(delivered, lambda c: _state(
            _role(c, "retirement"), seller=other_holder)),
        "delivered by the buyer's holding": forged(delivered, lambda c: _state(
            _role(c, "retirement"), seller=json.loads(base64.b64decode(
                _role(c, "retirement")["state_base64"]))["buyer"])),
        "delivered as a batch event": forged(delivered, lambda c: _role(c, "retirement").update(
            topic="ledger.domain.credit_batch:CreditBatch.TradeSettled")),
    }


@pytest.fixture(scope="module")
def certificates(ledger_world: dict[str, Any]) -> dict[str, Any]:
    runtime = ledger_world["runtime"]
    anchoring = runtime.anchoring
    retirement = build_retirement_certificate(runtime, anchoring.merkle_log, anchoring.anchorer,
                                              ledger_world["retirement"])
    pledge, enforced = (build_pledge_certificate(runtime, anchoring.merkle_log,
                                                 anchoring.anchorer, ledger_world[name])
                        for name in ("pledge", "enforced_pledge"))
    delivered = build_retirement_certificate(runtime, anchoring.merkle_log, anchoring.anchorer,
                                             ledger_world["retired_on_delivery"])
    return {"trust": trust_anchors_of(anchoring),
            "forgeries": _forgeries(*(json.loads(json.dumps(cert))
                                      for cert in (retirement, pledge, enforced, delivered)))}


def _python(cert: dict[str, Any], trust: Any) -> dict[str, Any]:
    result = verify_certificate(cert, None, trust)
    return {"checks": [[c.name, c.label] for c in result.checks],
            "fields": [[f.name, f.proven, f.contradicted, f.source] for f in result.fields],
            "notes": list(result.notes), "verdict": str(result.verdict)}


def test_certificates_get_the_same_checks_fields_and_verdicts(certificates) -> None:
    forgeries = certificates["forgeries"]
    trust = certificates["trust"]
    answers = run_js({"certificates": [{"certificate": cert, "trust": trust.to_document()}
                                       for cert in forgeries.values()]})["certificates"]
    for (name, cert), answer in zip(forgeries.items(), answers, strict=True):
        python = _python(cert, trust)
        js = {"checks": [c[:2] for c in answer["checks"]], "fields": answer["fields"],
              "notes": answer["notes"], "verdict": answer["verdict"]}
        assert js == python, name
    verdicts = {name: a["verdict"] for name, a in zip(forgeries, answers, strict=True)}
    # The retirement is a Holding's (issue #17): its originator is derived, not the batch.
    retired = _role(forgeries["retirement"], "retirement")
    assert retired["topic"] == HOLDING_RETIRED_TOPIC
    assert retired["originator_id"] != _role(forgeries["retirement"], "issuance")["originator_id"]
    for name in ("holding of another batch", "holding of another holder", "holder not a string",
                 "holding event of the batch"):
        checks = dict(c[:2] for c in answers[list(forgeries).index(name)]["checks"])
        assert checks["content: retirement"] == "FAIL", name
    # The pledges are their pledgor's holding's (issue #17), closed there too.
    for name, role in (("pledge", "pledge"), ("enforced pledge", "pledge_closed")):
        event = _role(forgeries[name], role)
        assert event["topic"].startswith("ledger.domain.holding:Holding.Pledge"), name
        assert event["originator_id"] != _role(forgeries[name], "issuance")["originator_id"]
    assert dict(c[:2] for c in answers[list(forgeries).index("enforced pledge")]["checks"])[
        "content: pledge closed"] == "PASS"
    for name, check in (("pledge of another batch", "content: pledge"),
                        ("pledge of another holder", "content: pledge"),
                        ("pledge holder not a string", "content: pledge"),
                        ("pledge event of the batch", "content: pledge"),
                        ("pledge as a batch event", "content: pledge"),
                        ("closed on another holding", "content: pledge closed"),
                        ("closed by a batch event", "content: pledge closed"),
                        ("closed by a prototype key", "content: pledge closed"),
                        ("delivered from another batch", "content: retirement"),
                        ("delivered by another seller", "content: retirement"),
                        ("delivered by the buyer's holding", "content: retirement"),
                        ("delivered as a batch event", "content: retirement")):
        checks = dict(c[:2] for c in answers[list(forgeries).index(name)]["checks"])
        assert checks[check] == "FAIL", name
    # Offline (no chain given), a genuine certificate is at best not verified against a chain.
    delivery = _role(forgeries["retired on delivery"], "retirement")
    assert delivery["topic"] == "ledger.domain.holding:Holding.TradeSettled"
    genuine = {"retirement", "pledge", "enforced pledge", "retired on delivery", "same instant"}
    assert {verdicts[name] for name in genuine} == {"not-verified-against-a-chain"}
    refused = set(forgeries) - genuine
    assert {verdicts[name] for name in refused} == {"refused"}


def test_details_of_leaf_and_proof_checks_are_pythons(certificates) -> None:
    cert = certificates["forgeries"]["proof hash"]
    answer = run_js({"certificates": [{"certificate": cert, "trust": None}]})["certificates"][0]
    python = verify_certificate(cert)
    same = {c.name: c.detail for c in python.checks
            if c.name.endswith((": leaf", ": inclusion")) or c.name.startswith("record")}
    assert same and {name: detail for name, _, detail in answer["checks"]
                     if name in same} == same
