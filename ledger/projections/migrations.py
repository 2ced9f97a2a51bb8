"""Schema versions of the read-model database.

``schema_migrations`` records each applied migration. On start, pending migrations are
applied in order, in one transaction each, under the same lock as the projector (SQLite
``BEGIN IMMEDIATE``; PostgreSQL an advisory transaction lock), so several processes starting
at once apply each migration once. Read models are derived data: a migration may alter
tables in place, or drop them and let the projector rebuild them from the event log
(``rebuild=True``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, Connection, Engine, Integer, MetaData, String, Table, select

from ledger.projections import schema
from ledger.projections.database import is_sqlite

__all__ = ["MIGRATIONS", "Migration", "current_version", "migrate"]

_meta = MetaData()
schema_migrations = Table(
    "schema_migrations", _meta,
    Column("version", Integer, primary_key=True),
    Column("description", String(200), nullable=False),
    Column("applied_at", String(40), nullable=False),
)

_LOCK_KEY = 0x6361726C  # "carl": advisory lock key for migrations


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]
    rebuild: bool = False  # the read models must be rebuilt from the log afterwards


def _initial(conn: Connection) -> None:
    schema.metadata.create_all(conn)


def _recreate_read_models(conn: Connection) -> None:
    """Drop and recreate every read model; the projector then replays the whole log (the
    tracking row is recreated at position 0)."""
    schema.metadata.drop_all(conn)
    schema.metadata.create_all(conn)


def _mandates(conn: Connection) -> None:
    """The mandates table. Mandate events did not exist before it, so nothing is replayed."""
    schema.mandates.create(conn, checkfirst=True)


MIGRATIONS: list[Migration] = [
    Migration(1, "initial read models", _initial),
    Migration(2, "behaviour index keyed by log position (append-only inserts)",
              _recreate_read_models, rebuild=True),
    Migration(3, "token bridge: bridge_locks and per-contract token pools",
              _recreate_read_models, rebuild=True),
    Migration(4, "consent: mandates granted by holders to exchanges and banks", _mandates),
    Migration(5, "read models hold every event an old log may hold: listings keyed by batch, "
              "block labels not unique, unbounded labels as text; running sums stay integers",
              _recreate_read_models, rebuild=True),
    Migration(6, "moves: every serial range each batch event moved, for batch histories and "
              "the chain of custody of a serial", _recreate_read_models, rebuild=True),
]


def current_version(engine: Engine) -> int:
    _meta.create_all(engine)
    with engine.connect() as conn:
        versions = conn.execute(select(schema_migrations.c.version)).scalars().all()
    return max(versions, default=0)


def migrate(engine: Engine, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply pending migrations; returns those applied (by this call)."""
    _meta.create_all(engine)
    applied = []
    for migration in sorted(migrations or MIGRATIONS, key=lambda m: m.version):
        with engine.begin() as conn:
            if not is_sqlite(engine):
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
            done = conn.execute(select(schema_migrations.c.version).where(
                schema_migrations.c.version == migration.version)).first()
            if done is not None:
                continue
            migration.apply(conn)
            conn.execute(schema_migrations.insert().values(
                version=migration.version, description=migration.description,
                applied_at=datetime.now(UTC).isoformat()))
            applied.append(migration)
    return applied
