"""The HTTP API under load: ``carbon-ledger serve`` runs in its own process and ``wrk``
(a C load generator, Debian package ``wrk``) drives it with 32 concurrent connections, one
scenario at a time; the bulk behaviour endpoint is driven by one client sending requests of
5,000 behaviours, serialised before the clock starts.

Every write request is distinct: the wrk script numbers its requests per thread, so each
reported behaviour is a new physical act and each transfer a new transfer.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from uuid import UUID

import httpx

from benchmarks.data import behaviour_batches, make_cast
from benchmarks.measure import Progress, timed
from ledger.application import Ledger
from ledger.runtime import LedgerRuntime, Settings

__all__ = ["ApiFixture", "LoadFigures", "Scenario", "bulk_ingestion", "prepare", "run_wrk",
           "scenarios", "serving", "wrk_path"]

CONNECTIONS = 32
BULK_SIZE = 5_000


@dataclass(frozen=True)
class ApiFixture:
    """What the load needs from the ledger it is served: keys, a batch, a recipient."""

    platform_secrets: list[str]
    batch_id: UUID
    recipient: UUID


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    secret: str | None
    body: str | None = None  # ``{key}`` is replaced by a per-request unique key
    command: bool = False


@dataclass(frozen=True)
class LoadFigures:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    failures: int


def wrk_path() -> str | None:
    return shutil.which("wrk")


def prepare(settings: Settings, project_batch: object) -> ApiFixture:
    """Register the cast, issue the platforms' API keys and a batch held by platform 0,
    and bring the read models up to date, before the server starts."""
    with LedgerRuntime(settings) as runtime:
        ledger: Ledger = runtime.ledger
        cast = make_cast(ledger)
        secrets = [ledger.issue_api_key(actor=cast.operator, participant_id=p)[1]
                   for p in cast.platforms]
        batch = project_batch(runtime, cast, 10**13)  # type: ignore[operator]
        runtime.sync()
        return ApiFixture(platform_secrets=secrets, batch_id=batch, recipient=cast.buyers[0])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_env(settings: Settings) -> dict[str, str]:
    env = {**os.environ, "CARBON_LEDGER_DATA_DIR": str(settings.data_dir)}
    env.pop("CARBON_LEDGER_DATABASE_URL", None)
    env.pop("CARBON_LEDGER_DATABASE_SCHEMA", None)
    if settings.database_url:
        env["CARBON_LEDGER_DATABASE_URL"] = str(settings.database_url)
        env["CARBON_LEDGER_DATABASE_SCHEMA"] = settings.database_schema
    return env


@contextmanager
def serving(settings: Settings, workers: int = 1) -> Iterator[str]:
    """``carbon-ledger serve`` on a free port; yields its base URL once it answers."""
    port = _free_port()
    command = [sys.executable, "-m", "ledger.cli", "serve", "--port", str(port),
               "--workers", str(workers), "--log-level", "warning"]
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, env=_server_env(settings), stdout=log, stderr=log)
        try:
            _wait_until_up(url, server, log)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: IO[bytes],
                   timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")
            raise RuntimeError(f"the API server exited with {server.returncode}: {output}")
        try:
            if httpx.get(f"{url}/supply", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the API server did not answer at {url} within {timeout_s:.0f} s")


def scenarios(fixture: ApiFixture) -> list[Scenario]:
    behaviour = json.dumps({"behaviours": [{
        "person": "wrk-person-{key}", "methodology_code": "WH-METRO-V1",
        "methodology_version": "1", "act_identity": "wrk:ride:{key}",
        "activity_amount": "12.5", "occurred_at": "2024-05-01T08:00:00Z",
        "platform_ref": "wrk-{key}"}]})
    transfer = json.dumps({"batch_id": str(fixture.batch_id),
                           "recipient": str(fixture.recipient), "quantity_g": 1000})
    secret = fixture.platform_secrets[0]
    return [
        Scenario("report one behaviour (POST /behaviours)", "POST", "/behaviours", secret,
                 behaviour, command=True),
        Scenario("transfer (POST /transfers)", "POST", "/transfers", secret, transfer,
                 command=True),
        Scenario("read a batch (GET /batches/{id})", "GET", f"/batches/{fixture.batch_id}",
                 None),
        Scenario("read own balances (GET /me/balances)", "GET", "/me/balances", secret),
    ]


def _lua(text: str) -> str:
    """A Lua long-bracket string literal holding ``text`` verbatim."""
    level = 1
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def _wrk_script(scenario: Scenario) -> str:
    headers = {"Accept": "application/json"}
    if scenario.secret:
        headers["Authorization"] = f"Bearer {scenario.secret}"
    if scenario.body is not None:
        headers["Content-Type"] = "application/json"
    header_lines = "\n".join(f"headers[ {_lua(k)} ] = {_lua(v)}" for k, v in headers.items())
    body = _lua(scenario.body) if scenario.body is not None else "nil"
    return f"""
local threads = {{}}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
local counter = 0
local headers = {{}}
{header_lines}
local template = {body}
request = function()
  counter = counter + 1
  local body = nil
  if template ~= nil then
    body = template:gsub("{{key}}", tostring(tid) .. "-" .. tostring(counter))
  end
  return wrk.format({_lua(scenario.method)}, {_lua(scenario.path)}, headers, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK-RESULT {{\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, "
    .. "\\"p99_us\\": %d, \\"failures\\": %d}}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def run_wrk(url: str, scenario: Scenario, seconds: int,
            connections: int = CONNECTIONS) -> LoadFigures:
    wrk = wrk_path()
    if wrk is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_wrk_script(scenario))
    try:
        done = subprocess.run(
            [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
             "-s", script.name, url], capture_output=True, text=True, timeout=seconds + 120,
            check=False)
    finally:
        Path(script.name).unlink(missing_ok=True)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK-RESULT ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    raw = json.loads(line.removeprefix("WRK-RESULT "))
    return LoadFigures(requests_per_s=raw["requests"] / (raw["duration_us"] / 1e6),
                       p50_ms=raw["p50_us"] / 1000, p99_ms=raw["p99_us"] / 1000,
                       requests=raw["requests"], failures=raw["failures"])


def bulk_ingestion(url: str, fixture: ApiFixture, total: int, people: int,
                   progress: bool) -> tuple[float, int]:
    """Behaviours per second through ``POST /behaviours`` in requests of 5,000; returns the
    rate and the number accepted."""
    bodies: list[tuple[int, bytes]] = []
    for platform, reports in behaviour_batches(total, BULK_SIZE, people,
                                               len(fixture.platform_secrets), seed=11,
                                               start_index=10**9):
        bodies.append((platform, json.dumps({"behaviours": [{
            "person": r.person, "methodology_code": r.methodology_code,
            "methodology_version": r.methodology_version, "act_identity": r.act_identity,
            "activity_amount": r.activity_amount,
            "occurred_at": r.occurred_at.isoformat(),  # type: ignore[union-attr]
            "platform_ref": r.platform_ref} for r in reports]}).encode()))
    accepted = 0
    bar = Progress("bulk HTTP ingestion", total, progress)
    with httpx.Client(base_url=url, timeout=600) as client, timed() as t:
        for platform, body in bodies:
            response = client.post("/behaviours", content=body, headers={
                "Authorization": f"Bearer {fixture.platform_secrets[platform]}",
                "Content-Type": "application/json"})
            if response.status_code != 200:
                raise RuntimeError(f"bulk request failed: {response.status_code} "
                                   f"{response.text[:300]}")
            accepted += int(response.json()["accepted"])
            bar.advance(BULK_SIZE)
    bar.close()
    return total / t.seconds, accepted
