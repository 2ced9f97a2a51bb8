"""Wiring: one ledger (event store + read models) opened from settings.

Embedded default: a data directory holding ``events.sqlite`` (the event store) and
``views.sqlite`` (the read models). Every command goes to the event store; the read models
are brought up to date after each command (``sync``) or by a follower.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from ledger.application import Ledger
from ledger.projections.database import make_engine
from ledger.projections.projector import Projector
from ledger.projections.queries import ProjectedBehaviourQueries, ReadModels

__all__ = ["LedgerRuntime", "Settings", "open_ledger"]

DEFAULT_DATA_DIR = Path("data")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = DEFAULT_DATA_DIR

    @classmethod
    def from_env(cls, data_dir: str | Path | None = None) -> Settings:
        chosen = data_dir or os.environ.get("CARBON_LEDGER_DATA_DIR") or DEFAULT_DATA_DIR
        return cls(data_dir=Path(chosen))

    @property
    def events_path(self) -> Path:
        return self.data_dir / "events.sqlite"

    @property
    def views_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'views.sqlite'}"

    def event_store_env(self) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.events_path),
            "SQLITE_LOCK_TIMEOUT": "30",
        }


class LedgerRuntime:
    """The write side, the projector and the read models of one ledger."""

    def __init__(self, settings: Settings) -> None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.ledger = Ledger(env=settings.event_store_env())
        self.engine = make_engine(settings.views_url)
        self.projector = Projector(self.ledger, self.engine)
        self.projector.create_tables()
        self.ledger.queries = ProjectedBehaviourQueries(self.projector)
        self.views = ReadModels(self.engine)

    def sync(self) -> int:
        """Bring the read models up to date; returns the number of events applied."""
        return self.projector.catch_up()

    def close(self) -> None:
        self.ledger.close()
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def open_ledger(data_dir: str | Path | None = None) -> LedgerRuntime:
    return LedgerRuntime(Settings.from_env(data_dir))
