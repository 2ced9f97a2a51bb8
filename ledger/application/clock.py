"""The clock commands check mandates' expiry against (a module, so tests can move it)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)
