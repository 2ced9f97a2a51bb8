"""``carbon-ledger demo`` honours CARBON_LEDGER_RPC_URL: it anchors on that JSON-RPC node (a
real local anvil), not on the embedded chain, and its certificate verifies against it."""

from __future__ import annotations

from pathlib import Path

import pytest

from anchoring.chain import JsonRpcChain
from ledger import cli, demo
from ledger.runtime import LedgerRuntime, Settings
from tests.anchoring.conftest import ANVIL_PRIVATE_KEY, free_port

ENV = ("CARBON_LEDGER_ANCHOR_CONTRACT", "CARBON_LEDGER_DATABASE_URL",
       "CARBON_LEDGER_ANCHOR_EVERY_EVENTS", "CARBON_LEDGER_ANCHOR_EVERY_SECONDS")


@pytest.fixture
def rpc_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_demo_takes_its_chain_settings_from_the_environment(
        rpc_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    rpc_env.setenv("CARBON_LEDGER_RPC_URL", url)
    rpc_env.setenv("CARBON_LEDGER_CHAIN_KEY", ANVIL_PRIVATE_KEY)
    rpc_env.setattr(demo, "run_demo", lambda runtime, people: pytest.fail("ran the demo"))
    assert cli.main(["--data-dir", str(tmp_path / "demo"), "demo"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and url in error[0], error
    assert not (tmp_path / "demo" / "chain").exists()


def test_the_demo_without_the_key_is_one_readable_error(
        rpc_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    rpc_env.setenv("CARBON_LEDGER_RPC_URL", "http://127.0.0.1:8545")
    rpc_env.delenv("CARBON_LEDGER_CHAIN_KEY", raising=False)
    assert cli.main(["--data-dir", str(tmp_path / "demo"), "demo", "--people", "100"]) == 2
    assert "CARBON_LEDGER_CHAIN_KEY" in capsys.readouterr().err


def test_the_demo_anchors_on_the_json_rpc_node(
        anvil_url: str, rpc_env: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]):
    data = tmp_path / "demo"
    rpc_env.setenv("CARBON_LEDGER_RPC_URL", anvil_url)
    rpc_env.setenv("CARBON_LEDGER_CHAIN_KEY", ANVIL_PRIVATE_KEY)
    rpc_env.setenv("CARBON_LEDGER_CONFIRMATIONS", "0")
    assert cli.main(["--data-dir", str(data), "demo", "--people", "2000"]) == 0
    out = capsys.readouterr().out
    assert f"anchored on JsonRpcChain('{anvil_url}'" in out
    assert not (data / "chain").exists()  # the embedded chain was never opened
    address = (data / "anchor-contract.txt").read_text().strip()
    chain = JsonRpcChain(anvil_url, ANVIL_PRIVATE_KEY, address)
    assert chain.checkpoint_count() >= 2
    latest = chain.latest_checkpoint()
    assert latest is not None
    with LedgerRuntime(Settings.from_env(data)) as runtime:
        assert runtime.anchoring.merkle_log.root(latest.tree_size) == latest.root
    certificate = data / "certificates" / "hubei-2000t-retirement.json"
    trust = data / "certificates" / "trust-anchors.json"
    assert cli.main(["--data-dir", str(data), "verify", str(certificate), "--trust", str(trust),
                     "--rpc-url", anvil_url]) == 0
