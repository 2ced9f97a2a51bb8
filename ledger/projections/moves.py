"""The ``moves`` read model: one row per serial range a batch event moves from one lot to
another (issuance and import move it from nowhere).

Everything that writes moves is here, in one place: :func:`record_moves` is called by the
serial handlers (``ledger.projections.handlers``) with the event, its position and the lots
(state, ref, holder) the ranges leave and join.

A range is indexed by its *bin* (:func:`serial_bin`): the smallest block of ``2**level``
serials aligned on a multiple of ``2**level`` that holds it. A serial lies in exactly one
block per level, so the moves whose ranges hold a serial are found by one index lookup per
level (:func:`bins_holding`) and a filter on those few rows, never by a scan of the batch.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, and_, insert, or_, select

from ledger.projections import schema as t
from ledger.projections.behaviour_rows import stamp
from ledger.projections.driver_statements import DriverStatement

__all__ = ["KINDS", "Lot", "bins_holding", "custody_query", "record_moves", "serial_bin"]

Lot = tuple[str, str, str]  # (state, ref, holder)

KINDS: dict[str, str] = {
    # event name -> kind of move
    "Issued": "issuance",
    "Imported": "import",
    "Transferred": "transfer",
    "Escrowed": "escrow",
    "ListingCancelled": "listing_cancellation",
    "TradeSettled": "settlement",
    "Pledged": "pledge",
    "PledgeReleased": "pledge_release",
    "PledgeEnforced": "pledge_enforcement",
    "Retired": "retirement",
    "LockedForTokens": "token_lock",
    "TokensMinted": "token_mint",
    "TokensUnlocked": "token_unlock",
    "TokensRetired": "token_retirement",
    "Exported": "export",
    "Cancelled": "cancellation",
}

MAX_LEVEL = 63  # serials are below 2**63


def serial_bin(start: int, end: int) -> tuple[int, int]:
    """(level, block) of the smallest aligned block of ``2**level`` serials holding
    ``[start, end)`` (``end > start``)."""
    level = (start ^ (end - 1)).bit_length()
    return level, start >> level


def bins_holding(serial: int) -> list[tuple[int, int]]:
    """Every (level, block) whose block holds ``serial``: one per level."""
    return [(level, serial >> level) for level in range(MAX_LEVEL + 1)]


def custody_query(batch: str, serial: int) -> Select[Any]:
    """The moves of ``batch`` whose range holds ``serial``, in log order: one lookup of the
    bin index per level. Each lookup names the batch itself (there is no condition on the
    batch alone), so no planner takes the batch's history index, a scan of all its moves."""
    m = t.moves.c
    return (select(t.moves)
            .where(or_(*(and_(m.batch == batch, m.bin_level == level, m.bin == block)
                         for level, block in bins_holding(serial))),
                   m.start <= serial, m.end > serial)
            .order_by(m.position))


_INSERT = DriverStatement(insert(t.moves))


def batch_of(e: Any) -> str:
    """The batch an event moves credits of: its aggregate's id, or a holding's batch."""
    return str(e.batch) if type(e).__qualname__.startswith("Holding.") else str(e.originator_id)


def record_moves(conn: Connection, e: Any, position: int, ranges: list[list[int]],
                 source: Lot | None, target: Lot) -> None:
    """One ``moves`` row per range of ``e`` leaving lot ``source`` (``None``: new serials)
    for lot ``target``."""
    batch, kind, at = batch_of(e), KINDS[type(e).__name__], stamp(e.timestamp)
    src_state, src_ref, src_holder = source if source is not None else (None, None, None)
    dst_state, dst_ref, dst_holder = target
    for start, end in ranges:
        level, block = serial_bin(start, end)
        _INSERT.execute(conn, dict(
            position=position, start=start, end=end, batch=batch, kind=kind,
            from_state=src_state, from_ref=src_ref, from_holder=src_holder, to_state=dst_state,
            to_ref=dst_ref, to_holder=dst_holder, quantity=end - start, at=at,
            bin_level=level, bin=block))
