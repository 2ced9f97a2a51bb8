"""Typed dependencies of the routes: the ledger, the read models, the caller, the runner.

``RuntimeDep``/``ViewsDep`` give the ledger and its read models; ``CallerDep`` is the
authenticated participant (API key, and a verified signature when one is sent);
``CommandDep`` is a :class:`~api.commands.CommandRunner` for a write, which also requires
the signature of participants that must sign and takes the ``Idempotency-Key`` header.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth import (
    IDEMPOTENCY_HEADER,
    PARTICIPANT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Authenticator,
    Caller,
    RequestFacts,
    SignatureHeaders,
)
from api.commands import CommandRunner
from api.idempotency import IdempotencyStore
from api.outages import UnfinishedAnswers
from api.problems import request_language
from api.request_context import note_participant
from api.writer import WriteQueue
from ledger.projections.queries import ReadModels
from ledger.runtime import LedgerRuntime

__all__ = [
    "IDEMPOTENCY_HEADER",
    "CallerDep",
    "CommandDep",
    "FactsDep",
    "RuntimeDep",
    "ViewsDep",
    "api_key_scheme",
]


api_key_scheme = HTTPBearer(
    auto_error=False, scheme_name="ApiKey", bearerFormat="cl_<key_id>_<secret>",
    description="API key of a participant, issued by POST /participants/{id}/api-keys.")


# Dependencies that never block are ``async``: FastAPI runs a plain ``def`` dependency in its
# thread pool, a hop that cost more than the work itself under concurrent requests.


async def get_runtime(request: Request) -> LedgerRuntime:
    return request.app.state.runtime


async def get_authenticator(request: Request) -> Authenticator:
    return request.app.state.authenticator


async def get_store(request: Request) -> IdempotencyStore:
    return request.app.state.idempotency


RuntimeDep = Annotated[LedgerRuntime, Depends(get_runtime)]
AuthenticatorDep = Annotated[Authenticator, Depends(get_authenticator)]
StoreDep = Annotated[IdempotencyStore, Depends(get_store)]


async def get_views(runtime: RuntimeDep) -> ReadModels:
    return runtime.views


ViewsDep = Annotated[ReadModels, Depends(get_views)]


async def request_facts(request: Request) -> RequestFacts:
    """Method, raw path and query, and the body's SHA-256 (the body is read here, once)."""
    body = await request.body()
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    return RequestFacts(method=request.method, path=raw_path.decode("latin-1"),
                        query=request.scope.get("query_string", b"").decode("latin-1"),
                        body_sha256=hashlib.sha256(body).hexdigest(),
                        idempotency_key=request.headers.get(IDEMPOTENCY_HEADER),
                        language=request_language(request.headers))


FactsDep = Annotated[RequestFacts, Depends(request_facts)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(api_key_scheme)]


async def signature_headers(
    participant: Annotated[str | None, Header(
        alias=PARTICIPANT_HEADER, max_length=64,
        description="signed requests: the caller's participant id")] = None,
    timestamp: Annotated[str | None, Header(
        alias=TIMESTAMP_HEADER, max_length=32,
        description="signed requests: Unix seconds")] = None,
    signature: Annotated[str | None, Header(
        alias=SIGNATURE_HEADER, max_length=256,
        description="signed requests: base64 Ed25519 signature of the canonical string")] = None,
) -> SignatureHeaders:
    return SignatureHeaders(participant=participant, timestamp=timestamp, signature=signature)


SignatureDep = Annotated[SignatureHeaders, Depends(signature_headers)]


def authenticated(facts: FactsDep, authenticator: AuthenticatorDep, credentials: Credentials,
                  headers: SignatureDep) -> Caller:
    caller = authenticator.authenticate(
        facts, credentials.credentials if credentials else None, headers)
    note_participant(caller.id)
    return caller


CallerDep = Annotated[Caller, Depends(authenticated)]


async def get_writes(request: Request) -> WriteQueue:
    return request.app.state.writes


async def get_unfinished(request: Request) -> UnfinishedAnswers:
    return request.app.state.unfinished


async def command_runner(
    facts: FactsDep,
    runtime: RuntimeDep,
    authenticator: AuthenticatorDep,
    store: StoreDep,
    writes: Annotated[WriteQueue, Depends(get_writes)],
    unfinished: Annotated[UnfinishedAnswers, Depends(get_unfinished)],
    credentials: Credentials,
    headers: SignatureDep,
    idempotency_key: Annotated[str | None, Header(
        alias=IDEMPOTENCY_HEADER, min_length=1, max_length=200, pattern=r"^[!-~]+$",
        description="retry-safe writes: a retry with the same key and request gets the "
                    "first response")] = None,
) -> CommandRunner:
    """The runner of one write; the caller is authenticated by it, on the writer thread
    (reading the key and the participant there, not on the event loop)."""
    bearer = credentials.credentials if credentials else None

    def authenticate() -> Caller:
        caller = authenticator.authenticate(facts, bearer, headers)
        authenticator.require_signature(caller)
        return caller

    return CommandRunner(runtime, authenticate, facts, store, idempotency_key, writes,
                         unfinished)


CommandDep = Annotated[CommandRunner, Depends(command_runner)]
