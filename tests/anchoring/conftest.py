"""Fixtures of the anchoring tests: a real ledger, Merkle log stores and chains.

JSON-RPC chain tests run against a real local node: anvil (Foundry's dev node), installed from
the npm registry as the pinned package ``@foundry-rs/anvil`` (which ships the prebuilt binary
in a per-platform dependency) into ``.cache/node-tools`` at the repository root, or into
``$CARBON_LEDGER_NODE_TOOLS``. The cache directory ignores itself for git. anvil runs with the
``cancun`` hardfork, the EVM version the committed ``AnchorRegistry`` artifact is compiled for
(ganache 7, the newest ganache, stops at shanghai). The node is started once per test session
on 127.0.0.1 and a free port, and stopped at the end; every test deploys its own registry.
Those tests are skipped only if ``node``/``npm`` are not installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from anchoring.chain import InProcessChain, JsonRpcChain
from anchoring.log import MerkleLog
from ledger.application import Ledger
from ledger.projections.database import make_engine

REPO_ROOT = Path(__file__).resolve().parents[2]
ANVIL_PACKAGE = "@foundry-rs/anvil"
ANVIL_VERSION = "1.7.1"
ANVIL_HARDFORK = "cancun"  # == settings.evmVersion of contracts/artifacts/AnchorRegistry.json
# Account 0 of anvil's default (public, test-only) mnemonic "test test ... junk".
ANVIL_PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
NODE_START_TIMEOUT = 60.0
CHAIN_KINDS = ["in-process", "json-rpc"]


# ------------------------------------------------------------------------------------ ledger


def make_ledger(path: Path) -> Ledger:
    return Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)})


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    app = make_ledger(tmp_path / "events.sqlite")
    yield app
    app.close()


def add_events(ledger: Ledger, count: int, prefix: str = "p") -> list[Any]:
    """Record ``count`` events (participant registrations) and return the participant ids."""
    return [
        ledger.register_participant(kind="registry_operator", name=f"{prefix}-{i}")
        for i in range(count)
    ]


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'merkle.sqlite'}"


@pytest.fixture
def store_engine(store_url: str) -> Iterator[Any]:
    engine = make_engine(store_url)
    yield engine
    engine.dispose()


@pytest.fixture
def merkle_log(ledger: Ledger, store_engine: Any) -> MerkleLog:
    return MerkleLog(ledger, store_engine)


# ------------------------------------------------------------------------------------ anvil


def node_tools_dir() -> Path:
    return Path(os.environ.get("CARBON_LEDGER_NODE_TOOLS", REPO_ROOT / ".cache" / "node-tools"))


def install_anvil(prefix: Path) -> Path:
    """Install the pinned anvil package under ``prefix`` (once) and return its launcher."""
    launcher = prefix / "node_modules" / ".bin" / "anvil"
    package_json = prefix / "node_modules" / "@foundry-rs" / "anvil" / "package.json"
    if (
        launcher.exists()
        and package_json.exists()
        and json.loads(package_json.read_text())["version"] == ANVIL_VERSION
    ):
        return launcher
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / ".gitignore").write_text("# created by tests/anchoring/conftest.py\n*\n")
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: cannot install the JSON-RPC test node (anvil)")
    subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(prefix),
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            f"{ANVIL_PACKAGE}@{ANVIL_VERSION}",
        ],
        check=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    if not launcher.exists():
        raise RuntimeError(f"npm installed {ANVIL_PACKAGE} but {launcher} is missing")
    return launcher


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 2.0) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply = json.loads(response.read())
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


@pytest.fixture(scope="session")
def anvil_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a local anvil node started for this test session (stopped at the end)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm are not installed: no local JSON-RPC node (anvil) for these tests")
    launcher = install_anvil(node_tools_dir())
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path_factory.mktemp("anvil") / "anvil.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                str(launcher),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--hardfork",
                ANVIL_HARDFORK,
                "--chain-id",
                "31337",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the launcher spawns the binary
        )
    try:
        deadline = time.monotonic() + NODE_START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"anvil exited early:\n{log_path.read_text()[-2000:]}")
            try:
                rpc(url, "eth_chainId")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"anvil did not answer on {url}") from None
                time.sleep(0.1)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# ------------------------------------------------------------------------------------ chains


def make_chain(kind: str, request: pytest.FixtureRequest) -> InProcessChain | JsonRpcChain:
    if kind == "in-process":
        return InProcessChain()
    url = request.getfixturevalue("anvil_url")
    return JsonRpcChain(url, ANVIL_PRIVATE_KEY, receipt_timeout=30.0)


@pytest.fixture(params=CHAIN_KINDS)
def chain(request: pytest.FixtureRequest) -> InProcessChain | JsonRpcChain:
    """A fresh AnchorRegistry on each kind of chain."""
    return make_chain(request.param, request)


@pytest.fixture
def in_process_chain() -> InProcessChain:
    return InProcessChain()


def mine_blocks(chain: Any, count: int) -> None:
    """Mine ``count`` empty blocks on a test chain (eth-tester or anvil)."""
    if isinstance(chain, InProcessChain):
        chain.mine_blocks(count)
    else:
        chain.w3.provider.make_request("anvil_mine", [hex(count)])
