"""The public retirement register (``retirements_page``): search by beneficiary, filter by
purpose, period and registry; each row links to its certificate page."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import ViewsDep
from api.explorer import labels
from api.explorer.errors import bad_request
from api.explorer.layout import render
from api.explorer.params import after_key, choice, day, integer, text
from api.i18n import Text
from ledger.domain.retirement import RetirementPurpose

__all__ = ["router"]

router = APIRouter()
PAGE = 50
PURPOSE_VALUES = tuple(p.value for p in RetirementPurpose)


@router.get("/explorer/retirements", include_in_schema=False)
def retirements(request: Request, views: ViewsDep, after: str | None = None,
                beneficiary: str | None = None, purpose: str | None = None,
                registry: str | None = None, retired_from: str | None = None,
                retired_until: str | None = None) -> HTMLResponse:
    key = after_key(after, 2)
    start = day(retired_from, "retired_from")
    end = day(retired_until, "retired_until")
    if start is not None and end is not None and end < start:
        raise bad_request(Text(en="The period ends before it starts.",
                               zh="截止日期早于起始日期。"))
    filters = {"beneficiary": text(beneficiary, "beneficiary"),
               "purpose": choice(purpose, "purpose", PURPOSE_VALUES),
               "registry": text(registry, "registry"),
               "retired_from": start.isoformat() if start else None,
               "retired_until": end.isoformat() if end else None}
    page = views.retirements_page(
        after=(integer(key[0], "after"), key[1]) if key else None, limit=PAGE,
        beneficiary_contains=filters["beneficiary"], purpose=filters["purpose"],
        registry=filters["registry"], retired_from=filters["retired_from"],
        retired_before=(end + timedelta(days=1)).isoformat() if end else None)
    next_after = "~".join(str(k) for k in page.next_after) if page.next_after else None
    return render(request, "retirements.html", labels.RETIREMENTS, rows=page.rows,
                  filters=filters, purposes=PURPOSE_VALUES, next_after=next_after,
                  paged=key is not None)
