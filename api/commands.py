"""Running one write command for the authenticated caller.

:meth:`CommandRunner.run` is how every write route calls the ledger:

1. with an ``Idempotency-Key``, a response already sent for that key is returned again
   (same status and body, header ``Idempotent-Replayed: true``); the same key with another
   request is an ``idempotency-key-reused`` problem (422);
2. the command runs inside ``Ledger.command_context``, so a ``CommandRecord`` (caller,
   command, request digest, signature, idempotency key) is saved in the same transaction as
   the command's events; a key the ledger has recorded before is refused there, so it is
   never applied twice (a key recorded without a kept response, because the first request
   is still running or the server stopped in between, is a ``request-incomplete``
   problem, 409, naming the command record);
3. the read models are brought up to date (``runtime.sync()``), then the response is shaped
   from them, so the caller reads its own write;
4. the response (or the problem, for a refused command) is kept for the key.

All of it, from authenticating the caller on, runs on the app's writer thread
(:class:`api.writer.WriteQueue`), where the catch-up of step 3 is shared by every request
that wrote in the same group.

Bulk commands (behaviours, trade settlements) are also idempotent item by item without a
key: a re-reported act is rejected naming its first record, a replayed trade id returns its
first settlement with ``replayed: true``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import NoReturn, TypeVar, cast
from uuid import UUID

from fastapi.responses import Response
from pydantic import BaseModel

from api.auth import Caller, RequestFacts
from api.errors import IdempotencyKeyReusedError, RequestIncompleteError
from api.idempotency import IdempotencyStore, StoredResponse
from api.outages import Parked, UnfinishedAnswers, is_outage, outage_error
from api.problems import PROBLEM_MEDIA_TYPE, language_headers, problem_body, problem_of
from api.request_context import current_request_id, note_participant
from api.writer import Deferred, WriteQueue
from ledger.application import CommandContext, DuplicateRequestError, Ledger
from ledger.domain.errors import ConcurrencyError, LedgerError
from ledger.projections.failures import ProjectionStuckError
from ledger.runtime import LedgerRuntime

__all__ = ["RECORD_HEADER", "REPLAYED_HEADER", "CommandRunner", "raise_duplicate_request"]

R = TypeVar("R")
REPLAYED_HEADER = "Idempotent-Replayed"
RECORD_HEADER = "X-Carbon-Command-Record"


def raise_duplicate_request(errors: Iterable[LedgerError | None]) -> None:
    """Re-raise a refused idempotency key that a bulk command reported as an item error."""
    for error in errors:
        if isinstance(error, DuplicateRequestError):
            raise error


class CommandRunner:
    """Runs write commands for one request (see the module documentation).

    ``authenticate`` names the caller; it is called on the writer thread, before anything
    else the command does, and may refuse the request."""

    def __init__(self, runtime: LedgerRuntime, authenticate: Callable[[], Caller],
                 facts: RequestFacts, store: IdempotencyStore, idempotency_key: str | None,
                 writes: WriteQueue, unfinished: UnfinishedAnswers | None = None) -> None:
        self.runtime = runtime
        self.facts = facts
        self.store = store
        self.key = idempotency_key
        self.writes = writes
        self.unfinished = unfinished if unfinished is not None else UnfinishedAnswers()
        self._authenticate = authenticate
        self._caller: Caller | None = None

    @property
    def ledger(self) -> Ledger:
        return self.runtime.ledger

    @property
    def caller(self) -> Caller:
        """The authenticated caller (authenticated on first use)."""
        if self._caller is None:
            self._caller = self._authenticate()
            note_participant(self._caller.id)
        return self._caller

    async def run(self, command: str, action: Callable[[UUID], R],
                  shape: Callable[[R], BaseModel], *, status_code: int = 200,
                  redact: Callable[[BaseModel], BaseModel] | None = None) -> Response:
        """Run ``action(actor)`` as ``command``; answer ``shape(result)``, read after the
        read models caught up. ``redact`` is what is kept for retries, if not all of it."""
        return await self.writes.submit(
            partial(self._execute, command, action, shape, status_code, redact))

    def _execute(self, command: str, action: Callable[[UUID], R],
                 shape: Callable[[R], BaseModel], status_code: int,
                 redact: Callable[[BaseModel], BaseModel] | None,
                 ) -> Response | Deferred[Response]:
        caller = self.caller
        if self.key is not None and (stored := self._stored(self.key)) is not None:
            return stored
        if self.key is not None and (parked := self._parked(self.key)) is not None:
            return parked
        failure = self.runtime.projection_failure
        if failure is not None:  # nothing is written while the read models cannot follow
            raise ProjectionStuckError(failure)
        context = CommandContext(
            participant=caller.id, command=command, request_sha256=self.facts.fingerprint,
            authentication=caller.authentication, idempotency_key=self.key,
            request_id=current_request_id())
        try:
            with self.ledger.command_context(context):
                result = action(caller.id)
        except DuplicateRequestError as error:
            return (self.key is not None and self._stored(self.key)) or self._incomplete(error)
        except (ConcurrencyError, ProjectionStuckError):
            raise  # worth retrying with the same key: nothing is kept
        except LedgerError as error:
            problem = problem_of(error, self.facts.path, self.facts.language)
            return self._answer(command, None, problem.status, PROBLEM_MEDIA_TYPE,
                                problem_body(problem))
        finish = partial(self._shaped, command, context, result, shape, status_code, redact)
        record_id = str(context.record_id) if context.record_id else None
        parked = Parked(self.facts.fingerprint, command, record_id, context.position or None,
                        finish)
        return Deferred(parked.position, finish, partial(self._unfinished, parked))

    def _unfinished(self, parked: Parked, error: BaseException) -> BaseException:
        """The command was applied but its answer could not be made: if the database is
        out, keep the answer's making for the retry with the same key, and say so (503)."""
        if not is_outage(error):
            return error
        if self.key is not None:
            self.unfinished.park(self.caller.id, self.key, parked)
        unavailable = outage_error(error, parked.record_id)
        unavailable.__cause__ = error
        return unavailable

    def _parked(self, key: str) -> Deferred[Response] | None:
        """The parked answer of this key's applied write, finished now (as a replay)."""
        parked = self.unfinished.take(self.caller.id, key)
        if parked is None:
            return None
        if parked.fingerprint != self.facts.fingerprint:
            self.unfinished.park(self.caller.id, key, parked)
            raise IdempotencyKeyReusedError(
                f"idempotency key {key!r} was used for another request ({parked.command})",
                idempotency_key=key, command=parked.command)

        def finish() -> Response:
            response = cast(Response, parked.finish())
            response.headers[REPLAYED_HEADER] = "true"
            return response

        return Deferred(parked.position, finish, partial(self._unfinished, parked))

    def _shaped(self, command: str, context: CommandContext, result: R,
                shape: Callable[[R], BaseModel], status_code: int,
                redact: Callable[[BaseModel], BaseModel] | None) -> Response:
        """The answer to a command that was applied, read after the catch-up."""
        model = shape(result)
        record_id = str(context.record_id) if context.record_id else None
        body = model.model_dump_json().encode()
        kept = redact(model).model_dump_json().encode() if redact else body
        return self._answer(command, record_id, status_code, "application/json", body, kept)

    def _answer(self, command: str, record_id: str | None, status: int, media_type: str,
                body: bytes, kept: bytes | None = None) -> Response:
        if self.key is not None:
            self.store.put(self.caller.id, self.key, StoredResponse(
                fingerprint=self.facts.fingerprint, command=command, record_id=record_id,
                status=status, media_type=media_type, body=body if kept is None else kept))
        headers = {RECORD_HEADER: record_id} if record_id else {}
        if media_type == PROBLEM_MEDIA_TYPE:  # a replay answers the title as first made
            headers.update(language_headers(self.facts.language))
        return Response(body, status_code=status, media_type=media_type, headers=headers)

    def _stored(self, key: str) -> Response | None:
        """The response kept for ``key``, if this is the same request."""
        stored = self.store.get(self.caller.id, key)
        if stored is None:
            return None
        if stored.fingerprint != self.facts.fingerprint:
            raise IdempotencyKeyReusedError(
                f"idempotency key {key!r} was used for another request ({stored.command})",
                idempotency_key=key, command=stored.command)
        headers = {REPLAYED_HEADER: "true"}
        if stored.record_id:
            headers[RECORD_HEADER] = stored.record_id
        return Response(stored.body, status_code=stored.status, media_type=stored.media_type,
                        headers=headers)

    def _incomplete(self, error: DuplicateRequestError) -> NoReturn:
        record_id = str(error.details.get("record"))
        try:
            record = self.ledger.command_record(UUID(record_id))
        except LedgerError:
            record = None
        if record is not None and record.request_sha256 != self.facts.fingerprint:
            raise IdempotencyKeyReusedError(
                f"idempotency key {self.key!r} was used for another request "
                f"({record.command})", idempotency_key=self.key, command=record.command,
                record=record_id)
        raise RequestIncompleteError(
            f"idempotency key {self.key!r} was applied by command record {record_id}, but its "
            "response was not kept (the request is still running, or the server stopped "
            "before answering); read the resource's state instead of retrying",
            idempotency_key=self.key, record=record_id,
            command=record.command if record is not None else None)
