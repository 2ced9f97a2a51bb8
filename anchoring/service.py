"""The anchoring service: periodically commits the Merkle log's root to the chain.

:class:`Anchorer` drives a :class:`~anchoring.log.MerkleLog` and a
:class:`~anchoring.chain.ChainClient`. Each :meth:`Anchorer.tick`:

1. catches the Merkle log up with the notification log;
2. checks its recorded anchors against the registry, newest first: one lost in a reorg or a
   rollback (its checkpoint gone, or there from another block) is forgotten and the current
   root is anchored at once, whatever the triggers (a re-mined checkpoint is adopted again);
   if anchors are awaiting finality, refreshes their confirmation counts;
3. if an anchor is due (``every_events`` new events since the latest checkpoint on chain, or
   ``every_seconds`` elapsed since the last anchor and at least one new event), reads the
   latest checkpoint from the chain and checks that the local log extends it: the local root
   at that size, the local root now and an RFC 9162 consistency proof between the two must
   verify against the anchored root. If not (someone anchored a different history, or the
   local log was rewritten or lost events), it raises :class:`ConsistencyError` and anchors
   nothing;
4. anchors the current ``(size, root)`` (only the 32-byte root goes on chain, whatever the
   number of events since the previous checkpoint) and records it in ``merkle_anchors``.

If the chain cannot be reached, :meth:`Anchorer.tick` logs it and returns a status with
``state="chain-unavailable"``; it never raises for that. The ledger does not depend on the
anchorer, so commands keep being accepted; the next successful tick anchors the latest root,
which covers every event recorded during the outage. A checkpoint found on chain but missing
from ``merkle_anchors`` (its receipt was lost to a timeout or a crash) is adopted once it has
been checked for consistency.

Anchor records
--------------
``merkle_anchors`` keeps one row per checkpoint of a registry (``chain_id``,
``contract_address``, ``tree_size``): its ``root``, ``tx_hash``, ``block_number``, registry
``checkpoint_index``, ``submitted_at`` (UTC), last seen ``confirmations`` and ``confirmed``
(final: ``confirmations >= K``, see :meth:`Anchorer.refresh_confirmations`; confirmations count
the blocks mined on top of the anchoring block). Queries only consider the registry of the
current chain client: rows of another (e.g. a previous, vanished in-process chain) are kept
but ignored.

:meth:`Anchorer.anchored_checkpoint_covering` answers "the smallest final anchored tree that
contains the event at notification id ``position``": the event is leaf
``i = merkle_log.index_of(position)`` (0-based order of appearance in the notification log)
and a tree of size ``n`` contains leaves ``0 .. n - 1``, so it is the final anchor with the
smallest ``tree_size > i``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError as SQLIntegrityError

from anchoring.chain import (
    AnchorReceipt,
    AnchorRejectedError,
    ChainClient,
    ChainError,
    ChainUnavailableError,
    Checkpoint,
)
from anchoring.log import MerkleLog
from anchoring.merkle import HASH_SIZE, verify_consistency

__all__ = [
    "AnchorRecord",
    "Anchorer",
    "ConsistencyError",
    "TickStatus",
    "merkle_anchors",
    "metadata",
]

logger = logging.getLogger(__name__)

_BigInt = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()
"""The anchoring service's table (created by :meth:`Anchorer.create_tables`)."""

