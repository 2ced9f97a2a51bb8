"""The public explorer: server-rendered pages of the registry, in Chinese and English.

Pages live under ``/explorer`` (one module per page family, each with a ``router`` listed in
:data:`PAGE_ROUTERS`); their templates in ``templates/`` extend ``base.html``; static files
(CSS, the certificate page's verifier script) are served from ``/explorer/static``. Nothing is
built: a fresh machine serves them as they are.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from api.explorer import certificates, chain_rpc

__all__ = ["PAGE_ROUTERS", "STATIC_DIR", "install_explorer"]

STATIC_DIR = Path(__file__).parent / "static"

PAGE_ROUTERS: list[APIRouter] = [certificates.router, chain_rpc.router]


def _page_routers() -> list[APIRouter]:
    from api.explorer.pages import (
        batches,
        checkpoints,
        claims,
        methodologies,
        overview,
        retirements,
        serials,
    )

    return [overview.router, batches.router, serials.router, retirements.router,
            claims.router, checkpoints.router, methodologies.router]


def install_explorer(app: FastAPI) -> None:
    """Serve the explorer's pages, static files and error pages on ``app``: the static
    files first, then every page, then the 404 page for any other ``/explorer/`` path."""
    from api.explorer.errors import install_error_pages
    from api.explorer.pages import fallback

    app.mount("/explorer/static", StaticFiles(directory=STATIC_DIR), name="explorer-static")
    for router in [*_page_routers(), *PAGE_ROUTERS]:
        app.include_router(router, include_in_schema=False)
    app.include_router(fallback.router, include_in_schema=False)
    install_error_pages(app)
