"""The ASGI middleware that observes every HTTP request (:class:`Observability`).

For each request it

* chooses the request id (:func:`api.request_context.request_id_from`) and answers it in
  ``X-Request-Id``; the request is served with it as the current request, so every log
  line written meanwhile (on the writer thread too) carries it;
* counts the request and its duration in :class:`HttpMetrics`, by method, route template
  (``/batches/{batch_id}``; ``unmatched`` for a path no route has) and status class;
* writes one access log line (logger ``api.access``, level INFO): method, route, path,
  status, duration in milliseconds, request id and the participant once authenticated.

It is the outermost middleware of the app, so a request refused by the body limits is
observed too. An unexpected error (500) is answered by Starlette's outermost handler, outside
this middleware: it is counted and logged with its request id, but its answer lacks the
``X-Request-Id`` header.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from api.json_logs import ACCESS_LOGGER
from api.metrics import Counter, Histogram
from api.request_context import (
    REQUEST_ID_HEADER,
    RequestInfo,
    enter_request,
    leave_request,
    request_id_from,
)

__all__ = ["UNMATCHED_ROUTE", "HttpMetrics", "Observability", "route_of", "status_class"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNMATCHED_ROUTE = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_HEADER = REQUEST_ID_HEADER.lower().encode()
access_log = logging.getLogger(ACCESS_LOGGER)


def route_of(scope: Scope) -> str:
    """The template of the route that served ``scope`` (set by the router when it matched)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


def status_class(status: int) -> str:
    return f"{status // 100}xx"


class HttpMetrics:
    """Requests served and their durations, by method, route template and status class."""

    labels = ("method", "route", "status")

    def __init__(self) -> None:
        self.requests = Counter("carbon_ledger_http_requests_total",
                                "HTTP requests answered", self.labels)
        self.duration = Histogram("carbon_ledger_http_request_duration_seconds",
                                  "time to answer an HTTP request, seconds", self.labels)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        # Methods are bounded too: anything unusual counts as OTHER.
        key = (method if method in _METHODS else "OTHER", route, status_class(status))
        self.requests.inc(key)
        self.duration.observe(key, seconds)

    def render(self) -> str:
        return self.requests.render() + self.duration.render()


class Observability:
    """The middleware (see the module documentation)."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = next((value for name, value in scope.get("headers", ()) if name == _HEADER),
                    None)
        info = RequestInfo(request_id=request_id_from(sent), method=scope.get("method", ""))
        header = (_HEADER, info.request_id.encode("ascii"))
        status = 500  # unless a response starts
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(name, value) for name, value in message.get("headers", ())
                           if name.lower() != _HEADER]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        token = enter_request(info)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = route_of(scope)
            self.metrics.observe(info.method, route, status, seconds)
            access_log.info(
                "%s %s %d", info.method, route, status,
                extra={"method": info.method, "route": route,
                       "path": scope.get("path", ""), "status": status,
                       "duration_ms": round(seconds * 1000, 3),
                       "participant": info.participant})
            leave_request(token)
