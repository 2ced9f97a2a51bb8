"""Wiring: one ledger (event store + read models) opened from settings.

Embedded default: a data directory holding ``events.sqlite`` (the event store) and
``views.sqlite`` (the read models). Every command goes to the event store; the read models
are brought up to date after each command (``sync``) or by a follower.
"""

from __future__ import annotations

import os
import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Self
from urllib.parse import unquote, urlsplit

from sqlalchemy import Engine

from ledger.application import Ledger
from ledger.domain.errors import LedgerError
from ledger.projections.database import make_engine, startup_lock
from ledger.projections.failures import ProjectionFailure
from ledger.projections.projector import Projector
from ledger.projections.queries import ProjectedBehaviourQueries, ReadModels
from ledger.write_lock import WriteLock

if TYPE_CHECKING:
    from anchoring.chain import ChainClient
    from anchoring.log import MerkleLog
    from anchoring.service import Anchorer

__all__ = ["Anchoring", "LedgerRuntime", "Settings", "open_ledger"]

DEFAULT_DATA_DIR = Path("data")
# An anchor missing from a JSON-RPC chain's registry this long is re-sent (a reorg or a
# rollback), not merely unseen by a node lagging behind its peers.
LOST_ANCHOR_AFTER_SECONDS = 30.0


@dataclass(frozen=True)
class Settings:
    """Where the ledger keeps its data and where it anchors.

    Anchoring: with no ``rpc_url`` the embedded chain in the data directory is used; with
    one, ``chain_key`` (the anchorer's private key) is required and ``anchor_contract`` names
    the registry. The registry is recorded in the ledger's database and shared by every host
    (see :mod:`anchoring.registry`); one is deployed only for a ledger that has none.
    """

    data_dir: Path = DEFAULT_DATA_DIR
    # PostgreSQL mode: ``postgresql://user[:password]@host[:port]/dbname``. The event store,
    # the Merkle log and the read models then all live in that database, in ``database_schema``.
    # Defaults from CARBON_LEDGER_DATABASE_URL / CARBON_LEDGER_DATABASE_SCHEMA.
    database_url: str | None = field(
        default_factory=lambda: os.environ.get("CARBON_LEDGER_DATABASE_URL") or None)
    database_schema: str = field(
        default_factory=lambda: os.environ.get("CARBON_LEDGER_DATABASE_SCHEMA") or "public")
    rpc_url: str | None = None
    chain_key: str | None = None
    anchor_contract: str | None = None
    anchor_every_events: int = 1000
    anchor_every_seconds: float = 60.0
    confirmations: int | None = None  # default: 0 embedded, 2 on a JSON-RPC chain

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None, **overrides: object) -> Settings:
        env = os.environ
        chosen = data_dir or env.get("CARBON_LEDGER_DATA_DIR") or DEFAULT_DATA_DIR
        values: dict[str, object] = {
            "data_dir": Path(chosen),
            "rpc_url": env.get("CARBON_LEDGER_RPC_URL") or None,
            "chain_key": env.get("CARBON_LEDGER_CHAIN_KEY") or None,
            "anchor_contract": env.get("CARBON_LEDGER_ANCHOR_CONTRACT") or None,
        }
        if env.get("CARBON_LEDGER_ANCHOR_EVERY_EVENTS"):
            values["anchor_every_events"] = int(env["CARBON_LEDGER_ANCHOR_EVERY_EVENTS"])
        if env.get("CARBON_LEDGER_ANCHOR_EVERY_SECONDS"):
            values["anchor_every_seconds"] = float(env["CARBON_LEDGER_ANCHOR_EVERY_SECONDS"])
        if env.get("CARBON_LEDGER_CONFIRMATIONS"):
            values["confirmations"] = int(env["CARBON_LEDGER_CONFIRMATIONS"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    @property
    def is_postgres(self) -> bool:
        return bool(self.database_url) and str(self.database_url).startswith(
            ("postgresql://", "postgres://", "postgresql+psycopg://"))

    @property
    def _sqlalchemy_postgres_url(self) -> str:
        parts = urlsplit(str(self.database_url))
        return f"postgresql+psycopg://{parts.netloc}{parts.path}"

    @property
    def merkle_url(self) -> str:
        if self.is_postgres:
            return self._sqlalchemy_postgres_url
        return f"sqlite:///{self.data_dir / 'merkle.sqlite'}"

    @property
    def events_path(self) -> Path:
        return self.data_dir / "events.sqlite"

    @property
    def views_url(self) -> str:
        if self.is_postgres:
            return self._sqlalchemy_postgres_url
        return f"sqlite:///{self.data_dir / 'views.sqlite'}"

    def event_store_env(self) -> dict[str, str]:
        if self.is_postgres:
            parts = urlsplit(str(self.database_url))
            if not parts.path.strip("/"):
                raise LedgerError(f"database URL {self.database_url} names no database")
            return {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "APPLICATION_RECORDER_TOPIC": "ledger.pg_recorder:LedgerPostgresRecorder",
                "POSTGRES_DBNAME": parts.path.strip("/"),
                "POSTGRES_HOST": parts.hostname or "127.0.0.1",
                "POSTGRES_PORT": str(parts.port or 5432),
                "POSTGRES_USER": unquote(parts.username or "postgres"),
                "POSTGRES_PASSWORD": unquote(parts.password or ""),
                "POSTGRES_SCHEMA": self.database_schema,
                "POSTGRES_LOCK_TIMEOUT": "10",
                "POSTGRES_POOL_SIZE": "5",
                "POSTGRES_MAX_OVERFLOW": "10",
                "POSTGRES_CONNECT_TIMEOUT": "10",
            }
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.events_path),
            "SQLITE_LOCK_TIMEOUT": "30",
        }

    def make_engine(self, url: str, *, reader: bool = False) -> Engine:
        """An engine for ``url``; on PostgreSQL, bound to ``database_schema`` (created if
        missing). A SQLite ``reader`` engine does not take the write lock (see
        :func:`ledger.projections.database.make_engine`)."""
        if not self.is_postgres:
            return make_engine(url, reader=reader)
        return make_engine(url, schema=self.database_schema)


