"""The backstop against characters no text may hold, applied to every event saved."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEvent

from ledger.domain.errors import ValidationError
from ledger.domain.text import forbidden_character


def _forbidden_in(value: Any, path: str) -> tuple[str, str] | None:
    """The path and character of a text in ``value`` that holds a character no text may
    hold (:func:`ledger.domain.text.forbidden_character`), if any."""
    if isinstance(value, str):
        found = forbidden_character(value)
        return (path, found) if found is not None else None
    if isinstance(value, dict):
        for key, item in value.items():
            hit = _forbidden_in(key, path) or _forbidden_in(item, f"{path}.{key}")
            if hit:
                return hit
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if hit := _forbidden_in(item, f"{path}[{index}]"):
                return hit
    return None


_PLAIN = frozenset({int, bool, float, type(None), UUID, datetime, Decimal})


def refuse_forbidden(events: Iterable[DomainEvent]) -> None:
    """No event may carry a control (but line feed and tab), bidirectional-control,
    surrogate or noncharacter code point, whatever field it is in: the backstop of
    :func:`ledger.domain.text.check_text`, which each command applies to its text fields.
    (A NUL would moreover stop every projection: PostgreSQL text and jsonb cannot hold
    one.)"""
    for event in events:
        fields = vars(event)
        texts = [value for value in fields.values() if type(value) is str]
        if (len(texts) + sum(type(value) in _PLAIN for value in fields.values())
                == len(fields) and forbidden_character("".join(texts)) is None):
            continue  # the common case: no nested value; one look at all the text
        for name, value in fields.items():
            hit = _forbidden_in(value, name) if type(value) in (str, dict, list, tuple) \
                else None
            if hit:
                path, character = hit
                raise ValidationError(
                    f"{path} contains U+{ord(character):04X}, which no text may hold",
                    field=path, code_point=f"U+{ord(character):04X}")


