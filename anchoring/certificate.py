"""Certificates that anyone can verify without trusting the ledger's operator.

A certificate is a JSON document (format ``carbon-ledger/certificate/v2``; ``v1`` documents
issued before still verify, see below) holding:

- ``record``: what is certified (a retirement, a pledge, or a person's behaviour), as the
  public register shows it;
- ``events``: the stored events that prove it, each exactly as stored (``state_base64`` is
  the stored bytes), with its leaf index and RFC 9162 inclusion proof against ``anchor``;
  besides the issuance and the retirement, pledge or behaviour event, v2 adds the batch's
  ``correction`` events (vintage and region may be corrected after issuance) and, for a
  pledge released or enforced, its ``pledge_closed`` event;
- ``anchor``: the anchored checkpoint (tree size, root) and where it is on chain (chain id,
  registry contract, transaction, block, checkpoint index). These are *claims*: the verifier
  checks them against the chain and against trust anchors it chose itself
  (:mod:`anchoring.trust`), never reads where to verify from them;
- for behaviour-based batches, ``behaviour_proof``: a person's behaviour leaf and its
  inclusion proof against the batch's ``behaviours_root``.

:func:`verify_certificate` recomputes every leaf from the event bytes (see
:mod:`anchoring.leaf`), checks every proof against the anchored root and tree size, derives
every printed field of the record from the proven events (a field no event binds is reported
*unverified*), and, given a chain client and trust anchors, reads the anchoring transaction:
its sender must be a trusted anchorer, its target the trusted registry, its
``CheckpointAnchored`` log must carry the certificate's tree size and root, the registry's
state must hold that checkpoint, and the block must have K confirmations. The result is a
:class:`Verification` with one of three verdicts: ``verified``, ``refused`` (a check failed)
or ``not-verified-against-a-chain`` (every offline check passed, but no chain and trust
anchors were given, the chain could not be read, or the anchor is not final yet).

What a certificate cannot prove: the absence of later events. A pledge shown active may have
been released after the checkpoint (or the release left out of the certificate); a
correction of the batch left out cannot be detected. See ``docs/ANCHORING.md``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from anchoring.chain import ChainClient, ChainError, ChainUnavailableError
from anchoring.leaf import encode_leaf
from anchoring.log import MerkleLog
from anchoring.merkle import inclusion_proof as list_inclusion_proof
from anchoring.merkle import leaf_hash, verify_inclusion
from anchoring.service import Anchorer, AnchorRecord
from anchoring.trust import TrustAnchors
from ledger.domain.behaviour import behaviour_leaf
from ledger.domain.errors import ConflictError
from ledger.domain.holding import holding_id
from ledger.domain.quantities import format_grams
from ledger.runtime import LedgerRuntime

__all__ = [
    "CERTIFICATE_FORMAT",
    "CERTIFICATE_FORMATS",
    "EXIT_CODES",
    "CertificateError",
    "Check",
    "ProvenField",
    "Verdict",
    "Verification",
    "build_behaviour_certificate",
    "build_pledge_certificate",
    "build_retirement_certificate",
    "render_certificate",
    "same_claim",
    "verify_certificate",
]

CERTIFICATE_FORMAT = "carbon-ledger/certificate/v2"
CERTIFICATE_FORMAT_V1 = "carbon-ledger/certificate/v1"
CERTIFICATE_FORMATS = (CERTIFICATE_FORMAT_V1, CERTIFICATE_FORMAT)
ISSUANCE_TOPICS = ("ledger.domain.credit_batch:CreditBatch.Issued",
                   "ledger.domain.credit_batch:CreditBatch.Imported")
CORRECTED_TOPIC = "ledger.domain.credit_batch:CreditBatch.Corrected"
PLEDGED_TOPIC = "ledger.domain.credit_batch:CreditBatch.Pledged"
HOLDING_PLEDGED_TOPIC = "ledger.domain.holding:Holding.Pledged"
PLEDGE_CLOSED_TOPICS = {"ledger.domain.credit_batch:CreditBatch.PledgeReleased": "released",
                        "ledger.domain.credit_batch:CreditBatch.PledgeEnforced": "enforced",
                        "ledger.domain.holding:Holding.PledgeReleased": "released",
                        "ledger.domain.holding:Holding.PledgeEnforced": "enforced"}
HOLDING_RETIRED_TOPIC = "ledger.domain.holding:Holding.Retired"
HOLDING_SETTLED_TOPIC = "ledger.domain.holding:Holding.TradeSettled"
RETIRED_TOPICS = ("ledger.domain.credit_batch:CreditBatch.Retired",
                  "ledger.domain.credit_batch:CreditBatch.TradeSettled",
                  "ledger.domain.credit_batch:CreditBatch.TokensRetired",
                  HOLDING_RETIRED_TOPIC, HOLDING_SETTLED_TOPIC)
_HOLDER_OF = {HOLDING_RETIRED_TOPIC: "holder", HOLDING_SETTLED_TOPIC: "seller"}
"""The field of a holding's retirement event naming the holding's account: the retiring
holder, or the seller whose listing was delivered retired."""
BEHAVIOUR_TOPIC = "ledger.domain.behaviour:Behaviour.Reported"
_RETIREMENT_TERMS = ("beneficiary", "purpose", "jurisdiction", "consumption_period")
_TIMES = frozenset({"retired_at", "pledged_at", "occurred_at"})
_SINGLE_ROLES = frozenset({"issuance", "retirement", "pledge", "pledge_closed", "behaviour"})
_NOTIFICATION_PAGE = 1000


class CertificateError(ConflictError):
    """A certificate cannot be built yet: the record's events are not in a final anchored
    checkpoint (or the record is unknown)."""

    code = "certificate-unavailable"


class Verdict(StrEnum):
    """The outcome of verifying a certificate."""

    VERIFIED = "verified"
    """Every check passed, against the trusted registry on chain, with K confirmations."""
    REFUSED = "refused"
    """A check failed: the certificate is forged, altered, or not anchored where trusted."""
    NOT_VERIFIED = "not-verified-against-a-chain"
    """Every offline check passed, but the anchor was not (or not yet) confirmed on chain."""


EXIT_CODES = {Verdict.VERIFIED: 0, Verdict.REFUSED: 1, Verdict.NOT_VERIFIED: 3}
"""``carbon-ledger verify`` exit status per verdict (2 is a usage or input error)."""


@dataclass(frozen=True)
class Check:
    """One check: ``ok`` it passed; ``undecided`` it could not be made (no chain, chain
    unreachable, anchor not final yet), which is neither a pass nor a failure."""

    name: str
    ok: bool
    detail: str
    undecided: bool = False

    @property
    def label(self) -> str:
        """``PASS``, ``FAIL`` or ``NOT CHECKED``."""
        return "NOT CHECKED" if self.undecided else "PASS" if self.ok else "FAIL"


@dataclass(frozen=True)
class ProvenField:
    """A field of the record: ``proven`` when an event proven in the tree says the same,
    with ``source`` naming that event; otherwise ``source`` says why it is unverified."""

    name: str
    value: Any
    proven: bool
    source: str
    contradicted: bool = False
    caveat: str = ""


@dataclass(frozen=True)
class Verification:
    """Every check of a certificate, its verdict and the status of each record field.

    Iterating yields the checks (in order), so ``[c for c in verification if not c.ok]`` are
    the checks that did not pass.
    """

    checks: tuple[Check, ...]
    fields: tuple[ProvenField, ...] = ()
    notes: tuple[str, ...] = ()
    verdict: Verdict = field(init=False)

    def __post_init__(self) -> None:
        """Derive the verdict: any failure refuses; else anything undecided is not verified."""
        if any(not c.ok and not c.undecided for c in self.checks):
            verdict = Verdict.REFUSED
        elif any(c.undecided for c in self.checks):
            verdict = Verdict.NOT_VERIFIED
        else:
            verdict = Verdict.VERIFIED
        object.__setattr__(self, "verdict", verdict)

    def __iter__(self) -> Iterator[Check]:
        """The checks, in order."""
        return iter(self.checks)

    @property
    def ok(self) -> bool:
        """Verified against the trusted registry on chain."""
        return self.verdict is Verdict.VERIFIED

    @property
    def failed(self) -> list[str]:
        """Names of the failed checks (not the undecided ones)."""
        return [c.name for c in self.checks if not c.ok and not c.undecided]

    @property
    def undecided(self) -> list[str]:
        """Names of the checks that could not be made."""
        return [c.name for c in self.checks if c.undecided]

    @property
    def exit_code(self) -> int:
        """``carbon-ledger verify``'s exit status for this verdict."""
        return EXIT_CODES[self.verdict]


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

    def corrections(self, batch_id: str) -> list[tuple[str, int]]:
        """The batch's corrections (vintage and region may be corrected after issuance)."""
        return [("correction", int(row["position"]))
                for row in self.runtime.views.corrections(batch_id)]

    def pledge_closed(self, pledge: dict[str, Any]) -> list[tuple[str, int]]:
        """The event that released or enforced a pledge the register shows closed."""
        if pledge["status"] == "active":
            return []
        recorder = self.runtime.ledger.recorder
        start = int(pledge["position"]) + 1
        originators = {pledge["batch"], str(holding_id(pledge["batch"], pledge["holder"]))}
        while True:
            page = recorder.select_notifications(start=start, limit=_NOTIFICATION_PAGE,
                                                 topics=tuple(PLEDGE_CLOSED_TOPICS))
            for n in page:
                if (str(n.originator_id) in originators
                        and json.loads(n.state).get("pledge_id") == pledge["id"]):
                    return [("pledge_closed", int(n.id))]
            if len(page) < _NOTIFICATION_PAGE:
                raise CertificateError(f"pledge {pledge['id']} is {pledge['status']} but no "
                                       "closing event was found")
            start = int(page[-1].id) + 1


