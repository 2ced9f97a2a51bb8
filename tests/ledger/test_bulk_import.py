"""Bulk import of a platform's reports from a JSON-lines file by several processes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from ledger.application import Ledger
from ledger.application import behaviours as behaviour_commands
from ledger.bulk_import import import_behaviours
from ledger.cli import main
from ledger.domain.errors import ParticipantNotFoundError, PermissionDeniedError
from ledger.runtime import LedgerRuntime, Settings
from tests.ledger.conftest import World, count_calls, sqlite_env


def report(n: int, **changes: str) -> dict[str, str]:
    return {"person": f"p-{n % 5}", "methodology_code": "WH-METRO",
            "methodology_version": "1", "act_identity": f"ride:{n}",
            "activity_amount": "12.5", "occurred_at": "2024-05-01T08:00:00Z",
            "platform_ref": f"r-{n}", **changes}


@pytest.fixture
def ledger_dir(tmp_path: Path) -> tuple[Path, UUID, UUID]:
    """A ledger with a metro methodology, a platform, and a verifier (not a reporter)."""
    data = tmp_path / "ledger"
    with LedgerRuntime(Settings(data_dir=data)) as runtime:
        ledger = runtime.ledger
        operator = ledger.register_participant(kind="registry_operator", name="registry")
        ledger.publish_methodology(actor=operator, code="WH-METRO", version="1",
                                   region="Wuhan", scene="metro", activity_unit="km",
                                   factor_g_per_unit="71.2", valid_from="2024-01-01")
        platform = ledger.register_participant(kind="platform", name="metro app",
                                               registered_by=operator)
        verifier = ledger.register_participant(kind="verifier", name="verifier",
                                               registered_by=operator)
    return data, platform, verifier


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def test_every_line_gets_a_result_in_order_and_each_act_is_accepted_once(
        ledger_dir: tuple[Path, UUID, UUID], tmp_path: Path) -> None:
    data, platform, _ = ledger_dir
    good = [json.dumps(report(n)) for n in range(40)]
    lines = [*good[:20], "not json", json.dumps(report(1)),  # line 22 repeats line 2's act
             json.dumps({k: v for k, v in report(99).items() if k != "person"}),
             json.dumps(report(98, activity_amount="-3")), *good[20:], "",
             json.dumps(report(97, colour="red"))]
    source = write_lines(tmp_path / "reports.jsonl", lines)
    results = tmp_path / "results.jsonl"
    env = Settings(data_dir=data).event_store_env()

    summary = import_behaviours(env, platform, source, results, processes=3, chunk=7)

    assert (summary.lines, summary.accepted, summary.rejected) == (len(lines), 40, 6)
    records = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r["line"] for r in records] == list(range(1, len(lines) + 1))
    rejected = {r["line"]: r["error"]["code"] for r in records if not r["accepted"]}
    # lines 2 and 22 report the same act from different ranges: whichever process saves
    # first has it accepted, the other line is rejected as a duplicate
    duplicate = 2 if 2 in rejected else 22
    assert rejected == {21: "validation-error", duplicate: "duplicate-behaviour",
                        23: "validation-error", 24: "validation-error",
                        45: "validation-error", 46: "validation-error"}
    kept = records[(2 if duplicate == 22 else 22) - 1]
    assert kept["accepted"] and kept["reduction_g"] == 890  # 12.5 km at 71.2 g/km

    again = import_behaviours(env, platform, source, results, processes=2)
    assert (again.accepted, again.rejected) == (0, len(lines))  # safe to run again
    with LedgerRuntime(Settings(data_dir=data)) as runtime:
        runtime.sync()
        assert runtime.views.behaviour_count() == 40


def test_an_unknown_or_non_reporting_platform_is_refused_before_anything_is_imported(
        ledger_dir: tuple[Path, UUID, UUID], tmp_path: Path) -> None:
    data, _, verifier = ledger_dir
    source = write_lines(tmp_path / "reports.jsonl", [json.dumps(report(1))])
    env = Settings(data_dir=data).event_store_env()
    with pytest.raises(ParticipantNotFoundError):
        import_behaviours(env, UUID(int=7), source, tmp_path / "out.jsonl")
    with pytest.raises(PermissionDeniedError):
        import_behaviours(env, verifier, source, tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()


def test_the_cli_imports_and_prints_one_line(ledger_dir: tuple[Path, UUID, UUID],
                                             tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    data, platform, _ = ledger_dir
    source = write_lines(tmp_path / "day.jsonl", [json.dumps(report(n)) for n in range(5)])

    assert main(["--data-dir", str(data), "import-behaviours", str(source),
                 "--platform", str(platform), "--processes", "2"]) == 0
    out = capsys.readouterr().out
    assert "5 lines: 5 accepted, 0 rejected" in out
    assert (tmp_path / "day.results.jsonl").exists()

    assert main(["--data-dir", str(data), "import-behaviours", str(tmp_path / "missing"),
                 "--platform", str(platform)]) == 2
    assert main(["--data-dir", str(data), "import-behaviours", str(source),
                 "--platform", "metro-app"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"carbon-ledger: error [validation-error]: no such file: {tmp_path / 'missing'}",
        "carbon-ledger: error [validation-error]: --platform is not a participant id: "
        "'metro-app'"]


def test_acts_saved_concurrently_are_rejected_and_the_rest_of_the_chunk_saved_together(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process saves one of the chunk's acts between the duplicate check and the
    save: the save is refused, that act is rejected naming the first record, and the rest
    is saved in one more transaction (not one at a time)."""
    ledger = world.ledger
    other = Ledger(env=sqlite_env(world.db))
    mine = [world.charge("p-1", "10", "2024-03-01T08:00:00Z") for _ in range(3)]
    first = behaviour_commands.first_events
    checks: list[int] = []

    def and_meanwhile_another_platform_reports(recorder: Any, ids: Any) -> Any:
        checks.append(len(ids))
        if len(checks) == 1:  # my check before the save, which misses what happens next
            other.report_behaviours(platform=world.pay_app, reports=[mine[1]])
            return {}
        return first(recorder, ids)

    monkeypatch.setattr(behaviour_commands, "first_events", and_meanwhile_another_platform_reports)
    saves = count_calls(monkeypatch, ledger, "save")

    results = world.report(world.ev_app, mine)

    assert [r.accepted for r in results] == [True, False, True]
    assert results[1].error is not None and results[1].error.code == "duplicate-behaviour"
    assert results[1].error.details["first_platform_ref"] == mine[1].platform_ref
    assert len(saves) == 2  # the refused chunk, then its other two acts together

