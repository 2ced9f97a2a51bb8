"""The HTTP client: authenticates, signs, keys and retries each call.

Every call is one *logical* request. A write gets one ``Idempotency-Key`` (yours, or a
fresh random one) that every retry of that call reuses, so a write retried after a lost
reply or a 503 is applied once and answered with the first response; each attempt is
signed afresh (a new timestamp) over the same key and body. Retried: connection errors and
timeouts, 503 (after ``Retry-After`` when the server gives it, else exponential backoff
with jitter) and 409 ``request-incomplete``; never another error.
"""

from __future__ import annotations

import json as jsonlib
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote, urlencode
from uuid import UUID

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from carbon_ledger_client.errors import (
    ApiError,
    ConnectionFailedError,
    RequestIncompleteError,
    ServiceUnavailableError,
    error_from_response,
)
from carbon_ledger_client.models import (
    Balance,
    Batch,
    BehaviourBatch,
    Listing,
    Mandate,
    Page,
    Pledge,
    Retirement,
    Trade,
    TradeSettlementBatch,
    Transfer,
    from_json,
)
from carbon_ledger_client.signing import (
    IDEMPOTENCY_HEADER,
    READ_METHODS,
    new_idempotency_key,
    sign_request,
)

__all__ = ["CarbonLedgerClient", "RetryPolicy"]

M = TypeVar("M")
Quantity = int | str  # grams, or text with a unit ("2,000 t"), parsed by the server
Id = UUID | str


class RetryPolicy:
    """How often and how long to retry: ``attempts`` in all (1: never retry), waiting
    ``backoff_s * 2**n`` (with up to 50% jitter, at most ``max_backoff_s``), or the
    server's ``Retry-After`` (also capped)."""

    def __init__(self, attempts: int = 4, backoff_s: float = 0.5,
                 max_backoff_s: float = 30.0) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff_s)
        base = self.backoff_s * 2 ** attempt
        return min(base + random.uniform(0, base / 2), self.max_backoff_s)


