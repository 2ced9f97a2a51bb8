"""API keys and Ed25519 request signatures."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi.testclient import TestClient

from api import ApiSettings, create_app
from api.auth import canonical_string, sign_request
from tests.api.support import Api, World, assert_problem

CLAIM = {"event_name": "CIIE 2022 forum", "footprint_g": "5503 kg"}


def _claim(name: str) -> dict:
    return {"event_name": name, "footprint_g": "5503 kg"}


@pytest.mark.parametrize("kind", ["bank", "exchange", "registry_operator"])
def test_banks_exchanges_and_operators_must_sign_their_writes(world: World, kind: str):
    actor = world.actors[kind]
    unsigned = world.api.post(actor, "/claims", json=_claim(kind), sign=False)
    assert_problem(unsigned, 401, "signature-required")
    assert unsigned.headers["www-authenticate"] == "Bearer"
    assert world.api.post(actor, "/claims", json=_claim(kind)).status_code == 201


@pytest.mark.parametrize("kind", ["individual", "platform", "enterprise"])
def test_others_may_write_unsigned_but_a_signature_sent_is_verified(world: World, kind: str):
    actor = world.actors[kind]
    assert world.api.post(actor, "/claims", json=_claim(kind), sign=False).status_code == 201
    wrong = Ed25519PrivateKey.generate()
    headers = sign_request(wrong, actor.id, "POST", "/claims", body=b"{}")
    assert_problem(world.api.post(actor, "/claims", json=_claim(kind + "2"), sign=False,
                                  headers=headers), 401, "invalid-signature")


def test_reads_need_no_signature_and_report_a_valid_one(world: World):
    bank = world.actors["bank"]
    assert world.api.get(bank, "/me", sign=False).json()["signed"] is False
    me = world.api.get(bank, "/me").json()
    assert me["signed"] is True and me["participant"]["id"] == str(bank.id)


def test_the_signature_is_kept_with_the_command(world: World):
    bank = world.actors["bank"]
    response = world.api.post(bank, "/claims", json=CLAIM)
    assert response.status_code == 201
    record = world.runtime.views.command_record(response.headers["x-carbon-command-record"])
    auth = record["authentication"]
    assert record["participant"] == str(bank.id) and record["command"] == "register_claim"
    assert auth["scheme"] == "api-key+ed25519"
    assert auth["key_id"] == bank.secret.split("_")[1]
    body = json.dumps(CLAIM).encode()
    assert auth["canonical_string"] == canonical_string(
        "POST", "/claims", "", str(bank.id), auth["timestamp"], hashlib.sha256(body).hexdigest(),
        record["idempotency_key"])
    assert auth["version"] == "CARBON-LEDGER-SIG-V2" and record["idempotency_key"]
    # anyone can check the kept signature against the registered public key
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(auth["public_key"])).verify(
        base64.b64decode(auth["signature"]), auth["canonical_string"].encode())
    event_ids = {event_id for event_id, _ in record["events"]}
    assert response.json()["id"] in event_ids


def test_a_signature_by_another_key_does_not_verify(world: World):
    bank = world.actors["bank"]
    headers = sign_request(Ed25519PrivateKey.generate(), bank.id, "POST", "/claims",
                           body=json.dumps(CLAIM).encode())
    response = world.api.post(bank, "/claims", json=CLAIM, sign=False, headers=headers)
    assert_problem(response, 401, "invalid-signature")


@pytest.mark.parametrize("tamper", ["body", "path", "query", "method", "participant"])
def test_a_tampered_request_does_not_verify(world: World, tamper: str):
    bank = world.actors["bank"]
    signed = {"method": "POST", "path": "/claims", "query": "", "body": json.dumps(CLAIM)}
    if tamper == "body":
        signed["body"] = json.dumps({**CLAIM, "footprint_g": "1 g"})
    elif tamper == "path":
        signed["path"] = "/transfers"
    elif tamper == "query":
        signed["query"] = "x=1"
    elif tamper == "method":
        signed["method"] = "PUT"
    headers = sign_request(bank.key, bank.id, signed["method"], signed["path"],
                           signed["query"], signed["body"].encode())
    if tamper == "participant":
        headers["X-Carbon-Participant"] = str(world.actors["exchange"].id)
    response = world.api.post(bank, "/claims", json=CLAIM, sign=False, headers=headers)
    assert_problem(response, 401, "invalid-signature")
    assert world.runtime.views.claims() == []  # nothing written


@pytest.mark.parametrize("offset", [-600, 600, -86_400])
def test_stale_timestamps_are_refused(world: World, offset: int):
    response = world.api.post(world.actors["bank"], "/claims", json=CLAIM,
                              timestamp=int(time.time()) + offset)
    assert_problem(response, 401, "stale-signature")


def test_the_signature_window_is_configurable(runtime, tmp_path: Path):
    app = create_app(ApiSettings.for_data_dir(tmp_path, signature_window_s=5), runtime=runtime)
    with TestClient(app) as client:
        world = World.create(runtime, client)
        late = world.api.post(world.operator, "/claims", json=CLAIM,
                              timestamp=int(time.time()) - 30)
        assert_problem(late, 401, "stale-signature")


@pytest.mark.parametrize("headers", [
    {"X-Carbon-Signature": "AAAA"},
    {"X-Carbon-Timestamp": "1", "X-Carbon-Signature": "AAAA"},
    {"X-Carbon-Participant": "x", "X-Carbon-Timestamp": "soon", "X-Carbon-Signature": "AAAA"},
])
def test_incomplete_or_malformed_signature_headers_are_refused(world: World, headers):
    bank = world.actors["bank"]
    headers = {**headers}
    if "X-Carbon-Participant" in headers:
        headers["X-Carbon-Participant"] = str(bank.id)
    response = world.api.post(bank, "/claims", json=CLAIM, sign=False, headers=headers)
    assert_problem(response, 401, "invalid-signature")


def test_a_participant_without_a_public_key_cannot_sign(world: World):
    bare = world.ledger.register_participant(kind="enterprise", name="No key",
                                             registered_by=world.operator.id)
    _, secret = world.ledger.issue_api_key(actor=bare, participant_id=bare)
    world.runtime.sync()
    key = Ed25519PrivateKey.generate()
    headers = {"Authorization": f"Bearer {secret}",
               **sign_request(key, bare, "GET", "/me")}
    assert_problem(world.api.client.get("/me", headers=headers), 401, "invalid-signature")


@pytest.mark.parametrize("authorization", [
    None, "Basic dXNlcjpwYXNz", "Bearer ", "Bearer nonsense", "Bearer cl_", "Bearer cl__x",
    "Bearer cl_0123456789abcdef_unknown",
])
def test_missing_malformed_and_unknown_api_keys_are_refused(world: World, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    assert_problem(world.api.client.get("/me", headers=headers), 401, "invalid-api-key")


def test_a_right_key_id_with_a_wrong_secret_is_refused(world: World):
    actor = world.actors["enterprise"]
    forged = actor.secret[:-4] + ("AAAA" if not actor.secret.endswith("AAAA") else "BBBB")
    response = world.api.client.get("/me", headers={"Authorization": f"Bearer {forged}"})
    assert_problem(response, 401, "invalid-api-key")


def test_revoked_keys_are_refused(world: World):
    actor = world.actors["enterprise"]
    key_id = actor.secret.split("_")[1]
    assert world.api.get(actor, "/me").status_code == 200
    revoked = world.api.delete(actor, f"/participants/{actor.id}/api-keys/{key_id}")
    assert revoked.status_code == 200, revoked.text
    assert_problem(world.api.get(actor, "/me"), 401, "invalid-api-key")


def test_a_key_revoked_elsewhere_is_refused_before_the_read_models_know(world: World):
    """The participant aggregate decides which keys are active: a key revoked through the
    ledger directly (another process, the CLI) is refused on the next request, before any
    catch-up, and the refusal says it was revoked; a wrong secret for it is still unknown."""
    actor = world.actors["enterprise"]
    key_id = actor.secret.split("_")[1]
    assert world.api.get(actor, "/me").status_code == 200  # the key's owner is remembered
    world.ledger.revoke_api_key(actor=actor.id, participant_id=actor.id, key_id=key_id)
    body = assert_problem(world.api.get(actor, "/me"), 401, "invalid-api-key")
    assert "revoked" in body["detail"]
    forged = actor.secret[:-4] + ("AAAA" if not actor.secret.endswith("AAAA") else "BBBB")
    response = world.api.client.get("/me", headers={"Authorization": f"Bearer {forged}"})
    assert "revoked" not in assert_problem(response, 401, "invalid-api-key")["detail"]


def test_suspended_participants_are_refused_until_reinstated(world: World):
    platform, operator = world.actors["platform"], world.operator
    suspended = world.api.post(operator, f"/participants/{platform.id}/suspension",
                               json={"reason": "data quality audit"})
    assert suspended.json()["suspended"] is True
    assert_problem(world.api.get(platform, "/me"), 403, "participant-suspended")
    world.api.post(operator, f"/participants/{platform.id}/reinstatement")
    assert world.api.get(platform, "/me").status_code == 200


def test_api_keys_work_once_issued_by_another_process(world: World):
    """A key issued through the ledger directly (CLI, bootstrap) is found: the read models
    are brought up to date when a key id is unknown."""
    actor = world.actors["auditor"]
    _, secret = world.ledger.issue_api_key(actor=actor.id, participant_id=actor.id)
    response = world.api.client.get("/me", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200


def test_keys_issued_over_http_authenticate(world: World):
    other = world.register("enterprise")
    issued = world.api.post(other, f"/participants/{other.id}/api-keys").json()
    assert issued["secret"].startswith(f"cl_{issued['key_id']}_")
    api = Api(world.api.client)
    fresh = type(other)(**{**other.__dict__, "secret": issued["secret"]})
    assert api.get(fresh, "/me").json()["key_id"] == issued["key_id"]
