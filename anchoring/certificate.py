"""Certificates that anyone can verify without trusting the ledger's operator.

A certificate is a JSON document (format ``carbon-ledger/certificate/v1``) holding:

- ``record``: what is certified (a retirement, a pledge, or a person's behaviour), as the
  public register shows it;
- ``events``: the stored events that prove it, each exactly as stored (``state_base64`` is
  the stored bytes), with its leaf index and RFC 9162 inclusion proof against ``anchor``;
- ``anchor``: the anchored checkpoint (tree size, root) and where it is on chain (chain id,
  registry contract, transaction, block);
- for behaviour-based batches, ``behaviour_proof``: a person's behaviour leaf and its
  inclusion proof against the batch's ``behaviours_root``.

:func:`verify_certificate` recomputes every leaf from the event bytes (see
:mod:`anchoring.leaf`), checks every proof against the anchored root, checks that the events
say what the record says, and, given a chain client, that the registry holds that root for
that tree size. Only the last step needs a network.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from anchoring.chain import ChainClient, ChainError
from anchoring.leaf import encode_leaf
from anchoring.log import MerkleLog
from anchoring.merkle import inclusion_proof as list_inclusion_proof
from anchoring.merkle import leaf_hash, verify_inclusion
from anchoring.service import Anchorer, AnchorRecord
from ledger.domain.behaviour import behaviour_leaf
from ledger.domain.errors import ConflictError
from ledger.domain.quantities import format_grams
from ledger.runtime import LedgerRuntime

__all__ = [
    "CERTIFICATE_FORMAT",
    "CertificateError",
    "Check",
    "build_behaviour_certificate",
    "build_pledge_certificate",
    "build_retirement_certificate",
    "render_certificate",
    "verify_certificate",
]

CERTIFICATE_FORMAT = "carbon-ledger/certificate/v1"
ISSUANCE_TOPICS = ("ledger.domain.credit_batch:CreditBatch.Issued",
                   "ledger.domain.credit_batch:CreditBatch.Imported")


class CertificateError(ConflictError):
    """A certificate cannot be built yet: the record's events are not in a final anchored
    checkpoint (or the record is unknown)."""

    code = "certificate-unavailable"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


# ---------------------------------------------------------------------------------- building


class _Builder:
    def __init__(self, runtime: LedgerRuntime, merkle_log: MerkleLog, anchorer: Anchorer) -> None:
        self.runtime = runtime
        self.merkle_log = merkle_log
        self.anchorer = anchorer

    def anchor_for(self, positions: Sequence[int]) -> AnchorRecord:
        self.merkle_log.catch_up()
        anchor = self.anchorer.anchored_checkpoint_covering(max(positions))
        if anchor is None:
            raise CertificateError(
                f"event {max(positions)} is not yet in a final anchored checkpoint; anchor "
                "and wait for confirmations first")
        return anchor

    def event(self, role: str, position: int, anchor: AnchorRecord) -> dict[str, Any]:
        notifications = self.runtime.ledger.recorder.select_notifications(start=position,
                                                                          limit=1)
        if not notifications or notifications[0].id != position:
            raise CertificateError(f"no stored event at position {position}")
        n = notifications[0]
        index = self.merkle_log.index_of(position)
        if index is None:
            raise CertificateError(f"event {position} is not in the Merkle log")
        leaf = encode_leaf(n.id, n.originator_id, n.originator_version, n.topic, n.state)
        proof = self.merkle_log.inclusion_proof(index, anchor.tree_size)
        return {
            "role": role,
            "position": n.id,
            "originator_id": str(n.originator_id),
            "originator_version": n.originator_version,
            "topic": n.topic,
            "state_base64": base64.b64encode(n.state).decode(),
            "leaf_index": index,
            "leaf_hash": leaf_hash(leaf).hex(),
            "inclusion_proof": [p.hex() for p in proof],
        }

    def document(self, kind: str, record: dict[str, Any],
                 roles_positions: list[tuple[str, int]],
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
        anchor = self.anchor_for([p for _, p in roles_positions])
        return {
            "format": CERTIFICATE_FORMAT,
            "kind": kind,
            "generated_at": datetime.now(UTC).isoformat(),
            "record": record,
            "events": [self.event(role, position, anchor) for role, position in roles_positions],
            "anchor": {
                "tree_size": anchor.tree_size,
                "root": anchor.root.hex(),
                "chain_id": anchor.chain_id,
                "contract_address": anchor.contract_address,
                "transaction": anchor.tx_hash,
                "block_number": anchor.block_number,
                "checkpoint_index": anchor.checkpoint_index,
                "confirmations_when_built": anchor.confirmations,
            },
            **(extra or {}),
        }

    def batch(self, batch_id: str) -> dict[str, Any]:
        batch = self.runtime.views.batch(batch_id)
        if batch is None:
            raise CertificateError(f"unknown batch {batch_id}")
        return batch


def build_retirement_certificate(runtime: LedgerRuntime, merkle_log: MerkleLog,
                                 anchorer: Anchorer, retirement_id: UUID | str) -> dict[str, Any]:
    """What an auditor keeps: the retirement, its batch's issuance, proofs and the anchor."""
    runtime.sync()
    builder = _Builder(runtime, merkle_log, anchorer)
    record = runtime.views.retirement(retirement_id)
    if record is None:
        raise CertificateError(f"unknown retirement {retirement_id}")
    batch = builder.batch(record["batch"])
    public = {
        "retirement_id": record["id"], "batch_id": record["batch"], "block": batch["block"],
        "registry": batch["registry"], "vintage": batch["vintage"],
        "methodology": batch["methodology_label"], "region": batch["region"],
        "holder": record["holder"], "quantity_g": int(record["quantity"]),
        "serial_ranges": record["ranges"], "beneficiary": record["beneficiary"],
        "purpose": record["purpose"], "details": record["details"],
        "jurisdiction": record["jurisdiction"],
        "consumption_period": record["consumption_period"],
        "retired_at": record["retired_at"], "trade_ref": record["trade_ref"],
    }
    return builder.document("retirement", public, [("issuance", int(batch["position"])),
                                                   ("retirement", int(record["position"]))])


