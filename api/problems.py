"""RFC 9457 problem details: the one place that maps errors to HTTP statuses.

Every failure answers ``application/problem+json``::

    {"type": "https://carbon-ledger.dev/problems/insufficient-balance",
     "title": "Insufficient balance", "status": 409,
     "detail": "the holder holds 5 g available of batch HBCER-2024-000001, 8 g requested",
     "instance": "/retirements", "code": "insufficient-balance",
     "details": {"batch": "...", "requested": 8, "available": 5}}

``type`` is derived from the error's stable ``code`` and never changes; ``details`` carries
the offending values; ``errors`` lists the schema violations of a malformed request.

``title`` is in the request's language (``Accept-Language``, see :mod:`api.i18n`; Chinese or
English, catalog in :mod:`api.problem_titles`), said by ``Content-Language``; responses vary
by ``Accept-Language``. ``type``, ``code`` and ``detail`` are English whatever the language.
"""

from __future__ import annotations

import http
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import (
    AuthenticationError,
    DatabaseUnavailableError,
    MalformedRequestError,
    RequestTooLargeError,
)
from api.i18n import DEFAULT_LANGUAGE, Language, negotiate
from api.outages import OUTAGE_TYPES, is_outage, outage_error
from api.problem_titles import title_of
from ledger.domain.errors import (
    ConcurrencyError,
    ConflictError,
    LedgerError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from ledger.projections.failures import ProjectionStuckError

__all__ = [
    "PROBLEM_BASE",
    "PROBLEM_MEDIA_TYPE",
    "FieldProblem",
    "Problem",
    "install_problem_handlers",
    "language_headers",
    "problem_body",
    "problem_of",
    "problem_response",
    "problem_responses",
    "request_language",
    "status_of",
]

PROBLEM_BASE = "https://carbon-ledger.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

# Most specific first: an error's status is that of the first class it is an instance of.
_STATUSES: tuple[tuple[type[LedgerError], int], ...] = (
    (AuthenticationError, 401),
    (ValidationError, 422),
    (NotFoundError, 404),
    (PermissionDeniedError, 403),
    (ConflictError, 409),
    (ConcurrencyError, 409),
    (RequestTooLargeError, 413),
    (DatabaseUnavailableError, 503),
    (ProjectionStuckError, 503),
)

_DESCRIPTIONS = {
    401: "Not authenticated: missing or invalid API key or request signature",
    403: "Forbidden: the participant's roles or ownership do not allow this",
    404: "Not found",
    409: "Conflict with the ledger's state (balance, duplicate, state, idempotency)",
    413: "The body is larger than the server accepts",
    422: "Validation failed: malformed request or invalid values",
    503: "Unavailable for now: the database is unreachable (`database-unavailable`, retry "
         "after Retry-After seconds), or the read models are stuck before an event they "
         "cannot apply (`projection-stuck`, naming the event: writes are refused until it "
         "is resolved; reads still answer)",
}

log = logging.getLogger(__name__)


class FieldProblem(BaseModel):
    """One schema violation of a malformed request."""

    loc: list[str | int] = Field(description="where: body, query, path or header, then names")
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "type": PROBLEM_BASE + "insufficient-balance", "title": "Insufficient balance",
        "status": 409, "detail": "the holder holds 5 g available of batch HBCER-2024-000001, "
        "8 g requested", "instance": "/retirements", "code": "insufficient-balance",
        "details": {"requested": 8, "available": 5}}})

    type: str = Field(description="URI of the problem type, stable per failure")
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str = Field(description="the ledger's stable error code (last part of `type`)")
    details: dict[str, Any] = Field(default_factory=dict,
                                    description="the offending values")
    errors: list[FieldProblem] | None = Field(
        default=None, description="schema violations, for malformed requests")


def status_of(error: LedgerError) -> int:
    for kind, status in _STATUSES:
        if isinstance(error, kind):
            return status
    return 500


def request_language(headers: Any) -> Language:
    """The language of a request's problem titles, from its ``Accept-Language``."""
    return negotiate(headers.get("accept-language"))


def language_headers(language: Language) -> dict[str, str]:
    """``Content-Language`` and ``Vary`` of a problem titled in ``language``."""
    return {"Content-Language": language, "Vary": "Accept-Language"}


def _problem(code: str, status: int, detail: str, instance: str | None = None,
             details: dict[str, Any] | None = None,
             errors: list[FieldProblem] | None = None,
             language: Language = DEFAULT_LANGUAGE) -> Problem:
    return Problem(type=PROBLEM_BASE + code, title=title_of(code, language),
                   status=status, detail=detail, instance=instance, code=code,
                   details=jsonable_encoder(details or {}), errors=errors)