def build_retirement_certificate(runtime: LedgerRuntime, merkle_log: MerkleLog,
                                 anchorer: Anchorer, retirement_id: UUID | str) -> dict[str, Any]:
    """What an auditor keeps: the retirement, its batch's issuance (and corrections), proofs
    and the anchor."""
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
    events = [("issuance", int(batch["position"])), ("retirement", int(record["position"])),
              *builder.corrections(batch["id"])]
    return builder.document("retirement", public, events)


def build_pledge_certificate(runtime: LedgerRuntime, merkle_log: MerkleLog, anchorer: Anchorer,
                             pledge_id: UUID | str) -> dict[str, Any]:
    """What a bank keeps: the pledge event, its batch's issuance, the release or enforcement
    if the pledge is closed, proofs and the anchor."""
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
        "serial_ranges": pledge["ranges"], "status": pledge["status"],
        "pledged_at": pledge["pledged_at"],
    }
    events = [("issuance", int(batch["position"])), ("pledge", int(pledge["position"])),
              *builder.pledge_closed(pledge)]
    return builder.document("pledge", public, events)


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
    data = json.loads(base64.b64decode(event["state_base64"], validate=True))
    if not isinstance(data, dict):
        raise ValueError(f"event {event['position']} does not hold a JSON object")
    return data


