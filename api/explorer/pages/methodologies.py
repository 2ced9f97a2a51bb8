"""Published methodologies (the query layer's ``methodologies``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import ViewsDep
from api.explorer import labels
from api.explorer.layout import render

__all__ = ["router"]

router = APIRouter()


@router.get("/explorer/methodologies", include_in_schema=False)
def methodologies(request: Request, views: ViewsDep) -> HTMLResponse:
    rows = views.methodologies()
    codes = {row["id"]: f"{row['code']} v{row['version']}" for row in rows}
    return render(request, "methodologies.html", labels.METHODOLOGIES, rows=rows, codes=codes)
