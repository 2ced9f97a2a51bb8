"""Commands on neutrality claims."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ledger.application.core import LedgerCore
from ledger.domain import ids
from ledger.domain.errors import DuplicateRecordError
from ledger.domain.neutrality_claim import NeutralityClaim
from ledger.domain.participant import Role
from ledger.domain.text import check_text


class ClaimCommands(LedgerCore):
    """Registering neutrality claims."""

    def register_claim(self, *, actor: UUID, event_name: str, footprint_g: int,
                       scope: str = "event") -> UUID:
        """An organiser registers a footprint to neutralise (e.g. 4,544.76 t)."""
        self._actor(actor, Role.HOLDER)
        claim_id = ids.claim_id(actor, check_text(event_name, "event_name"))
        claim = NeutralityClaim.register(claim_id, organiser=actor, event_name=event_name,
                                         footprint_g=footprint_g, scope=scope, actor=actor)
        try:
            self.save(claim)
        except IntegrityError:
            raise DuplicateRecordError(f"a claim for {event_name!r} is already registered",
                                       id=str(claim_id)) from None
        return claim_id
