"""The helper process of a rebuild on SQLite (see
:class:`~ledger.projections.log_reader.SQLiteHelperReader`).

Run as ``python -m ledger.projections.rebuild_helper DB_FILE STATEMENT``: it opens the event
store's file, and for each request ``(after, limit)`` read pickled from standard input it
runs ``STATEMENT`` (the reader's query) and writes back, pickled, ``("rows", items)`` with the
items of :func:`~ledger.projections.behaviour_rows.made_rows` as plain tuples, or
``("error", message)``. It
ends at the end of its input. It imports only the standard library and
:mod:`ledger.projections.behaviour_rows`, so it starts in a fraction of a second, and it only
reads.
"""

from __future__ import annotations

import pickle
import sqlite3
import sys
from typing import Any, BinaryIO

from ledger.projections.behaviour_rows import BEHAVIOUR_REPORTED, made_rows

__all__ = ["parameters", "serve"]


def parameters(after: int, limit: int) -> dict[str, Any]:
    """The named parameters of the reader's query."""
    return {"topic": BEHAVIOUR_REPORTED, "after": after, "limit": limit}


def serve(conn: sqlite3.Connection, statement: str, requests: BinaryIO,
          answers: BinaryIO) -> None:
    """Answer every request of ``requests`` until its end."""
    while True:
        try:
            after, limit = pickle.load(requests)
        except EOFError:
            return
        try:
            items = made_rows(conn.execute(statement, parameters(after, limit)).fetchall())
            # Plain tuples: a named tuple pickles as a call of its class, several times the
            # cost of the tuple itself (both ways).
            answer: tuple[str, Any] = ("rows", [tuple(item) for item in items])
        except Exception as error:  # reported to the projector, which raises it there
            answer = ("error", f"{type(error).__name__}: {error}")
        pickle.dump(answer, answers, protocol=pickle.HIGHEST_PROTOCOL)
        answers.flush()


def main() -> None:
    db_name, statement = sys.argv[1], sys.argv[2]
    conn = sqlite3.connect(db_name)
    try:
        serve(conn, statement, sys.stdin.buffer, sys.stdout.buffer)
    finally:
        conn.close()


if __name__ == "__main__":
    main()
