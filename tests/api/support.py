"""Driving the HTTP API of a real ledger: participants with API keys and Ed25519 keys, and a
client that authenticates and signs as one of them."""

from __future__ import annotations

import hashlib
import json as jsonlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient

from api.bootstrap import bootstrap_operator
from carbon_ledger_client.signing import sign_request
from ledger.domain.quantities import parse_quantity
from ledger.runtime import LedgerRuntime

KINDS = ["individual", "platform", "enterprise", "exchange", "bank", "verifier",
         "registry_operator", "auditor"]
EV = ("WH-EV-CHARGING-V1", "1")
PROBLEM = "application/problem+json"


def public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


@dataclass
class Actor:
    id: UUID
    kind: str
    name: str
    secret: str
    key: Ed25519PrivateKey
    pseudonym: str | None = None


@dataclass
class Api:
    """Requests as an actor: ``Authorization`` always, signature headers unless
    ``sign=False``; the exact body, query string and Idempotency-Key sent are the ones
    signed (a signed write without a key given gets a fresh one, as from
    :func:`carbon_ledger_client.signing.sign_request`)."""

    client: TestClient

    def request(self, actor: Actor | None, method: str, path: str, *, json: Any = None,
                params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                sign: bool = True, content: bytes | None = None,
                timestamp: int | None = None) -> httpx.Response:
        body = content if content is not None else (
            jsonlib.dumps(json).encode() if json is not None else b"")
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        sent = dict(headers or {})
        if body:
            sent.setdefault("Content-Type", "application/json")
        if actor is not None:
            sent.setdefault("Authorization", f"Bearer {actor.secret}")
            if sign:
                sent |= sign_request(actor.key, actor.id, method, path, query, body,
                                     timestamp=timestamp,
                                     idempotency_key=sent.get("Idempotency-Key"))
        return self.client.request(method, f"{path}?{query}" if query else path,
                                   content=body, headers=sent)

    def get(self, actor: Actor | None, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(actor, "GET", path, **kwargs)

    def post(self, actor: Actor | None, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(actor, "POST", path, **kwargs)

    def put(self, actor: Actor | None, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(actor, "PUT", path, **kwargs)

    def delete(self, actor: Actor | None, path: str, **kwargs: Any) -> httpx.Response:
        return self.request(actor, "DELETE", path, **kwargs)


@dataclass
class World:
    """A ledger with one participant of every kind, each with an API key and a signing key,
    set up directly through the ledger (fast); the tests then act over HTTP."""

    runtime: LedgerRuntime
    api: Api
    operator: Actor
    actors: dict[str, Actor] = field(default_factory=dict)
    methodology: UUID | None = None
    counter: int = 0

    @classmethod
    def create(cls, runtime: LedgerRuntime, client: TestClient) -> World:
        key = Ed25519PrivateKey.generate()
        root = bootstrap_operator(runtime, "Hubei carbon-inclusion registry", public_hex(key))
        operator = Actor(id=root.participant_id, kind="registry_operator",
                         name="Hubei carbon-inclusion registry", secret=root.secret, key=key)
        world = cls(runtime=runtime, api=Api(client), operator=operator)
        world.actors = {kind: (operator if kind == "registry_operator"
                               else world.register(kind)) for kind in KINDS}
        world.methodology = runtime.ledger.publish_methodology(
            actor=operator.id, code=EV[0], version=EV[1], region="Wuhan", scene="ev-charging",
            activity_unit="kWh", factor_g_per_unit="600", valid_from="2024-01-01")
        runtime.sync()
        return world

    @property
    def ledger(self) -> Any:
        return self.runtime.ledger

    def unique(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter:05d}"

    def register(self, kind: str, name: str | None = None) -> Actor:
        """A new participant of ``kind`` with an API key and a registered signing key."""
        ledger = self.runtime.ledger
        name = name or self.unique(kind)
        key = Ed25519PrivateKey.generate()
        participant = ledger.register_participant(
            kind=kind, name=name, registered_by=self.operator.id,
            pseudonym=name if kind == "individual" else None, public_key=public_hex(key))
        _, secret = ledger.issue_api_key(actor=self.operator.id, participant_id=participant)
        self.runtime.sync()
        return Actor(id=participant, kind=kind, name=name, secret=secret, key=key,
                     pseudonym=name if kind == "individual" else None)

    def project_batch(self, holder: Actor, quantity: str = "10,000 t",
                      registry: str = "HBCER") -> UUID:
        """A batch issued to ``holder`` from a monitoring report (the holder is granted the
        reporter role if it lacks it)."""
        ledger = self.runtime.ledger
        if "reporter" not in ledger.participant(holder.id).roles:
            ledger.grant_role(actor=self.operator.id, participant_id=holder.id, role="reporter")
        verifier = self.actors["verifier"]
        request = ledger.request_project_issuance(
            platform=holder.id, methodology_id=self.methodology,
            period_start="2024-01-01", period_end="2025-01-01",
            quantity=parse_quantity(quantity), project=self.unique("project"),
            report_reference=self.unique("MR"),
            report_sha256=hashlib.sha256(self.unique("report").encode()).hexdigest())
        ledger.attest_request(actor=verifier.id, request_id=request, statement="verified")
        batch = ledger.issue_batch(actor=self.operator.id, request_id=request,
                                   registry=registry, vintage=2024)
        self.runtime.sync()
        return batch

    def balance(self, actor: Actor | UUID, batch: UUID) -> dict[str, int]:
        self.runtime.sync()
        return self.runtime.views.balance(actor.id if isinstance(actor, Actor) else actor,
                                          batch)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem of ``status`` and ``code``; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["type"] == f"https://carbon-ledger.dev/problems/{code}", body
    assert body["code"] == code
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body