def problem_of(error: LedgerError, instance: str | None = None,
               language: Language = DEFAULT_LANGUAGE) -> Problem:
    """The problem describing a ledger (or API) error, titled in ``language``."""
    return _problem(error.code, status_of(error), error.message, instance, error.details,
                    language=language)


def problem_body(problem: Problem) -> bytes:
    """The JSON of a problem, as every problem response carries it."""
    return problem.model_dump_json(exclude_none=True).encode()


def problem_response(problem: Problem, headers: dict[str, str] | None = None,
                     language: Language | None = None) -> Response:
    """The response carrying ``problem``; with ``language`` (that of its title), also
    ``Content-Language`` and ``Vary: Accept-Language``."""
    if language is not None:
        headers = {**language_headers(language), **(headers or {})}
    if problem.status == 401:
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    if problem.status == 503:
        headers = {"Retry-After": str(DatabaseUnavailableError.retry_after_s),
                   **(headers or {})}
    return Response(problem_body(problem), status_code=problem.status,
                    media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these problem statuses."""
    return {status: {"model": Problem, "description": _DESCRIPTIONS[status]}
            for status in statuses}


async def _ledger_error(request: Request, error: LedgerError) -> Response:
    language = request_language(request.headers)
    return problem_response(problem_of(error, request.url.path, language), language=language)


async def _request_validation_error(request: Request,
                                    error: RequestValidationError) -> Response:
    errors = [FieldProblem(loc=[part if isinstance(part, int) else str(part)
                                for part in e.get("loc", ())],
                           msg=str(e.get("msg", "")), type=str(e.get("type", "")))
              for e in error.errors()]
    first = errors[0] if errors else None
    detail = (f"{'.'.join(map(str, first.loc))}: {first.msg}" if first
              else "the request is malformed")
    code = MalformedRequestError.code
    language = request_language(request.headers)
    return problem_response(_problem(code, 422, detail, request.url.path, errors=errors,
                                     language=language), language=language)


async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
    language = request_language(request.headers)
    if error.status_code == 400:  # a body FastAPI could not parse (e.g. a 5,000-digit number)
        detail = error.detail if isinstance(error.detail, str) else "the body is malformed"
        errors = [FieldProblem(loc=["body"], msg=detail, type="json_invalid")]
        return problem_response(_problem(MalformedRequestError.code, 422, detail,
                                         request.url.path, errors=errors, language=language),
                                language=language)
    phrase = http.HTTPStatus(error.status_code).phrase
    code = phrase.lower().replace(" ", "-").replace("'", "")
    detail = error.detail if isinstance(error.detail, str) else phrase
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return problem_response(_problem(code, error.status_code, detail, request.url.path,
                                     language=language), headers=headers, language=language)


def _allowed_methods(request: Request) -> str:
    """The documented methods of the path (Starlette names only those of the first route
    matching it, while ``GET /claims`` and ``POST /claims`` are two routes). A literal path
    (``/trades/settlements``) takes precedence over a template (``/trades/{trade_ref}``)."""
    paths = request.app.openapi().get("paths", {})
    path = request.url.path
    if path in paths:
        return ", ".join(sorted(method.upper() for method in paths[path]))
    methods: set[str] = set()
    for template, operations in paths.items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path):
            methods |= {method.upper() for method in operations}
    return ", ".join(sorted(methods))


async def _outage(request: Request, error: Exception) -> Response:
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, error)
    language = request_language(request.headers)
    return problem_response(problem_of(outage_error(error), request.url.path, language),
                            language=language)


async def _unexpected_error(request: Request, error: Exception) -> Response:
    if is_outage(error):
        return await _outage(request, error)
    log.exception("unexpected error on %s %s", request.method, request.url.path,
                  exc_info=error)
    language = request_language(request.headers)
    return problem_response(_problem("internal-error", 500, "an unexpected error occurred",
                                     request.url.path, language=language), language=language)


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error with problem+json: ledger errors, malformed requests, unknown
    routes, database outages (503, see :mod:`api.outages`), and (as a last resort)
    unexpected exceptions."""
    app.add_exception_handler(LedgerError, _ledger_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for outage in OUTAGE_TYPES:
        app.add_exception_handler(outage, _outage)
    app.add_exception_handler(Exception, _unexpected_error)
