"""Every failure is an RFC 9457 problem with a stable type; malformed input is never a 500."""

from __future__ import annotations

import base64
import json
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from api import ApiSettings, create_app
from api.errors import InvalidCursorError
from api.pagination import encode_cursor
from api.problems import problem_of, status_of
from ledger.domain import errors as domain
from tests.api.support import World, assert_problem

T = 1_000_000


@pytest.mark.parametrize(("error", "status"), [
    (domain.ValidationError("x"), 422), (InvalidCursorError("x"), 422),
    (domain.BatchNotFoundError("x"), 404), (domain.RecordNotFoundError("x"), 404),
    (domain.PermissionDeniedError("x"), 403), (domain.InsufficientBalanceError("x"), 409),
    (domain.DuplicateBehaviourError("x"), 409), (domain.TradeConflictError("x"), 409),
    (domain.ConcurrencyError("x"), 409), (domain.LedgerError("x"), 500),
])
def test_one_mapping_from_errors_to_statuses(error: domain.LedgerError, status: int):
    assert status_of(error) == status
    problem = problem_of(error)
    assert problem.type.endswith("/" + error.code) and problem.status == status


def test_domain_errors_over_http(world: World):
    api = world.api
    platform, enterprise, bank = (world.actors[k] for k in ("platform", "enterprise", "bank"))
    batch = world.project_batch(platform, "10 t")
    # 404s
    assert_problem(api.get(None, f"/batches/{uuid4()}"), 404, "unknown-batch")
    assert_problem(api.get(None, f"/participants/{uuid4()}"), 404, "unknown-participant")
    assert_problem(api.get(None, f"/methodologies/{uuid4()}"), 404, "unknown-methodology")
    assert_problem(api.get(None, f"/retirements/{uuid4()}"), 404, "unknown-record")
    assert_problem(api.get(None, "/serials/HBCER-2024-000001/99999999999"), 404,
                   "unknown-record")
    assert_problem(api.post(platform, "/transfers", json={
        "batch_id": str(uuid4()), "recipient": str(enterprise.id), "quantity_g": 1}),
        404, "unknown-batch")
    # 403
    assert_problem(api.post(enterprise, "/behaviours", json={"behaviours": [{
        "person": "p", "methodology_code": "WH-EV-CHARGING-V1", "methodology_version": "1",
        "act_identity": "a", "activity_amount": "1", "occurred_at": "2024-09-01T00:00:00Z",
        "platform_ref": "r"}]}), 403, "forbidden")
    # 409s
    body = assert_problem(api.post(platform, "/transfers", json={
        "batch_id": str(batch), "recipient": str(enterprise.id), "quantity_g": "11 t"}),
        409, "insufficient-balance")
    assert body["details"] == {"batch": str(batch), "state": "available",
                               "requested": 11 * T, "available": 10 * T}
    claim = {"event_name": "Chengdu World Games", "footprint_g": "6,000 t"}
    assert api.post(enterprise, "/claims", json=claim).status_code == 201
    assert_problem(api.post(enterprise, "/claims", json=claim), 409, "duplicate-record")
    pledge = api.post(platform, "/pledges", json={
        "batch_id": str(batch), "holder": str(platform.id), "bank": str(bank.id),
        "loan_reference": "L", "quantity_g": T}).json()
    assert api.post(bank, f"/pledges/{pledge['id']}/release").status_code == 200
    assert_problem(api.post(bank, f"/pledges/{pledge['id']}/release"), 409, "invalid-state")
    imported = {"external_registry": "CDCER", "external_block": "CDCER-2024-000318",
                "serial_start": 0, "serial_end": 100 * T, "holder": str(enterprise.id),
                "methodology_id": str(world.methodology), "vintage": 2024,
                "region": "Chengdu"}
    assert api.post(world.operator, "/imports", json=imported).status_code == 201
    overlapping = {**imported, "serial_start": 50 * T, "serial_end": 150 * T}
    assert_problem(api.post(world.operator, "/imports", json=overlapping), 409,
                   "overlapping-import")
    # 422 from the ledger's own rules
    assert_problem(api.post(platform, "/issuance-requests", json={
        "methodology_id": str(world.methodology), "period_start": "2024-10-01T00:00:00Z",
        "period_end": "2024-09-01T00:00:00Z"}), 422, "validation-error")
    assert_problem(api.post(world.operator, f"/batches/{batch}/corrections", json={
        "field": "region", "value": "Wuhan", "reason": "same"}), 409, "invalid-state")


def test_unknown_routes_and_methods_are_problems(world: World):
    assert_problem(world.api.get(None, "/nowhere"), 404, "not-found")
    assert_problem(world.api.client.delete("/supply"), 405, "method-not-allowed")


