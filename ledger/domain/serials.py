"""Serial-number ranges.

Every gram of a credit batch has a serial number; a holding is a sorted list of disjoint
half-open ranges ``[start, end)``. Ranges are stored as two-element lists so that they
survive a JSON round trip unchanged. All functions here are pure and never mutate their
arguments.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence

from ledger.domain.errors import InsufficientBalanceError

__all__ = [
    "Range",
    "SerialOverlapError",
    "add_ranges",
    "format_range",
    "normalise",
    "ranges_total",
    "remove_ranges",
    "take_lowest",
]

Range = list[int]  # [start, end), start < end


class SerialOverlapError(ValueError):
    """Ranges added to a holding that already holds some of them. Within one aggregate a
    bug; between a batch and its holdings (or two holdings) read at different moments, the
    sign that one copy was stale (the application then reads them again)."""


def ranges_total(ranges: Iterable[Sequence[int]]) -> int:
    """Number of serials (grams) covered by ``ranges``."""
    return sum(end - start for start, end in ranges)


def normalise(ranges: Iterable[Sequence[int]]) -> list[Range]:
    """Sort and merge adjacent ranges. Overlapping input is a programming error."""
    merged: list[Range] = []
    for start, end in sorted((int(s), int(e)) for s, e in ranges):
        if start >= end:
            raise ValueError(f"empty or inverted serial range [{start}, {end})")
        if merged and start < merged[-1][1]:
            raise SerialOverlapError(f"serial ranges overlap at {start}")
        if merged and start == merged[-1][1]:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    return merged


def _start(r: Sequence[int]) -> int:
    return r[0]


def add_ranges(held: Sequence[Sequence[int]], added: Iterable[Sequence[int]]) -> list[Range]:
    """Union of two disjoint range lists: ``held`` a holding (sorted and merged, as every
    function here returns), ``added`` in any order. Each added range is placed by binary
    search and merged with its neighbours, so adding to a fragmented holding costs
    O(len(held)) list copying, not a sort of the whole holding. The result shares
    ``held``'s range lists, which nothing changes in place (see the module doc)."""
    result: list[Range] = list(held)  # type: ignore[arg-type]
    for start, end in sorted((int(s), int(e)) for s, e in added):
        if start >= end:
            raise ValueError(f"empty or inverted serial range [{start}, {end})")
        i = bisect_left(result, start, key=_start)  # the first range starting at or after
        if (i < len(result) and result[i][0] < end) or (i > 0 and result[i - 1][1] > start):
            raise SerialOverlapError(f"serial ranges overlap at {start}")
        joins_left = i > 0 and result[i - 1][1] == start
        joins_right = i < len(result) and result[i][0] == end
        if joins_left and joins_right:
            result[i - 1 : i + 1] = [[result[i - 1][0], result[i][1]]]
        elif joins_left:
            result[i - 1] = [result[i - 1][0], end]
        elif joins_right:
            result[i] = [start, result[i][1]]
        else:
            result.insert(i, [start, end])
    return result


def take_lowest(held: Sequence[Sequence[int]], quantity: int) -> list[Range]:
    """The lowest ``quantity`` serials of ``held`` (the ranges a move will carry)."""
    available = ranges_total(held)
    if quantity > available:
        raise InsufficientBalanceError(
            f"needs {quantity} g but only {available} g are held",
            requested=quantity,
            available=available,
        )
    taken: list[Range] = []
    remaining = quantity
    for start, end in held:
        if remaining == 0:
            break
        size = min(end - start, remaining)
        taken.append([start, start + size])
        remaining -= size
    return taken


def remove_ranges(held: Sequence[Sequence[int]], removed: Iterable[Sequence[int]]) -> list[Range]:
    """``held`` minus ``removed``; every removed serial must be held."""
    result = [list(r) for r in normalise(held)]
    for r_start, r_end in normalise(removed):
        for i, (start, end) in enumerate(result):
            if start <= r_start and r_end <= end:
                pieces = [[start, r_start]] if start < r_start else []
                if r_end < end:
                    pieces.append([r_end, end])
                result[i : i + 1] = pieces
                break
        else:
            raise ValueError(f"serial range [{r_start}, {r_end}) is not held")
    return result


def format_range(block: str, start: int, end: int) -> str:
    """Human serial label: ``CDCER-2024-000001:1-2000000`` (inclusive of both ends)."""
    return f"{block}:{start}-{end - 1}"