def _datetime(value: Any) -> datetime:
    """A datetime as the event store's JSON transcoder writes it
    (``{"_type_": "datetime_iso", "_data_": "2024-09-03T00:00:00+00:00"}``) or as the
    register shows it (``2024-09-03T00:00:00.000000Z``)."""
    if isinstance(value, dict) and value.get("_type_") == "datetime_iso":
        value = value.get("_data_")
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return moment


def same_claim(name: str, claimed: Any, proven: Any) -> bool:
    """Whether a claimed field value says what the proven value says: instants compare as
    instants (``...Z`` and ``...+00:00`` are the same), everything else as canonical JSON."""
    if name in _TIMES:
        try:
            return _datetime(claimed) == _datetime(proven)
        except (TypeError, ValueError):
            return False
    # Canonical JSON: 1 and True, or "1" and 1, are different claims.
    return json.dumps(claimed, sort_keys=True) == json.dumps(proven, sort_keys=True)


def _source(event: dict[str, Any]) -> str:
    return f"{event['role']} event {event['position']}"


class _Facts:
    """What the proven events say: field name -> (value, the event(s) saying it)."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[Any, str]] = {}
        self.caveats: dict[str, str] = {}
        self.notes: list[str] = []

    def bind(self, name: str, value: Any, source: str, caveat: str = "") -> None:
        self.values[name] = (value, source)
        if caveat:
            self.caveats[name] = caveat


def _check_events(cert: dict[str, Any], checks: list[Check]) -> None:
    anchor = cert["anchor"]
    root = bytes.fromhex(anchor["root"])
    tree_size = int(anchor["tree_size"])
    seen: set[str] = set()
    for event in cert["events"]:
        label = f"{event['role']} event (position {event['position']})"
        if event["role"] in _SINGLE_ROLES:
            if event["role"] in seen:
                checks.append(Check(f"{label}: role", False,
                                    f"more than one {event['role']} event"))
            seen.add(event["role"])
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
        included = verify_inclusion(hashed, int(event["leaf_index"]), tree_size, proof, root)
        checks.append(Check(f"{label}: inclusion", included,
                            f"leaf {event['leaf_index']} of the anchored tree of "
                            f"{tree_size} events (RFC 9162 proof, {len(proof)} hashes)"))


def _by_role(cert: dict[str, Any], role: str) -> dict[str, Any] | None:
    return next((e for e in cert["events"] if e["role"] == role), None)


def _within_block(ranges: Any, issued: dict[str, Any]) -> bool:
    start = int(issued["serial_start"])
    end = start + int(issued["quantity"])
    return isinstance(ranges, list) and all(
        isinstance(r, list) and len(r) == 2 and start <= int(r[0]) < int(r[1]) <= end
        for r in ranges)


def _bind_issuance(cert: dict[str, Any], issuance: dict[str, Any], facts: _Facts,
                   checks: list[Check]) -> dict[str, Any]:
    """The batch's issuance (and, for vintage and region, the corrections included)."""
    issued = _event_data(issuance)
    checks.append(Check("content: issuance", issuance["topic"] in ISSUANCE_TOPICS
                        and int(issuance["originator_version"]) == 1,
                        f"batch {issued.get('block')} was issued (event {issuance['topic']})"))
    source = _source(issuance)
    facts.bind("batch_id", issuance["originator_id"], source)
    for name, key in (("block", "block"), ("registry", "registry"), ("vintage", "vintage"),
                      ("methodology", "methodology_label"), ("region", "region")):
        facts.bind(name, issued.get(key), source)
    corrections = sorted((e for e in cert["events"] if e["role"] == "correction"),
                         key=lambda e: int(e["position"]))
    for event in corrections:
        data = _event_data(event)
        ok = (event["topic"] == CORRECTED_TOPIC
              and event["originator_id"] == issuance["originator_id"]
              and int(event["position"]) > int(issuance["position"]))
        checks.append(Check(f"content: correction (position {event['position']})", ok,
                            f"batch {issued.get('block')}: {data.get('field')} corrected to "
                            f"{data.get('value')!r}"))
        if ok and data.get("field") in ("vintage", "region"):
            name = str(data["field"])
            _, earlier = facts.values[name]
            facts.bind(name, data.get("value"), f"{earlier}, corrected by {_source(event)}")
    return issued


