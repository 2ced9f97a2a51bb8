from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.cli import main


@pytest.fixture
def backend(monkeypatch):
    """The CLI tests share one demo ledger per module, on SQLite; the PostgreSQL demo has
    its own test below."""
    monkeypatch.delenv("CARBON_LEDGER_DATABASE_URL", raising=False)
    return "sqlite"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    data = tmp_path_factory.mktemp("cli") / "demo"
    return data


@pytest.fixture(scope="module")
def demo_output(demo_run: Path):
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["--data-dir", str(demo_run), "demo", "--people", "5000"])
    return code, buffer.getvalue()


def test_demo_replays_the_domain_cases_and_checks_itself(demo_output):
    code, out = demo_output
    assert code == 0, out
    assert "REJECTED [duplicate-behaviour]" in out
    assert "replayed=True, same serials=True" in out
    assert "retired 4,544.76 t against the claim: met=True" in out
    assert "CIIE 2022 forum: 5.503 t retired, met=True" in out
    assert "auction settled: 43,474 t at 34 CNY/t" in out
    assert "REJECTED [overlapping-import]" in out
    assert "Bank A tries to release Bank B's pledge: REJECTED [forbidden]" in out
    assert "invariants and read models checked for 4 batches: OK" in out
    assert "identical=True" in out
    assert "[PASS] chain: checkpoint" in out and "RESULT: VERIFIED" in out
    assert "[FAIL]" not in out


def test_the_demo_certificate_verifies_against_the_published_trust_anchors(demo_output,
                                                                           demo_run, capsys):
    """What the demo tells its reader to run: verified with the trust anchors (exit 0), and
    without them "not verified against a chain" (exit 3), never a silent pass."""
    assert demo_output[0] == 0
    certificates = demo_run / "certificates"
    cert = str(certificates / "hubei-2000t-retirement.json")
    trust = certificates / "trust-anchors.json"
    capsys.readouterr()
    assert main(["--data-dir", str(demo_run), "trust-anchors"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(trust.read_text())
    assert main(["--data-dir", str(demo_run), "verify", cert, "--trust", str(trust)]) == 0
    assert "RESULT: VERIFIED" in capsys.readouterr().out
    assert main(["--data-dir", str(demo_run), "verify", cert]) == 3
    assert "RESULT: NOT VERIFIED AGAINST A CHAIN" in capsys.readouterr().out


def test_inspection_commands_read_the_demo_ledger(demo_output, demo_run, capsys):
    assert demo_output[0] == 0
    assert main(["--data-dir", str(demo_run), "batches"]) == 0
    out = capsys.readouterr().out
    assert "HBCER-2024-000001" in out and "PHCER-2023-000001" in out
    assert main(["--data-dir", str(demo_run), "serial", "HBCER-2024-000001", "1500"]) == 0
    out = capsys.readouterr().out
    assert "retired" in out and "compliance_offset" in out
    assert main(["--data-dir", str(demo_run), "check"]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["--data-dir", str(demo_run), "retirements", "--purpose",
                 "event_neutrality"]) == 0
    assert capsys.readouterr().out.count("event_neutrality") == 2
    assert main(["--data-dir", str(demo_run), "rebuild"]) == 0
    assert "rebuilt" in capsys.readouterr().out


def test_errors_are_one_readable_line_and_a_nonzero_exit(tmp_path, capsys, demo_output,
                                                         demo_run):
    assert main(["--data-dir", str(tmp_path / "nothing"), "status"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no ledger in" in err
    assert main(["--data-dir", str(demo_run), "serial", "HBCER-2024-000001", "99999999999"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("carbon-ledger: error [") and err.count("\n") == 1


def test_demo_runs_on_postgresql(postgres_schema, monkeypatch, tmp_path, capsys):
    from tests.conftest import database_url_for_tests

    monkeypatch.setenv("CARBON_LEDGER_DATABASE_URL", database_url_for_tests())
    monkeypatch.setenv("CARBON_LEDGER_DATABASE_SCHEMA", postgres_schema)
    assert main(["--data-dir", str(tmp_path / "pg-demo"), "demo", "--people", "3000"]) == 0
    out = capsys.readouterr().out
    assert "invariants and read models checked for 4 batches: OK" in out
    assert "[PASS] chain: anchor" in out
    assert main(["--data-dir", str(tmp_path / "pg-demo"), "demo"]) == 2
    assert "needs an empty ledger" in capsys.readouterr().err
    assert main(["--data-dir", str(tmp_path / "pg-demo"), "audit"]) == 0
