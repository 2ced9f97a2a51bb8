"""Faults injected where the ledger meets its database: a TCP proxy in front of
PostgreSQL, and wrapped SQLite connections."""