def build_pledge_certificate(runtime: LedgerRuntime, merkle_log: MerkleLog, anchorer: Anchorer,
                             pledge_id: UUID | str) -> dict[str, Any]:
    """What a bank keeps: the pledge event, its batch's issuance, proofs and the anchor."""
    runtime.sync()
    builder = _Builder(runtime, merkle_log, anchorer)
    pledge = runtime.views.pledge(pledge_id)
    if pledge is None:
        raise CertificateError(f"unknown pledge {pledge_id}")
    batch = builder.batch(pledge["batch"])
    public = {
        "pledge_id": pledge["id"], "batch_id": pledge["batch"], "block": batch["block"],
        "holder": pledge["holder"], "bank": pledge["bank"],
        "loan_reference": pledge["loan_reference"], "quantity_g": int(pledge["quantity"]),
        "serial_ranges": pledge["ranges"], "status_when_built": pledge["status"],
        "pledged_at": pledge["pledged_at"],
    }
    return builder.document("pledge", public, [("issuance", int(batch["position"])),
                                               ("pledge", int(pledge["position"]))])


def build_behaviour_certificate(runtime: LedgerRuntime, merkle_log: MerkleLog,
                                anchorer: Anchorer, behaviour_id: UUID | str) -> dict[str, Any]:
    """What a person keeps: their behaviour event and, once issued, the proof that it is one
    of the leaves of its batch's ``behaviours_root``."""
    runtime.sync()
    builder = _Builder(runtime, merkle_log, anchorer)
    behaviour = runtime.views.behaviour(behaviour_id)
    if behaviour is None:
        raise CertificateError(f"unknown behaviour {behaviour_id}")
    public = {
        "behaviour_id": behaviour["id"], "account": behaviour["account"],
        "methodology": behaviour["methodology"], "occurred_at": behaviour["occurred_at"],
        "reduction_g": int(behaviour["reduction_g"]),
    }
    events = [("behaviour", int(behaviour["position"]))]
    extra: dict[str, Any] = {}
    request_id = behaviour["request_id"]
    batch = None
    if request_id is not None:
        request = runtime.views.issuance_request(request_id)
        if request is not None and request["batch"]:
            batch = builder.batch(request["batch"])
    if batch is not None:
        leaves = runtime.views.batch_behaviour_leaves(request_id)
        hashes = [leaf_hash(_leaf_of_row(row)) for row in leaves]
        index = next(i for i, row in enumerate(leaves) if row["id"] == behaviour["id"])
        events.append(("issuance", int(batch["position"])))
        public["batch_id"] = batch["id"]
        public["block"] = batch["block"]
        extra["behaviour_proof"] = {
            "leaf_index": index,
            "leaf_count": len(hashes),
            "inclusion_proof": [p.hex() for p in list_inclusion_proof(hashes, index)],
            "behaviours_root": batch["behaviours_root"],
        }
    return builder.document("behaviour", public, events, extra)


