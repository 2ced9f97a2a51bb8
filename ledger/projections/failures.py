"""What the projector reports when it cannot apply an event.

A read model that refuses an event (a constraint, a value out of range, a handler that
raises) stops the projector *at* that event: nothing after it can be applied in log order.
The projector then names the event exactly (:class:`ProjectionFailure`) instead of failing
anonymously on every catch-up, and :class:`ProjectionStuckError` carries it to the callers:
the CLI prints it, the API answers writes with a 503 problem while reads go on answering
from the rows already projected, and the background follower logs it once and keeps
retrying (a fixed release may apply it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ledger.domain.errors import LedgerError

__all__ = ["ProjectionFailure", "ProjectionStuckError"]


@dataclass(frozen=True)
class ProjectionFailure:
    """The first event the read models could not apply, and why."""

    position: int  # notification id of the event
    topic: str  # the stored topic, e.g. ledger.domain.credit_batch:CreditBatch.Escrowed
    originator_id: str
    originator_version: int
    error: str  # exception class and message, on one line

    def describe(self) -> str:
        return (f"event {self.position} ({self.topic}, {self.originator_id} "
                f"v{self.originator_version}) cannot be projected: {self.error}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ProjectionStuckError(LedgerError):
    """The read models stopped before an event they cannot apply (see the failure)."""

    code = "projection-stuck"

    def __init__(self, failure: ProjectionFailure) -> None:
        super().__init__(f"the read models are stuck: {failure.describe()}", **failure.as_dict())
        self.failure = failure


def one_line(error: BaseException) -> str:
    """``ExceptionClass: message``, on one line and of bounded length."""
    text = " ".join(str(error).split())
    if len(text) > 500:
        text = text[:497] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