def _retired_from(retirement: dict[str, Any], retired: dict[str, Any],
                  issuance: dict[str, Any]) -> bool:
    """Whether the retirement event is of the issued batch: an event of the batch itself,
    or (``Holding.Retired`` and ``Holding.TradeSettled``, issue #17) of the holding of that
    batch and the retiring holder or the seller, whose id is derived from the two
    (:func:`ledger.domain.holding.holding_id`)."""
    batch = issuance["originator_id"]
    account = _HOLDER_OF.get(retirement["topic"])
    if account is None:
        return bool(retirement["originator_id"] == batch)
    holder = retired.get(account)
    return (retired.get("batch") == batch and isinstance(holder, str)
            and retirement["originator_id"] == str(holding_id(batch, holder)))


def _aggregate_class(event: dict[str, Any]) -> str:
    """The name of the aggregate class in an event's topic (``CreditBatch``, ``Holding``)."""
    return str(event["topic"]).rpartition(":")[2].partition(".")[0]


def _pledged_from(pledge: dict[str, Any], pledged: dict[str, Any],
                  issuance: dict[str, Any]) -> bool:
    """Whether the pledge event is of the issued batch: an event of the batch itself, or
    (``Holding.Pledged``, issue #17) of the holding of that batch and the pledgor."""
    batch = issuance["originator_id"]
    if pledge["topic"] == PLEDGED_TOPIC:
        return bool(pledge["originator_id"] == batch)
    holder = pledged.get("holder")
    return (pledge["topic"] == HOLDING_PLEDGED_TOPIC and pledged.get("batch") == batch
            and isinstance(holder, str)
            and pledge["originator_id"] == str(holding_id(batch, holder)))


