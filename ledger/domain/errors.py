"""Domain errors.

Every error the ledger raises on purpose derives from :class:`LedgerError` and carries a
stable ``code`` (used as the problem ``type`` by the API and printed by the CLI) plus the
offending values in ``details``::

    LedgerError
    ├── ValidationError            malformed input: quantity, date, code, unknown enum value
    │   └── ActivityLimitError         a behaviour above its methodology's maximum activity
    ├── NotFoundError              an aggregate that does not exist
    │   ├── ParticipantNotFoundError
    │   ├── MethodologyNotFoundError
    │   ├── BatchNotFoundError
    │   └── RecordNotFoundError     a listing, pledge, request ... inside an aggregate
    ├── PermissionDeniedError      the actor lacks the role, is suspended, or is not the owner
    │   └── ConsentRequiredError       acting on another holder's credits without its mandate
    ├── ConflictError              the command contradicts the current state
    │   ├── InsufficientBalanceError   not enough available (or escrowed/pledged) credits
    │   ├── DuplicateBehaviourError    the same physical act was reported before
    │   ├── DuplicateRecordError       an id that must be unique was used before
    │   ├── OverlappingImportError     an external serial range was imported before
    │   ├── PeriodClosedError          behaviours of a period already claimed for issuance
    │   ├── InvalidStateError          e.g. issuing an unattested request, releasing twice
    │   ├── TradeConflictError         a trade id reused with different terms
    │   └── LimitExceededError         a total would pass what a record can hold (2**63 - 1)
    └── ConcurrencyError           a write kept losing optimistic-concurrency races
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ActivityLimitError",
    "BatchNotFoundError",
    "ConcurrencyError",
    "ConflictError",
    "ConsentRequiredError",
    "DuplicateBehaviourError",
    "DuplicateRecordError",
    "InsufficientBalanceError",
    "InvalidStateError",
    "LedgerError",
    "LimitExceededError",
    "MethodologyNotFoundError",
    "NotFoundError",
    "OverlappingImportError",
    "ParticipantNotFoundError",
    "PeriodClosedError",
    "PermissionDeniedError",
    "RecordNotFoundError",
    "TradeConflictError",
    "ValidationError",
]


class LedgerError(Exception):
    """Base of every deliberate ledger error."""

    code = "ledger-error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message

    def as_dict(self) -> dict[str, Any]:
        """The error as plain data (code, message, details)."""
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationError(LedgerError):
    """Raised when a command's input is malformed, before any state is read."""

    code = "validation-error"


class ActivityLimitError(ValidationError):
    """A behaviour's activity is above the most its methodology accepts for one act."""

    code = "activity-above-maximum"


class NotFoundError(LedgerError):
    """Raised when a command names something that does not exist."""

    code = "not-found"


class ParticipantNotFoundError(NotFoundError):
    code = "unknown-participant"


class MethodologyNotFoundError(NotFoundError):
    code = "unknown-methodology"


class BatchNotFoundError(NotFoundError):
    code = "unknown-batch"


class RecordNotFoundError(NotFoundError):
    code = "unknown-record"


class PermissionDeniedError(LedgerError):
    """Raised when the actor may not perform the command."""

    code = "forbidden"


class ConsentRequiredError(PermissionDeniedError):
    """Raised when a participant acts on another holder's credits (lists them for sale,
    pledges them) without an active mandate of that holder for it. ``details`` name the
    holder, the agent, the mandate scope missing and why (none, revoked, expired, limit)."""

    code = "consent-required"


class ConflictError(LedgerError):
    """Raised when the command contradicts the current state of the ledger."""

    code = "conflict"


class InsufficientBalanceError(ConflictError):
    code = "insufficient-balance"


class DuplicateBehaviourError(ConflictError):
    code = "duplicate-behaviour"


class DuplicateRecordError(ConflictError):
    code = "duplicate-record"


class OverlappingImportError(ConflictError):
    code = "overlapping-import"


class PeriodClosedError(ConflictError):
    code = "period-closed"


class InvalidStateError(ConflictError):
    code = "invalid-state"


class TradeConflictError(ConflictError):
    code = "trade-conflict"


class LimitExceededError(ConflictError):
    """The command would take a running total (a person's points, a claim's retired grams)
    past what the ledger's records hold: at most ``2**63 - 1``."""

    code = "limit-exceeded"


class ConcurrencyError(LedgerError):
    """Raised when a command lost the optimistic-concurrency race too many times."""

    code = "concurrency-conflict"
