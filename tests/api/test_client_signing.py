"""The client's signer and the server's verifier share one canonical string: whatever a
client signs verifies on the server, and any change to a signed part does not."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from api.auth import Authenticator, RequestFacts, SignatureHeaders
from api.errors import InvalidSignatureError
from api.settings import ApiSettings
from carbon_ledger_client.signing import SIGNATURE_VERSION, SIGNATURE_VERSION_V1, sign_request
from tests.api.support import public_hex

KEY = Ed25519PrivateKey.generate()
PARTICIPANT = SimpleNamespace(id=uuid4(), public_key=public_hex(KEY))
STAMP = 1_800_000_000
visible = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1,
                  max_size=40)
paths = st.lists(st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.%~", min_size=1,
                         max_size=12), min_size=1, max_size=4).map(lambda p: "/" + "/".join(p))


def verify(method: str, path: str, query: str, body: bytes, key: str | None,
           headers: dict[str, str]) -> dict:
    authenticator = Authenticator(None, ApiSettings(), clock=lambda: STAMP)  # type: ignore[arg-type]
    facts = RequestFacts(method=method, path=path, query=query,
                         body_sha256=hashlib.sha256(body).hexdigest(), idempotency_key=key)
    return authenticator._signature(facts, PARTICIPANT, SignatureHeaders(  # type: ignore[arg-type]
        participant=headers["X-Carbon-Participant"], timestamp=headers["X-Carbon-Timestamp"],
        signature=headers["X-Carbon-Signature"]))


@settings(max_examples=150, deadline=None)
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]), path=paths,
       query=st.text("abc=&%20123", max_size=20), body=st.binary(max_size=200),
       key=st.one_of(st.none(), visible), tamper=st.sampled_from(
           ["none", "method", "path", "query", "body", "key"]))
def test_what_the_client_signs_the_server_verifies_and_nothing_else(
        method, path, query, body, key, tamper):
    headers = sign_request(KEY, PARTICIPANT.id, method, path, query, body, timestamp=STAMP,
                           idempotency_key=key)
    sent_key = headers.get("Idempotency-Key")
    assert (sent_key is not None) == (key is not None or method not in ("GET",))
    if tamper == "none":
        result = verify(method, path, query, body, sent_key, headers)
        assert result["version"] == (SIGNATURE_VERSION if sent_key else SIGNATURE_VERSION_V1)
        return
    changed = {"method": ("PATCH", path, query, body, sent_key),
               "path": (method, path + "x", query, body, sent_key),
               "query": (method, path, query + "&", body, sent_key),
               "body": (method, path, query, body + b" ", sent_key),
               "key": (method, path, query, body, (sent_key or "") + "!")}[tamper]
    with pytest.raises(InvalidSignatureError):
        verify(*changed, headers)
