from __future__ import annotations

from sqlalchemy import text

from ledger.checks import check_ledger
from ledger.projections.migrations import MIGRATIONS, current_version
from ledger.runtime import LedgerRuntime, Settings
from tests.ledger.projections.scenario import issue_batch, make_cast


def test_a_database_of_an_older_schema_is_migrated_and_rebuilt_on_start(tmp_path):
    settings = Settings(data_dir=tmp_path / "ledger")
    with LedgerRuntime(settings) as runtime:
        cast = make_cast(runtime.ledger)
        batch = issue_batch(runtime.ledger, cast, count=25)
        runtime.sync()
        assert current_version(runtime.engine) == MIGRATIONS[-1].version
        # Turn the read models back into schema version 1: behaviours keyed by id.
        with runtime.engine.begin() as conn:
            conn.execute(text("DROP TABLE behaviours"))
            conn.execute(text(
                "CREATE TABLE behaviours (id VARCHAR(36) PRIMARY KEY, position BIGINT NOT NULL,"
                " platform VARCHAR(36) NOT NULL, platform_ref TEXT NOT NULL, account "
                "VARCHAR(36) NOT NULL, methodology VARCHAR(36) NOT NULL, act_identity TEXT NOT "
                "NULL, occurred_at VARCHAR(40) NOT NULL, reduction_g BIGINT NOT NULL, "
                "request_id VARCHAR(36), reported_at VARCHAR(40) NOT NULL)"))
            conn.execute(text("DELETE FROM schema_migrations WHERE version > 1"))
    with LedgerRuntime(settings) as runtime:
        assert current_version(runtime.engine) == MIGRATIONS[-1].version
        assert runtime.projector.position() == 0  # the migration asked for a rebuild
        runtime.sync()
        assert runtime.views.behaviour_count() == 25
        assert check_ledger(runtime).ok
        assert runtime.views.supply(batch)[0]["issued"] == runtime.ledger.batch(batch).quantity
        with runtime.engine.connect() as conn:
            columns = [c[1] for c in conn.execute(text("PRAGMA table_info(behaviours)"))] \
                if runtime.engine.dialect.name == "sqlite" else None
        if columns is not None:
            assert columns[0] == "position"


def test_migrations_are_applied_once_by_concurrent_starts(tmp_path):
    settings = Settings(data_dir=tmp_path / "ledger")
    runtimes = [LedgerRuntime(settings) for _ in range(3)]
    with runtimes[0].engine.connect() as conn:
        versions = [r[0] for r in conn.execute(text("SELECT version FROM schema_migrations"))]
    assert sorted(versions) == [m.version for m in MIGRATIONS]
    for runtime in runtimes:
        runtime.close()
