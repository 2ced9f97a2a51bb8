"""Neutrality claims with their progress: retired against footprint (``claims_page``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import ViewsDep
from api.explorer import labels
from api.explorer.errors import not_found
from api.explorer.layout import render
from api.explorer.params import after_key
from api.i18n import Text

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
        rows.append(_with_progress(row))
    next_after = "~".join(str(k) for k in page.next_after) if page.next_after else None
    return render(request, "claims.html", labels.CLAIMS, rows=rows, next_after=next_after,
                  paged=key is not None)


def _with_progress(row: dict[str, Any]) -> dict[str, Any]:
    bar, percent = progress(row["retired_g"], row["footprint_g"])
    return {**row, "bar": bar, "percent": percent}


@router.get("/explorer/claims/{claim_id}", include_in_schema=False)
def claim(request: Request, claim_id: str, views: ViewsDep) -> HTMLResponse:
    """One claim: the page its neutrality certificate's QR code opens, with the PDF linked."""
    unknown = not_found(Text(en=f"There is no neutrality claim {claim_id}.",
                             zh=f"不存在碳中和声明 {claim_id}。"))
    try:
        ident = UUID(claim_id)
    except ValueError:
        raise unknown from None
    row = views.claim(ident)
    if row is None:
        raise unknown
    return render(request, "claims.html", labels.CLAIMS, rows=[_with_progress(row)],
                  next_after=None, paged=False,
                  certificate_pdf=f"/claims/{ident}/certificate.pdf")