def _check_retirement(cert: dict[str, Any], facts: _Facts, checks: list[Check]) -> None:
    issuance, retirement = _by_role(cert, "issuance"), _by_role(cert, "retirement")
    if issuance is None or retirement is None:
        checks.append(Check("content", False, "the issuance or retirement event is missing"))
        return
    issued = _bind_issuance(cert, issuance, facts, checks)
    if not any(e["role"] == "correction" for e in cert["events"]):
        facts.notes.append("vintage and region are as issued: no correction of the batch is "
                           "included, and a correction left out cannot be detected")
    retired = _event_data(retirement)
    topic = retirement["topic"]
    name = topic.rsplit(".", 1)[-1]
    details = retired.get("details") if name in ("Retired", "TokensRetired") else (
        retired.get("retirement"))
    checks.append(Check("content: retirement", topic in RETIRED_TOPICS
                        and _retired_from(retirement, retired, issuance)
                        and isinstance(retired.get("retirement_id"), str)
                        and isinstance(details, dict),
                        f"a retirement of batch {issued.get('block')} (event {name})"))
    if not isinstance(details, dict):
        return
    source = _source(retirement)
    facts.bind("retirement_id", retired.get("retirement_id"), source)
    facts.bind("holder", retired.get("buyer" if name == "TradeSettled" else "holder"), source)
    facts.bind("quantity_g", retired.get("quantity"), source)
    facts.bind("serial_ranges", retired.get("ranges"), source)
    for term in _RETIREMENT_TERMS:
        facts.bind(term, details.get(term), source)
    facts.bind("details", {k: v for k, v in details.items() if k not in _RETIREMENT_TERMS},
               source)
    facts.bind("retired_at", retired.get("timestamp"), source)
    facts.bind("trade_ref", retired.get("trade_ref") if name == "TradeSettled" else None,
               source)
    claimed_details = cert["record"].get("details")
    claimed_chain = claimed_details.get("chain") if isinstance(claimed_details, dict) else None
    if name == "TokensRetired" or claimed_chain is not None:
        burned = {"transaction": retired.get("chain_reference"),
                  "burn_id": retired.get("burn_id"), "account": retired.get("chain_account")}
        checks.append(Check("content: chain burn", name == "TokensRetired"
                            and same_claim("chain", claimed_chain, burned),
                            f"retired by burning tokens of {retired.get('chain_account')} in "
                            f"transaction {retired.get('chain_reference')}"))
    checks.append(Check("content: serials", _within_block(retired.get("ranges"), issued),
                        "retired serials lie in the issued block"))


def _check_pledge(cert: dict[str, Any], facts: _Facts, checks: list[Check]) -> None:
    issuance, pledge = _by_role(cert, "issuance"), _by_role(cert, "pledge")
    if issuance is None or pledge is None:
        checks.append(Check("content", False, "the issuance or pledge event is missing"))
        return
    issued = _bind_issuance(cert, issuance, facts, checks)
    pledged = _event_data(pledge)
    checks.append(Check("content: pledge", _pledged_from(pledge, pledged, issuance),
                        f"a pledge of batch {issued.get('block')} (event "
                        f"{pledge['topic'].rsplit('.', 1)[-1]})"))
    source = _source(pledge)
    for name, key in (("pledge_id", "pledge_id"), ("holder", "holder"), ("bank", "bank"),
                      ("loan_reference", "loan_reference"), ("quantity_g", "quantity"),
                      ("serial_ranges", "ranges"), ("pledged_at", "timestamp")):
        facts.bind(name, pledged.get(key), source)
    tree_size = int(cert["anchor"]["tree_size"])
    closed = _by_role(cert, "pledge_closed")
    if closed is None:
        facts.bind("status", "active", f"{source}; no release or enforcement included",
                   caveat=f"active when pledged (event {pledge['position']}); a later "
                   "release or enforcement is not excluded, see the note")
        facts.notes.append(
            f"pledge status: active when pledged (event {pledge['position']}) and no release "
            f"or enforcement is included in this certificate. A certificate cannot prove the "
            f"absence of an event: the pledge may have been released or enforced after it, or "
            f"before the checkpoint of {tree_size} events and left out. Ask the register, or "
            "for a newer certificate, to learn its status now.")
    else:
        data = _event_data(closed)
        status = PLEDGE_CLOSED_TOPICS.get(closed["topic"])
        # closed where it was made: on the batch, or on the pledgor's holding
        checks.append(Check("content: pledge closed", status is not None
                            and _aggregate_class(closed) == _aggregate_class(pledge)
                            and closed["originator_id"] == pledge["originator_id"]
                            and data.get("pledge_id") == pledged.get("pledge_id")
                            and int(closed["position"]) > int(pledge["position"]),
                            f"pledge {status or 'closed'} by event {closed['position']}"))
        facts.bind("status", status, _source(closed))
        facts.notes.append(f"pledge status: {status or 'unknown'} by event "
                           f"{closed['position']}, final (a released or enforced pledge cannot "
                           "change again)")
    checks.append(Check("content: serials", _within_block(pledged.get("ranges"), issued),
                        "pledged serials lie in the issued block"))