def _leaf_of_row(row: dict[str, Any]) -> bytes:
    occurred = datetime.fromisoformat(str(row["occurred_at"]).replace("Z", "+00:00"))
    return behaviour_leaf(row["id"], row["account"], int(row["reduction_g"]),
                          row["methodology"], occurred)


# ---------------------------------------------------------------------------------- verifying


def _event_data(event: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(event["state_base64"]))


def _datetime(value: Any) -> datetime:
    """A datetime as the event store's JSON transcoder writes it:
    ``{"_type_": "datetime_iso", "_data_": "2024-09-03T00:00:00+00:00"}``."""
    if isinstance(value, dict) and value.get("_type_") == "datetime_iso":
        value = value.get("_data_")
    return datetime.fromisoformat(str(value))


def _check_events(cert: dict[str, Any], checks: list[Check]) -> None:
    anchor = cert["anchor"]
    root = bytes.fromhex(anchor["root"])
    for event in cert["events"]:
        label = f"{event['role']} event (position {event['position']})"
        try:
            leaf = encode_leaf(int(event["position"]), UUID(event["originator_id"]),
                               int(event["originator_version"]), event["topic"],
                               base64.b64decode(event["state_base64"], validate=True))
            hashed = leaf_hash(leaf)
        except (ValueError, KeyError, TypeError) as error:
            checks.append(Check(f"{label}: leaf", False, f"cannot encode the event: {error}"))
            continue
        checks.append(Check(f"{label}: leaf", hashed.hex() == event["leaf_hash"],
                            "leaf hash recomputed from the stored event bytes"))
        proof = [bytes.fromhex(p) for p in event["inclusion_proof"]]
        included = verify_inclusion(hashed, int(event["leaf_index"]), int(anchor["tree_size"]),
                                    proof, root)
        checks.append(Check(f"{label}: inclusion", included,
                            f"leaf {event['leaf_index']} of the anchored tree of "
                            f"{anchor['tree_size']} events (RFC 9162 proof, {len(proof)} "
                            "hashes)"))


def _by_role(cert: dict[str, Any], role: str) -> dict[str, Any] | None:
    return next((e for e in cert["events"] if e["role"] == role), None)


def _within_block(ranges: list[list[int]], issued: dict[str, Any]) -> bool:
    start = int(issued["serial_start"])
    end = start + int(issued["quantity"])
    return all(start <= int(a) < int(b) <= end for a, b in ranges)


