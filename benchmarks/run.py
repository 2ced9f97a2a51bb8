"""``carbon-ledger bench``: run the benchmarks and write the report.

``--quick`` (what CI runs) uses small sizes so the benchmarks never rot; the full run
(1 million behaviours; Merkle logs of 1 and 10 million leaves) writes docs/BENCHMARKS.md;
``--scale N`` only ingests N behaviours (e.g. 10 million) and reports the throughput curve.
"""

from __future__ import annotations

import json
import math
import platform
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.measure import Result, peak_memory_mb
from benchmarks.suite import BenchConfig, Suite

__all__ = ["run"]

ROOT = Path(__file__).parents[1]


def _postgres_reachable(url: str) -> bool:
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            return True
    except Exception:
        return False


def run(quick: bool, backends: list[str], output: Path | None, database_url: str,
        work_dir: Path | None = None, scale: int | None = None) -> list[Result]:
    work = work_dir or Path(tempfile.mkdtemp(prefix="carbon-ledger-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if "postgres" in backends and not _postgres_reachable(database_url):
        print(f"PostgreSQL not reachable at {database_url}: skipping its benchmarks",
              file=sys.stderr)
        backends = [b for b in backends if b != "postgres"]
    config = BenchConfig(quick=quick, backends=backends, work_dir=work,
                         database_url=database_url, scale=scale)
    suite = Suite(config)
    mode = f"scale {scale:,}" if scale else ("quick" if quick else "full")
    print(f"carbon-ledger benchmarks ({mode}) in {work}", flush=True)
    try:
        if scale is not None:  # only the ingestion curve at this size
            for backend in backends:
                suite.ingestion(backend, suite.baseline_inserts(backend, 500_000),
                                then_rebuild=False)
            return _finish(suite, output, mode)
        suite.baseline_sha256()
        for backend in backends:
            baseline = suite.baseline_inserts(backend, 100_000 if quick else 500_000)
            suite.ingestion(backend, baseline)
            suite.bulk_import(backend, baseline)
            suite.single_commands(backend)
            suite.one_batch(backend)
            suite.concurrent_writers(backend)
            suite.api(backend)
        suite.merkle_at_scale()
    finally:
        if work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return _finish(suite, output, mode)


def _finish(suite: Suite, output: Path | None, mode: str) -> list[Result]:
    suite.add(Result("peak memory of the benchmark process", "all", peak_memory_mb(), "MiB"))
    if output is not None:
        write_report(suite, output, mode)
    missed = [r for r in suite.results if r.met is False]
    if missed:
        print(f"{len(missed)} targets missed: " + "; ".join(r.name for r in missed))
    return suite.results


def write_report(suite: Suite, output: Path, mode: str) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    raw = {"when": stamp, "mode": mode, "machine": machine(),
           "results": [r.as_dict() for r in suite.results], "curves": suite.curves}
    output.with_suffix(".json").write_text(json.dumps(raw, indent=2) + "\n")
    plot = output.with_name(f"{output.stem.lower()}-throughput.svg")
    plot.write_text(svg_plot(suite.curves))
    lines = [
        "| backend | measurement | value | baseline | ratio | target | met |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for r in suite.results:
        lines.append(
            f"| {r.backend} | {r.name} | {r.value:,.2f} {r.unit} | "
            f"{'' if r.baseline is None else f'{r.baseline:,.0f} ({r.baseline_name})'} | "
            f"{'' if r.ratio is None else f'{r.ratio:.3f}'} | {r.target or ''} | "
            f"{'' if r.met is None else ('yes' if r.met else '**no**')} |")
    marker = "<!-- results -->"
    text = output.read_text() if output.exists() else f"# Benchmarks\n\n{marker}\n{marker}\n"
    head, _, rest = text.partition(marker)
    _, _, tail = rest.partition(marker)
    body = (f"{marker}\nRun: {stamp}, {mode} mode, on "
            f"{machine()}.\n\n" + "\n".join(lines) + f"\n\n![throughput]({plot.name})\n{marker}")
    output.write_text(head + body + tail)
    print(f"report written to {output}")


def machine() -> str:
    import os

    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}")


def svg_plot(curves: dict[str, list[tuple[int, float]]]) -> str:
    """Throughput against ledger size (logarithmic), as a small self-contained SVG."""
    width, height, pad = 640, 360, 50
    points = [p for curve in curves.values() for p in curve if p[0] > 0]
    if not points:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"/>'
    # 9,736 accepted of the first 10,000 reports still starts the axis at 10,000.
    low = math.floor(math.log10(min(x for x, _ in points)) + 0.05)
    high = max(math.ceil(math.log10(max(x for x, _ in points))), low + 1)
    max_y = max(y for _, y in points) * 1.15 or 1

    def px(x: float) -> float:
        return max(pad, pad + (width - pad - 10) * (math.log10(x) - low) / (high - low))

    def py(y: float) -> float:
        return height - pad - (height - pad - 10) * y / max_y

    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<line x1="{pad}" y1="{height - pad}" x2="{width - 10}" y2="{height - pad}" '
             'stroke="black"/>',
             f'<line x1="{pad}" y1="10" x2="{pad}" y2="{height - pad}" stroke="black"/>',
             f'<text x="{width // 2}" y="{height - 12}" text-anchor="middle">behaviours in '
             'the ledger (log scale)</text>',
             f'<text x="12" y="{height // 2}" transform="rotate(-90 12 {height // 2})" '
             'text-anchor="middle">behaviours/s</text>']
    for i in range(5):
        y_value = max_y * i / 4
        parts.append(f'<text x="{pad - 4}" y="{py(y_value) + 4:.0f}" text-anchor="end">'
                     f'{y_value:,.0f}</text>')
    for decade in range(low, high + 1):
        parts.append(f'<text x="{px(10**decade):.0f}" y="{height - pad + 14}" '
                     f'text-anchor="middle">{10**decade:,}</text>')
    for n, (name, curve) in enumerate(sorted(curves.items())):
        colour = colours[n % len(colours)]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in curve if x > 0)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{path}"/>')
        parts.append(f'<text x="{width - 150}" y="{20 + 14 * n}" fill="{colour}">{name}'
                     "</text>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
