"""Database leases: elect one process to run a singleton service (the anchorer).

A lease is a row ``(name, holder, expires_at)``. A process holds it while it renews it
before it expires; if the holder dies, another process takes it over once it has expired.
Acquisition is a read-modify-write under a row lock (PostgreSQL ``SELECT ... FOR UPDATE``,
SQLite ``BEGIN IMMEDIATE``), so two processes never both hold a lease. The database decides,
not a file on one machine.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable

from sqlalchemy import Column, Engine, Float, MetaData, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from ledger.projections.database import is_sqlite, startup_lock

__all__ = ["Lease"]

_meta = MetaData()
leases = Table(
    "leases", _meta,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", Float, nullable=False),
)


class Lease:
    def __init__(self, engine: Engine, name: str, ttl: float = 15.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.name = name
        self.ttl = ttl
        self.clock = clock
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        with startup_lock(engine):
            _meta.create_all(engine)

    def acquire(self) -> bool:
        """Take or renew the lease; ``True`` if this process holds it now."""
        now = self.clock()
        with self.engine.begin() as conn:
            query = select(leases).where(leases.c.name == self.name)
            if not is_sqlite(self.engine):
                query = query.with_for_update()
            row = conn.execute(query).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(leases).values(name=self.name, holder=self.holder,
                                                           expires_at=now + self.ttl))
                except IntegrityError:
                    return False  # another process inserted it first
                return True
            if row.holder != self.holder and row.expires_at > now:
                return False
            conn.execute(update(leases).where(leases.c.name == self.name)
                         .values(holder=self.holder, expires_at=now + self.ttl))
            return True

    def release(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(leases).where(leases.c.name == self.name,
                                              leases.c.holder == self.holder)
                         .values(expires_at=0.0))

    def current_holder(self) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(leases).where(leases.c.name == self.name)).first()
        if row is None or row.expires_at <= self.clock():
            return None
        return str(row.holder)
