"""Any other path under ``/explorer/``: the 404 page in the reader's language (included
last, so every real page matches first)."""

from __future__ import annotations

from fastapi import APIRouter

from api.explorer.errors import not_found
from api.i18n import Text

__all__ = ["router"]

router = APIRouter()


@router.get("/explorer/{rest:path}", include_in_schema=False)
def unknown_page(rest: str) -> None:
    raise not_found(Text(en="There is no such page in the explorer.",
                         zh="浏览器中没有这个页面。"))
