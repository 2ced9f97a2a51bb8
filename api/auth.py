"""Who is asking: API keys, and Ed25519 request signatures for non-repudiation.

API key
    ``Authorization: Bearer cl_<key_id>_<random>`` (issued by ``POST
    /participants/{id}/api-keys``). The key id finds the key; the SHA-256 of the secret is
    compared in constant time. Revoked keys and suspended participants are refused.

Request signature
    Three headers: ``X-Carbon-Participant`` (the caller's participant id),
    ``X-Carbon-Timestamp`` (Unix seconds) and ``X-Carbon-Signature`` (standard base64 of the
    Ed25519 signature). The signed bytes are the UTF-8 of the canonical string, lines joined
    by ``\\n`` with no trailing newline. A request with an ``Idempotency-Key`` is signed with
    version 2, which covers the key (eight lines)::

        CARBON-LEDGER-SIG-V2
        <METHOD, upper case>
        <path exactly as sent, percent-encoded, without the query>
        <query string exactly as sent, without "?"; empty if none>
        <participant id, lower-case hyphenated UUID>
        <timestamp, as in X-Carbon-Timestamp>
        <Idempotency-Key, exactly as sent>
        <SHA-256 of the request body, lower-case hex (of the empty string if none)>

    and one without, with version 1 (seven lines: ``CARBON-LEDGER-SIG-V1`` and the same
    lines without the key).

    **A signed write must be version 2**: the Idempotency-Key is the signature's nonce.
    The key is recorded atomically with the command's events (its ``CommandRecord`` id is
    ``uuid5(participant, key)``), so the event store refuses a second use of it by the same
    participant, for ever (not just within the window): a captured signed write replayed
    with the same key writes nothing and gets the first answer (``Idempotent-Replayed``);
    with another key or none its signature does not verify, or it is refused as
    ``signature-unbound``. A version-1 signature (which binds no nonce) is accepted on
    reads only, where a replay changes nothing.

    It is verified with the participant's registered public key
    (``PUT /participants/{id}/public-key``). Timestamps further than the configured window
    from the server clock are refused. Banks, exchanges and registry operators must sign
    every write; others may, and a signature that is present is always verified. The
    signature, the canonical string and the key id are recorded with the command's events.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from api.errors import (
    InvalidApiKeyError,
    InvalidSignatureError,
    ParticipantSuspendedError,
    SignatureRequiredError,
    SignatureUnboundError,
    StaleSignatureError,
)
from api.i18n import DEFAULT_LANGUAGE, Language
from api.settings import ApiSettings
from carbon_ledger_client.signing import (  # the one definition, shared with clients
    IDEMPOTENCY_HEADER,
    PARTICIPANT_HEADER,
    SIGNATURE_HEADER,
    SIGNATURE_VERSION,
    SIGNATURE_VERSION_V1,
    TIMESTAMP_HEADER,
    canonical_string,
    sign_request,
)
from ledger.domain.errors import LedgerError
from ledger.domain.participant import Participant, Role
from ledger.runtime import LedgerRuntime

__all__ = [
    "IDEMPOTENCY_HEADER",
    "PARTICIPANT_HEADER",
    "SIGNATURE_HEADER",
    "SIGNATURE_VERSION",
    "SIGNATURE_VERSION_V1",
    "TIMESTAMP_HEADER",
    "Authenticator",
    "Caller",
    "RequestFacts",
    "SignatureHeaders",
    "canonical_string",
    "sign_request",
]


@dataclass(frozen=True)
class RequestFacts:
    """What a request is, as signed and as fingerprinted for idempotency."""

    method: str
    path: str
    query: str
    body_sha256: str
    idempotency_key: str | None = None  # signed (version 2), not part of the fingerprint
    language: Language = DEFAULT_LANGUAGE  # of problem titles; not part of the fingerprint

    @property
    def fingerprint(self) -> str:
        """SHA-256 of method, path, query and body: the same request gives the same value."""
        text = "\n".join([self.method, self.path, self.query, self.body_sha256])
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class SignatureHeaders:
    participant: str | None
    timestamp: str | None
    signature: str | None

    @property
    def present(self) -> bool:
        return any(v is not None for v in (self.participant, self.timestamp, self.signature))


@dataclass(frozen=True)
class Caller:
    """The authenticated participant: the actor of every command it asks for."""

    id: UUID
    kind: str
    roles: frozenset[str]
    key_id: str
    signed: bool
    authentication: dict[str, Any]

    def has_role(self, *roles: Role) -> bool:
        return any(role.value in self.roles for role in roles)


OWNERS_REMEMBERED = 100_000  # key ids whose participant is remembered (then forgotten)


class Authenticator:
    """Checks API keys and signatures against the ledger."""

    def __init__(self, runtime: LedgerRuntime, settings: ApiSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self.runtime = runtime
        self.settings = settings
        self.clock = clock
        self._owners: dict[str, UUID] = {}  # key id -> the participant it was issued to

    def authenticate(self, facts: RequestFacts, bearer: str | None,
                     headers: SignatureHeaders) -> Caller:
        participant, key_id = self._api_key(bearer)
        authentication: dict[str, Any] = {"scheme": "api-key", "key_id": key_id,
                                          "body_sha256": facts.body_sha256}
        if headers.present:
            authentication |= self._signature(facts, participant, headers)
        return Caller(id=participant.id, kind=participant.kind,
                      roles=frozenset(participant.roles), key_id=key_id,
                      signed=headers.present, authentication=authentication)

    def require_signature(self, caller: Caller) -> None:
        """Refuse an unsigned write of a participant that must sign its writes, and a
        signed write whose signature binds no nonce (version 1: replayable)."""
        if caller.kind in self.settings.signed_kinds and not caller.signed:
            raise SignatureRequiredError(
                f"{caller.kind} participants must sign write requests "
                f"({PARTICIPANT_HEADER}, {TIMESTAMP_HEADER}, {SIGNATURE_HEADER})",
                participant=str(caller.id))
        if caller.signed and caller.authentication.get("version") != SIGNATURE_VERSION:
            raise SignatureUnboundError(
                f"a signed write must carry an {IDEMPOTENCY_HEADER}, covered by its signature "
                f"({SIGNATURE_VERSION}); a {SIGNATURE_VERSION_V1} signature could be replayed",
                participant=str(caller.id))

    def _api_key(self, bearer: str | None) -> tuple[Participant, str]:
        """The participant whose active key ``bearer`` is. The participant aggregate (read up
        to date) decides: its active keys and their secrets' SHA-256. The read models are
        asked only which participant a key id was issued to, once per key id (that never
        changes), and why a key that is not active is refused."""
        if not bearer:
            raise InvalidApiKeyError("an API key is required: Authorization: Bearer <key>")
        prefix, _, rest = bearer.partition("_")
        key_id, _, _ = rest.partition("_")
        if prefix != "cl" or not key_id:
            raise InvalidApiKeyError("the API key is malformed")
        digest = hashlib.sha256(bearer.encode()).hexdigest()
        owner = self._owners.get(key_id)
        row: dict[str, Any] | None = None
        if owner is None:
            row = self._key_row(key_id)
            if row is None:
                raise InvalidApiKeyError("unknown API key")
            owner = UUID(row["participant"])
            if len(self._owners) >= OWNERS_REMEMBERED:
                self._owners.clear()
            self._owners[key_id] = owner
        try:
            participant = self.runtime.ledger.participant(owner, copy=False)
        except LedgerError:
            raise InvalidApiKeyError("unknown API key") from None
        active = participant.api_keys.get(key_id)
        if active is None:
            row = row or self._key_row(key_id)
            if row is None or not hmac.compare_digest(digest, row["secret_sha256"]):
                raise InvalidApiKeyError("unknown API key")
            raise InvalidApiKeyError("the API key was revoked", key_id=key_id)
        if not hmac.compare_digest(digest, active):
            raise InvalidApiKeyError("unknown API key")
        if participant.suspended:
            raise ParticipantSuspendedError(f"participant {participant.id} is suspended",
                                            participant=str(participant.id))
        return participant, key_id

    def _key_row(self, key_id: str) -> dict[str, Any] | None:
        row = self.runtime.views.api_key(key_id)
        if row is None and self.runtime.sync():  # issued by another process just now?
            row = self.runtime.views.api_key(key_id)
        return row

    def _signature(self, facts: RequestFacts, participant: Participant,
                   headers: SignatureHeaders) -> dict[str, Any]:
        claimed, stamp, signature = headers.participant, headers.timestamp, headers.signature
        if claimed is None or stamp is None or signature is None:
            raise InvalidSignatureError(
                f"a signed request carries all of {PARTICIPANT_HEADER}, {TIMESTAMP_HEADER} "
                f"and {SIGNATURE_HEADER}")
        if claimed.strip().lower() != str(participant.id):
            raise InvalidSignatureError(
                f"{PARTICIPANT_HEADER} names another participant than the API key's",
                participant=claimed)
        if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:
            raise InvalidSignatureError(f"{TIMESTAMP_HEADER} must be Unix seconds")
        skew = abs(self.clock() - int(stamp))
        if skew > self.settings.signature_window_s:
            raise StaleSignatureError(
                f"the signature timestamp is {int(skew)} s from the server clock (window "
                f"{self.settings.signature_window_s} s)", timestamp=stamp)
        if participant.public_key is None:
            raise InvalidSignatureError("the participant has no registered public key",
                                        participant=str(participant.id))
        text = canonical_string(facts.method, facts.path, facts.query, str(participant.id),
                                stamp, facts.body_sha256, facts.idempotency_key)
        try:
            raw = base64.b64decode(signature, validate=True)
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(participant.public_key))
            key.verify(raw, text.encode())
        except (binascii.Error, ValueError, InvalidSignature):
            raise InvalidSignatureError("the request signature does not verify with the "
                                        "participant's public key") from None
        return {"scheme": "api-key+ed25519", "signature": signature, "timestamp": stamp,
                "public_key": participant.public_key, "canonical_string": text,
                "version": text.partition("\n")[0]}
