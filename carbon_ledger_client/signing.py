"""Ed25519 request signatures: the canonical string and the signing of a request.

This module is the one definition of what a carbon-ledger request signature covers: the
server (:mod:`api.auth`) verifies against :func:`canonical_string` from here, and clients
sign with :func:`sign_request`. It depends on ``cryptography`` only.

The signed bytes are the UTF-8 of these lines joined by ``\\n`` (no trailing newline).
Version 2, for a request with an ``Idempotency-Key`` (every write)::

    CARBON-LEDGER-SIG-V2
    <METHOD, upper case>
    <path exactly as sent, percent-encoded, without the query>
    <query string exactly as sent, without "?"; empty if none>
    <participant id, lower-case hyphenated UUID>
    <timestamp, Unix seconds, as in X-Carbon-Timestamp>
    <Idempotency-Key, exactly as sent>
    <SHA-256 of the request body, lower-case hex (of the empty string if none)>

Version 1 (``CARBON-LEDGER-SIG-V1``, the same lines without the key) binds no nonce and is
accepted on reads only.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "IDEMPOTENCY_HEADER",
    "PARTICIPANT_HEADER",
    "READ_METHODS",
    "SIGNATURE_HEADER",
    "SIGNATURE_VERSION",
    "SIGNATURE_VERSION_V1",
    "TIMESTAMP_HEADER",
    "canonical_string",
    "new_idempotency_key",
    "sign_request",
]

SIGNATURE_VERSION = "CARBON-LEDGER-SIG-V2"  # binds the Idempotency-Key: writes
SIGNATURE_VERSION_V1 = "CARBON-LEDGER-SIG-V1"  # binds no nonce: reads only
IDEMPOTENCY_HEADER = "Idempotency-Key"
PARTICIPANT_HEADER = "X-Carbon-Participant"
TIMESTAMP_HEADER = "X-Carbon-Timestamp"
SIGNATURE_HEADER = "X-Carbon-Signature"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def canonical_string(method: str, path: str, query: str, participant: str, timestamp: str,
                     body_sha256: str, idempotency_key: str | None = None) -> str:
    """The text a request signature covers: version 2 with ``idempotency_key``, version 1
    without (see the module documentation)."""
    if idempotency_key is None:
        return "\n".join([SIGNATURE_VERSION_V1, method.upper(), path, query, participant,
                          timestamp, body_sha256])
    return "\n".join([SIGNATURE_VERSION, method.upper(), path, query, participant, timestamp,
                      idempotency_key, body_sha256])


def new_idempotency_key(prefix: str = "sig") -> str:
    """A fresh random Idempotency-Key (visible ASCII, well under the 200-character limit)."""
    return f"{prefix}-{secrets.token_urlsafe(18)}"


def sign_request(private_key: Ed25519PrivateKey, participant: UUID | str, method: str,
                 path: str, query: str = "", body: bytes = b"", timestamp: int | None = None,
                 idempotency_key: str | None = None) -> dict[str, str]:
    """The signature headers for a request. A write (any method but GET, HEAD and OPTIONS)
    is signed with its ``idempotency_key``, a fresh random one if none is given, which the
    headers then carry as ``Idempotency-Key``: keep it to retry the very same request."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    if idempotency_key is None and method.upper() not in READ_METHODS:
        idempotency_key = new_idempotency_key()
    text = canonical_string(method, path, query, str(participant), stamp,
                            hashlib.sha256(body).hexdigest(), idempotency_key)
    signature = base64.b64encode(private_key.sign(text.encode())).decode()
    headers = {PARTICIPANT_HEADER: str(participant), TIMESTAMP_HEADER: stamp,
               SIGNATURE_HEADER: signature}
    if idempotency_key is not None:
        headers[IDEMPOTENCY_HEADER] = idempotency_key
    return headers