def _check_behaviour(cert: dict[str, Any], facts: _Facts, checks: list[Check]) -> None:
    record = cert["record"]
    event = _by_role(cert, "behaviour")
    if event is None:
        checks.append(Check("content", False, "the behaviour event is missing"))
        return
    data = _event_data(event)
    checks.append(Check("content: behaviour", event["topic"] == BEHAVIOUR_TOPIC
                        and int(event["originator_version"]) == 1,
                        f"a behaviour reported for account {data.get('account')}"))
    source = _source(event)
    facts.bind("behaviour_id", event["originator_id"], source)
    for name in ("account", "methodology", "occurred_at", "reduction_g"):
        facts.bind(name, data.get(name), source)
    proof = cert.get("behaviour_proof")
    issuance = _by_role(cert, "issuance")
    if proof is None or issuance is None:
        return
    issued = _event_data(issuance)
    checks.append(Check("content: issuance", issuance["topic"] in ISSUANCE_TOPICS
                        and int(issuance["originator_version"]) == 1,
                        f"batch {issued.get('block')} was issued (event {issuance['topic']})"))
    occurred = _datetime(data["occurred_at"])
    leaf = behaviour_leaf(event["originator_id"], data["account"], int(data["reduction_g"]),
                          data["methodology"], occurred)
    root = issued.get("behaviours_root") or ""
    ok = root == proof["behaviours_root"] and verify_inclusion(
        leaf_hash(leaf), int(proof["leaf_index"]), int(proof["leaf_count"]),
        [bytes.fromhex(p) for p in proof["inclusion_proof"]], bytes.fromhex(root))
    checks.append(Check("content: behaviour in batch", ok,
                        f"behaviour is leaf {proof['leaf_index']} of {proof['leaf_count']} under "
                        f"the behaviours root of batch {record.get('block')}"))
    if ok:
        via = f"{_source(issuance)} (behaviours root)"
        facts.bind("batch_id", issuance["originator_id"], via)
        facts.bind("block", issued.get("block"), via)


def _check_record(cert: dict[str, Any], facts: _Facts,
                  checks: list[Check]) -> list[ProvenField]:
    """Compare every field of the record with what the proven events say."""
    fields: list[ProvenField] = []
    mismatches = 0
    for name, claimed in cert["record"].items():
        if name not in facts.values:
            fields.append(ProvenField(name, claimed, False, "no proven event states it"))
            continue
        value, source = facts.values[name]
        if (cert["format"] == CERTIFICATE_FORMAT_V1 and name in ("vintage", "region")
                and not same_claim(name, claimed, value)):
            fields.append(ProvenField(name, claimed, False, f"the {source} says {value!r}; "
                                      "v1 certificates do not carry the batch's corrections"))
            continue
        if name == "details" and isinstance(claimed, dict):
            claimed = {k: v for k, v in claimed.items() if k != "chain"}  # content: chain burn
        if same_claim(name, claimed, value):
            fields.append(ProvenField(name, cert["record"][name], True, source,
                                      caveat=facts.caveats.get(name, "")))
        else:
            mismatches += 1
            checks.append(Check(f"record: {name}", False,
                                f"the certificate says {claimed!r}, the {source} says "
                                f"{value!r}"))
            fields.append(ProvenField(name, cert["record"][name], False,
                                      f"contradicted by the {source}", contradicted=True))
    if not mismatches:
        proven = [f.name for f in fields if f.proven]
        unproven = [f.name for f in fields if not f.proven]
        checks.append(Check("record", bool(proven),
                            f"{len(proven)} fields match the proven events"
                            + (f"; unverified: {', '.join(unproven)}" if unproven else "")))
    return fields