merkle_anchors = Table(
    "merkle_anchors",
    metadata,
    Column("id", _BigInt, primary_key=True, autoincrement=True),
    Column("chain_id", BigInteger, nullable=False),
    Column("contract_address", String(42), nullable=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("root", LargeBinary(HASH_SIZE), nullable=False),
    Column("tx_hash", String(66), nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("checkpoint_index", BigInteger, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("confirmations", Integer, nullable=False),
    Column("confirmed", Boolean, nullable=False),
    UniqueConstraint("chain_id", "contract_address", "tree_size"),
)


class ConsistencyError(RuntimeError):
    """The local log does not extend the history anchored on chain: refusing to anchor."""


@dataclass(frozen=True)
class AnchorRecord:
    """One anchored checkpoint, as recorded in ``merkle_anchors``.

    The tree of ``tree_size`` leaves (the first ``tree_size`` events of the log) has root
    ``root``; ``final`` is ``confirmations >= K`` (the ``confirmed`` column).
    """

    tree_size: int
    root: bytes
    tx_hash: str
    block_number: int
    checkpoint_index: int
    contract_address: str
    chain_id: int
    submitted_at: datetime
    confirmations: int
    final: bool


TickState = Literal["anchored", "idle", "chain-unavailable"]


@dataclass(frozen=True)
class TickStatus:
    """What one :meth:`Anchorer.tick` did.

    ``state``: ``"anchored"`` (``anchor`` holds the new record), ``"idle"`` (nothing due) or
    ``"chain-unavailable"`` (``error`` says why; retried at the next tick). ``appended`` is
    the number of events added to the Merkle log, ``tree_size`` its size after the tick and
    ``newly_final`` the number of anchors that became final.
    """

    state: TickState
    tree_size: int
    appended: int
    anchor: AnchorRecord | None = None
    newly_final: int = 0
    error: str | None = None


class Anchorer:
    """Anchors the Merkle log's root on chain every ``every_events`` events or
    ``every_seconds`` seconds (when there are new events), see the module documentation.

    ``store_engine`` holds ``merkle_anchors`` (it may be the Merkle log's engine; for SQLite
    create it with :func:`ledger.projections.database.make_engine`). ``confirmations`` is
    ``K``: an anchor is final once ``K`` blocks are mined on top of its block. ``clock`` gives
    the current time in seconds for :meth:`tick` and :meth:`run` (default
    :func:`time.time`). The time-based trigger counts from the last anchor made by this
    object, or from its first tick. A recorded anchor missing from the registry is taken as
    lost (and re-sent) once it has been missing for ``lost_after`` seconds (0: at once; a
    JSON-RPC node lagging behind its peers misses recent anchors for a while). Thread-safe
    (one lock).
    """

    def __init__(
        self,
        merkle_log: MerkleLog,
        chain: ChainClient,
        store_engine: Engine,
        *,
        every_events: int = 1000,
        every_seconds: float = 600.0,
        confirmations: int = 12,
        clock: Callable[[], float] = time.time,
        create_tables: bool = True,
        lost_after: float = 0.0,
    ) -> None:
        """Configure the anchorer; creates ``merkle_anchors`` unless ``create_tables=False``."""
        if every_events < 1 or every_seconds < 0 or confirmations < 0:
            raise ValueError(
                "every_events must be positive, every_seconds and confirmations non-negative"
            )
        self.merkle_log = merkle_log
        self.chain = chain
        self.engine = store_engine
        self.every_events = every_events
        self.every_seconds = every_seconds
        self.required_confirmations = confirmations
        self.clock = clock
        self._lock = threading.RLock()
        self._last_anchor_at: float | None = None
        self._registry: tuple[int, str] | None = None
        self.lost_after = lost_after
        self._missing_since: dict[str, float] = {}  # tx hash -> first tick it was missing
        if create_tables:
            self.create_tables()

    def create_tables(self) -> None:
        """Create ``merkle_anchors`` if it does not exist."""
        metadata.create_all(self.engine)

    # -- ticking -----------------------------------------------------------------------------

    def tick(self, now: float | None = None) -> TickStatus:
        """Catch up the Merkle log and anchor its root if due (see the module documentation).

        Never raises :class:`ChainUnavailableError`. Raises :class:`ConsistencyError` if the
        chain's latest checkpoint is not a prefix of the local log, and
        :class:`AnchorRejectedError` if the registry rejects the anchor.
        """
        with self._lock:
            now = self.clock() if now is None else now
            if self._last_anchor_at is None:
                self._last_anchor_at = now
            appended = self.merkle_log.catch_up()
            size = self.merkle_log.size
            try:
                lost = self._drop_lost_anchors(now)
                newly_final = self._refresh_confirmations()
                # Cheap test on local records first; the chain is asked only if it may be due.
                if not lost and not self._due(size - self._latest_recorded_size(), now):
                    return TickStatus("idle", size, appended, newly_final=newly_final)
                latest = self._check_consistency(size)
                unanchored = size - (0 if latest is None else latest.tree_size)
                # A lost anchor is re-sent at once (covered by the current root).
                if not (lost and unanchored > 0) and not self._due(unanchored, now):
                    return TickStatus("idle", size, appended, newly_final=newly_final)
                record = self._anchor(size, now)
            except ChainUnavailableError as error:
                logger.warning("chain unavailable, will retry: %s", error)
                return TickStatus("chain-unavailable", size, appended, error=str(error))
            self._last_anchor_at = now
            logger.info(
                "anchored tree size %d root %s in tx %s",
                record.tree_size,
                record.root.hex(),
                record.tx_hash,
            )
            return TickStatus("anchored", size, appended, record, newly_final)

    def _due(self, new_events: int, now: float) -> bool:
        """Whether ``new_events`` unanchored events call for an anchor at time ``now``."""
        last = now if self._last_anchor_at is None else self._last_anchor_at
        return new_events > 0 and (
            new_events >= self.every_events or now - last >= self.every_seconds
        )

    def run(self, stop_event: threading.Event, interval: float = 1.0) -> None:
        """Tick every ``interval`` seconds until ``stop_event`` is set.

        Chain outages are retried. A :class:`ConsistencyError` (a forked or rewritten history)
        is logged and re-raised: it needs an operator. Any other error is logged and retried
        at the next tick.
        """
        while not stop_event.is_set():
            try:
                self.tick()
            except ConsistencyError:
                logger.critical("refusing to anchor: the local log does not extend the chain")
                raise
            except Exception:
                logger.exception("anchoring tick failed; retrying")
            stop_event.wait(interval)

    # -- consistency -------------------------------------------------------------------------

    def check_consistency(self) -> Checkpoint | None:
        """Check that the local log extends the chain's latest checkpoint; return it.

        Raises :class:`ConsistencyError` if it does not, :class:`ChainUnavailableError` if the
        chain cannot be reached.
        """
        with self._lock:
            return self._check_consistency(self.merkle_log.size)

    def _check_consistency(self, size: int) -> Checkpoint | None:
        latest = self.chain.latest_checkpoint()
        if latest is None:
            return None
        old = latest.tree_size
        if old > size:
            raise ConsistencyError(
                f"the chain anchors {old} events but the local log has only {size}"
            )
        proof = self.merkle_log.consistency_proof(old, size)
        if not verify_consistency(old, size, latest.root, self.merkle_log.root(size), proof):
            raise ConsistencyError(
                f"the local log of {size} events is not consistent with the root "
                f"{latest.root.hex()} anchored for {old} events"
            )
        self._adopt(latest)
        return latest

    def _adopt(self, checkpoint: Checkpoint) -> None:
        """Record a (verified) checkpoint of the chain that ``merkle_anchors`` lacks."""
        if self.record_for(checkpoint.tree_size) is not None:
            return
        receipt = self.chain.find_anchor(checkpoint.tree_size, checkpoint.block_number)
        if receipt is None:
            logger.warning("no CheckpointAnchored event for tree size %d", checkpoint.tree_size)
            return
        logger.info(
            "adopting checkpoint %d anchored in tx %s", checkpoint.tree_size, receipt.tx_hash
        )
        submitted = datetime.fromtimestamp(checkpoint.anchored_at, UTC)
        self._record(checkpoint.tree_size, checkpoint.root, receipt, submitted)

    # -- reorgs and rollbacks ----------------------------------------------------------------

    def _drop_lost_anchors(self, now: float) -> list[AnchorRecord]:
        """Forget the recorded anchors the registry no longer holds; return them.

        A reorg or a rollback of the chain (e.g. a dev node reverted to a snapshot) can
        remove a mined anchor: its checkpoint is no longer in the registry, or is there from
        another block. Recorded anchors are checked newest first against the registry (the
        latest checkpoint, then by index) until one matches; the others are deleted, so the
        next anchor (sent at once by :meth:`tick`) covers their events, and a checkpoint
        re-mined in another block is adopted again with its new receipt.
        """
        newest = self.latest_anchor()
        if newest is None:
            return []
        latest = self.chain.latest_checkpoint()
        if self._on_chain(newest, latest):  # the common case: one record read, one call
            self._missing_since.clear()
            return []
        lost: list[AnchorRecord] = []
        for record in reversed(self.anchors()):
            if self._on_chain(record, latest):
                break
            lost.append(record)
        # A node lagging behind (e.g. behind a load balancer) also misses recent anchors:
        # they count as lost once missing for ``lost_after`` seconds.
        missing = {record.tx_hash for record in lost}
        self._missing_since = {tx: self._missing_since.get(tx, now) for tx in missing}
        if any(now - since < self.lost_after for since in self._missing_since.values()):
            return []
        self._missing_since.clear()
        for record in lost:
            logger.warning(
                "anchor of tree size %d (tx %s, block %d) is no longer on chain "
                "(reorg or rollback); it will be re-sent",
                record.tree_size, record.tx_hash, record.block_number)
            with self.engine.begin() as conn:
                conn.execute(delete(merkle_anchors).where(
                    merkle_anchors.c.chain_id == record.chain_id,
                    merkle_anchors.c.contract_address == record.contract_address,
                    merkle_anchors.c.tree_size == record.tree_size,
                    merkle_anchors.c.tx_hash == record.tx_hash))
        return lost

    def _on_chain(self, record: AnchorRecord, latest: Checkpoint | None) -> bool:
        if latest is None or record.tree_size > latest.tree_size:
            return False
        if record.tree_size == latest.tree_size:
            checkpoint = latest
        else:
            try:
                checkpoint = self.chain.checkpoint(record.checkpoint_index)
            except AnchorRejectedError:  # no such checkpoint
                return False
        return (checkpoint.tree_size, checkpoint.root, checkpoint.block_number) == (
            record.tree_size, record.root, record.block_number)

    # -- anchoring ---------------------------------------------------------------------------

    def _anchor(self, size: int, now: float) -> AnchorRecord:
        root = self.merkle_log.root(size)
        try:
            receipt = self.chain.anchor(size, root)
        except AnchorRejectedError:
            logger.error("the registry rejected anchoring tree size %d", size)
            raise
        return self._record(size, root, receipt, datetime.fromtimestamp(now, UTC))

    def _record(
        self, size: int, root: bytes, receipt: AnchorReceipt, submitted_at: datetime
    ) -> AnchorRecord:
        final = self.required_confirmations == 0
        values: dict[str, Any] = {
            "chain_id": receipt.chain_id,
            "contract_address": receipt.contract_address,
            "tree_size": size,
            "root": root,
            "tx_hash": receipt.tx_hash,
            "block_number": receipt.block_number,
            "checkpoint_index": receipt.index,
            "submitted_at": submitted_at,
            "confirmations": 0,
            "confirmed": final,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(merkle_anchors).values(**values))
        except SQLIntegrityError:  # recorded concurrently by another anchorer
            pass
        record = self.record_for(size)
        if record is None:
            raise ChainError(f"anchor of tree size {size} could not be recorded")
        return record

    # -- confirmations -----------------------------------------------------------------------

    def refresh_confirmations(self) -> int:
        """Update the confirmation counts of the anchors not yet final; return how many became
        final. Raises :class:`ChainUnavailableError` if the chain cannot be reached."""
        with self._lock:
            return self._refresh_confirmations()

    def _refresh_confirmations(self) -> int:
        chain_id, contract = self._current_registry()
        with self.engine.connect() as conn:
            pending = conn.execute(
                select(merkle_anchors.c.id, merkle_anchors.c.tx_hash).where(
                    merkle_anchors.c.chain_id == chain_id,
                    merkle_anchors.c.contract_address == contract,
                    merkle_anchors.c.confirmed.is_(False),
                )
            ).all()
        newly_final = 0
        for row_id, tx_hash in pending:
            count = self.chain.confirmations(tx_hash)
            final = count >= self.required_confirmations
            newly_final += int(final)
            with self.engine.begin() as conn:
                conn.execute(
                    update(merkle_anchors)
                    .where(merkle_anchors.c.id == row_id)
                    .values(confirmations=count, confirmed=final)
                )
        return newly_final

    # -- queries -----------------------------------------------------------------------------

    def _current_registry(self) -> tuple[int, str]:
        if self._registry is None:
            self._registry = (int(self.chain.chain_id), str(self.chain.contract_address))
        return self._registry

    def _latest_recorded_size(self) -> int:
        chain_id, contract = self._current_registry()
        with self.engine.connect() as conn:
            value = conn.execute(
                select(merkle_anchors.c.tree_size)
                .where(
                    merkle_anchors.c.chain_id == chain_id,
                    merkle_anchors.c.contract_address == contract,
                )
                .order_by(merkle_anchors.c.tree_size.desc())
                .limit(1)
            ).scalar_one_or_none()
        return 0 if value is None else int(value)

    def _select(self, *conditions: Any, largest: bool = False) -> AnchorRecord | None:
        """The current registry's anchor of the smallest (or ``largest``) tree size that
        meets ``conditions``, or ``None``."""
        chain_id, contract = self._current_registry()
        size = merkle_anchors.c.tree_size
        with self.engine.connect() as conn:
            row = conn.execute(
                select(merkle_anchors)
                .where(
                    merkle_anchors.c.chain_id == chain_id,
                    merkle_anchors.c.contract_address == contract,
                    *conditions,
                )
                .order_by(size.desc() if largest else size)
                .limit(1)
            ).first()
        return None if row is None else _to_record(row._mapping)

    def record_for(self, tree_size: int) -> AnchorRecord | None:
        """The anchor recorded for exactly ``tree_size`` events (final or not), or ``None``."""
        return self._select(merkle_anchors.c.tree_size == tree_size)

    def anchors(self, *, final_only: bool = False) -> list[AnchorRecord]:
        """Every anchor recorded for the current registry, by increasing tree size."""
        chain_id, contract = self._current_registry()
        query = select(merkle_anchors).where(
            merkle_anchors.c.chain_id == chain_id,
            merkle_anchors.c.contract_address == contract,
        )
        if final_only:
            query = query.where(merkle_anchors.c.confirmed.is_(True))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(merkle_anchors.c.tree_size)).all()
        return [_to_record(row._mapping) for row in rows]

    def latest_anchor(self) -> AnchorRecord | None:
        """The recorded anchor with the largest tree size (final or not), or ``None``."""
        return self._select(largest=True)

    def anchored_checkpoint_covering(self, position: int) -> AnchorRecord | None:
        """The smallest *final* anchored tree containing the event at notification id
        ``position``, or ``None`` (unknown position, or not yet anchored and final).

        The event is leaf ``i = merkle_log.index_of(position)``; the answer is the final
        anchor with the smallest ``tree_size > i``.
        """
        index = self.merkle_log.index_of(position)
        if index is None:
            return None
        return self._select(
            merkle_anchors.c.confirmed.is_(True), merkle_anchors.c.tree_size > index
        )


def _to_record(row: Any) -> AnchorRecord:
    submitted_at = row["submitted_at"]
    if submitted_at.tzinfo is None:  # SQLite does not keep the offset: it was stored in UTC
        submitted_at = submitted_at.replace(tzinfo=UTC)
    return AnchorRecord(
        tree_size=int(row["tree_size"]),
        root=bytes(row["root"]),
        tx_hash=str(row["tx_hash"]),
        block_number=int(row["block_number"]),
        checkpoint_index=int(row["checkpoint_index"]),
        contract_address=str(row["contract_address"]),
        chain_id=int(row["chain_id"]),
        submitted_at=submitted_at,
        confirmations=int(row["confirmations"]),
        final=bool(row["confirmed"]),
    )


def anchored_registries(engine: Engine) -> set[tuple[int, str]]:
    """The registries ``(chain_id, contract_address)`` that recorded anchors name."""
    with engine.connect() as conn:
        if not engine.dialect.has_table(conn, "merkle_anchors"):
            return set()
        rows = conn.execute(
            select(merkle_anchors.c.chain_id, merkle_anchors.c.contract_address).distinct()
        ).all()
    return {(int(chain_id), str(address)) for chain_id, address in rows}
