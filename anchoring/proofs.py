"""Public proofs of the event log: inclusion, consistency and the checkpoints on chain.

:class:`LogProofs` answers what a third party asks of the log (``api/routers/log.py`` serves
it over HTTP, :mod:`anchoring.monitor` reads it in process):

* :meth:`LogProofs.inclusion`: the leaf bytes of one stored event, its leaf hash, its RFC 9162
  audit path against a tree size, and that tree's root. The event is named by leaf index, by
  notification id (position) or by originator id and version.
* :meth:`LogProofs.consistency`: the RFC 9162 consistency proof between two tree sizes and
  both roots.
* :meth:`LogProofs.chain_checkpoints`: the checkpoints as the ``AnchorRegistry`` contract
  holds them (read from the chain, not from the operator's ``merkle_anchors`` records), with
  the anchoring transaction found in the contract's ``CheckpointAnchored`` log.

Tree sizes are bounded by the *anchored size*: the largest tree size anchored for the
current registry (the latest ``merkle_anchors`` record, which the anchorer checked against
the chain before recording it). A root the operator has not committed to on chain proves
nothing to a third party, so proofs are only served up to it; the default tree size is the
anchored size. Every refusal is a :class:`~ledger.domain.errors.LedgerError` with a stable
code (a 4xx problem over HTTP).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import sql
from sqlalchemy import select

from anchoring.chain import ChainClient, ChainError, ChainUnavailableError
from anchoring.leaf import encode_leaf
from anchoring.log import MerkleLog
from anchoring.merkle import leaf_hash
from anchoring.service import Anchorer, AnchorRecord, merkle_anchors
from ledger.domain.errors import ConflictError, NotFoundError, ValidationError

__all__ = [
    "ChainCheckpoint",
    "ChainReadError",
    "ConsistencyProof",
    "EventNotFoundError",
    "InclusionProof",
    "LogMismatchError",
    "LogProofs",
    "NothingAnchoredError",
    "TreeSizeError",
    "position_of_event",
]


class TreeSizeError(ValidationError):
    """A tree size (or leaf index) outside what can be proven: above the anchored size,
    ``first > second``, or a leaf not in the tree asked for."""

    code = "tree-size-out-of-range"


class NothingAnchoredError(ConflictError):
    """No checkpoint is anchored yet: there is no root a proof could be checked against."""

    code = "nothing-anchored"


class EventNotFoundError(NotFoundError):
    """No stored event has that leaf index, notification id or originator id and version."""

    code = "unknown-event"


class LogMismatchError(ConflictError):
    """The operator's anchor records and its Merkle log disagree."""

    code = "log-mismatch"


class ChainReadError(ConflictError):
    """The chain could not be read (unreachable, or it refused the call)."""

    code = "chain-unavailable"


@dataclass(frozen=True)
class InclusionProof:
    """RFC 9162 inclusion of one stored event's leaf in the tree of ``tree_size`` leaves."""

    leaf_index: int
    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    leaf: bytes
    leaf_hash: bytes
    tree_size: int
    root: bytes
    audit_path: list[bytes]
    anchored_size: int


@dataclass(frozen=True)
class ConsistencyProof:
    """RFC 9162 ``PROOF(first, D[0:second])`` and the roots of both trees."""

    first: int
    second: int
    first_root: bytes
    second_root: bytes
    proof: list[bytes]
    anchored_size: int


@dataclass(frozen=True)
class ChainCheckpoint:
    """Checkpoint ``index`` of the registry as the chain holds it; ``transaction`` is the
    anchoring transaction from the contract's log, ``None`` if the node no longer serves it."""

    index: int
    tree_size: int
    root: bytes
    anchored_at: int
    block_number: int
    transaction: str | None
    chain_id: int
    contract_address: str


