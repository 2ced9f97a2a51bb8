"""Who may read what, beyond the public register. (Who may *write* what is the ledger's
business: its ``PermissionDeniedError`` becomes a 403 problem.)"""

from __future__ import annotations

from api.auth import Caller
from api.problems import problem_responses
from ledger.domain.errors import PermissionDeniedError
from ledger.domain.participant import Role

__all__ = ["PRIVILEGED", "PUBLIC_ITEM", "PUBLIC_LIST", "READ", "WRITE", "require"]

# Registry operators and auditors read every record.
PRIVILEGED = (Role.ISSUER, Role.AUDITOR)

PUBLIC_LIST = problem_responses(422)
PUBLIC_ITEM = problem_responses(404, 422)
READ = problem_responses(401, 403, 404, 422)
WRITE = problem_responses(401, 403, 404, 409, 422, 503)


def require(allowed: bool, caller: Caller, message: str) -> None:
    """Refuse the request (403) unless ``allowed``."""
    if not allowed:
        raise PermissionDeniedError(message, participant=str(caller.id))
