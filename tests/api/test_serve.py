"""``carbon-ledger serve`` and the settings it takes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.auth import sign_request
from api.bootstrap import main as bootstrap_main
from api.settings import ApiSettings
from ledger.cli import build_parser
from tests.api.support import public_hex

ROOT = Path(__file__).parents[2]


def test_settings_come_from_flags_then_environment(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("CARBON_LEDGER_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("CARBON_LEDGER_SIGNATURE_WINDOW_S", "60")
    monkeypatch.setenv("CARBON_LEDGER_API_ANCHORING", "0")
    env = ApiSettings.from_env()
    assert (env.ledger.data_dir, env.signature_window_s, env.anchoring) == (
        tmp_path / "env", 60, False)
    flagged = ApiSettings.from_env(tmp_path / "flag", 5, anchoring=True)
    assert (flagged.ledger.data_dir, flagged.signature_window_s, flagged.anchoring) == (
        tmp_path / "flag", 5, True)
    args = build_parser().parse_args(["--data-dir", "d", "serve", "--port", "9000",
                                      "--signature-window", "30", "--no-anchoring"])
    assert (args.host, args.port, args.signature_window, args.no_anchoring) == (
        "127.0.0.1", 9000, 30, True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_answers_over_http(storage: str, tmp_path: Path, capsys):
    data = tmp_path / "ledger"
    key = Ed25519PrivateKey.generate()
    assert bootstrap_main(["--data-dir", str(data), "--name", "Registry",
                           "--public-key", public_hex(key)]) == 0
    out = capsys.readouterr().out
    operator = UUID(out.split("registry operator ")[1].split()[0])
    secret = out.split("API key ")[1].split(": ")[1].split()[0]
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "ledger.cli", "--data-dir", str(data), "serve", "--port",
         str(port), "--log-level", "warning"], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                supply = httpx.get(f"http://127.0.0.1:{port}/supply", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("carbon-ledger serve did not start")
                time.sleep(0.2)
        assert supply.status_code == 200 and supply.json()["batches"] == 0
        me = httpx.get(f"http://127.0.0.1:{port}/me",
                       headers={"Authorization": f"Bearer {secret}"}).json()
        assert me["participant"]["kind"] == "registry_operator"
        body = json.dumps({"event_name": "CIIE 2022 forum", "footprint_g": "5503 kg"}).encode()
        claim = httpx.post(f"http://127.0.0.1:{port}/claims", content=body, headers={
            "Authorization": f"Bearer {secret}", "Content-Type": "application/json",
            **sign_request(key, operator, "POST", "/claims", body=body)})
        assert claim.status_code == 201, claim.text
        assert claim.json()["footprint_g"] == 5_503_000
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_bootstrap_refuses_a_ledger_with_participants(storage: str, tmp_path: Path, capsys):
    data = str(tmp_path / "ledger")
    assert bootstrap_main(["--data-dir", data, "--name", "Registry"]) == 0
    assert bootstrap_main(["--data-dir", data, "--name", "Another"]) == 2
    assert "already has participants" in capsys.readouterr().err
