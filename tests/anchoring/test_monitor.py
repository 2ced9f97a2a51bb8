"""The log monitor: an honest, growing log passes; every way of serving a rewritten history
(same size, larger, smaller, a lying API, a chain that disagrees with the API, another
registry) is reported as a rogue checkpoint, in memory, in process, over HTTP and from the
command line."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from anchoring.merkle import MerkleTree, leaf_hash
from anchoring.monitor import (
    EXIT_ROGUE,
    ChainCheckpoints,
    Consistency,
    HttpLogServer,
    InProcessLogServer,
    Monitor,
    MonitorState,
    MonitorUnavailableError,
    RogueCheckpointError,
    SeenCheckpoint,
)
from anchoring.note import LogSigner
from anchoring.proofs import LogProofs
from api import ApiSettings, create_app
from ledger import cli
from ledger.runtime import LedgerRuntime, Settings

REGISTRY = "0x" + "ab" * 20
LOG_SIGNER = LogSigner("example.com/log", Ed25519PrivateKey.generate())


def leaves(count: int, tag: bytes = b"") -> list[bytes]:
    return [leaf_hash(tag + i.to_bytes(8, "big")) for i in range(count)]


@dataclass
class TreeServer:
    """A log API over an in-memory tree and the sizes anchored so far."""

    hashes: list[bytes]
    sizes: list[int] = field(default_factory=list)
    chain_id: int = 1
    contract: str = REGISTRY
    lie_about_first_root: bytes | None = None  # answer this as the root at ``first``

    @property
    def tree(self) -> MerkleTree:
        return MerkleTree(self.hashes)

    def checkpoints(self, after_index: int, limit: int) -> list[SeenCheckpoint]:
        tree = self.tree
        return [SeenCheckpoint(i, size, tree.root(size), self.chain_id, self.contract)
                for i, size in enumerate(self.sizes) if i > after_index][:limit]

    signed: tuple[int, bytes] | None = None  # sign this head instead of the latest
    signer: LogSigner = field(default_factory=lambda: LOG_SIGNER)

    def consistency(self, first: int, second: int) -> Consistency:
        tree = self.tree
        first_root = tree.root(first) if self.lie_about_first_root is None else (
            self.lie_about_first_root)
        return Consistency(first_root, tree.root(second), tree.consistency_proof(first, second))

    def signed_checkpoint(self) -> str:
        size, root = self.signed or (self.sizes[-1], self.tree.root(self.sizes[-1]))
        return self.signer.sign_checkpoint(self.signer.name, size, root)


def trusted_monitor(tmp_path: Path) -> tuple[Monitor, TreeServer]:
    honest = TreeServer(leaves(6), [3, 6])
    monitor = Monitor(honest, state_path=tmp_path / "state.json")
    report = monitor.run_once()
    assert report.verified == [(0, 3), (1, 6)]
    return monitor, honest


def test_an_honest_growing_log_passes_and_trust_persists(tmp_path: Path):
    monitor, honest = trusted_monitor(tmp_path)
    assert monitor.run_once().verified == []
    honest.hashes += leaves(5, b"more")
    honest.sizes += [7, 11]
    assert monitor.run_once().verified == [(2, 7), (3, 11)]
    saved = json.loads((tmp_path / "state.json").read_text())
    assert saved == {"index": 3, "tree_size": 11, "root": honest.tree.root(11).hex(),
                     "chain_id": 1, "contract_address": REGISTRY}
    again = Monitor(honest, state_path=tmp_path / "state.json")
    assert again.state == monitor.state
    honest.hashes += leaves(1, b"last")
    honest.sizes.append(12)
    assert again.run_once().verified == [(4, 12)]


def rogue(monitor: Monitor, match: str) -> None:
    before = monitor.state
    saved = monitor.state_path.read_text() if monitor.state_path else None
    with pytest.raises(RogueCheckpointError, match=match):
        monitor.run_once()
    assert monitor.state == before  # nothing rogue is ever trusted
    if saved is not None:
        assert monitor.state_path is not None and monitor.state_path.read_text() == saved


def rewritten(count: int, at: int) -> list[bytes]:
    """The honest leaves with leaf ``at`` replaced."""
    hashes = leaves(count)
    hashes[at] = leaf_hash(b"forged")
    return hashes


def test_a_rewritten_larger_history_is_rogue(tmp_path: Path):
    monitor, _ = trusted_monitor(tmp_path)
    monitor.server = monitor.source = TreeServer(rewritten(9, 1), [3, 6, 9])
    rogue(monitor, "history rewritten")


def test_a_lying_api_that_serves_the_trusted_root_is_caught_by_the_proof(tmp_path: Path):
    monitor, honest = trusted_monitor(tmp_path)
    liar = TreeServer(rewritten(9, 4), [3, 6, 9],
                      lie_about_first_root=honest.tree.root(6))
    monitor.server = monitor.source = liar
    rogue(monitor, "does not extend the trusted checkpoint 1")


def test_a_checkpoint_of_the_same_or_a_smaller_size_is_rogue(tmp_path: Path):
    monitor, _ = trusted_monitor(tmp_path)
    monitor.server = monitor.source = TreeServer(rewritten(6, 5), [3, 6, 6])
    rogue(monitor, "does not grow")
    monitor.server = monitor.source = TreeServer(leaves(6), [3, 6, 4])
    rogue(monitor, "does not grow")


def test_a_chain_checkpoint_the_api_does_not_serve_is_rogue(tmp_path: Path):
    monitor, honest = trusted_monitor(tmp_path)
    honest.hashes += leaves(3, b"more")
    honest.sizes.append(9)
    chain = TreeServer(honest.hashes[:6] + leaves(3, b"other"), [3, 6, 9])
    monitor.source = chain
    rogue(monitor, r"the chain holds root .* but the API serves")


def test_gaps_and_another_registry_are_rogue(tmp_path: Path):
    monitor, honest = trusted_monitor(tmp_path)
    honest.hashes += leaves(3, b"more")
    honest.sizes.append(9)

    class Skipping(TreeServer):
        def checkpoints(self, after_index: int, limit: int) -> list[SeenCheckpoint]:
            return [replace(c, index=c.index + 1)
                    for c in super().checkpoints(after_index, limit)]

    monitor.source = Skipping(honest.hashes, honest.sizes)
    rogue(monitor, "expected checkpoint 2")
    monitor.source = TreeServer(honest.hashes, honest.sizes, contract="0x" + "cd" * 20)
    rogue(monitor, "comes from registry")
    monitor.source = honest
    assert monitor.run_once().verified == [(2, 9)]


def test_the_signed_checkpoint_must_agree_with_the_trusted_history(tmp_path: Path):
    monitor, honest = trusted_monitor(tmp_path)
    monitor.log_key = LOG_SIGNER.verifier_key
    assert monitor.run_once().verified == []
    honest.signed = (4, honest.tree.root(4))  # an older signed head: consistent
    monitor.run_once()
    honest.hashes += leaves(2, b"more")
    honest.signed = (8, honest.tree.root(8))  # signed, not yet on chain: consistent
    monitor.run_once()
    forked = MerkleTree(rewritten(8, 2))
    for head in ((6, forked.root(6)), (8, forked.root(8)), (4, forked.root(4))):
        honest.signed = head
        rogue(monitor, "a fork signed by the registry")
    honest.signed = None
    honest.signer = LogSigner("example.com/log", Ed25519PrivateKey.generate())
    rogue(monitor, "does not verify")


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 40), min_size=1, max_size=6, unique=True),
       data=st.data())
def test_any_changed_leaf_below_the_trusted_size_is_detected(sizes: list[int],
                                                             data: st.DataObject):
    sizes.sort()
    honest = TreeServer(leaves(sizes[-1]), sizes)
    monitor = Monitor(honest)
    assert [size for _, size in monitor.run_once().verified] == sizes
    trusted = sizes[-1]
    grown = trusted + data.draw(st.integers(1, 20), label="growth")
    at = data.draw(st.integers(0, trusted - 1), label="changed leaf")
    forged = leaves(grown)
    forged[at] = leaf_hash(b"forged")
    lie = data.draw(st.booleans(), label="lie about the trusted root")
    monitor.server = monitor.source = TreeServer(
        forged, [*sizes, grown], lie_about_first_root=honest.tree.root(trusted) if lie else None)
    with pytest.raises(RogueCheckpointError):
        monitor.run_once()
    monitor.server = monitor.source = TreeServer(leaves(grown), [*sizes, grown])
    assert monitor.run_once().verified == [(len(sizes), grown)]


# ------------------------------------------------------------------ a real ledger


@pytest.fixture
def runtime(tmp_path: Path):
    with LedgerRuntime(Settings(data_dir=tmp_path / "ledger")) as rt:
        yield rt


def grow_and_anchor(rt: LedgerRuntime, count: int) -> int:
    for i in range(count):
        rt.ledger.register_participant(kind="registry_operator", name=f"op-{i}")
    status: Any = rt.anchoring.anchor_now()
    return int(status.anchor.tree_size)


def proofs_of(rt: LedgerRuntime) -> LogProofs:
    anchoring = rt.anchoring
    return LogProofs(rt.ledger.recorder, anchoring.merkle_log, anchoring.anchorer)


def test_in_process_and_over_http_an_honest_ledger_passes(runtime: LedgerRuntime,
                                                          tmp_path: Path):
    server = InProcessLogServer(proofs_of(runtime), LOG_SIGNER)
    chain_source = ChainCheckpoints(runtime.anchoring.chain)
    assert Monitor(server, chain_source).run_once().verified == []
    first = grow_and_anchor(runtime, 3)
    in_process = Monitor(server, chain_source, log_key=LOG_SIGNER.verifier_key)
    app = create_app(ApiSettings(ledger=runtime.settings), runtime=runtime)
    with TestClient(app) as client:
        vkey = client.get("/log/key").text.strip()
        over_http = Monitor(HttpLogServer(client), state_path=tmp_path / "http.json",
                            log_key=vkey)
        assert in_process.run_once().verified == [(0, first)]
        assert over_http.run_once().verified == [(0, first)]
        second = grow_and_anchor(runtime, 4)
        third = grow_and_anchor(runtime, 1)
        assert in_process.run_once().verified == [(1, second), (2, third)]
        assert over_http.run_once().verified == [(1, second), (2, third)]
        assert over_http.state == in_process.state


def test_the_api_of_another_history_is_rogue_over_http(runtime: LedgerRuntime,
                                                        tmp_path: Path):
    state = tmp_path / "state.json"
    grow_and_anchor(runtime, 3)
    app = create_app(ApiSettings(ledger=runtime.settings), runtime=runtime)
    with TestClient(app) as client:
        Monitor(HttpLogServer(client), state_path=state).run_once()
    # The same registry's checkpoints, but the API now serves a different history of the
    # same events' count and more (another ledger, as a rewritten database would).
    with LedgerRuntime(Settings(data_dir=tmp_path / "other")) as other:
        grow_and_anchor(other, 4)
        chain = runtime.anchoring.chain
        monitor = Monitor(InProcessLogServer(proofs_of(other)), ChainCheckpoints(chain),
                          state_path=state)
        grow_and_anchor(runtime, 1)
        with pytest.raises(RogueCheckpointError, match=r"the chain holds root .* but the API"):
            monitor.run_once()


def test_an_api_that_cannot_prove_yet_is_unavailable_not_rogue(runtime: LedgerRuntime):
    grow_and_anchor(runtime, 2)
    server = InProcessLogServer(proofs_of(runtime))
    source = TreeServer(leaves(50), [50])  # a chain checkpoint beyond the API's anchored size
    with pytest.raises(MonitorUnavailableError):
        Monitor(server, source).run_once()


# ------------------------------------------------------------------ the command line


def test_the_command_exits_3_with_one_line_on_a_rogue_checkpoint(
        runtime: LedgerRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]):
    grow_and_anchor(runtime, 3)
    app = create_app(ApiSettings(ledger=runtime.settings), runtime=runtime)
    state = tmp_path / "monitor.json"
    with TestClient(app, base_url="http://registry.test") as client:
        monkeypatch.setattr("anchoring.monitor.open_client", lambda url: _Borrowed(client))
        argv = ["monitor", "--url", "http://registry.test", "--state", str(state), "--once"]
        assert cli.main(argv) == 0
        assert "OK, 1 new checkpoints extend the log" in capsys.readouterr().out
        grow_and_anchor(runtime, 2)
        assert cli.main(argv) == 0
        assert "trusted checkpoint 1" in capsys.readouterr().out
        # The state file says another root was trusted at that size: the log was rewritten.
        saved = json.loads(state.read_text())
        saved["root"] = hashlib.sha256(b"another history").hexdigest()
        state.write_text(json.dumps(saved))
        grow_and_anchor(runtime, 1)
        assert cli.main(argv) == EXIT_ROGUE
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and "rogue-checkpoint" in lines[0]
        assert "history rewritten" in lines[0]
    assert MonitorState.load(state).root == saved["root"]


def test_the_command_refuses_a_chain_option_without_the_registry(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture):
    argv = ["monitor", "--url", "http://127.0.0.1:9", "--rpc-url", "http://127.0.0.1:9",
            "--once"]
    assert cli.main(argv) == 2
    assert "--registry" in capsys.readouterr().err


class _Borrowed:
    """The test client, closed by the test rather than by the command."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def __enter__(self) -> TestClient:
        return self.client

    def __exit__(self, *_: object) -> None:
        return None