class Anchoring:
    """The Merkle log over the event log, the chain, and the anchoring service."""

    def __init__(self, runtime: LedgerRuntime) -> None:
        from anchoring.log import MerkleLog
        from anchoring.registry import metadata as registry_tables
        from anchoring.service import Anchorer
        from anchoring.service import metadata as anchor_tables

        settings = runtime.settings
        self.engine = settings.make_engine(settings.merkle_url)
        try:
            with startup_lock(self.engine):
                self.merkle_log: MerkleLog = MerkleLog(runtime.ledger, self.engine)
                anchor_tables.create_all(self.engine)
                registry_tables.create_all(self.engine)
            # One registry per ledger, recorded in its database (see anchoring.registry).
            self.chain: ChainClient = self._open_registry(settings, self.engine)
        except BaseException:
            # e.g. the JSON-RPC node is unreachable: the caller retries with a new Anchoring,
            # so this one's connections must not outlive it.
            self.engine.dispose()
            raise
        embedded = settings.rpc_url is None
        confirmations = settings.confirmations
        if confirmations is None:
            confirmations = 0 if embedded else 2
        self.anchorer: Anchorer = Anchorer(
            self.merkle_log, self.chain, self.engine,
            every_events=settings.anchor_every_events,
            every_seconds=settings.anchor_every_seconds, confirmations=confirmations,
            create_tables=False,  # created above, under the start-up lock
            lost_after=0.0 if embedded else LOST_ANCHOR_AFTER_SECONDS)

    @staticmethod
    def _open_chain(settings: Settings) -> ChainClient:
        from anchoring.chain import JsonRpcChain
        from anchoring.embedded import EmbeddedChain

        if settings.rpc_url is None:
            return EmbeddedChain(settings.data_dir / "chain")
        if not settings.chain_key:
            raise LedgerError("anchoring on a JSON-RPC chain needs the anchorer's key "
                              "(CARBON_LEDGER_CHAIN_KEY)")
        remembered = settings.data_dir / "anchor-contract.txt"
        address = settings.anchor_contract or (
            remembered.read_text().strip() if remembered.exists() else None)
        chain = JsonRpcChain(settings.rpc_url, settings.chain_key, contract_address=address)
        if address is None:
            remembered.write_text(chain.contract_address + "\n")
        return chain

    @staticmethod
    def _open_registry(settings: Settings, engine: Engine) -> ChainClient:
        """The chain, with the ledger's one registry (see :mod:`anchoring.registry`): the
        recorded one, else the configured or remembered one; deployed (by ``_open_chain``,
        under the start-up lock) only for a ledger that has none. Recorded if it was not."""
        from anchoring.registry import record_registry

        if settings.rpc_url is not None:
            chosen = Anchoring._choose_registry(settings, engine)
            if chosen is None:  # the ledger's first initialisation: one host deploys
                with startup_lock(engine):
                    chosen = Anchoring._choose_registry(settings, engine)
                    if chosen is None:
                        chain = Anchoring._open_chain(settings)
                        record_registry(engine, int(chain.chain_id), str(chain.contract_address))
                        return chain
            settings = replace(settings, anchor_contract=chosen)
        chain = Anchoring._open_chain(settings)
        record_registry(engine, int(chain.chain_id), str(chain.contract_address))
        return chain

    @staticmethod
    def _choose_registry(settings: Settings, engine: Engine) -> str | None:
        from anchoring.registry import choose_registry
        from anchoring.service import anchored_registries

        remembered = settings.data_dir / "anchor-contract.txt"
        return choose_registry(
            engine, settings.anchor_contract,
            remembered.read_text().strip() if remembered.exists() else None,
            lambda: anchored_registries(engine))

    def anchor_now(self) -> object:
        """Anchor the current root if any event is not yet anchored."""
        from anchoring.service import Anchorer

        forced = Anchorer(self.merkle_log, self.chain, self.engine, every_events=1,
                          every_seconds=0, confirmations=self.anchorer.required_confirmations,
                          create_tables=False)
        return forced.tick()

    def close(self) -> None:
        self.engine.dispose()


