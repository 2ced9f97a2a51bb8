"""Serial lookup: which lot holds a serial now (the query layer's ``who_holds``, as
``GET /serials/{block}/{serial}``) and its chain of custody (``custody``: every move of a
range holding it, from issuance on)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import ViewsDep
from api.explorer import labels
from api.explorer.errors import bad_request, not_found
from api.explorer.layout import parties_of, render
from api.explorer.params import integer, text
from api.i18n import Text
from api.schemas.common import MAX_SERIAL

__all__ = ["router"]

router = APIRouter()


@router.get("/explorer/serials", include_in_schema=False)
def serials(request: Request, views: ViewsDep, batch: str | None = None,
            serial: str | None = None) -> HTMLResponse:
    label = text(batch, "batch")
    number = integer(serial, "serial", 0, MAX_SERIAL)
    if (label is None) != (number is None):
        raise bad_request(Text(en="Give both the batch and the serial number.",
                               zh="请同时填写批次和序列号。"))
    found = owner = retirement = None
    custody: list[dict[str, Any]] = []
    if label is not None and number is not None:
        block = label
        try:  # a batch id, else a block label
            by_id = views.batch(UUID(label))
        except ValueError:
            by_id = None
        if by_id is not None:
            block = by_id["block"]
        found = views.who_holds(block, number)
        if found is None:
            raise not_found(Text(en=f"Serial {number} of {label} does not exist.",
                                 zh=f"{label} 的序列号 {number} 不存在。"))
        owner = views.participant(found["holder"])
        if found["state"] == "retired":
            retirement = views.retirement_with_holder(found["ref"])
        custody = views.custody(found["batch"], number)
    return render(request, "serials.html", labels.SERIALS, batch=label, serial=number,
                  found=found, owner=owner, retirement=retirement, custody=custody,
                  parties=parties_of(views, custody))
