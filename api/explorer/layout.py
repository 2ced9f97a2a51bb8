"""Rendering an explorer page: the language of the request, the base layout, escaping.

Templates are Jinja2 with autoescaping on, so every value from the ledger (names, purposes,
beneficiaries are participants' text) is escaped; nothing is marked safe but our own markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.explorer import labels
from api.explorer.quantities import grams_text, tonnes
from api.i18n import LANGUAGES, Language, Text, negotiate
from api.schemas.participants import HolderPublic
from api.vocabulary import MOVES, PARTICIPANT_KINDS, PURPOSES, STATES
from ledger.projections.queries import ReadModels

__all__ = ["NAV", "holder_text", "href", "language_of", "parties_of", "render", "templates"]

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

NAV: tuple[tuple[str, Text], ...] = (
    ("/explorer/", Text(en="Overview", zh="概览")),
    ("/explorer/batches", Text(en="Batches", zh="批次")),
    ("/explorer/serials", Text(en="Serial lookup", zh="序列号查询")),
    ("/explorer/retirements", Text(en="Retirements", zh="注销登记")),
    ("/explorer/claims", Text(en="Neutrality claims", zh="碳中和声明")),
    ("/explorer/checkpoints", Text(en="Checkpoints", zh="链上锚定")),
    ("/explorer/methodologies", Text(en="Methodologies", zh="方法学")),
)


def language_of(request: Request) -> Language:
    """``?lang=`` if it names a language served, else ``Accept-Language``."""
    return negotiate(request.headers.get("accept-language"), request.query_params.get("lang"))


def href(language: Language, path: str, **params: object) -> str:
    """``path`` with ``params`` (those not ``None``) and the page's language as a query."""
    query = {k: str(v) for k, v in params.items() if v is not None and v != ""}
    query["lang"] = language
    return f"{path}?{urlencode(query)}"


def _named(catalog: dict[Any, Text], value: str, language: Language) -> str:
    """The name of a purpose or state; an unknown one (an older log) as written."""
    for key, text in catalog.items():
        if str(key.value if hasattr(key, "value") else key) == value:
            return text(language)
    return value


def holder_text(language: Language, holder: str, kind: str | None,
                name: str | None) -> str:
    """A holder as public records show it (:class:`HolderPublic`): its name, except for
    individuals, who are their kind and id."""
    public = HolderPublic.of(holder, kind, name)
    if public.name is not None:
        return public.name
    return f"{_named(PARTICIPANT_KINDS, kind or '', language) or '?'} {holder}"


def parties_of(views: ReadModels, moves: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The participants moves name (from and to), by id: one query for a page of moves."""
    return views.participants_by_id({h for m in moves
                                     for h in (m["from_holder"], m["to_holder"]) if h})


def render(request: Request, template: str, title: Text, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """``template`` rendered in the request's language, inside the base layout."""
    language = language_of(request)
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    switch = {code: f"{request.url.path}?{urlencode([*kept, ('lang', code)])}"
              for code in LANGUAGES}
    return templates.TemplateResponse(
        request, template,
        {"lang": language, "languages": LANGUAGES, "title": title(language), "nav": NAV,
         "t": lambda text: text(language), "L": labels, "switch": switch, "tonnes": tonnes,
         "grams": grams_text,
         "href": lambda path, **params: href(language, path, **params),
         "purpose_name": lambda value: _named(PURPOSES, value, language),
         "state_name": lambda value: _named(STATES, value, language),
         "holder": lambda ident, kind, name: holder_text(language, ident, kind, name),
         "move_name": lambda value: MOVES[value](language) if value in MOVES else value,
         **context},
        status_code=status_code,
        headers={"Content-Language": "zh-CN" if language == "zh" else "en",
                 "Vary": "Accept-Language"})