def position_of_event(recorder: Any, originator_id: UUID, version: int) -> int | None:
    """The notification id of the stored event ``(originator_id, version)``, or ``None``.

    Reads the recorder's own table (SQLite: its ``rowid``; PostgreSQL: ``notification_id``):
    ``eventsourcing`` has no query from an event to its position in the log.
    """
    table = recorder.events_table_name
    datastore = recorder.datastore
    if hasattr(datastore, "schema"):  # PostgreSQL
        statement = sql.SQL(
            "SELECT notification_id FROM {schema}.{table} "
            "WHERE originator_id = %s AND originator_version = %s"
        ).format(schema=sql.Identifier(datastore.schema), table=sql.Identifier(table))
        with datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(statement, (originator_id, version))
            row = cursor.fetchone()
        if row is None:
            return None
        return int(row["notification_id"] if isinstance(row, dict) else row[0])
    if not table.replace("_", "").isalnum():
        raise ValueError(f"unexpected events table name {table!r}")
    with datastore.transaction(commit=False) as cursor:
        cursor.execute(
            f"SELECT rowid FROM {table} WHERE originator_id = ? AND originator_version = ?",
            (originator_id.hex, version),
        )
        found = cursor.fetchone()
    return None if found is None else int(found[0])


class LogProofs:
    """Proofs of the log of one ledger: its recorder, Merkle log and anchorer (see the
    module documentation)."""

    def __init__(self, recorder: Any, merkle_log: MerkleLog, anchorer: Anchorer) -> None:
        """Serve proofs of ``merkle_log`` up to the size ``anchorer`` has anchored."""
        self.recorder = recorder
        self.merkle_log = merkle_log
        self.anchorer = anchorer

    @property
    def chain(self) -> ChainClient:
        """The chain holding the registry."""
        return self.anchorer.chain

    # -- anchored size -----------------------------------------------------------------------

    def latest_anchor(self) -> AnchorRecord | None:
        """The recorded anchor of the current registry with the largest tree size."""
        chain = self.chain
        c = merkle_anchors.c
        with self.anchorer.engine.connect() as conn:
            size = conn.execute(
                select(c.tree_size)
                .where(c.chain_id == int(chain.chain_id),
                       c.contract_address == str(chain.contract_address))
                .order_by(c.tree_size.desc())
                .limit(1)
            ).scalar_one_or_none()
        return None if size is None else self.anchorer.record_for(int(size))

    def signed_head(self) -> tuple[int, bytes]:
        """``(tree size, root)`` of the latest anchor, checked against the Merkle log: the
        registry signs only a root its own log has at that size."""
        latest = self.latest_anchor()
        if latest is None:
            raise NothingAnchoredError("nothing is anchored yet: no checkpoint to sign")
        if self.merkle_log.size < latest.tree_size:
            self.merkle_log.catch_up()
        if self.merkle_log.root(latest.tree_size) != latest.root:
            raise LogMismatchError(
                f"the anchor record of tree size {latest.tree_size} does not hold the Merkle "
                "log's root at that size: refusing to sign it (run carbon-ledger audit)",
                tree_size=latest.tree_size)
        return latest.tree_size, latest.root

    def anchored_size(self) -> int:
        """The largest anchored tree size; :class:`NothingAnchoredError` if none."""
        latest = self.latest_anchor()
        if latest is None:
            raise NothingAnchoredError("nothing is anchored yet: no root to prove against")
        return latest.tree_size

    def _tree_size(self, tree_size: int | None, what: str = "tree_size") -> tuple[int, int]:
        """``(tree_size or the anchored size, anchored size)``, checked."""
        anchored = self.anchored_size()
        if tree_size is None:
            return anchored, anchored
        if tree_size < 0 or tree_size > anchored:
            raise TreeSizeError(
                f"{what} {tree_size} is not between 0 and the anchored size {anchored}",
                field=what, value=tree_size, anchored_size=anchored)
        if self.merkle_log.size < tree_size:
            self.merkle_log.catch_up()
        return tree_size, anchored

    # -- inclusion ---------------------------------------------------------------------------

    def inclusion(self, *, leaf_index: int | None = None, position: int | None = None,
                  originator_id: UUID | None = None, originator_version: int | None = None,
                  tree_size: int | None = None) -> InclusionProof:
        """The inclusion proof of one event, named by exactly one of ``leaf_index``,
        ``position`` or ``originator_id`` with ``originator_version``, against the tree of
        ``tree_size`` leaves (default: the anchored size)."""
        named = [leaf_index is not None, position is not None, originator_id is not None]
        if sum(named) != 1 or (originator_id is None) != (originator_version is None):
            raise ValidationError("name the event by exactly one of leaf_index, position, or "
                                  "originator_id with originator_version")
        size, anchored = self._tree_size(tree_size)
        log = self.merkle_log
        if originator_id is not None and originator_version is not None:
            position = position_of_event(self.recorder, originator_id, originator_version)
            if position is None:
                raise EventNotFoundError(
                    f"no stored event {originator_id} version {originator_version}",
                    originator_id=str(originator_id), originator_version=originator_version)
        if position is not None:
            index = log.index_of(position)
            if index is None:  # perhaps recorded after the log's last catch-up
                log.catch_up()
                index = log.index_of(position)
            if index is None:
                raise EventNotFoundError(f"no stored event at position {position} in the log",
                                         position=position)
            leaf_index = index
        if leaf_index is None or leaf_index < 0:
            raise TreeSizeError(f"leaf_index {leaf_index} is negative", field="leaf_index")
        if leaf_index >= size:
            raise TreeSizeError(
                f"leaf {leaf_index} is not in the tree of {size} leaves",
                field="leaf_index", leaf_index=leaf_index, tree_size=size)
        position = log.position_of(leaf_index)
        if position is None:
            raise EventNotFoundError(f"no leaf {leaf_index} in the log", leaf_index=leaf_index)
        found = self.recorder.select_notifications(start=position, limit=1)
        if not found or found[0].id != position:
            raise EventNotFoundError(f"no stored event at position {position}",
                                     position=position)
        n = found[0]
        originator = n.originator_id if isinstance(n.originator_id, UUID) else UUID(
            str(n.originator_id))
        leaf = encode_leaf(n.id, originator, n.originator_version, n.topic, n.state)
        return InclusionProof(
            leaf_index=leaf_index, position=n.id, originator_id=originator,
            originator_version=n.originator_version, topic=n.topic, leaf=leaf,
            leaf_hash=leaf_hash(leaf), tree_size=size, root=log.root(size),
            audit_path=log.inclusion_proof(leaf_index, size), anchored_size=anchored)

    # -- consistency -------------------------------------------------------------------------

    def consistency(self, first: int, second: int | None = None) -> ConsistencyProof:
        """``PROOF(first, D[0:second])`` with ``0 <= first <= second <= anchored size``
        (``second`` defaults to the anchored size)."""
        second, anchored = self._tree_size(second, "second")
        if first < 0 or first > second:
            raise TreeSizeError(
                f"first {first} is not between 0 and second {second}",
                field="first", first=first, second=second, anchored_size=anchored)
        log = self.merkle_log
        return ConsistencyProof(first=first, second=second, first_root=log.root(first),
                                second_root=log.root(second),
                                proof=log.consistency_proof(first, second),
                                anchored_size=anchored)

    # -- checkpoints on chain ----------------------------------------------------------------

    def chain_checkpoint_count(self) -> int:
        """Number of checkpoints the registry holds."""
        with _chain_errors():
            return int(self.chain.checkpoint_count())

    def chain_checkpoints(self, after_index: int = -1, limit: int = 100) -> list[ChainCheckpoint]:
        """Up to ``limit`` checkpoints of the registry with an index above ``after_index``,
        read from the chain, each with its anchoring transaction."""
        chain = self.chain
        with _chain_errors():
            count = int(chain.checkpoint_count())
            found = []
            for index in range(max(0, after_index + 1), min(count, after_index + 1 + limit)):
                checkpoint = chain.checkpoint(index)
                receipt = chain.find_anchor(checkpoint.tree_size, checkpoint.block_number)
                found.append(ChainCheckpoint(
                    index=index, tree_size=checkpoint.tree_size, root=checkpoint.root,
                    anchored_at=checkpoint.anchored_at, block_number=checkpoint.block_number,
                    transaction=None if receipt is None else receipt.tx_hash,
                    chain_id=int(chain.chain_id), contract_address=str(chain.contract_address)))
            return found

    def latest_chain_checkpoint(self) -> ChainCheckpoint | None:
        """The registry's latest checkpoint, read from the chain, or ``None``."""
        count = self.chain_checkpoint_count()
        if count == 0:
            return None
        return self.chain_checkpoints(count - 2, 1)[0]


@contextmanager
def _chain_errors() -> Iterator[None]:
    """Map chain failures to :class:`ChainReadError` (a 409 problem)."""
    try:
        yield
    except ChainUnavailableError as error:
        raise ChainReadError(f"the chain cannot be reached: {error}") from error
    except ChainError as error:
        raise ChainReadError(f"reading the registry failed: {error}") from error
