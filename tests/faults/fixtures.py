"""A world whose event store fails on purpose: on PostgreSQL behind :class:`PgProxy`, on
SQLite with wrapped connections. ``lose_next_commit_reply()`` arms the fault for the next
save of events."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import ApiSettings, create_app
from ledger.runtime import LedgerRuntime, Settings
from tests.api.support import World
from tests.faults.pg_proxy import PgProxy
from tests.faults.sqlite_faults import DiskFull, commit_then_fail

__all__ = ["FaultyWorld", "faulty_world"]


@dataclass
class FaultyWorld:
    world: World
    backend: str
    proxy: PgProxy | None
    monkeypatch: pytest.MonkeyPatch
    faults: int = 0
    disk: DiskFull | None = None

    def outage(self) -> None:
        """The database becomes unavailable (PostgreSQL: gone; SQLite: the disk is full)."""
        if self.proxy is not None:
            self.proxy.stop()
        else:
            self._disk().full = True

    def recover(self) -> None:
        if self.proxy is not None:
            self.proxy.start()
        else:
            self._disk().full = False

    def outage_after_next_commit(self) -> None:
        """The next save of events commits (and, on PostgreSQL, is answered); the outage
        begins right after it."""
        if self.proxy is not None:
            self.proxy.stop_after_commit()
        else:
            self._disk().after_next_commit()

    def _disk(self) -> DiskFull:
        if self.disk is None:
            runtime = self.world.runtime
            self.disk = DiskFull(self.monkeypatch, [runtime.engine, runtime.reader])
        return self.disk

    @contextmanager
    def lose_next_commit_reply(self) -> Iterator[None]:
        """Within the block, the first save of events is committed and its reply lost."""
        if self.proxy is not None:
            before = self.proxy.cuts
            self.proxy.cut_after_commit()
            try:
                yield
            finally:
                self.proxy.disarm()
                self.faults += self.proxy.cuts - before
            return
        with commit_then_fail(self.monkeypatch) as injected:
            yield
        self.faults += len(injected)


@contextmanager
def faulty_world(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 **api_options: int) -> Iterator[FaultyWorld]:
    proxy: PgProxy | None = None
    settings = Settings(data_dir=tmp_path / "ledger")
    opened: Callable[[], AbstractContextManager[PgProxy | None]]
    if backend == "postgres":
        proxy = PgProxy()

        def opened() -> AbstractContextManager[PgProxy | None]:
            return proxy.running()  # type: ignore[union-attr]
    else:
        @contextmanager
        def opened() -> Iterator[PgProxy | None]:
            yield None
    with opened():
        if proxy is not None:
            settings = Settings(data_dir=tmp_path / "ledger", database_url=proxy.url,
                                database_schema=os.environ["CARBON_LEDGER_DATABASE_SCHEMA"])
        with LedgerRuntime(settings) as runtime:
            app = create_app(ApiSettings(ledger=settings, **api_options),  # type: ignore[arg-type]
                             runtime=runtime)
            with TestClient(app, raise_server_exceptions=False) as client:
                yield FaultyWorld(World.create(runtime, client), backend, proxy, monkeypatch)
