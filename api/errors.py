"""Errors raised by the HTTP layer itself. They extend the ledger's hierarchy, so one
mapping (:mod:`api.problems`) turns every error into a problem response::

    LedgerError
    ├── AuthenticationError             401: who is asking could not be established
    │   ├── InvalidApiKeyError              missing, malformed, unknown or revoked API key
    │   ├── SignatureRequiredError          a bank, exchange or registry operator wrote unsigned
    │   ├── InvalidSignatureError           the signature does not verify, or names another
    │   ├── SignatureUnboundError           a signed write whose signature binds no
    │   │                                   Idempotency-Key (CARBON-LEDGER-SIG-V1)
    │   └── StaleSignatureError             the signed timestamp is outside the window
    ├── ValidationError (ledger)        422
    │   ├── MalformedRequestError           the request does not match the OpenAPI schema
    │   ├── InvalidCursorError              a page cursor that this API did not hand out
    │   ├── JsonTooDeepError                the body nests arrays/objects too deep to parse
    │   └── IdempotencyKeyReusedError       the same key with a different request
    ├── PermissionDeniedError (ledger)  403
    │   └── ParticipantSuspendedError       valid credentials of a suspended participant
    ├── NotFoundError (ledger)          404
    ├── ConflictError (ledger)          409
    │   └── RequestIncompleteError          the key's command is recorded but its response
    │                                       is not (in flight, or the server stopped)
    ├── RequestTooLargeError            413: the body is larger than the server accepts
    └── DatabaseUnavailableError        503: the database cannot be reached or written
                                        (answered with Retry-After)

Unknown paths and methods (Starlette's ``HTTPException``) become problems too, typed by
their status (``not-found``, ``method-not-allowed``).
"""

from __future__ import annotations

from ledger.domain.errors import (
    ConflictError,
    LedgerError,
    PermissionDeniedError,
    ValidationError,
)

__all__ = [
    "AuthenticationError",
    "DatabaseUnavailableError",
    "IdempotencyKeyReusedError",
    "InvalidApiKeyError",
    "InvalidCursorError",
    "InvalidSignatureError",
    "JsonTooDeepError",
    "MalformedRequestError",
    "ParticipantSuspendedError",
    "RequestIncompleteError",
    "RequestTooLargeError",
    "SignatureRequiredError",
    "SignatureUnboundError",
    "StaleSignatureError",
]


class AuthenticationError(LedgerError):
    """The request's credentials are missing or wrong."""

    code = "unauthenticated"


class InvalidApiKeyError(AuthenticationError):
    code = "invalid-api-key"


class SignatureRequiredError(AuthenticationError):
    code = "signature-required"


class InvalidSignatureError(AuthenticationError):
    code = "invalid-signature"


class SignatureUnboundError(AuthenticationError):
    code = "signature-unbound"


class StaleSignatureError(AuthenticationError):
    code = "stale-signature"


class ParticipantSuspendedError(PermissionDeniedError):
    code = "participant-suspended"


class MalformedRequestError(ValidationError):
    """The request does not match the schema: body, path, query or headers."""


class InvalidCursorError(ValidationError):
    code = "invalid-cursor"


class IdempotencyKeyReusedError(ValidationError):
    code = "idempotency-key-reused"


class RequestIncompleteError(ConflictError):
    code = "request-incomplete"



class JsonTooDeepError(ValidationError):
    code = "json-too-deep"


class RequestTooLargeError(LedgerError):
    code = "request-too-large"


class DatabaseUnavailableError(LedgerError):
    """The database cannot be reached (or written: disk full, read-only): a transient
    outage, worth retrying after ``retry_after_s`` seconds."""

    code = "database-unavailable"
    retry_after_s = 5