def _check_chain(cert: dict[str, Any], chain: ChainClient | None, trust: TrustAnchors | None,
                 checks: list[Check]) -> None:
    anchor = cert["anchor"]
    if trust is None:
        checks.append(Check("trust anchors", False, "none given (the registry, chain and "
                            "anchorer the verifier trusts): the certificate's own registry "
                            "address is a claim, not where to verify", undecided=True))
        return
    tree_size, root = int(anchor["tree_size"]), str(anchor["root"]).lower()
    index, block = int(anchor["checkpoint_index"]), int(anchor["block_number"])
    claimed_registry = str(anchor["contract_address"])
    checks.append(Check("anchor: registry", claimed_registry.lower() == trust.registry.lower()
                        and int(anchor["chain_id"]) == trust.chain_id,
                        f"the certificate names registry {claimed_registry} on chain "
                        f"{anchor['chain_id']}; trusted: {trust.registry} on chain "
                        f"{trust.chain_id}"))
    if chain is None:
        checks.append(Check("chain", False, "not verified against a chain: no chain given",
                            undecided=True))
        return
    if (int(chain.chain_id) != trust.chain_id
            or chain.contract_address.lower() != trust.registry.lower()):
        checks.append(Check("chain: network", False,
                            f"not verified against a chain: the chain client reads "
                            f"{chain.contract_address} on chain {chain.chain_id}, not the "
                            f"trusted registry {trust.registry} on chain {trust.chain_id}",
                            undecided=True))
        return
    try:
        tx = chain.anchor_transaction(str(anchor["transaction"]))
        try:
            stored = chain.checkpoint(index)
        except ChainError as error:  # AnchorRegistryUnknownCheckpoint
            if isinstance(error, ChainUnavailableError):
                raise
            stored = None
        stored_root = chain.root_of(tree_size)
    except ChainUnavailableError as error:
        checks.append(Check("chain", False, f"not verified against a chain: {error}",
                            undecided=True))
        return
    except ChainError as error:
        checks.append(Check("chain", False, f"could not read the chain: {error}"))
        return
    where = f"transaction {anchor['transaction']}"
    if tx is None:
        checks.append(Check("chain: anchoring transaction", False,
                            f"{where} is not mined on chain {trust.chain_id}"))
    else:
        checks.append(Check(
            "chain: anchoring transaction",
            tx.succeeded and tx.to is not None and tx.to.lower() == trust.registry.lower()
            and tx.block_number == block and tx.canonical,
            f"{where}: {'succeeded' if tx.succeeded else 'FAILED'}, sent to {tx.to}, mined in "
            f"block {tx.block_number} (certificate: {block})"
            + ("" if tx.canonical else ", no longer in the canonical chain")))
        checks.append(Check("chain: anchorer", trust.trusts_anchorer(tx.sender),
                            f"sent by {tx.sender}; trusted anchorers: "
                            f"{', '.join(trust.anchorers)}"))
        logs = [log for log in tx.logs if log.address.lower() == trust.registry.lower()]
        checks.append(Check(
            "chain: checkpoint event",
            len(logs) == 1 and logs[0].index == index and logs[0].tree_size == tree_size
            and logs[0].root.hex() == root,
            f"CheckpointAnchored by the trusted registry in {where}: "
            + (", ".join(f"checkpoint {log.index}, tree size {log.tree_size}, root "
                         f"{log.root.hex()[:16]}..." for log in logs) or "none")
            + f" (certificate: checkpoint {index}, tree size {tree_size}, root {root[:16]}...)"))
    checks.append(Check(
        "chain: checkpoint",
        stored is not None and stored.tree_size == tree_size and stored.root.hex() == root
        and stored.block_number == block and stored_root is not None
        and stored_root.hex() == root,
        f"the registry's checkpoint {index} "
        + (f"holds tree size {stored.tree_size}, root {stored.root.hex()[:16]}..., block "
           f"{stored.block_number}" if stored is not None else "does not exist")))
    if tx is not None:
        final = tx.confirmations >= trust.confirmations
        checks.append(Check("chain: finality", final,
                            f"{tx.confirmations} blocks mined on top of block "
                            f"{tx.block_number}; {trust.confirmations} required"
                            + ("" if final else ": not final yet, verify again later"),
                            undecided=not final))


