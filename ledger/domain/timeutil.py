"""Timestamps: every business time in the ledger is a timezone-aware UTC datetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ledger.domain.errors import ValidationError

__all__ = ["MAX_CLOCK_SKEW", "check_not_future", "parse_time", "require_aware"]

# How far ahead of the ledger's clock a reported time may be: the reporter's clock may run a
# little fast; an act cannot have happened later than that.
MAX_CLOCK_SKEW = timedelta(minutes=5)


def require_aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValidationError(f"{name} must be a datetime, got {value!r}", field=name)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{name} must carry a timezone, got {value.isoformat()}", field=name)
    return value.astimezone(UTC)


def parse_time(value: str | datetime, name: str) -> datetime:
    """Parse ISO 8601 text (``2024-09-03T08:15:00+08:00``; a bare date means 00:00 UTC)."""
    if isinstance(value, datetime):
        return require_aware(value, name)
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be an ISO 8601 time, got {value!r}", field=name)
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{name} is not an ISO 8601 time: {value!r}", field=name) from None
    if parsed.tzinfo is None:
        if len(text) == 10:  # a date
            parsed = parsed.replace(tzinfo=UTC)
        else:
            raise ValidationError(
                f"{name} must carry a timezone offset, got {value!r}", field=name
            )
    return parsed.astimezone(UTC)


def check_not_future(value: datetime, name: str, *, now: datetime,
                     skew: timedelta = MAX_CLOCK_SKEW) -> datetime:
    """``value`` if it is not later than ``now`` (given by the caller: the domain reads no
    clock) plus ``skew``; else :class:`ValidationError` giving both instants."""
    value = require_aware(value, name)
    latest = require_aware(now, "now") + skew
    if value > latest:
        raise ValidationError(
            f"{name} {value.isoformat()} is in the future: more than {skew} after the "
            f"ledger's clock ({now.astimezone(UTC).isoformat()})", field=name,
            value=value.isoformat(), now=now.astimezone(UTC).isoformat(),
            max_skew_s=int(skew.total_seconds()))
    return value
