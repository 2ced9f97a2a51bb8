"""The event feed: ``GET /feed`` (pages) and ``GET /feed/stream`` (Server-Sent Events).

Anonymous readers get the public events; an authenticated participant also gets the events
it is a party to (registry operators and auditors: every event). See :mod:`ledger.feed`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.access import PRIVILEGED
from api.auth import Caller
from api.deps import AuthenticatorDep, Credentials, FactsDep, RuntimeDep, SignatureDep
from api.errors import InvalidCursorError
from api.problems import problem_responses
from api.schemas.feed import FeedEvent, FeedPagePublic
from ledger.domain.errors import ValidationError
from ledger.feed import EVENT_TYPES, Viewer, read_feed

__all__ = ["OptionalCaller", "optional_caller", "router", "viewer"]

router = APIRouter(prefix="/feed", tags=["feed"])

_MAX = 2**63 - 1
POLL_S = 0.25  # how often a stream looks for new events
HEARTBEAT_S = 15.0


def optional_caller(facts: FactsDep, authenticator: AuthenticatorDep, credentials: Credentials,
                    headers: SignatureDep) -> Caller | None:
    """The caller if it sent an API key (checked like every other request), else None."""
    if credentials is None:
        return None
    return authenticator.authenticate(facts, credentials.credentials, headers)


OptionalCaller = Annotated[Caller | None, Depends(optional_caller)]
After = Annotated[int, Query(ge=0, le=_MAX, description="the position to read after")]
Types = Annotated[list[str] | None, Query(description="only these feed types")]


def viewer(caller: Caller | None) -> Viewer:
    if caller is None:
        return Viewer()
    return Viewer(participant=str(caller.id), privileged=caller.has_role(*PRIVILEGED))


def _types(types: list[str] | None) -> frozenset[str] | None:
    if not types:
        return None
    unknown = sorted(set(types) - EVENT_TYPES)
    if unknown:
        raise ValidationError(f"unknown feed type {unknown[0]!r} (known: "
                              f"{', '.join(sorted(EVENT_TYPES))})", field="type")
    return frozenset(types)


# Authentication is optional: anonymous readers get the public events.
OPTIONAL_KEY: dict[str, object] = {"security": [{}]}
OPTIONAL_READ = problem_responses(401, 422)


@router.get("", response_model=FeedPagePublic, responses=OPTIONAL_READ,
            openapi_extra=OPTIONAL_KEY)
def feed(runtime: RuntimeDep, caller: OptionalCaller, after: After = 0,
         limit: Annotated[int, Query(ge=1, le=500)] = 100,
         type: Types = None) -> FeedPagePublic:
    """Events after position ``after`` in log order; pass ``next_after`` to continue."""
    page = read_feed(runtime.ledger, after=after, limit=limit, viewer=viewer(caller),
                     types=_types(type))
    return FeedPagePublic(items=[FeedEvent.of(i) for i in page.items],
                          next_after=page.next_after, head=page.head)


def _start(after: int | None, last_event_id: str | None) -> int:
    if last_event_id is not None:  # a reconnecting EventSource resumes after its last id
        if not last_event_id.isdigit() or int(last_event_id) > _MAX:
            raise InvalidCursorError("Last-Event-ID is not a feed position")
        return int(last_event_id)
    return after or 0


@router.get("/stream", responses={**OPTIONAL_READ, 200: {
    "description": "Server-Sent Events: `id:` the position, `event:` the type, `data:` the "
    "event as JSON; `: heartbeat` comments while idle",
    "content": {"text/event-stream": {"schema": {
        "type": "object", "description": "one event of the stream",
        "properties": {"id": {"type": "string"}, "event": {"type": "string"},
                       "data": {"type": "string"}, "retry": {"type": "integer"}}}}}}},
    openapi_extra=OPTIONAL_KEY)
async def stream(request: Request, runtime: RuntimeDep, caller: OptionalCaller,
                 after: Annotated[int | None, Query(ge=0, le=_MAX)] = None,
                 last_event_id: Annotated[str | None, Header(max_length=32)] = None,
                 type: Types = None,
                 limit: Annotated[int | None, Query(
                     ge=1, le=1_000_000, description="close after this many events")] = None,
                 ) -> StreamingResponse:
    """The events after ``after`` (or ``Last-Event-ID``), then new events as they are
    written, as Server-Sent Events."""
    cursor = _start(after, last_event_id)
    who = viewer(caller)
    types = _types(type)

    async def events() -> AsyncIterator[str]:
        nonlocal cursor
        sent, idle_since = 0, time.monotonic()
        yield "retry: 2000\n\n"
        while limit is None or sent < limit:
            if await request.is_disconnected():
                return
            page = await run_in_threadpool(
                read_feed, runtime.ledger, after=cursor, viewer=who, types=types,
                limit=min(100, limit - sent) if limit is not None else 100)
            for item in page.items:
                data = json.dumps(FeedEvent.of(item).model_dump(mode="json"),
                                  separators=(",", ":"), ensure_ascii=False)
                yield f"id: {item.position}\nevent: {item.type}\ndata: {data}\n\n"
                sent += 1
            if page.items:
                idle_since = time.monotonic()
            cursor = page.next_after
            if page.next_after < page.head:
                continue  # more to read now
            if time.monotonic() - idle_since >= HEARTBEAT_S:
                yield ": heartbeat\n\n"
                idle_since = time.monotonic()
            await asyncio.sleep(POLL_S)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
