"""Bounds on request bodies, enforced before anything parses or authenticates them.

An ASGI middleware (:class:`BodyLimits`) wraps the whole app:

* ``Content-Length`` beyond the limit is refused at once (413 ``request-too-large``),
  before one byte of the body is read; a body without one (chunked) is counted as it
  streams and refused as soon as it passes the limit.
* The limit is :attr:`~api.settings.ApiSettings.max_body_bytes` for a request that carries
  a bearer credential, and the much smaller ``max_anonymous_body_bytes`` for one that does
  not: every write needs an API key, so an anonymous body can only earn a 401, and nobody
  gets to make the server buffer megabytes without naming a key.
* A body within the limit is scanned for its nesting depth (a linear pass over the bytes,
  strings skipped) before the app, FastAPI's JSON parser included, sees it; deeper than
  :attr:`~api.settings.ApiSettings.max_json_depth` is refused (422 ``json-too-deep``). A
  body of 100,000 ``[`` would otherwise send the C JSON scanner 100,000 calls deep: the
  embedded chain's libraries raise the recursion limit to 100,000, so that is a segfault
  of the whole server, not a ``RecursionError``.

The body read here is handed on to the app unchanged (it reads it once, in
``api.deps.request_facts``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio.to_thread
from starlette.datastructures import Headers

from api.errors import JsonTooDeepError, RequestTooLargeError
from api.problems import PROBLEM_MEDIA_TYPE, problem_body, problem_of, request_language
from ledger.domain.errors import LedgerError

__all__ = ["BodyLimits", "nesting_depth"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# A JSON string: possessive, so text that never closes its quote costs one pass, not more.
_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SCANNED_ON_LOOP = 256 * 1024  # bytes; a longer body is scanned on a worker thread
_STEPS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")  # opening: 2, closing: 0


def nesting_depth(body: bytes, stop_above: int | None = None) -> int:
    """How deep ``[``/``{`` nest in ``body`` outside JSON strings (at least ``stop_above +
    1`` once it is known to be deeper). At C speed: the brackets, as bytes 2 (opening) and 0
    (closing), lose their innermost pairs in each pass, one pass per level; when no pair
    is left, what remains (unbalanced, so not JSON) adds the openings it still has."""
    steps = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS).translate(_STEPS)
    depth = 0
    while steps:
        if stop_above is not None and depth > stop_above:
            return depth
        inner = steps.replace(b"\x02\x00", b"")
        if len(inner) == len(steps):
            return depth + steps.count(2)
        depth += 1
        steps = inner
    return depth


def _has_bearer(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return value[:7].lower() == b"bearer " and len(value) > 7
    return False


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.strip()
            return int(text) if text.isdigit() and len(text) < 20 else None
    return None


class BodyLimits:
    """The middleware (see the module documentation)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_anonymous_bytes: int,
                 max_depth: int, exempt_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.exempt_paths = exempt_paths  # routes that never read a body (health checks)
        self.max_bytes = max_bytes
        self.max_anonymous_bytes = max_anonymous_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        signed_in = _has_bearer(scope)
        limit = self.max_bytes if signed_in else self.max_anonymous_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, send, self._too_large(declared, limit, signed_in))
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, send, self._too_large(size, limit, signed_in))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        depth = 0
        if len(body) > _SCANNED_ON_LOOP:  # long scans stay off the event loop
            depth = await anyio.to_thread.run_sync(nesting_depth, body, self.max_depth)
        elif body:
            depth = nesting_depth(body, self.max_depth)
        if depth > self.max_depth:
            await self._refuse(scope, send, JsonTooDeepError(
                f"the body nests arrays and objects at least {depth} deep; at most "
                f"{self.max_depth} "
                "is accepted", depth=depth, limit=self.max_depth))
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _too_large(size: int, limit: int, signed_in: bool) -> RequestTooLargeError:
        whose = "a request with an API key" if signed_in else (
            "a request without an API key (Authorization: Bearer)")
        return RequestTooLargeError(
            f"the body has at least {size} bytes; {whose} may send at most {limit}",
            limit=limit, authenticated=signed_in)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, error: LedgerError) -> None:
        language = request_language(Headers(scope=scope))
        problem = problem_of(error, scope.get("path"), language)
        body = problem_body(problem)
        await send({"type": "http.response.start", "status": problem.status, "headers": [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"content-language", language.encode()),
            (b"vary", b"Accept-Language"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]})
        await send({"type": "http.response.body", "body": body})
