"""Prebuilt statements run on the driver: same rows, same transaction as SQLAlchemy's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    MetaData,
    String,
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ledger.projections.driver_statements import DriverStatement
from ledger.runtime import Settings

metadata = MetaData()
lots = Table("driver_lots", metadata,
             Column("lot", String(36), primary_key=True),
             Column("grams", BigInteger, nullable=False),
             Column("spare", BigInteger, nullable=False))


@pytest.fixture
def engine(tmp_path: Path, backend: str) -> Iterator[Engine]:
    settings = Settings(data_dir=tmp_path)
    engine = settings.make_engine(settings.views_url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def upsert(engine: Engine) -> DriverStatement:
    insert_of = postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert_of(lots).values(lot=bindparam("p_lot"), grams=bindparam("p_add"),
                                       spare=0)  # a value fixed when built
    return DriverStatement(statement.on_conflict_do_update(
        index_elements=[lots.c.lot], set_={"grams": lots.c.grams + statement.excluded.grams}))


def test_rows_are_written_and_read_as_sqlalchemy_would(engine: Engine) -> None:
    add = upsert(engine)
    heavy = DriverStatement(select(lots.c.lot, lots.c.grams)
                            .where(lots.c.grams >= bindparam("p_min")).order_by(lots.c.lot))
    with engine.begin() as conn:
        add.execute(conn, {"p_lot": "a", "p_add": 5})
        add.execute(conn, {"p_lot": "a", "p_add": 2**40})
        add.execute(conn, {"p_lot": "b", "p_add": 1})
        DriverStatement(insert(lots)).execute(conn, {"lot": "c", "grams": 9, "spare": 3})
        assert list(heavy.execute(conn, {"p_min": 2})) == [("a", 2**40 + 5), ("c", 9)]
        assert DriverStatement(update(lots).values(spare=7)).execute(conn, {}) == ()
    with engine.connect() as conn:
        rows = conn.execute(select(lots).order_by(lots.c.lot)).all()
    assert [tuple(r) for r in rows] == [("a", 2**40 + 5, 7), ("b", 1, 7), ("c", 9, 7)]


def test_statements_take_part_in_the_callers_transaction(engine: Engine) -> None:
    add = upsert(engine)

    with pytest.raises(RuntimeError), engine.begin() as conn:
        add.execute(conn, {"p_lot": "a", "p_add": 5})
        raise RuntimeError("the projection of this page failed")

    with engine.connect() as conn:
        assert conn.execute(select(lots)).all() == []
