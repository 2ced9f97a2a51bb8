"""``carbon-ledger audit``: recompute the whole Merkle tree from the stored events.

The audit only reads. It opens the event store, the Merkle log, the anchor records and the
chain without creating, migrating, syncing or deploying anything (:func:`audit_ledger`), so
auditing a ledger leaves every database and file exactly as it was.

The tree is rebuilt from scratch, leaf by leaf, from the stored rows as they are now (read
raw, so a row that the ledger could not have written is reported, not a crash), and compared
with (1) the persisted Merkle log, leaf for leaf, and (2) every anchored root: each
checkpoint of the ledger's registry read from the chain (whichever host anchored it) and
each anchor recorded in ``merkle_anchors`` (for any registry). Any modified, deleted,
reordered or inserted event changes a leaf or shifts the leaves after it, so the recomputed
root at some anchored size differs, and the first differing leaf is named.

Every anchor recorded for the ledger's registry must also be on chain: its checkpoint in the
registry (same index, tree size, root and block) and its transaction mined in that block. An
anchor lost in a reorg or a rollback, or recorded for another registry, is reported.

:attr:`AuditReport.tampering` lists evidence that the stored history differs from what was
logged or anchored; :attr:`AuditReport.anchoring` lists anchors that cannot be verified on
chain (missing, on another registry, chain unreachable). Either makes the audit fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from sqlalchemy import Engine, select

from anchoring.chain import AnchorRejectedError, ChainClient, ChainError, Checkpoint
from anchoring.leaf import encode_leaf
from anchoring.log import (
    MerkleLog,
    _read_postgres_recorder,
    _read_sqlite_recorder,
    _read_with_select_notifications,
)
from anchoring.merkle import CompactTree, leaf_hash
from anchoring.registry import RecordedRegistry, recorded_registry
from anchoring.service import AnchorRecord, _to_record, merkle_anchors

if TYPE_CHECKING:
    from ledger.runtime import Settings

__all__ = ["AuditReport", "audit", "audit_ledger"]

PAGE = 10_000
_UNREADABLE = b"carbon-ledger/audit/unreadable-row\n"


@dataclass
class AuditReport:
    events: int = 0
    logged_leaves: int = 0
    checkpoints_checked: int = 0
    anchors_checked: int = 0
    tampering: list[str] = field(default_factory=list)
    anchoring: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Every problem found: tampering first, then anchoring."""
        return self.tampering + self.anchoring

    @property
    def ok(self) -> bool:
        return not self.tampering and not self.anchoring


Read = Callable[[int, int], Sequence[tuple[Any, ...]]]


def _raw_reader(recorder: object) -> Read:
    """The event rows exactly as stored (no mapping, no UUID parsing by the recorder)."""
    if isinstance(recorder, SQLiteApplicationRecorder):
        return _read_sqlite_recorder(recorder)
    if isinstance(recorder, PostgresApplicationRecorder):
        return _read_postgres_recorder(recorder)
    return _read_with_select_notifications(recorder)  # type: ignore[arg-type]


def _leaf_of(row: tuple[Any, ...], report: AuditReport) -> bytes:
    position, originator_id, version, topic, state = row
    try:
        if isinstance(originator_id, str):
            originator_id = UUID(originator_id)
        if isinstance(state, memoryview):
            state = bytes(state)
        return encode_leaf(position, originator_id, version, topic, state)
    except (ValueError, TypeError) as error:  # LeafEncodingError is a ValueError
        report.tampering.append(
            f"stored event at position {position} is not an event the ledger writes "
            f"({error})")
        return _UNREADABLE + repr(row).encode()


def _stored_leaf_hashes(recorder: object, report: AuditReport) -> Iterator[tuple[int, bytes]]:
    read = _raw_reader(recorder)
    position = 0
    while True:
        page = read(position, PAGE)
        if not page:
            return
        for row in page:
            yield int(row[0]), leaf_hash(_leaf_of(row, report))
        position = int(page[-1][0])


def _recorded_anchors(engine: Engine | None) -> list[AnchorRecord]:
    if engine is None:
        return []
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "merkle_anchors"):
            return []
        rows = conn.execute(select(merkle_anchors).order_by(
            merkle_anchors.c.tree_size, merkle_anchors.c.id)).all()
    return [_to_record(row._mapping) for row in rows]


