"""Neutrality claims with their progress: retired against footprint (``claims_page``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import ViewsDep
from api.explorer import labels
from api.explorer.layout import render
from api.explorer.params import after_key

__all__ = ["progress", "router"]

router = APIRouter()
PAGE = 50


def progress(retired_g: int, footprint_g: int) -> tuple[int, str]:
    """Per-mille done (capped at 1000, for the bar) and the percentage text, truncated to
    one decimal so 99.96 % never reads as 100.0 %."""
    if footprint_g <= 0:
        return 1000, "100.0 %"
    per_mille = int(retired_g) * 1000 // int(footprint_g)
    return min(per_mille, 1000), f"{per_mille // 10}.{per_mille % 10} %"


@router.get("/explorer/claims", include_in_schema=False)
def claims(request: Request, views: ViewsDep, after: str | None = None) -> HTMLResponse:
    key = after_key(after, 2)
    page = views.claims_page(after=key, limit=PAGE)
    rows: list[dict[str, Any]] = []
    for row in page.rows:
        bar, percent = progress(row["retired_g"], row["footprint_g"])
        rows.append({**row, "bar": bar, "percent": percent})
    next_after = "~".join(str(k) for k in page.next_after) if page.next_after else None
    return render(request, "claims.html", labels.CLAIMS, rows=rows, next_after=next_after,
                  paged=key is not None)