def _check_retirement(cert: dict[str, Any], checks: list[Check]) -> None:
    record = cert["record"]
    issuance, retirement = _by_role(cert, "issuance"), _by_role(cert, "retirement")
    if issuance is None or retirement is None:
        checks.append(Check("content", False, "the issuance or retirement event is missing"))
        return
    issued, retired = _event_data(issuance), _event_data(retirement)
    checks.append(Check("content: issuance", issuance["topic"] in ISSUANCE_TOPICS
                        and issuance["originator_id"] == record["batch_id"]
                        and issued.get("block") == record["block"],
                        f"batch {record['block']} was issued (event {issuance['topic']})"))
    topic = retirement["topic"].rsplit(".", 1)[-1]
    details = (retired.get("details") if topic in ("Retired", "TokensRetired")
               else retired.get("retirement"))
    same = (
        retirement["originator_id"] == record["batch_id"]
        and topic in ("Retired", "TradeSettled", "TokensRetired")
        and retired.get("retirement_id") == record["retirement_id"]
        and int(retired.get("quantity", -1)) == int(record["quantity_g"])
        and retired.get("ranges") == record["serial_ranges"]
        and isinstance(details, dict)
        and details.get("beneficiary") == record["beneficiary"]
        and details.get("purpose") == record["purpose"]
    )
    checks.append(Check("content: retirement", same,
                        f"{format_grams(int(record['quantity_g']))} retired for "
                        f"{record['beneficiary']} ({record['purpose']}), serials as recorded"))
    if topic == "TokensRetired":  # retired on chain by burning tokens (anchoring.bridge)
        chain = (record.get("details") or {}).get("chain") or {}
        checks.append(Check("content: chain burn",
                            chain.get("transaction") == retired.get("chain_reference")
                            and chain.get("burn_id") == retired.get("burn_id")
                            and chain.get("account") == retired.get("chain_account"),
                            f"retired by burning tokens of {retired.get('chain_account')} in "
                            f"transaction {retired.get('chain_reference')}"))
    checks.append(Check("content: serials", _within_block(record["serial_ranges"], issued),
                        "retired serials lie in the issued block"))


def _check_pledge(cert: dict[str, Any], checks: list[Check]) -> None:
    record = cert["record"]
    issuance, pledge = _by_role(cert, "issuance"), _by_role(cert, "pledge")
    if issuance is None or pledge is None:
        checks.append(Check("content", False, "the issuance or pledge event is missing"))
        return
    issued, pledged = _event_data(issuance), _event_data(pledge)
    same = (
        pledge["topic"].endswith("CreditBatch.Pledged")
        and pledge["originator_id"] == issuance["originator_id"] == record["batch_id"]
        and pledged.get("pledge_id") == record["pledge_id"]
        and pledged.get("bank") == record["bank"]
        and pledged.get("holder") == record["holder"]
        and int(pledged.get("quantity", -1)) == int(record["quantity_g"])
        and pledged.get("ranges") == record["serial_ranges"]
    )
    checks.append(Check("content: pledge", same,
                        f"{format_grams(int(record['quantity_g']))} pledged to bank "
                        f"{record['bank']} for loan {record['loan_reference']}"))
    checks.append(Check("content: serials", _within_block(record["serial_ranges"], issued),
                        "pledged serials lie in the issued block"))


def _check_behaviour(cert: dict[str, Any], checks: list[Check]) -> None:
    record = cert["record"]
    event = _by_role(cert, "behaviour")
    if event is None:
        checks.append(Check("content", False, "the behaviour event is missing"))
        return
    data = _event_data(event)
    checks.append(Check("content: behaviour", event["topic"].endswith("Behaviour.Reported")
                        and event["originator_id"] == record["behaviour_id"]
                        and data.get("account") == record["account"]
                        and int(data.get("reduction_g", -1)) == int(record["reduction_g"]),
                        f"{record['reduction_g']} g credited to account {record['account']}"))
    proof = cert.get("behaviour_proof")
    issuance = _by_role(cert, "issuance")
    if proof is None or issuance is None:
        return
    issued = _event_data(issuance)
    occurred = _datetime(data["occurred_at"])
    leaf = behaviour_leaf(record["behaviour_id"], data["account"], int(data["reduction_g"]),
                          data["methodology"], occurred)
    root = issued.get("behaviours_root") or ""
    ok = root == proof["behaviours_root"] and verify_inclusion(
        leaf_hash(leaf), int(proof["leaf_index"]), int(proof["leaf_count"]),
        [bytes.fromhex(p) for p in proof["inclusion_proof"]], bytes.fromhex(root))
    checks.append(Check("content: behaviour in batch", ok,
                        f"behaviour is leaf {proof['leaf_index']} of {proof['leaf_count']} under "
                        f"the behaviours root of batch {record.get('block')}"))