def _same_registry(record: AnchorRecord, chain_id: int, address: str) -> bool:
    return record.chain_id == chain_id and record.contract_address.lower() == address.lower()


def _check_on_chain(record: AnchorRecord, chain: ChainClient, report: AuditReport) -> None:
    """The recorded anchor's checkpoint is in the registry and its transaction on chain."""
    what = (f"anchor of {record.tree_size:,} events recorded in tx {record.tx_hash} "
            f"(block {record.block_number}, checkpoint {record.checkpoint_index})")
    checkpoint: Checkpoint | None
    try:
        checkpoint = chain.checkpoint(record.checkpoint_index)
    except AnchorRejectedError:  # AnchorRegistryUnknownCheckpoint
        checkpoint = None
    expected = (record.tree_size, record.root, record.block_number)
    if checkpoint is None:
        report.anchoring.append(f"{what} is not in the registry: lost in a reorg or a "
                                "rollback, or never mined")
    elif (checkpoint.tree_size, checkpoint.root, checkpoint.block_number) != expected:
        report.anchoring.append(
            f"{what} differs from the registry's checkpoint {record.checkpoint_index} "
            f"({checkpoint.tree_size:,} events, block {checkpoint.block_number}): lost in a "
            "reorg or a rollback")
    tx = chain.anchor_transaction(record.tx_hash)
    if tx is None or not tx.succeeded:
        report.anchoring.append(f"{what}: the transaction is not on chain"
                                + ("" if tx is None else " (it failed)"))
    elif tx.block_number != record.block_number or not tx.canonical:
        report.anchoring.append(f"{what}: the transaction is in block {tx.block_number}"
                                + ("" if tx.canonical else ", no longer canonical"))
    elif not any(log.address.lower() == record.contract_address.lower()
                 and (log.index, log.tree_size, log.root)
                 == (record.checkpoint_index, record.tree_size, record.root)
                 for log in tx.logs):
        report.anchoring.append(f"{what}: the transaction's CheckpointAnchored log does not "
                                "record this checkpoint")


def audit(recorder: object, merkle_log: MerkleLog | None, anchorer: object,
          chain: ChainClient | None, registry: RecordedRegistry | None = None) -> AuditReport:
    """Compare the event store with the Merkle log, every anchored root, and the chain.

    ``anchorer``: an :class:`~anchoring.service.Anchorer` or the engine holding
    ``merkle_anchors`` (``None`` if there is none). ``registry``: the ledger's recorded
    registry (default: the one ``chain`` is a client of). Reads only.
    """
    report = AuditReport()
    engine: Engine | None = getattr(anchorer, "engine", anchorer)  # type: ignore[assignment]
    logged = 0
    if merkle_log is not None:
        logged = merkle_log.refresh()
    report.logged_leaves = logged
    if registry is None and chain is not None:
        registry = RecordedRegistry(int(chain.chain_id), str(chain.contract_address))
    expected: dict[int, list[tuple[bytes, str]]] = {}
    records = _recorded_anchors(engine)
    for record in records:
        expected.setdefault(record.tree_size, []).append(
            (record.root, f"recorded anchor tx {record.tx_hash}"))
        if registry is not None and not _same_registry(record, registry.chain_id,
                                                       registry.contract_address):
            report.anchoring.append(
                f"anchor of {record.tree_size:,} events (tx {record.tx_hash}) was recorded "
                f"for registry {record.contract_address} on chain {record.chain_id}, not the "
                f"ledger's registry {registry.contract_address} on chain {registry.chain_id}")
    if chain is None:
        if records:
            report.anchoring.append("anchors are recorded but no chain is configured to "
                                    "verify them")
    else:
        try:
            for index in range(chain.checkpoint_count()):
                checkpoint = chain.checkpoint(index)
                expected.setdefault(checkpoint.tree_size, []).append(
                    (checkpoint.root, f"on-chain checkpoint {index} at block "
                     f"{checkpoint.block_number}"))
                report.checkpoints_checked += 1
            for record in records:
                if _same_registry(record, int(chain.chain_id), str(chain.contract_address)):
                    _check_on_chain(record, chain, report)
                    report.anchors_checked += 1
        except ChainError as error:
            report.anchoring.append(f"cannot read the chain: {error}")

    tree = CompactTree()
    first_bad_leaf: int | None = None
    first_bad_position: int | None = None
    for position, hashed in _stored_leaf_hashes(recorder, report):
        index = tree.size
        if first_bad_leaf is None and merkle_log is not None and index < logged and \
                merkle_log.leaf_hash(index) != hashed:
            first_bad_leaf, first_bad_position = index, position
        tree.append(hashed)
        for root, source in expected.get(tree.size, ()):
            if tree.root() != root:
                report.tampering.append(
                    f"recomputed root of the first {tree.size:,} events differs from the "
                    f"{source}")
    report.events = tree.size
    if merkle_log is None:
        if expected:
            report.tampering.append("the Merkle log is missing, though events were anchored")
        else:
            report.lines.append("no Merkle log (nothing anchored yet)")
    if first_bad_leaf is not None and merkle_log is not None:
        logged_position = merkle_log.position_of(first_bad_leaf)
        report.tampering.append(
            f"stored event at leaf {first_bad_leaf} (position {first_bad_position}; the Merkle "
            f"log recorded position {logged_position}) differs from the leaf recorded in the "
            "Merkle log: modified, deleted, reordered or inserted")
    if tree.size < logged:
        report.tampering.append(
            f"the event store holds {tree.size:,} events but the Merkle log recorded "
            f"{logged:,}: events were deleted")
    missing = [size for size in expected if size > tree.size]
    if missing:
        report.tampering.append(
            f"checkpoints anchor {max(missing):,} events, the store holds {tree.size:,}")
    report.lines.append(f"recomputed {tree.size:,} leaves from the event store")
    report.lines.append(
        f"compared with {sum(map(len, expected.values()))} anchored roots "
        f"({report.checkpoints_checked} read from the chain, {len(records)} recorded); "
        f"{report.anchors_checked} recorded anchors checked on chain")
    return report


