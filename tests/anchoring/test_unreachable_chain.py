"""While the JSON-RPC chain is unreachable, anchoring retries without leaking connections."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine

from anchoring.chain import ChainUnavailableError
from ledger.runtime import LedgerRuntime, Settings
from ledger.services import BackgroundServices
from tests.anchoring.conftest import ANVIL_PRIVATE_KEY, add_events, free_port


def open_connections(engines: list[Engine]) -> int:
    return sum(e.pool.checkedin() + e.pool.checkedout()  # type: ignore[attr-defined]
               for e in engines)


@pytest.fixture
def unreachable(backend, tmp_path, monkeypatch):
    """A ledger whose chain refuses connections, and every engine its anchoring opens."""
    engines: list[Engine] = []
    make_engine = Settings.make_engine

    def tracked(self: Settings, url: str, *, reader: bool = False) -> Engine:
        engine = make_engine(self, url, reader=reader)
        engines.append(engine)
        return engine

    settings = Settings(data_dir=tmp_path / "ledger",
                        rpc_url=f"http://127.0.0.1:{free_port()}", chain_key=ANVIL_PRIVATE_KEY)
    with LedgerRuntime(settings) as runtime:
        add_events(runtime.ledger, 3)
        monkeypatch.setattr(Settings, "make_engine", tracked)
        yield runtime, engines


def test_failed_anchoring_starts_close_their_connections(unreachable):
    runtime, engines = unreachable
    for _ in range(8):
        with pytest.raises(ChainUnavailableError):
            runtime.anchoring.anchorer.tick()
    assert len(engines) == 8  # one attempt per tick...
    assert open_connections(engines) == 0  # ...and none left open


def test_the_anchoring_service_does_not_grow_connections_while_the_chain_is_down(unreachable):
    runtime, engines = unreachable
    services = BackgroundServices(runtime, interval=0.01)
    services.start()
    try:
        deadline = time.monotonic() + 30
        while len(engines) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        services.stop()
    assert len(engines) >= 10
    assert open_connections(engines) == 0