class LedgerRuntime:
    """The write side, the projector and the read models of one ledger."""

    def __init__(self, settings: Settings) -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.engine = settings.make_engine(settings.views_url)  # creates the schema if missing
        with startup_lock(self.engine):
            self.ledger = Ledger(env=settings.event_store_env())
            self.projector = Projector(self.ledger, self.engine)
            self.projector.create_tables()
        self.ledger.queries = ProjectedBehaviourQueries(self.projector)
        # Queries read committed snapshots without queueing behind the projector's writes.
        self.reader = (settings.make_engine(settings.views_url, reader=True)
                       if not settings.is_postgres else self.engine)
        self.views = ReadModels(self.reader)
        self._anchoring: Anchoring | None = None
        self._sync_lock = threading.Lock()
        # SQLite: this process's writers queue behind other server processes' writers here
        # rather than in SQLite's sleeping busy handler (see ledger.write_lock).
        self.write_lock: AbstractContextManager[object] = (
            nullcontext() if settings.is_postgres
            else WriteLock(settings.data_dir / "writer.lock"))
        self._synced = 0  # a position the read models are known to have reached

    @property
    def anchoring(self) -> Anchoring:
        """The Merkle log, chain and anchorer, opened on first use."""
        if self._anchoring is None:
            self._anchoring = Anchoring(self)
        return self._anchoring

    @property
    def anchoring_if_open(self) -> Anchoring | None:
        """The anchoring, if something has opened it (never opens it: no chain is asked)."""
        return self._anchoring

    @property
    def projection_failure(self) -> ProjectionFailure | None:
        """The event the read models are stuck before, if the last catch-up met one."""
        return self.projector.failure

    def sync(self, until: int | None = None) -> int:
        """Bring the read models up to date; returns the number of events applied.

        Raises :class:`~ledger.projections.failures.ProjectionStuckError` if an event cannot
        be applied (those before it are).

        With ``until`` (a notification id the caller has written), a sync that another
        thread has already carried past it is not repeated: under concurrent requests one
        catch-up serves every request that was waiting for it."""
        with self.write_lock, self._sync_lock:
            if until is not None and self._synced >= until:
                return 0
            applied = self.projector.catch_up()
            self._synced = max(self._synced, self.projector.reached)
            return applied

    def close(self) -> None:
        if self._anchoring is not None:
            self._anchoring.close()
        self.ledger.close()
        self.engine.dispose()
        self.reader.dispose()
        if isinstance(self.write_lock, WriteLock):
            self.write_lock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def open_ledger(data_dir: str | Path | None = None) -> LedgerRuntime:
    return LedgerRuntime(Settings.from_env(data_dir))
