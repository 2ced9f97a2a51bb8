"""Error pages of the explorer: HTML in the reader's language, never problem+json.

A page raises :class:`PageError` (an unknown id is a 404, a query parameter it cannot read a
400); :func:`install_error_pages` renders it with ``error.html``. Unknown paths under
``/explorer/`` are answered by a catch-all page route with the same 404 page.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from api.explorer import labels
from api.i18n import Text

__all__ = ["PageError", "bad_request", "install_error_pages", "not_found"]


class PageError(Exception):
    """An explorer page that cannot be shown: its status, title and explanation."""

    def __init__(self, status: int, title: Text, detail: Text) -> None:
        super().__init__(detail.en)
        self.status, self.title, self.detail = status, title, detail


def not_found(detail: Text) -> PageError:
    return PageError(404, labels.NOT_FOUND, detail)


def bad_request(detail: Text) -> PageError:
    return PageError(400, labels.BAD_REQUEST, detail)


def install_error_pages(app: FastAPI) -> None:
    from api.explorer.layout import render

    async def page_error(request: Request, error: Exception) -> HTMLResponse:
        assert isinstance(error, PageError)
        return render(request, "error.html", error.title, status_code=error.status,
                      detail=error.detail)

    app.add_exception_handler(PageError, page_error)