class CarbonLedgerClient:
    """A participant's client of a carbon-ledger API.

    ``api_key`` is the ``cl_<key_id>_<secret>`` issued to the participant. With
    ``signing_key`` (the Ed25519 key whose public half is registered for the participant)
    and ``participant`` (its id), every request is signed; banks, exchanges and registry
    operators must sign their writes. ``transport`` (e.g. ``httpx.ASGITransport(app)``) or
    ``http`` (a ready ``httpx.Client``) replace the network."""

    def __init__(self, base_url: str, api_key: str, *, participant: Id | None = None,
                 signing_key: Ed25519PrivateKey | None = None,
                 retry: RetryPolicy | None = None, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None,
                 http: httpx.Client | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if signing_key is not None and participant is None:
            raise ValueError("signing needs the participant id the key is registered for")
        self.api_key = api_key
        self.participant = None if participant is None else UUID(str(participant))
        self.signing_key = signing_key
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._own_http = http is None
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout,
                                         transport=transport)

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __enter__(self) -> CarbonLedgerClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the one request path --------------------------------------------------------------

    def request(self, method: str, path: str, *, json: Any = None,
                params: Mapping[str, Any] | None = None,
                idempotency_key: str | None = None) -> Any:
        """One logical call: the decoded JSON answer (``None`` for an empty body). A write
        carries ``idempotency_key`` (a fresh one if ``None``), the same on every retry.
        Raises :class:`~carbon_ledger_client.errors.ApiError` for an error answer."""
        method = method.upper()
        body = b"" if json is None else jsonlib.dumps(json, ensure_ascii=False).encode()
        query = urlencode({k: str(v) for k, v in (params or {}).items() if v is not None})
        if method not in READ_METHODS and idempotency_key is None:
            idempotency_key = new_idempotency_key("cl")
        target = f"{path}?{query}" if query else path
        attempt = 0
        while True:
            headers = self._headers(method, path, query, body, idempotency_key)
            try:
                response = self.http.request(method, target, content=body, headers=headers)
            except httpx.TransportError as error:
                if attempt + 1 >= self.retry.attempts:
                    raise ConnectionFailedError(
                        f"{method} {path}: {type(error).__name__}: {error} (after "
                        f"{attempt + 1} attempts)") from error
                self._sleep(self.retry.delay(attempt, None))
                attempt += 1
                continue
            if response.is_success:
                return response.json() if response.content else None
            problem = error_from_response(response)
            if not _retryable(problem) or attempt + 1 >= self.retry.attempts:
                raise problem
            self._sleep(self.retry.delay(attempt, problem.retry_after))
            attempt += 1

    def _headers(self, method: str, path: str, query: str, body: bytes,
                 idempotency_key: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        if body:
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        if self.signing_key is not None and self.participant is not None:
            headers |= sign_request(self.signing_key, self.participant, method, path, query,
                                    body, idempotency_key=idempotency_key)
        return headers

    # -- pagination ------------------------------------------------------------------------

    def page(self, path: str, model: type[M], *, cursor: str | None = None,
             limit: int | None = None, **filters: Any) -> Page[M]:
        """One page of the list at ``path``."""
        answer = self.request("GET", path, params={**filters, "cursor": cursor,
                                                   "limit": limit})
        return Page(items=[from_json(model, item) for item in answer["items"]],
                    next_cursor=answer.get("next_cursor"))

    def pages(self, path: str, model: type[M], *, limit: int | None = None,
              **filters: Any) -> Iterator[Page[M]]:
        """Every page of the list at ``path``, following ``next_cursor``."""
        cursor: str | None = None
        while True:
            page = self.page(path, model, cursor=cursor, limit=limit, **filters)
            yield page
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def iterate(self, path: str, model: type[M], *, limit: int | None = None,
                **filters: Any) -> Iterator[M]:
        """Every item of the list at ``path``, page after page."""
        for page in self.pages(path, model, limit=limit, **filters):
            yield from page.items

    # -- reads -----------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        return self.request("GET", "/me")

    def balances(self, *, limit: int | None = None) -> Iterator[Balance]:
        """The caller's balances, one per batch held."""
        return self.iterate("/me/balances", Balance, limit=limit)

    def batches(self, *, limit: int | None = None, **filters: Any) -> Iterator[Batch]:
        return self.iterate("/batches", Batch, limit=limit, **filters)

    def batch(self, batch_id: Id) -> Batch:
        return from_json(Batch, self.request("GET", f"/batches/{_segment(batch_id)}"))

    def retirements(self, *, limit: int | None = None, **filters: Any) -> Iterator[Retirement]:
        return self.iterate("/retirements", Retirement, limit=limit, **filters)

    def retirement(self, retirement_id: Id) -> Retirement:
        return from_json(Retirement,
                         self.request("GET", f"/retirements/{_segment(retirement_id)}"))

    def retirement_certificate(self, retirement_id: Id) -> dict[str, Any]:
        """The verifiable certificate (JSON document) of a retirement: check it with
        ``carbon-ledger verify`` against the trust anchors."""
        return self.request("GET", f"/retirements/{_segment(retirement_id)}/certificate")

    def pledge_certificate(self, pledge_id: Id) -> dict[str, Any]:
        return self.request("GET", f"/pledges/{_segment(pledge_id)}/certificate")

    def pledges(self, *, limit: int | None = None, **filters: Any) -> Iterator[Pledge]:
        return self.iterate("/pledges", Pledge, limit=limit, **filters)

    def pledge(self, pledge_id: Id) -> Pledge:
        return from_json(Pledge, self.request("GET", f"/pledges/{_segment(pledge_id)}"))

    def trades(self, *, limit: int | None = None, **filters: Any) -> Iterator[Trade]:
        return self.iterate("/trades", Trade, limit=limit, **filters)

    def trade(self, trade_ref: str) -> Trade:
        return from_json(Trade, self.request("GET", f"/trades/{_segment(trade_ref)}"))

    def mandates(self, *, limit: int | None = None) -> Iterator[Mandate]:
        """Mandates the caller granted."""
        return self.iterate("/me/mandates", Mandate, limit=limit)

    def received_mandates(self, *, limit: int | None = None) -> Iterator[Mandate]:
        """Mandates the caller holds as agent."""
        return self.iterate("/me/received-mandates", Mandate, limit=limit)

    # -- writes (each takes ``idempotency_key``: pin it to retry across restarts) ---------

    def report_behaviours(self, behaviours: Sequence[Mapping[str, Any]], *,
                          idempotency_key: str | None = None) -> BehaviourBatch:
        """A platform's bulk report (up to 10,000): one result per behaviour."""
        answer = self.request("POST", "/behaviours", json={"behaviours": list(behaviours)},
                              idempotency_key=idempotency_key)
        return from_json(BehaviourBatch, answer)

    def settle_trades(self, trades: Sequence[Mapping[str, Any]], *,
                      idempotency_key: str | None = None) -> TradeSettlementBatch:
        """An exchange's settlements (up to 1,000): one result per trade."""
        answer = self.request("POST", "/trades/settlements", json={"trades": list(trades)},
                              idempotency_key=idempotency_key)
        return from_json(TradeSettlementBatch, answer)

    def list_for_sale(self, *, batch_id: Id, seller: Id, listing_ref: str,
                      quantity_g: Quantity, idempotency_key: str | None = None) -> Listing:
        """An exchange lists a seller's credits (another holder's: with its mandate)."""
        answer = self.request("POST", "/listings", json={
            "batch_id": str(batch_id), "seller": str(seller), "listing_ref": listing_ref,
            "quantity_g": quantity_g}, idempotency_key=idempotency_key)
        return from_json(Listing, answer)

    def cancel_listing(self, listing_ref: str, *, batch_id: Id,
                       idempotency_key: str | None = None) -> Listing:
        answer = self.request("POST", f"/listings/{_segment(listing_ref)}/cancellation",
                              json={"batch_id": str(batch_id)},
                              idempotency_key=idempotency_key)
        return from_json(Listing, answer)

    def grant_mandate(self, *, agent: Id, scope: str, expires_at: str | None = None,
                      max_quantity_g: Quantity | None = None,
                      idempotency_key: str | None = None) -> Mandate:
        """The caller (a holder) lets ``agent`` list (``listing``) or pledge (``pledge``)
        its credits."""
        body: dict[str, Any] = {"agent": str(agent), "scope": scope}
        if expires_at is not None:
            body["expires_at"] = expires_at
        if max_quantity_g is not None:
            body["max_quantity_g"] = max_quantity_g
        return from_json(Mandate, self.request("POST", "/me/mandates", json=body,
                                               idempotency_key=idempotency_key))

    def revoke_mandate(self, mandate_id: Id, *, idempotency_key: str | None = None) -> Mandate:
        return from_json(Mandate, self.request("DELETE", f"/me/mandates/{_segment(mandate_id)}",
                                               idempotency_key=idempotency_key))

    def register_pledge(self, *, batch_id: Id, holder: Id, bank: Id, loan_reference: str,
                        quantity_g: Quantity, idempotency_key: str | None = None) -> Pledge:
        answer = self.request("POST", "/pledges", json={
            "batch_id": str(batch_id), "holder": str(holder), "bank": str(bank),
            "loan_reference": loan_reference, "quantity_g": quantity_g},
            idempotency_key=idempotency_key)
        return from_json(Pledge, answer)

    def release_pledge(self, pledge_id: Id, *, idempotency_key: str | None = None) -> Pledge:
        return from_json(Pledge, self.request(
            "POST", f"/pledges/{_segment(pledge_id)}/release", idempotency_key=idempotency_key))

    def enforce_pledge(self, pledge_id: Id, *, idempotency_key: str | None = None) -> Pledge:
        return from_json(Pledge, self.request(
            "POST", f"/pledges/{_segment(pledge_id)}/enforcement",
            idempotency_key=idempotency_key))

    def retire(self, *, batch_id: Id, quantity_g: Quantity, beneficiary: str,
               jurisdiction: str, consumption_period: str, purpose: Mapping[str, Any],
               idempotency_key: str | None = None) -> Retirement:
        """Retire the caller's credits; ``purpose`` is e.g. ``{"kind": "voluntary"}`` (see
        the API's retirement purposes)."""
        answer = self.request("POST", "/retirements", json={
            "batch_id": str(batch_id), "quantity_g": quantity_g, "beneficiary": beneficiary,
            "jurisdiction": jurisdiction, "consumption_period": consumption_period,
            "purpose": dict(purpose)}, idempotency_key=idempotency_key)
        return from_json(Retirement, answer)

    def transfer(self, *, batch_id: Id, recipient: Id, quantity_g: Quantity,
                 idempotency_key: str | None = None) -> Transfer:
        answer = self.request("POST", "/transfers", json={
            "batch_id": str(batch_id), "recipient": str(recipient), "quantity_g": quantity_g},
            idempotency_key=idempotency_key)
        return from_json(Transfer, answer)


def _retryable(problem: ApiError) -> bool:
    return isinstance(problem, ServiceUnavailableError | RequestIncompleteError)


def _segment(value: Id) -> str:
    """A path segment, percent-encoded exactly as it is signed and sent."""
    return quote(str(value), safe="")