def test_unexpected_errors_are_problems_too(world: World, runtime, monkeypatch, tmp_path):
    app = create_app(ApiSettings.for_data_dir(tmp_path), runtime=runtime)
    monkeypatch.setattr(type(runtime.views), "supply_totals",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/supply")
    assert_problem(response, 500, "internal-error")
    assert "boom" not in response.text


def _transfer_body(world: World) -> dict:
    return {"batch_id": str(uuid4()), "recipient": str(world.actors["enterprise"].id),
            "quantity_g": 1}


MALFORMED_BODIES = [
    b'{"batch_id": ', b"[]", b'"text"', b"null", b"", b"\xff\xfe",
    b'{"batch_id": "not-a-uuid", "recipient": "%(r)s", "quantity_g": 1}',
    b'{"batch_id": "%(b)s", "recipient": "%(r)s"}',
    b'{"batch_id": "%(b)s", "recipient": "%(r)s", "quantity_g": 1, "sender": "%(r)s"}',
    b'{"batch_id": "%(b)s", "recipient": "%(r)s", "quantity_g": 1.0}',
    b'{"batch_id": "%(b)s", "recipient": "%(r)s", "quantity_g": 1.5}',
    b'{"batch_id": "%(b)s", "recipient": "%(r)s", "quantity_g": true}',
    b'{"batch_id": "%(b)s", "recipient": "%(r)s", "quantity_g": 0}',
    b'{"batch_id": "%(b)s", "recipient": "%(r)s", "quantity_g": -5}',
    b'{"batch_id": "%(b)s", "recipient": "%(r)s", "quantity_g": 1e400}',
    b'{"batch_id": "%(b)s", "recipient": "%(r)s", "quantity_g": NaN}',
    b'{"batch_id": "%(b)s", "recipient": "%(r)s", "quantity_g": '
    + b"9" * 5000 + b"}",
    b'{"batch_id": "%(b)s", "recipient": "%(r)s", "quantity_g": 1000000000000000000000}',
    b'{"batch_id": "%(b)s", "recipient": "%(r)s", "quantity_g": "1.5 g"}',
    b'{"batch_id": "%(b)s", "recipient": "%(r)s", "quantity_g": "0 t"}',
    b'{"batch_id": "%(b)s", "recipient": "%(r)s", "quantity_g": "two tonnes"}',
    b'{"batch_id": "%(b)s", "recipient": "%(r)s", "quantity_g": "9999999999 t"}',
    b'{"batch_id": "%(b)s", "recipient": "%(r)s", "quantity_g": [1]}',
    b'{"batch_id": "%(b)s", "recipient": 7, "quantity_g": 1}',
]


@pytest.mark.parametrize("raw", MALFORMED_BODIES, ids=range(len(MALFORMED_BODIES)))
def test_malformed_bodies_are_validation_problems(world: World, raw: bytes):
    body = raw
    if b"%(" in raw:
        body = raw % {b"b": str(uuid4()).encode(),
                      b"r": str(world.actors["enterprise"].id).encode()}
    response = world.api.post(world.actors["enterprise"], "/transfers", content=body,
                              headers={"Content-Type": "application/json"})
    problem = assert_problem(response, 422, "validation-error")
    assert problem["errors"] or "quantity" in problem["detail"]


@pytest.mark.parametrize("text", ["\ud800", "\x00", "a\x07b", "a" * 201, " ", "", "\u3000"])
def test_blank_overlong_and_unencodable_text_is_refused(world: World, text: str):
    body = json.dumps({"event_name": text, "footprint_g": 1}).encode()
    response = world.api.post(world.actors["enterprise"], "/claims", content=body)
    assert_problem(response, 422, "validation-error")


@pytest.mark.parametrize(("path", "params"), [
    ("/batches/not-a-uuid", None),
    ("/retirements", {"cursor": "!!!"}),
    ("/retirements", {"cursor": base64.urlsafe_b64encode(b"[1, 2]").decode()}),
    ("/retirements", {"cursor": encode_cursor("batches", (5,))}),
    ("/retirements", {"cursor": encode_cursor("retirements", ("5", "x"))}),
    ("/retirements", {"limit": 0}),
    ("/retirements", {"limit": 100_000}),
    ("/retirements", {"vintage": "soon"}),
    ("/retirements", {"purpose": "fun"}),
    ("/batches", {"vintage": 10**30}),
    ("/serials/HBCER-2024-000001/-1", None),
    ("/serials/HBCER-2024-000001/" + "9" * 40, None),
])
def test_malformed_queries_are_validation_problems(world: World, path, params):
    response = world.api.get(None, path, params=params)
    code = "invalid-cursor" if params and "cursor" in params else "validation-error"
    assert_problem(response, 422, code)


def test_validation_problems_name_the_fields(world: World):
    response = world.api.post(world.actors["enterprise"], "/retirements", json={
        "batch_id": str(uuid4()), "quantity_g": 1.5, "beneficiary": "B",
        "jurisdiction": "CN", "consumption_period": "2024",
        "purpose": {"kind": "compliance_offset"}})
    problem = assert_problem(response, 422, "validation-error")
    locations = [tuple(e["loc"]) for e in problem["errors"]]
    assert ("body", "purpose", "compliance_offset", "compliance_period") in locations
    assert any(loc[:2] == ("body", "quantity_g") for loc in locations)
