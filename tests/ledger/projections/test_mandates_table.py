"""The mandates read model: added to an existing read-model database by migration 4 (which
needs no rebuild: no mandate event existed before it; migration 5 rebuilds every read model
anyway), and rebuilt like every table."""

from __future__ import annotations

from sqlalchemy import inspect, text

from ledger.projections.migrations import MIGRATIONS, current_version
from ledger.projections.queries import dump_tables
from ledger.runtime import LedgerRuntime, Settings
from tests.ledger.projections.scenario import issue_batch, make_cast


def test_the_mandates_migration_itself_replays_nothing():
    mandates = next(m for m in MIGRATIONS if m.version == 4)
    assert "mandates" in mandates.description and not mandates.rebuild


def test_a_database_of_schema_3_gets_the_mandates_table(tmp_path):
    settings = Settings(data_dir=tmp_path / "ledger")
    with LedgerRuntime(settings) as runtime:
        cast = make_cast(runtime.ledger)
        issue_batch(runtime.ledger, cast, count=5)
        runtime.sync()
        with runtime.engine.begin() as conn:  # as a data directory of before the change
            conn.execute(text("DROP TABLE mandates"))
            conn.execute(text("DELETE FROM schema_migrations WHERE version > 3"))
        position = runtime.projector.position()
    with LedgerRuntime(settings) as runtime:
        assert current_version(runtime.engine) == MIGRATIONS[-1].version >= 4
        assert "mandates" in inspect(runtime.engine).get_table_names(
            schema=runtime.settings.database_schema if runtime.settings.is_postgres else None)
        runtime.sync()  # migration 5 replays the log into the recreated read models
        assert runtime.projector.position() == position
        holder = cast.holders[0]
        mandate = runtime.ledger.grant_mandate(actor=holder, agent=cast.exchange,
                                               scope="listing", max_quantity_g=7)
        runtime.sync()
        row = runtime.views.mandate(mandate)
        assert row is not None
        assert (row["holder"], row["agent"], row["scope"], row["max_quantity"], row["used"],
                row["revoked"]) == (str(holder), str(cast.exchange), "listing", 7, 0, False)
        before = dump_tables(runtime.engine)
        runtime.projector.rebuild()
        assert dump_tables(runtime.engine) == before
