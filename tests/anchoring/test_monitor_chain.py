"""``carbon-ledger monitor --rpc-url --registry --chain-id``: checkpoints read from a real
JSON-RPC node (anvil), proofs from the registry's API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import ApiSettings, create_app
from ledger import cli
from ledger.runtime import LedgerRuntime, Settings
from tests.anchoring.conftest import ANVIL_PRIVATE_KEY


class _Borrowed:
    def __init__(self, client: TestClient) -> None:
        self.client = client

    def __enter__(self) -> TestClient:
        return self.client

    def __exit__(self, *_: object) -> None:
        return None


def test_the_monitor_reads_checkpoints_from_the_chain(
        anvil_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]):
    settings = Settings(data_dir=tmp_path / "ledger", rpc_url=anvil_url,
                        chain_key=ANVIL_PRIVATE_KEY, confirmations=0)
    with LedgerRuntime(settings) as runtime:
        for i in range(3):
            runtime.ledger.register_participant(kind="registry_operator", name=f"op-{i}")
        status: Any = runtime.anchoring.anchor_now()
        assert status.anchor is not None
        chain = runtime.anchoring.chain
        app = create_app(ApiSettings(ledger=runtime.settings), runtime=runtime)
        with TestClient(app, base_url="http://registry.test") as client:
            monkeypatch.setattr("anchoring.monitor.open_client", lambda url: _Borrowed(client))
            argv = ["monitor", "--url", "http://registry.test", "--rpc-url", anvil_url,
                    "--registry", chain.contract_address, "--once",
                    "--state", str(tmp_path / "state.json")]
            assert cli.main([*argv, "--chain-id", str(chain.chain_id)]) == 0
            out = capsys.readouterr().out
            assert f"{status.anchor.tree_size:,} events" in out
            assert cli.main([*argv, "--chain-id", str(chain.chain_id + 1)]) == 2
            assert f"not {chain.chain_id + 1}" in capsys.readouterr().err
            assert cli.main(["monitor", "--url", "http://registry.test", "--rpc-url", anvil_url,
                             "--registry", "0x1234", "--once"]) == 2
            assert "--registry" in capsys.readouterr().err
