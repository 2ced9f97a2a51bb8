"""Timing, percentiles, progress bars and memory."""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

__all__ = ["Progress", "Result", "peak_memory_mb", "percentile", "timed"]

T = TypeVar("T")


@dataclass
class Result:
    """One measured figure, with the baseline it is compared to (if any)."""

    name: str
    backend: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str | None = None
    target: str | None = None
    met: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / float(self.baseline)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


class timed:  # noqa: N801 - used as a context manager, like a function
    def __enter__(self) -> timed:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.start


def peak_memory_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Progress:
    """A one-line progress bar on stderr for long runs."""

    def __init__(self, label: str, total: int, enabled: bool = True) -> None:
        self.label = label
        self.total = max(total, 1)
        self.done = 0
        self.enabled = enabled and sys.stderr.isatty()
        self.start = time.perf_counter()

    def advance(self, count: int) -> None:
        self.done += count
        if not self.enabled:
            return
        share = self.done / self.total
        elapsed = time.perf_counter() - self.start
        rate = self.done / elapsed if elapsed else 0.0
        bar = "#" * int(share * 30)
        sys.stderr.write(f"\r{self.label:<28} [{bar:<30}] {share:6.1%} {rate:10,.0f}/s")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")

    def wrap(self, items: Iterable[T], size: int = 1) -> Iterator[T]:
        for item in items:
            yield item
            self.advance(size)
        self.close()