# -- opening a ledger read-only ---------------------------------------------------------------


def _audit_chain(settings: Settings, registry: RecordedRegistry | None,
                 report: AuditReport) -> ChainClient | None:
    """The ledger's chain, opened without deploying or writing anything."""
    from anchoring.chain import JsonRpcChain
    from anchoring.embedded import EmbeddedChain

    if settings.rpc_url is None:
        chain_dir = settings.data_dir / "chain"
        if not (chain_dir / "chain-key").exists():
            return None
        return EmbeddedChain(chain_dir)
    address = registry.contract_address if registry is not None else settings.anchor_contract
    remembered = settings.data_dir / "anchor-contract.txt"
    if address is None and remembered.exists():
        address = remembered.read_text().strip()
    if address is None:
        return None
    try:
        # Only views are called: any key reads them (no transaction is ever signed here).
        return JsonRpcChain(settings.rpc_url, settings.chain_key or "0x" + "11" * 32,
                            contract_address=address)
    except ChainError as error:
        report.anchoring.append(f"cannot reach the chain at {settings.rpc_url}: {error}")
        return None


def audit_ledger(settings: Settings) -> AuditReport:
    """Audit the ledger of ``settings``, reading only (see the module documentation)."""
    from ledger.application import Ledger

    ledger = Ledger(env=settings.event_store_env())
    engine: Engine | None = None
    try:
        merkle_file = Path(settings.data_dir / "merkle.sqlite")
        if settings.is_postgres or merkle_file.exists():
            engine = settings.make_engine(settings.merkle_url, reader=True)
        registry = recorded_registry(engine) if engine is not None else None
        merkle_log: MerkleLog | None = None
        if engine is not None:
            with engine.connect() as conn:
                has_log = engine.dialect.has_table(conn, "merkle_tracking")
            if has_log:
                merkle_log = MerkleLog(ledger, engine, create_tables=False)
        pre = AuditReport()
        chain = _audit_chain(settings, registry, pre)
        if chain is not None and registry is not None and (
                int(chain.chain_id), str(chain.contract_address).lower()) != (
                registry.chain_id, registry.contract_address.lower()):
            pre.anchoring.append(
                f"the configured chain's registry {chain.contract_address} is not the "
                f"ledger's registry {registry.contract_address}")
        report = audit(ledger.recorder, merkle_log, engine, chain, registry)
        report.anchoring[:0] = pre.anchoring
        return report
    finally:
        ledger.close()
        if engine is not None:
            engine.dispose()
