"""Commands on participants: registration, API and signing keys, roles, suspension, mandates."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from ledger.application import clock
from ledger.application.core import LedgerCore
from ledger.domain import ids
from ledger.domain.errors import (
    DuplicateRecordError,
    ValidationError,
)
from ledger.domain.participant import Participant, ParticipantKind, Role
from ledger.domain.text import check_text


class ParticipantCommands(LedgerCore):
    """Participants: registration, keys, roles, suspension, mandates."""

    def register_participant(self, *, kind: str, name: str, registered_by: UUID | None = None,
                             roles: list[str] | None = None, pseudonym: str | None = None,
                             public_key: str | None = None,
                             participant_id: UUID | None = None) -> UUID:
        """Register an account. Individuals are registered under their pseudonym only."""
        if registered_by is not None:
            self._actor(registered_by, Role.ISSUER)
        if kind == ParticipantKind.INDIVIDUAL.value:
            if not pseudonym:
                raise ValidationError("an individual is registered by pseudonym",
                                      field="pseudonym")
            check_text(pseudonym, "pseudonym")
            participant_id = ids.individual_account_id(pseudonym)
            # No personal data in events: an individual is named by its pseudonymous id.
            name = f"individual {participant_id}"
        participant_id = participant_id or uuid4()
        participant = Participant.register(participant_id, kind, name, registered_by, roles,
                                           public_key)
        try:
            self.save(participant)
        except IntegrityError:
            raise DuplicateRecordError(f"participant {participant_id} is already registered",
                                       id=str(participant_id)) from None
        return participant_id

    def _change_participant(self, actor: UUID, participant_id: UUID,
                            change: Callable[[Participant], None]) -> None:
        self._actor(actor, Role.ISSUER)

        def command() -> None:
            participant = self.participant(participant_id)
            change(participant)
            self.save(participant)

        self._retrying(command)

    def issue_api_key(self, *, actor: UUID, participant_id: UUID) -> tuple[str, str]:
        """Issue an API key for a participant (by a registry operator, or the participant
        itself); returns ``(key_id, secret)``. Only the secret's SHA-256 is stored."""
        if actor != participant_id:
            self._actor(actor, Role.ISSUER)
        key_id = secrets.token_hex(8)
        secret = f"cl_{key_id}_{secrets.token_urlsafe(32)}"
        digest = hashlib.sha256(secret.encode()).hexdigest()

        def command() -> None:
            participant = self.participant(participant_id)
            participant.issue_api_key(key_id=key_id, secret_sha256=digest, actor=actor)
            self.save(participant)

        self._retrying(command)
        return key_id, secret

    def revoke_api_key(self, *, actor: UUID, participant_id: UUID, key_id: str) -> None:
        if actor != participant_id:
            self._actor(actor, Role.ISSUER)

        def command() -> None:
            participant = self.participant(participant_id)
            participant.revoke_api_key(key_id=key_id, actor=actor)
            self.save(participant)

        self._retrying(command)

    def register_public_key(self, *, actor: UUID, participant_id: UUID,
                            public_key: str) -> None:
        """Register the Ed25519 public key that signs a participant's requests."""
        self._actor(actor, Role.ISSUER)

        def command() -> None:
            participant = self.participant(participant_id)
            participant.register_public_key(public_key=public_key, actor=actor)
            self.save(participant)

        self._retrying(command)

    def suspend_participant(self, *, actor: UUID, participant_id: UUID, reason: str) -> None:
        self._change_participant(actor, participant_id,
                                 lambda p: p.suspend(reason=reason, actor=actor))

    def reinstate_participant(self, *, actor: UUID, participant_id: UUID) -> None:
        self._change_participant(actor, participant_id, lambda p: p.reinstate(actor=actor))

    def grant_role(self, *, actor: UUID, participant_id: UUID, role: str) -> None:
        self._change_participant(actor, participant_id,
                                 lambda p: p.grant_role(role=role, actor=actor))

    def revoke_role(self, *, actor: UUID, participant_id: UUID, role: str) -> None:
        self._change_participant(actor, participant_id,
                                 lambda p: p.revoke_role(role=role, actor=actor))

    # ------------------------------------------------------------------ mandates (consent)

    def grant_mandate(self, *, actor: UUID, agent: UUID, scope: str,
                      expires_at: str | datetime | None = None,
                      max_quantity_g: int | None = None) -> UUID:
        """The holder ``actor`` lets ``agent`` (an exchange for ``listing``, a bank for
        ``pledge``) act on its credits until revoked, expired or used up; returns the
        mandate id."""
        self._actor(actor, Role.HOLDER)
        mandate_id = uuid4()

        def command() -> None:
            holder = self.participant(actor)
            holder.grant_mandate(mandate_id=mandate_id, agent=self.participant(agent, copy=False),
                                 scope=scope, expires_at=expires_at,
                                 max_quantity_g=max_quantity_g, now=clock.now(),
                                 actor=actor)
            self.save(holder)

        self._retrying(command)
        return mandate_id

    def revoke_mandate(self, *, actor: UUID, mandate_id: UUID) -> None:
        """The holder withdraws a mandate it granted; commands after this one may not use
        it (listings and pledges made under it stay as they are)."""
        def command() -> None:
            holder = self.participant(actor)
            holder.revoke_mandate(mandate_id=mandate_id, actor=actor)
            self.save(holder)

        self._retrying(command)

