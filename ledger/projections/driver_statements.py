"""Prebuilt statements executed straight on the database driver.

The serial and balance moves run several statements per transfer, trade, pledge or
retirement. Executing even a cached, compiled SQLAlchemy statement costs several times what
the database spends on it (building an execution context and result, per call). A
:class:`DriverStatement` compiles its SQLAlchemy statement once per dialect and then runs
the SQL text on the driver connection of the caller's SQLAlchemy connection, in the same
transaction.

Only for statements whose parameters and columns are text and integers: the driver's own
conversions are then exactly SQLAlchemy's (none), so both paths store and read the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.expression import Executable

__all__ = ["DriverStatement"]


class DriverStatement:
    def __init__(self, statement: Executable) -> None:
        self._statement = statement
        # dialect name -> (SQL text, parameter names in order or None if named, defaults)
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def _for(self, conn: Connection) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        name = conn.dialect.name
        found = self._compiled.get(name)
        if found is None:
            compiled = self._statement.compile(dialect=conn.dialect)  # type: ignore[attr-defined]
            order = tuple(compiled.positiontup) if compiled.positional else None
            found = (compiled.string, order, dict(compiled.params))
            self._compiled[name] = found
        return found

    def execute(self, conn: Connection, params: Mapping[str, Any]) -> Sequence[tuple[Any, ...]]:
        """Run the statement with ``params`` (values for its bound parameters by name;
        parameters given a value when the statement was built keep it); the rows it
        returns, as tuples (none for a statement that returns no rows)."""
        sql, order, defaults = self._for(conn)
        values: Any = ([params[n] if n in params else defaults[n] for n in order]
                       if order is not None else {**defaults, **params})
        cursor = conn.connection.driver_connection.execute(sql, values)  # type: ignore[union-attr]
        return cursor.fetchall() if cursor.description is not None else ()
