"""``carbon-ledger audit``: recompute the whole Merkle tree from the stored events.

The tree is rebuilt from scratch, leaf by leaf, from the event store as it is now, and
compared with (1) the persisted Merkle log, leaf for leaf, and (2) every checkpoint anchored
on chain and every anchor the ledger recorded. Any modified, deleted, reordered or inserted
event changes a leaf or shifts the leaves after it, so the recomputed root at some anchored
size differs from the root on chain, and the first differing leaf is named.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from anchoring.chain import ChainClient, ChainError
from anchoring.leaf import encode_leaf
from anchoring.log import MerkleLog
from anchoring.merkle import CompactTree, leaf_hash
from anchoring.service import Anchorer

__all__ = ["AuditReport", "audit"]

PAGE = 10_000


@dataclass
class AuditReport:
    events: int = 0
    logged_leaves: int = 0
    checkpoints_checked: int = 0
    problems: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _stored_leaf_hashes(recorder: object, report: AuditReport) -> Iterator[tuple[int, bytes]]:
    position = 0
    while True:
        page = recorder.select_notifications(  # type: ignore[attr-defined]
            start=position, limit=PAGE, inclusive_of_start=False)
        if not page:
            return
        for n in page:
            state = n.state
            if not isinstance(state, bytes):  # written by something other than the ledger
                report.problems.append(f"event at position {n.id} has a state of type "
                                       f"{type(state).__name__}, not bytes")
                state = str(state).encode()
            yield n.id, leaf_hash(encode_leaf(n.id, n.originator_id, n.originator_version,
                                              n.topic, state))
        position = page[-1].id


def audit(recorder: object, merkle_log: MerkleLog, anchorer: Anchorer,
          chain: ChainClient | None) -> AuditReport:
    """Compare the event store with the Merkle log and every anchored root."""
    report = AuditReport()
    merkle_log.refresh()
    report.logged_leaves = merkle_log.size
    expected: dict[int, tuple[bytes, str]] = {}
    for record in anchorer.anchors():
        expected[record.tree_size] = (record.root, f"recorded anchor tx {record.tx_hash}")
    if chain is not None:
        try:
            for index in range(chain.checkpoint_count()):
                checkpoint = chain.checkpoint(index)
                expected[checkpoint.tree_size] = (
                    checkpoint.root, f"on-chain checkpoint {index} at block "
                    f"{checkpoint.block_number}")
                report.checkpoints_checked += 1
        except ChainError as error:
            report.problems.append(f"cannot read the chain's checkpoints: {error}")

    tree = CompactTree()
    first_bad_leaf: int | None = None
    for _, hashed in _stored_leaf_hashes(recorder, report):
        index = tree.size
        if first_bad_leaf is None and index < merkle_log.size and \
                merkle_log.leaf_hash(index) != hashed:
            first_bad_leaf = index
        tree.append(hashed)
        if tree.size in expected:
            root, source = expected[tree.size]
            if tree.root() != root:
                report.problems.append(
                    f"recomputed root of the first {tree.size:,} events differs from the "
                    f"{source}")
    report.events = tree.size
    if first_bad_leaf is not None:
        position = merkle_log.position_of(first_bad_leaf)
        report.problems.append(
            f"stored event at leaf {first_bad_leaf} (log position {position}) differs from "
            "the leaf recorded in the Merkle log: modified, deleted, reordered or inserted")
    if tree.size < merkle_log.size:
        report.problems.append(
            f"the event store holds {tree.size:,} events but the Merkle log recorded "
            f"{merkle_log.size:,}: events were deleted")
    missing = [size for size in expected if size > tree.size]
    if missing:
        report.problems.append(
            f"checkpoints anchor {max(missing):,} events, the store holds {tree.size:,}")
    report.lines.append(f"recomputed {tree.size:,} leaves from the event store")
    report.lines.append(f"compared with {len(expected)} anchored roots "
                        f"({report.checkpoints_checked} read from the chain)")
    return report
