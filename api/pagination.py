"""Stable cursors for paginated lists.

A cursor is the URL-safe base64 of ``[list name, sort key of the last row]``, where the sort
key is a log position or a registration stamp and id (see ``ReadModels.*_page``). Rows are
read *after* that key, so rows recorded later are appended after the last page and never
shift the pages already read. A cursor of another list, or one this API did not hand out,
is an ``invalid-cursor`` problem.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from api.errors import InvalidCursorError
from ledger.projections.queries import Page as RowPage

__all__ = ["MAX_PAGE", "Page", "PageDep", "PageQuery", "decode_cursor", "encode_cursor"]

MAX_PAGE = 500
T = TypeVar("T")
Key = tuple[Any, ...]


def encode_cursor(list_name: str, after: Key) -> str:
    raw = json.dumps([list_name, *after], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, list_name: str, types: tuple[type, ...]) -> Key | None:
    """The sort key in ``cursor``, checked to be a key of ``list_name`` of ``types``."""
    if cursor is None:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidCursorError("the cursor is not one this API handed out",
                                 cursor=cursor) from None
    if (not isinstance(decoded, list) or len(decoded) != len(types) + 1
            or decoded[0] != list_name
            or not all(type(value) is kind for value, kind in zip(decoded[1:], types,
                                                                  strict=True))):
        raise InvalidCursorError(f"the cursor is not a cursor of the {list_name} list",
                                 cursor=cursor)
    return tuple(decoded[1:])


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` as ``cursor`` for the next page."""

    items: list[T]
    next_cursor: str | None = Field(description="null on the last page")


@dataclass(frozen=True)
class PageQuery:
    """``cursor`` and ``limit`` query parameters of every list."""

    cursor: str | None
    limit: int

    def after(self, list_name: str, *types: type) -> Key | None:
        return decode_cursor(self.cursor, list_name, types)

    def next_cursor(self, list_name: str, page: RowPage) -> str | None:
        return None if page.next_after is None else encode_cursor(list_name, page.next_after)


def page_query(
    cursor: Annotated[str | None, Query(max_length=512, description=(
        "next_cursor of the previous page; omit for the first page"))] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="rows per page")] = 50,
) -> PageQuery:
    return PageQuery(cursor=cursor, limit=limit)


PageDep = Annotated[PageQuery, Depends(page_query)]