def _check_chain(cert: dict[str, Any], chain: ChainClient | None, checks: list[Check]) -> None:
    anchor = cert["anchor"]
    if chain is None:
        checks.append(Check("chain", True, "SKIPPED: no chain given (--rpc-url); the anchored "
                            "root was not read from the chain"))
        return
    if (chain.contract_address.lower() != str(anchor["contract_address"]).lower()
            or int(chain.chain_id) != int(anchor["chain_id"])):
        checks.append(Check("chain: registry", False,
                            f"the chain client reads {chain.contract_address} on chain "
                            f"{chain.chain_id}, the certificate names "
                            f"{anchor['contract_address']} on chain {anchor['chain_id']}"))
        return
    try:
        root = chain.root_of(int(anchor["tree_size"]))
        confirmations = chain.confirmations(anchor["transaction"])
    except ChainError as error:
        checks.append(Check("chain: anchor", False, f"could not read the chain: {error}"))
        return
    checks.append(Check("chain: anchor", root is not None and root.hex() == anchor["root"],
                        f"registry {anchor['contract_address']} holds root "
                        f"{anchor['root'][:16]}... for tree size {anchor['tree_size']} "
                        f"({confirmations} blocks mined on top of the anchor)"))


def verify_certificate(cert: dict[str, Any], chain: ChainClient | None = None) -> list[Check]:
    """Every check of a certificate, in order; the certificate is valid when all pass."""
    checks: list[Check] = []
    if not isinstance(cert, dict) or cert.get("format") != CERTIFICATE_FORMAT:
        return [Check("format", False, f"not a {CERTIFICATE_FORMAT} document")]
    checks.append(Check("format", True, CERTIFICATE_FORMAT))
    try:
        _check_events(cert, checks)
        kind = cert.get("kind")
        if kind == "retirement":
            _check_retirement(cert, checks)
        elif kind == "pledge":
            _check_pledge(cert, checks)
        elif kind == "behaviour":
            _check_behaviour(cert, checks)
        else:
            checks.append(Check("kind", False, f"unknown certificate kind {kind!r}"))
    except (KeyError, TypeError, ValueError) as error:
        checks.append(Check("structure", False, f"malformed certificate: {error!r}"))
        return checks
    _check_chain(cert, chain, checks)
    return checks


# ---------------------------------------------------------------------------------- rendering


def render_certificate(cert: dict[str, Any], checks: Sequence[Check] = ()) -> str:
    """A readable rendering of a certificate (and, if given, its verification)."""
    record, anchor = cert["record"], cert["anchor"]
    title = {"retirement": "RETIREMENT CERTIFICATE (注销证明)",
             "pledge": "PLEDGE CERTIFICATE (质押证明)",
             "behaviour": "LOW-CARBON BEHAVIOUR CERTIFICATE"}.get(cert["kind"], "CERTIFICATE")
    lines = [title, "=" * len(title)]
    for key, value in record.items():
        shown = format_grams(int(value)) if key.endswith("_g") and value is not None else value
        if key == "serial_ranges":
            shown = ", ".join(f"{a}-{int(b) - 1}" for a, b in value)
        lines.append(f"{key.replace('_', ' '):<20} {shown}")
    lines.append("")
    lines.append(f"anchored in tree of {anchor['tree_size']:,} events, root {anchor['root']}")
    lines.append(f"registry {anchor['contract_address']} on chain {anchor['chain_id']}, "
                 f"tx {anchor['transaction']} (block {anchor['block_number']})")
    for event in cert["events"]:
        lines.append(f"  {event['role']:<11} event {event['position']} "
                     f"({event['topic'].rsplit(':', 1)[-1]}), leaf {event['leaf_index']}, "
                     f"proof of {len(event['inclusion_proof'])} hashes")
    if checks:
        lines.append("")
        for check in checks:
            lines.append(f"[{'PASS' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
    return "\n".join(lines)
