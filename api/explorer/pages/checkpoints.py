"""Anchored checkpoints: the log's Merkle roots and the chain transactions that hold them
(as recorded by the anchorer, which ``GET /checkpoints`` also lists)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import RuntimeDep
from api.explorer import labels
from api.explorer.layout import render

__all__ = ["router"]

router = APIRouter()
SHOWN = 200


@router.get("/explorer/checkpoints", include_in_schema=False)
def checkpoints(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    records = sorted(runtime.anchoring.anchorer.anchors(), key=lambda r: r.tree_size,
                     reverse=True)[:SHOWN]
    return render(request, "checkpoints.html", labels.CHECKPOINTS, records=records)
