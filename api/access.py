"""Who may read what, beyond the public register. (Who may *write* what is the ledger's
business: its ``PermissionDeniedError`` becomes a 403 problem.)"""

from __future__ import annotations

from api.auth import Caller
from api.problems import problem_responses
from ledger.domain.errors import PermissionDeniedError
from ledger.domain.participant import Role

__all__ = ["ON_ANOTHERS_CREDITS", "PRIVILEGED", "PUBLIC_ITEM", "PUBLIC_LIST", "READ", "WRITE",
           "require"]

# Registry operators and auditors read every record.
PRIVILEGED = (Role.ISSUER, Role.AUDITOR)

PUBLIC_LIST = problem_responses(422)
PUBLIC_ITEM = problem_responses(404, 422)
READ = problem_responses(401, 403, 404, 422)
WRITE = problem_responses(401, 403, 404, 409, 422, 503)
# Writes that may act on another holder's credits (listings, pledges): also refused without
# that holder's mandate.
ON_ANOTHERS_CREDITS = {**WRITE, 403: {**WRITE[403], "description": (
    "Forbidden: `forbidden` (the participant's roles or ownership do not allow this), or "
    "`consent-required` (another holder's credits, without its mandate in force for this "
    "scope and quantity; `details` name the holder, the agent, the scope and the reason)")}}


def require(allowed: bool, caller: Caller, message: str) -> None:
    """Refuse the request (403) unless ``allowed``."""
    if not allowed:
        raise PermissionDeniedError(message, participant=str(caller.id))
