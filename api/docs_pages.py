"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served with no CDN.

FastAPI's default pages load their scripts and styles from a CDN: blank on an intranet and
slow where that CDN is. Here they load the files committed in ``api/static/docs/`` (fetched
at pinned versions by ``tools/fetch_docs_assets.py``, listed with their SHA-256 in its
``MANIFEST.json``), served at ``/static/docs``; ReDoc is asked for no Google Fonts.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_DIR", "ASSETS_PATH", "install_docs_pages"]

ASSETS_DIR = Path(__file__).parent / "static" / "docs"
ASSETS_PATH = "/static/docs"


def install_docs_pages(app: FastAPI) -> None:
    """Serve ``/docs``, ``/redoc`` and their files on ``app`` (created with
    ``docs_url=None, redoc_url=None``)."""
    openapi_url = app.openapi_url or "/openapi.json"
    favicon = f"{ASSETS_PATH}/swagger-ui/favicon-32x32.png"
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=favicon)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url, title=f"{app.title} - ReDoc",
            redoc_js_url=f"{ASSETS_PATH}/redoc/redoc.standalone.js",
            redoc_favicon_url=favicon, with_google_fonts=False)
