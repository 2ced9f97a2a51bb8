"""The request being served: its id and, once authenticated, its participant.

Every HTTP request gets a request id (:func:`request_id_from`): the client's
``X-Request-Id`` if it is a safe token (1 to 128 characters of ``A-Z a-z 0-9 . _ : + / = -``),
else a fresh one. It is answered in ``X-Request-Id``, written in every log line of the
request, and kept in the command record of a write (``CommandRecord.request_id``).

The :class:`RequestInfo` of the current request is held in a context variable, set by
:class:`api.observability.Observability` for the request's task; it reaches the threads
that serve the request (FastAPI's thread pool copies the context, and so does
:class:`api.writer.WriteQueue` for a write's job).
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from uuid import UUID

__all__ = [
    "REQUEST_ID_HEADER",
    "RequestInfo",
    "current_request",
    "current_request_id",
    "note_participant",
    "request_id_from",
]

REQUEST_ID_HEADER = "X-Request-Id"
MAX_REQUEST_ID_LENGTH = 128
# Safe in a header, a log line and a URL: no spaces, quotes, control or non-ASCII characters.
_SAFE_REQUEST_ID = re.compile(rf"[A-Za-z0-9._:+/=-]{{1,{MAX_REQUEST_ID_LENGTH}}}")


@dataclass
class RequestInfo:
    """What the logs say about the request being served."""

    request_id: str
    method: str
    participant: UUID | None = None


_current: ContextVar[RequestInfo | None] = ContextVar("current_request", default=None)


def request_id_from(sent: str | bytes | None) -> str:
    """The client's request id if it is a safe token, else a new one (32 hex digits)."""
    if isinstance(sent, bytes):
        try:
            sent = sent.decode("ascii")
        except UnicodeDecodeError:
            sent = None
    if sent is not None and _SAFE_REQUEST_ID.fullmatch(sent):
        return sent
    return uuid.uuid4().hex


def current_request() -> RequestInfo | None:
    return _current.get()


def current_request_id() -> str | None:
    info = _current.get()
    return None if info is None else info.request_id


def note_participant(participant: UUID) -> None:
    """Name the authenticated participant of the current request (for its log lines)."""
    info = _current.get()
    if info is not None:
        info.participant = participant


def enter_request(info: RequestInfo) -> object:
    """Make ``info`` the current request; returns the token for :func:`leave_request`."""
    return _current.set(info)


def leave_request(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
