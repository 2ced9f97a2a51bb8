"""Hostile bodies: too large, too deep. Refused before any parsing or authentication.

Importing the embedded chain's libraries raises Python's recursion limit to 100,000, so a
body of 100,000 ``[`` used to send the C JSON scanner deep enough to overflow the C stack:
the server process died (SIGSEGV) on one anonymous request. The middleware of
:mod:`api.limits` now bounds the size (413) and the nesting depth (422) first.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.limits import BodyLimits, nesting_depth
from api.settings import ApiSettings
from tests.api.support import EV, World, assert_problem

ROOT = Path(__file__).parents[2]
DEFAULTS = ApiSettings()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real ``carbon-ledger serve`` in its own process (a segfault must not take pytest
    with it): its base URL and the operator's API key."""
    data = tmp_path_factory.mktemp("serve") / "ledger"
    out = subprocess.run([sys.executable, "-m", "api.bootstrap", "--data-dir", str(data),
                          "--name", "Registry"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    secret = out.split("API key ")[1].split(": ")[1].split()[0]
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ledger.cli", "--data-dir", str(data), "serve", "--port",
         str(port), "--log-level", "warning", "--no-anchoring"], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/supply", timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("carbon-ledger serve did not start")
            time.sleep(0.2)
    try:
        yield base, secret
        assert process.poll() is None, f"the server died (exit code {process.returncode})"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _alive(base: str) -> None:
    assert httpx.get(f"{base}/supply", timeout=5).status_code == 200


@pytest.mark.parametrize("path", ["/retirements", "/behaviours", "/trades/settlements"])
def test_a_deeply_nested_body_is_refused_and_the_server_lives(server: tuple[str, str],
                                                              path: str):
    base, secret = server
    deep = b"[" * 100_000
    anonymous = httpx.post(f"{base}{path}", content=deep, timeout=30,
                           headers={"Content-Type": "application/json"})
    assert_problem(anonymous, 413, "request-too-large")  # no key: 64 KiB at most
    _alive(base)
    for body, headers in ((deep, {"Authorization": f"Bearer {secret}"}),
                          (deep, {"Authorization": "Bearer cl_unknown_key"}),
                          (deep[:60_000], {})):
        response = httpx.post(f"{base}{path}", content=body, timeout=30, headers={
            "Content-Type": "application/json", **headers})
        problem = assert_problem(response, 422, "json-too-deep")
        assert problem["details"]["limit"] == DEFAULTS.max_json_depth
        _alive(base)
    # objects, arrays inside strings that are not nesting, and a legitimate shape
    tricky = b'{"a":' * 40 + b"1" + b"}" * 40
    assert_problem(httpx.post(f"{base}{path}", content=tricky, headers={
        "Authorization": f"Bearer {secret}", "Content-Type": "application/json"}),
        422, "json-too-deep")
    _alive(base)


def test_a_huge_anonymous_body_is_refused_before_it_is_read(server: tuple[str, str]):
    base, _ = server
    # Content-Length declared: refused at once (the client may not even finish sending)
    huge = b"[" + b"1," * (25 * 1024 * 1024) + b"1]"  # 50 MB
    response = httpx.post(f"{base}/retirements", content=huge, timeout=60,
                          headers={"Content-Type": "application/json"})
    problem = assert_problem(response, 413, "request-too-large")
    assert problem["details"] == {"limit": DEFAULTS.max_anonymous_body_bytes,
                                  "authenticated": False}

    def chunks() -> Iterator[bytes]:  # chunked: no Content-Length, counted as it streams
        for _ in range(100):
            yield b" " * 65536

    streamed = httpx.post(f"{base}/retirements", content=chunks(), timeout=60,
                          headers={"Content-Type": "application/json",
                                   "Authorization": "Bearer cl_x_y"})
    assert streamed.status_code in (401, 422)  # 6.5 MB with a key: within the limit
    anonymous = httpx.post(f"{base}/retirements", content=chunks(), timeout=60,
                           headers={"Content-Type": "application/json"})
    assert_problem(anonymous, 413, "request-too-large")
    _alive(base)


def test_a_body_beyond_the_authenticated_limit_is_refused(server: tuple[str, str]):
    base, secret = server
    body = b" " * (DEFAULTS.max_body_bytes + 1)
    response = httpx.post(f"{base}/behaviours", content=body, timeout=60, headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {secret}"})
    problem = assert_problem(response, 413, "request-too-large")
    assert problem["details"]["authenticated"] is True
    _alive(base)


def test_an_ordinary_request_still_passes(world: World):
    platform = world.actors["platform"]
    response = world.api.post(platform, "/behaviours", json={"behaviours": [
        {"person": "p-1", "methodology_code": EV[0], "methodology_version": EV[1],
         "act_identity": "charger:A|1", "activity_amount": "10",
         "occurred_at": "2024-06-01T08:00:00Z", "platform_ref": "r-1"}]})
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1


# ------------------------------------------------------------------ limits fit real requests

CJK = "碳" * 200  # the longest text a Name/Reference takes, three bytes a character


def _largest_report() -> bytes:
    item = {"person": CJK, "methodology_code": "M" * 64, "methodology_version": CJK,
            "act_identity": CJK, "activity_amount": "999999999999999.999999",
            "occurred_at": "2024-06-01T08:00:00.000000+08:00", "platform_ref": CJK}
    return json.dumps({"behaviours": [item] * 10_000}, ensure_ascii=False).encode()


def _largest_settlement() -> bytes:
    uuid = "00000000-0000-4000-8000-000000000000"
    item = {"trade_ref": CJK, "listing_ref": CJK, "batch_id": uuid, "seller": uuid,
            "buyer": uuid, "quantity_g": "999,999,999,999 t", "price_per_tonne": "9" * 15,
            "currency": "CNY", "retire_on_delivery": {
                "beneficiary": CJK, "jurisdiction": CJK, "consumption_period": CJK,
                "purpose": {"kind": "event_neutrality", "claim_id": uuid}}}
    return json.dumps({"trades": [item] * 1_000}, ensure_ascii=False).encode()


async def _through(limits: BodyLimits, body: bytes, bearer: bool = True) -> dict[str, Any]:
    """What the middleware does with ``body``: passes it on (the app sees it whole) or
    answers."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen["body"] = (await receive())["body"]

    async def send(message: Any) -> None:
        seen.setdefault("status", message.get("status"))

    chunks = [body[i : i + (1 << 20)] for i in range(0, len(body), 1 << 20)] or [b""]

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    headers = [(b"authorization", b"Bearer cl_a_b")] if bearer else []
    limits.app = app
    await limits(
        {"type": "http", "method": "POST", "path": "/behaviours", "headers": headers},
        receive, send)
    return seen


def _limits(**changes: int) -> BodyLimits:
    options = {"max_bytes": DEFAULTS.max_body_bytes,
               "max_anonymous_bytes": DEFAULTS.max_anonymous_body_bytes,
               "max_depth": DEFAULTS.max_json_depth} | changes

    async def unused(*_: Any) -> None:
        raise AssertionError

    return BodyLimits(unused, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("make", [_largest_report, _largest_settlement])
def test_the_largest_legitimate_requests_fit_the_default_limits(make: Any):
    body = make()
    assert len(body) <= DEFAULTS.max_body_bytes
    assert nesting_depth(body) <= DEFAULTS.max_json_depth
    limits = _limits()
    seen = asyncio.run(_through(limits, body))
    assert seen.get("status") is None and seen["body"] == body


def test_the_limits_are_configurable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CARBON_LEDGER_MAX_BODY_BYTES", "1000")
    monkeypatch.setenv("CARBON_LEDGER_MAX_ANONYMOUS_BODY_BYTES", "10")
    monkeypatch.setenv("CARBON_LEDGER_MAX_JSON_DEPTH", "3")
    settings_ = ApiSettings.from_env()
    assert (settings_.max_body_bytes, settings_.max_anonymous_body_bytes,
            settings_.max_json_depth) == (1000, 10, 3)
    limits = _limits(max_bytes=1000, max_anonymous_bytes=10, max_depth=3)
    assert asyncio.run(_through(limits, b"[[[1]]]"))["body"] == b"[[[1]]]"
    assert asyncio.run(_through(limits, b"[[[[1]]]]"))["status"] == 422
    assert asyncio.run(_through(limits, b"[[[1]]]", bearer=False))["body"] == b"[[[1]]]"
    assert asyncio.run(_through(limits, b"[1, 2, 3, 4, 5]", bearer=False))["status"] == 413
    assert asyncio.run(_through(limits, b" " * 1001))["status"] == 413


# ------------------------------------------------------------------ the depth scan

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab碳\n'),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.text(alphabet='[]{}"\\ab', max_size=5), inner, max_size=4),
    max_leaves=40)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans(), st.sampled_from([None, 0, 1, 2, 5]))
def test_the_depth_scan_measures_what_the_parser_would_recurse(value: Any, ascii_only: bool,
                                                               stop: int | None):
    """Brackets inside strings (escaped quotes and backslashes included) never count; the
    scan is exact, or at least ``stop + 1`` once beyond ``stop``."""
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    true = _depth(value)
    found = nesting_depth(body, stop)
    if stop is None or true <= stop:
        assert found == true
    else:
        assert found > stop


@pytest.mark.parametrize("body", [b"[" * 100_000, b"]" * 10 + b"[" * 50, b'"' + b"[" * 99,
                                  b"[" * 20 + b"]" * 19 + b"}" * 5, b'["\\\\"' + b"[" * 40])
def test_the_depth_scan_bounds_what_is_not_json(body: bytes):
    """Unbalanced or unterminated bodies: the scan never underestimates a depth the parser
    could reach before failing."""
    reachable = 0
    depth = 0
    in_string = escaped = False
    for byte in body:  # the slow, obvious scan
        char = chr(byte)
        if in_string:
            escaped = not escaped and char == "\\"
            in_string = escaped or char != '"'
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            reachable = max(reachable, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    assert nesting_depth(body) >= min(reachable, 33) or reachable == 0