def verify_certificate(cert: dict[str, Any], chain: ChainClient | None = None,
                       trust: TrustAnchors | None = None) -> Verification:
    """Every check of a certificate, the verdict and what each record field is bound to.

    ``trust`` names the chain, registry and anchorer accounts the verifier trusts (never read
    from the certificate); ``chain`` reads them. Without both, the best verdict is
    :attr:`Verdict.NOT_VERIFIED`.
    """
    checks: list[Check] = []
    if not isinstance(cert, dict) or cert.get("format") not in CERTIFICATE_FORMATS:
        return Verification((Check("format", False,
                                   f"not a {' or '.join(CERTIFICATE_FORMATS)} document"),))
    checks.append(Check("format", True, str(cert["format"])))
    facts = _Facts()
    fields: list[ProvenField] = []
    try:
        if not isinstance(cert.get("record"), dict) or not isinstance(cert.get("events"), list):
            raise ValueError("record must be an object and events a list")
        _check_events(cert, checks)
        kind = cert.get("kind")
        if kind == "retirement":
            _check_retirement(cert, facts, checks)
        elif kind == "pledge":
            _check_pledge(cert, facts, checks)
        elif kind == "behaviour":
            _check_behaviour(cert, facts, checks)
        else:
            checks.append(Check("kind", False, f"unknown certificate kind {kind!r}"))
        fields = _check_record(cert, facts, checks)
        _check_chain(cert, chain, trust, checks)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        checks.append(Check("structure", False, f"malformed certificate: {error!r}"))
    return Verification(tuple(checks), tuple(fields), tuple(facts.notes))


# ---------------------------------------------------------------------------------- rendering


def _shown(key: str, value: Any) -> str:
    if key.endswith("_g") and isinstance(value, int) and not isinstance(value, bool):
        return format_grams(value)
    if key == "serial_ranges" and isinstance(value, list):
        try:
            return ", ".join(f"{a}-{int(b) - 1}" for a, b in value)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def render_certificate(cert: dict[str, Any],
                       verification: Verification | Sequence[Check] = ()) -> str:
    """A readable rendering of a certificate and, if given, its verification: each field is
    marked ``verified`` only if an event proven in the tree states it *and* the certificate
    verified against the trusted registry on chain."""
    if not isinstance(verification, Verification):
        verification = Verification(tuple(verification)) if verification else None
    record, anchor = cert["record"], cert["anchor"]
    title = {"retirement": "RETIREMENT CERTIFICATE (注销证明)",
             "pledge": "PLEDGE CERTIFICATE (质押证明)",
             "behaviour": "LOW-CARBON BEHAVIOUR CERTIFICATE"}.get(cert["kind"], "CERTIFICATE")
    lines = [title, "=" * len(title)]
    verified = verification is not None and verification.ok
    status = {f.name: f for f in verification.fields} if verification is not None else {}
    for key, value in record.items():
        mark = ""
        if verification is not None:
            proven = status.get(key)
            if proven is not None and proven.contradicted:
                mark = f"  [MISMATCH: {proven.source}]"
            elif proven is not None and proven.proven and verified:
                mark = f"  [verified: {proven.caveat}]" if proven.caveat else "  [verified]"
            else:
                mark = "  [unverified]"
        lines.append(f"{key.replace('_', ' '):<20} {_shown(key, value)}{mark}")
    lines.append("")
    claim = "" if verification is None else "  [verified]" if verified else "  [claimed]"
    lines.append(f"anchored in tree of {anchor['tree_size']:,} events, root "
                 f"{anchor['root']}{claim}")
    lines.append(f"registry {anchor['contract_address']} on chain {anchor['chain_id']}, "
                 f"tx {anchor['transaction']} (block {anchor['block_number']}){claim}")
    for event in cert["events"]:
        lines.append(f"  {event['role']:<13} event {event['position']} "
                     f"({event['topic'].rsplit(':', 1)[-1]}), leaf {event['leaf_index']}, "
                     f"proof of {len(event['inclusion_proof'])} hashes")
    if verification is not None:
        lines.append("")
        for check in verification.checks:
            lines.append(f"[{check.label}] {check.name}: {check.detail}")
        for note in verification.notes:
            lines.append(f"NOTE: {note}")
        lines.append("")
        if verification.verdict is Verdict.VERIFIED:
            lines.append("RESULT: VERIFIED against the trusted registry on chain")
        elif verification.verdict is Verdict.REFUSED:
            lines.append(f"RESULT: REFUSED: {', '.join(verification.failed)}")
        else:
            lines.append("RESULT: NOT VERIFIED AGAINST A CHAIN "
                         f"({', '.join(verification.undecided)}); the fields above are not "
                         "proven")
    return "\n".join(lines)
