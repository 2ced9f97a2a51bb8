"""Errors of the client: every ``application/problem+json`` answer becomes an
:class:`ApiError` (a subclass chosen by its ``code``, else by its ``status``), carrying the
problem's ``code``, ``status``, ``title``, ``detail`` and ``details``."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = [
    "ApiError",
    "AuthenticationError",
    "CarbonLedgerError",
    "ConflictError",
    "ConnectionFailedError",
    "ConsentRequiredError",
    "ForbiddenError",
    "NotFoundError",
    "RequestIncompleteError",
    "ServerError",
    "ServiceUnavailableError",
    "ValidationError",
    "error_from_response",
]

PROBLEM_TYPE_PREFIX = "https://carbon-ledger.dev/problems/"


class CarbonLedgerError(Exception):
    """Anything the client raises."""


class ConnectionFailedError(CarbonLedgerError):
    """The server could not be reached (or the connection broke) on every attempt."""


class ApiError(CarbonLedgerError):
    """The server answered with an error (an RFC 9457 problem, or an unexpected body)."""

    def __init__(self, status: int, code: str, detail: str, *, title: str = "",
                 details: dict[str, Any] | None = None,
                 errors: list[dict[str, Any]] | None = None, instance: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.details = details or {}
        self.errors = errors or []
        self.instance = instance
        self.retry_after = retry_after


class AuthenticationError(ApiError):
    """401: the API key or the request signature was refused."""


class ForbiddenError(ApiError):
    """403: the ledger's rules forbid this caller the command."""


class ConsentRequiredError(ForbiddenError):
    """403 ``consent-required``: no mandate of the holder in force (``details`` names the
    holder, agent, scope and reason)."""


class NotFoundError(ApiError):
    """404."""


class ConflictError(ApiError):
    """409: the command conflicts with the ledger's state (insufficient credits, duplicate
    record, trade conflict...)."""


class RequestIncompleteError(ConflictError):
    """409 ``request-incomplete``: the Idempotency-Key was recorded but its response is not
    kept yet (still running, or the server stopped in between). Worth retrying."""


class ValidationError(ApiError):
    """400, 413 and 422: the request was refused as malformed or invalid."""


class ServiceUnavailableError(ApiError):
    """503 (database outage, stuck projector): worth retrying after ``retry_after``."""


class ServerError(ApiError):
    """Any other 5xx."""


_BY_CODE: dict[str, type[ApiError]] = {
    "consent-required": ConsentRequiredError,
    "request-incomplete": RequestIncompleteError,
}
_BY_STATUS: dict[int, type[ApiError]] = {
    400: ValidationError, 401: AuthenticationError, 403: ForbiddenError, 404: NotFoundError,
    405: NotFoundError, 409: ConflictError, 413: ValidationError, 422: ValidationError,
    503: ServiceUnavailableError,
}


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (the delta-seconds form; an HTTP date is not used)."""
    value = response.headers.get("Retry-After", "").strip()
    if value.isascii() and value.isdigit():
        return float(value)
    return None


def error_from_response(response: httpx.Response) -> ApiError:
    """The exception for an error ``response``: its problem's fields, or the status and
    body text if the body is not a problem."""
    body: Any = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("code"), str):
        code = body["code"]
        kind = _BY_CODE.get(code) or _error_class(response.status_code)
        details = body.get("details")
        errors = body.get("errors")
        return kind(int(body.get("status") or response.status_code), code,
                    str(body.get("detail") or body.get("title") or ""),
                    title=str(body.get("title") or ""),
                    details=details if isinstance(details, dict) else None,
                    errors=errors if isinstance(errors, list) else None,
                    instance=body.get("instance"),
                    retry_after=retry_after_seconds(response))
    text = response.text[:500]
    return _error_class(response.status_code)(
        response.status_code, f"http-{response.status_code}", text or response.reason_phrase,
        retry_after=retry_after_seconds(response))


def _error_class(status: int) -> type[ApiError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else ApiError
