"""Prometheus metrics in the text exposition format (version 0.0.4), without a dependency.

:class:`Counter` and :class:`Histogram` are updated as requests are served; the gauges of
the ledger (projector lag, anchors, writer queue, connection pools) are sampled when
``/metrics`` is scraped (see :mod:`api.operations`). Labels are bounded by construction:
routes are route *templates* (``/batches/{batch_id}``), never raw paths, and statuses are
classes (``2xx``).

The numbers are per server process: with ``serve --workers N`` each worker counts its own
requests (scrape each, or run one worker per port).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence

__all__ = ["CONTENT_TYPE", "Counter", "Histogram", "Sample", "render", "render_family"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Labels = tuple[tuple[str, str], ...]
Sample = tuple[str, Labels, float]  # metric name (with suffix), labels, value


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in labels) + "}"


def render_family(name: str, kind: str, help_text: str, samples: Iterable[Sample]) -> str:
    """One metric family: ``# HELP``, ``# TYPE`` and its samples."""
    lines = [f"# HELP {name} {help_text.replace(chr(92), chr(92) * 2).replace(chr(10), ' ')}",
             f"# TYPE {name} {kind}"]
    lines += [f"{sample}{_labels(labels)} {_number(value)}" for sample, labels, value in samples]
    return "\n".join(lines) + "\n"


def render(families: Iterable[str]) -> str:
    return "".join(families)


class Counter:
    """A counter by label values (``inc(("GET", "/x"))``)."""

    def __init__(self, name: str, help_text: str, label_names: Sequence[str]) -> None:
        self.name = name
        self.help = help_text
        self.label_names = tuple(label_names)
        self._values: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()

    def inc(self, label_values: tuple[str, ...], amount: float = 1.0) -> None:
        with self._lock:
            self._values[label_values] = self._values.get(label_values, 0.0) + amount

    def value(self, label_values: tuple[str, ...]) -> float:
        return self._values.get(label_values, 0.0)

    def render(self) -> str:
        with self._lock:
            items = sorted(self._values.items())
        return render_family(self.name, "counter", self.help, (
            (self.name, tuple(zip(self.label_names, values, strict=True)), value)
            for values, value in items))


# Seconds: from a cached read (about a millisecond) to a bulk report of 10,000 behaviours.
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Histogram:
    """A histogram of observations by label values, with cumulative buckets."""

    def __init__(self, name: str, help_text: str, label_names: Sequence[str],
                 buckets: Sequence[float] = DEFAULT_BUCKETS) -> None:
        self.name = name
        self.help = help_text
        self.label_names = tuple(label_names)
        self.buckets = tuple(sorted(buckets))
        # label values -> (count per bucket (not cumulative), +Inf count, sum)
        self._series: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}
        self._lock = threading.Lock()

    def observe(self, label_values: tuple[str, ...], value: float) -> None:
        with self._lock:
            series = self._series.get(label_values)
            if series is None:
                series = self._series[label_values] = ([0] * (len(self.buckets) + 1), [0.0])
            counts, total = series
            for index, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[index] += 1
                    break
            else:
                counts[-1] += 1
            total[0] += value

    def render(self) -> str:
        with self._lock:
            items = sorted((values, (list(counts), total[0]))
                           for values, (counts, total) in self._series.items())
        samples: list[Sample] = []
        for values, (counts, total) in items:
            labels = tuple(zip(self.label_names, values, strict=True))
            running = 0
            for bound, count in zip((*self.buckets, math.inf), counts, strict=True):
                running += count
                le = "+Inf" if math.isinf(bound) else _number(bound)
                samples.append((f"{self.name}_bucket", (*labels, ("le", le)), running))
            samples.append((f"{self.name}_sum", labels, total))
            samples.append((f"{self.name}_count", labels, running))
        return render_family(self.name, "histogram", self.help, samples)
