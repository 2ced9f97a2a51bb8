"""Rows of the behaviour index made from the fields stored in ``Behaviour.Reported`` events.

Standard library only, so that the rebuild's helper process
(:mod:`ledger.projections.rebuild_helper`) starts without importing the ledger. The
projector's readers build :class:`BehaviourRow` values straight from the stored JSON;
:meth:`BehaviourRow.from_event` builds the same row from a decoded domain event.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

__all__ = ["BEHAVIOUR_REPORTED", "DATETIME", "FIELDS", "BehaviourRow", "behaviour_row",
           "field", "hyphenated", "made_rows", "stamp"]

BEHAVIOUR_REPORTED = "ledger.domain.behaviour:Behaviour.Reported"
DATETIME = "datetime_iso"  # the transcoding of datetimes in stored JSON
_JSON = json.JSONDecoder()
_ZERO = timedelta(0)

# The stored fields a behaviour row is made of, in the order of :func:`behaviour_row`.
FIELDS: tuple[tuple[str, ...], ...] = (
    ("platform",), ("platform_ref",), ("account",), ("methodology",), ("act_identity",),
    ("reduction_g",), ("occurred_at", "_type_"), ("occurred_at", "_data_"),
    ("timestamp", "_type_"), ("timestamp", "_data_"),
)


def stamp(moment: datetime | str) -> str:
    """Fixed-width UTC text that sorts as time: ``2024-09-03T00:15:00.000000Z``, from a
    datetime or its ISO text."""
    if isinstance(moment, str):
        if moment.endswith("+00:00") and len(moment) in (25, 32):  # UTC ISO, fast path
            fraction = moment[20:26] if len(moment) == 32 else "000000"
            return f"{moment[:19]}.{fraction}Z"
        moment = datetime.fromisoformat(moment)
    if moment.utcoffset() != _ZERO:
        moment = moment.astimezone(UTC)
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}Z")


class BehaviourRow(NamedTuple):
    """One row of the behaviour index, as inserted (``request_id`` starts empty)."""

    id: str
    position: int
    platform: str
    platform_ref: str
    account: str
    methodology: str
    act_identity: str
    occurred_at: str  # stamp()
    reduction_g: int
    reported_at: str  # stamp() of the event's timestamp

    @classmethod
    def from_event(cls, e: Any, position: int) -> BehaviourRow:
        return cls(str(e.originator_id), position, e.platform, e.platform_ref, e.account,
                   e.methodology, e.act_identity, stamp(e.occurred_at), int(e.reduction_g),
                   stamp(e.timestamp))


def behaviour_row(position: int, behaviour_id: str, values: Sequence[Any]) -> BehaviourRow | None:
    """The behaviour row of the extracted ``values`` (see :data:`FIELDS`), or ``None`` when
    they are not of the expected shape (then the event is decoded generically)."""
    (platform, platform_ref, account, methodology, act_identity, reduction_g, occurred_type,
     occurred_at, timestamp_type, timestamp) = values
    if (occurred_type != DATETIME or timestamp_type != DATETIME or None in values
            or isinstance(reduction_g, float)):  # SQLite reads integers beyond 64 bits as REAL
        return None
    return BehaviourRow(behaviour_id, position, platform, platform_ref, account, methodology,
                        act_identity, stamp(occurred_at), int(reduction_g), stamp(timestamp))


def field(data: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path`` in decoded JSON, or ``None``."""
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def hyphenated(hex_id: str) -> str:
    """``str(UUID(hex_id))`` for the 32 lower-case hex digits the SQLite recorder stores."""
    if len(hex_id) == 32 and hex_id.islower():
        return f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"
    return str(UUID(hex_id))


def made_rows(rows: list[tuple[Any, ...]]) -> list[BehaviourRow | tuple[Any, ...]]:
    """Rows of :class:`~ledger.projections.log_reader.SQLiteReader`'s query ``(position,
    originator_id, version, topic, state, fields)`` with each behaviour's extracted fields
    made into its :class:`BehaviourRow`; the others become ``(position, originator_id,
    version, topic, state)``, for the mapper."""
    decode = _JSON.raw_decode
    items: list[BehaviourRow | tuple[Any, ...]] = []
    add = items.append
    for position, originator_id, version, topic, state, fields in rows:
        row = None if fields is None else behaviour_row(
            position, hyphenated(originator_id), decode(fields)[0])
        add((position, originator_id, version, topic, state) if row is None else row)
    return items
