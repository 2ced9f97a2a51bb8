"""Bulk import of one platform's behaviour reports from a JSON-lines file, by several
processes.

A platform's history (Wuhan's 18 million behaviours in two years) is loaded the way it is
reported, through :meth:`Ledger.report_behaviours` with its validation and duplicate
detection, but by ``processes`` OS processes at once: one process is bound by its own
Python work (about 80 µs a behaviour), and the store takes concurrent writers (on
PostgreSQL the insert function orders them; on SQLite they take turns for the database's
write lock, each preparing its next chunk meanwhile). The file is cut into that many byte
ranges at line ends; each process imports its range in chunks and writes one result line
per input line.
An act reported in two ranges is accepted once: the store refuses the second save and that
line is rejected as a duplicate, as in any concurrent report.

Each input line is one JSON object with the fields of :class:`BehaviourReport`
(``person``, ``methodology_code``, ``methodology_version``, ``act_identity``,
``activity_amount`` as a decimal string, ``occurred_at`` as ISO 8601, ``platform_ref``). A
line that is not such an object is rejected with a ``validation-error``; the others are
imported regardless. Results are written in input order, one JSON object per line:
``{"line": n, "accepted": true, "behaviour_id": ..., "reduction_g": ...}`` or
``{"line": n, "accepted": false, "error": {"code": ..., "message": ...}}``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields
from itertools import pairwise
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from uuid import UUID

from ledger.application import BehaviourReport, BehaviourResult, Ledger
from ledger.domain.errors import LedgerError, ValidationError
from ledger.domain.participant import Role, require_role
from ledger.gc_tuning import tune_gc

__all__ = ["ImportSummary", "import_behaviours"]

FIELDS = tuple(f.name for f in fields(BehaviourReport))
CHUNK = 5_000  # lines per report_behaviours call (its transactions are smaller)


@dataclass(frozen=True)
class ImportSummary:
    lines: int
    accepted: int
    rejected: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


def import_behaviours(env: dict[str, str], platform: UUID, source: Path, results: Path, *,
                      processes: int = 2, chunk: int = CHUNK) -> ImportSummary:
    """Import ``source`` as ``platform``'s reports into the event store that ``env``
    configures (:meth:`ledger.runtime.Settings.event_store_env`), writing ``results``."""
    if processes < 1:
        raise ValidationError("processes must be at least 1", field="processes")
    if chunk < 1:
        raise ValidationError("chunk must be at least 1", field="chunk")
    if not source.is_file():
        raise ValidationError(f"no such file: {source}", field="source")
    started = time.perf_counter()  # the whole import, cutting the file included
    ledger = Ledger(env=env)
    try:  # an unknown or non-reporting platform fails here, not in every process
        require_role(ledger.participant(platform), Role.REPORTER)
    finally:
        ledger.close()
    ranges = _line_ranges(source, processes)
    with tempfile.TemporaryDirectory(prefix="carbon-ledger-import-") as scratch:
        parts = [Path(scratch) / f"part-{i}.jsonl" for i in range(len(ranges))]
        if len(ranges) == 1:
            counts = [_import_range(env, platform, source, *ranges[0], parts[0], chunk)]
        else:
            with ProcessPoolExecutor(max_workers=len(ranges), mp_context=get_context("spawn"),
                                     initializer=tune_gc) as pool:
                futures = [pool.submit(_import_range, env, platform, source, *span, part, chunk)
                           for span, part in zip(ranges, parts, strict=True)]
                counts = [future.result() for future in futures]
        seconds = time.perf_counter() - started
        with results.open("wb") as out:
            for part in parts:
                with part.open("rb") as written:
                    shutil.copyfileobj(written, out)
    accepted = sum(a for a, _ in counts)
    rejected = sum(r for _, r in counts)
    return ImportSummary(lines=accepted + rejected, accepted=accepted, rejected=rejected,
                         seconds=seconds)


def _line_ranges(source: Path, count: int) -> list[tuple[int, int, int]]:
    """``count`` byte ranges of ``source`` cut at line ends (fewer for a small file), with
    the number of the first line of each."""
    size = source.stat().st_size
    cuts = [0]
    with source.open("rb") as data:
        for i in range(1, count):
            data.seek(max(size * i // count, cuts[-1]))
            if data.tell() > 0:
                data.readline()  # to the start of the next line
            position = data.tell()
            if cuts[-1] < position < size:
                cuts.append(position)
        cuts.append(size)
        ranges = []
        line = 1
        for start, end in pairwise(cuts):
            ranges.append((start, end, line))
            data.seek(start)
            left = end - start
            while left:  # count its lines in blocks: the file may be larger than memory
                block = data.read(min(left, 1 << 24))
                line += block.count(b"\n")
                left -= len(block)
    return ranges


def _import_range(env: dict[str, str], platform: UUID, source: Path, start: int, end: int,
                  first_line: int, out: Path, chunk: int) -> tuple[int, int]:
    # The caller's ledger created the tables; processes creating them at the same moment
    # race in PostgreSQL's catalog ("tuple concurrently updated").
    ledger = Ledger(env={**env, "CREATE_TABLE": "false"})
    accepted = rejected = 0
    with source.open("rb") as data, out.open("w", encoding="utf-8") as results:
        data.seek(start)
        line = first_line
        while data.tell() < end:
            lines = []
            while len(lines) < chunk and data.tell() < end:
                lines.append(data.readline().removesuffix(b"\n").removesuffix(b"\r"))
            for record in _import_chunk(ledger, platform, lines, line):
                if record["accepted"]:
                    accepted += 1
                else:
                    rejected += 1
                results.write(json.dumps(record, separators=(",", ":")) + "\n")
            line += len(lines)
    ledger.close()
    return accepted, rejected


def _import_chunk(ledger: Ledger, platform: UUID, lines: list[bytes],
                  first_line: int) -> list[dict[str, Any]]:
    records: list[dict[str, Any] | None] = [None] * len(lines)
    reports: list[BehaviourReport] = []
    where: list[int] = []  # index in this chunk of each report
    for index, raw in enumerate(lines):
        try:
            reports.append(_report(raw))
            where.append(index)
        except ValidationError as error:
            records[index] = _rejected(first_line + index, error)
    if reports:
        for result in ledger.report_behaviours(platform=platform, reports=reports):
            index = where[result.index]
            records[index] = _record(first_line + index, result)
    return [r for r in records if r is not None]


def _report(raw: bytes) -> BehaviourReport:
    try:
        item = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("not a JSON object") from None
    if not isinstance(item, dict):
        raise ValidationError("not a JSON object")
    missing = [name for name in FIELDS if not isinstance(item.get(name), str)]
    if missing:
        raise ValidationError(f"missing or not text: {', '.join(missing)}", field=missing[0])
    unknown = sorted(set(item) - set(FIELDS))
    if unknown:
        raise ValidationError(f"unknown fields: {', '.join(unknown)}", field=unknown[0])
    return BehaviourReport(**{name: item[name] for name in FIELDS})


def _record(line: int, result: BehaviourResult) -> dict[str, Any]:
    if result.accepted:
        return {"line": line, "accepted": True, "behaviour_id": str(result.behaviour_id),
                "reduction_g": result.reduction_g}
    assert result.error is not None
    return _rejected(line, result.error)


def _rejected(line: int, error: LedgerError) -> dict[str, Any]:
    return {"line": line, "accepted": False,
            "error": {"code": error.code, "message": str(error)}}
