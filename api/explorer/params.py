"""Reading an explorer page's query parameters by hand, so a bad one is an HTML 400 page in
the reader's language (FastAPI's own validation would answer problem+json).

Each reader takes the raw text (``None`` or blank: not given) and returns the value or raises
:class:`~api.explorer.errors.PageError`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date
from uuid import UUID

from api.explorer.errors import bad_request
from api.i18n import Text

__all__ = ["after_key", "choice", "day", "integer", "text", "uuid"]

MAX_TEXT = 200
_KEY_PART = re.compile(r"^[0-9A-Za-z:.+\-]{1,64}$")


def _given(raw: str | None) -> str | None:
    return raw.strip() if raw is not None and raw.strip() else None


def text(raw: str | None, name: str) -> str | None:
    value = _given(raw)
    if value is not None and len(value) > MAX_TEXT:
        raise bad_request(Text(en=f"{name} is longer than {MAX_TEXT} characters.",
                               zh=f"{name} 超过 {MAX_TEXT} 个字符。"))
    return value


def integer(raw: str | None, name: str, low: int = 0, high: int = 2**63 - 1) -> int | None:
    value = _given(raw)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise bad_request(Text(en=f"{name} must be a whole number from {low} to {high}.",
                               zh=f"{name} 必须是 {low} 至 {high} 之间的整数。"))
    return int(value)


def uuid(raw: str | None, name: str) -> UUID | None:
    value = _given(raw)
    if value is None:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise bad_request(Text(en=f"{name} is not an id (a UUID).",
                               zh=f"{name} 不是有效的 ID（UUID）。")) from None


def day(raw: str | None, name: str) -> date | None:
    value = _given(raw)
    if value is None:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise bad_request(Text(en=f"{name} must be a date written YYYY-MM-DD.",
                               zh=f"{name} 必须是 YYYY-MM-DD 格式的日期。")) from None


def choice(raw: str | None, name: str, allowed: Collection[str]) -> str | None:
    value = _given(raw)
    if value is not None and value not in allowed:
        raise bad_request(Text(en=f"{name} must be one of: {', '.join(sorted(allowed))}.",
                               zh=f"{name} 必须是以下之一：{'、'.join(sorted(allowed))}。"))
    return value


def after_key(raw: str | None, parts: int) -> tuple[str, ...] | None:
    """A page's continuation key: ``parts`` values joined by ``~`` (as the page wrote it)."""
    value = _given(raw)
    if value is None:
        return None
    pieces = tuple(value.split("~"))
    if len(pieces) != parts or not all(_KEY_PART.fullmatch(p) for p in pieces):
        raise bad_request(Text(en="after is not a page key this register wrote.",
                               zh="after 不是本登记簿生成的分页键。"))
    return pieces
