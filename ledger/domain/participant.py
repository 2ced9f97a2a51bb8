"""Participants: every account holder and actor of the ledger."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import (
    ConsentRequiredError,
    DuplicateRecordError,
    InvalidStateError,
    PermissionDeniedError,
    RecordNotFoundError,
    ValidationError,
)
from ledger.domain.mandates import (
    AGENT_ROLES,
    MandateScope,
    MandateStatus,
    check_limits,
    mandate_status,
    parse_scope,
    remaining_g,
)
from ledger.domain.quantities import require_grams
from ledger.domain.text import MAX_PROSE, check_text

__all__ = ["DEFAULT_ROLES", "Participant", "ParticipantKind", "Role", "require_role"]


class ParticipantKind(StrEnum):
    INDIVIDUAL = "individual"
    PLATFORM = "platform"
    ENTERPRISE = "enterprise"
    EXCHANGE = "exchange"
    BANK = "bank"
    VERIFIER = "verifier"
    REGISTRY_OPERATOR = "registry_operator"
    AUDITOR = "auditor"


class Role(StrEnum):
    HOLDER = "holder"  # may hold, transfer, retire credits
    REPORTER = "reporter"  # reports behaviours and requests issuance
    VERIFIER = "verifier"  # attests issuance requests and monitoring reports
    ISSUER = "issuer"  # registry operator: issues, cancels, corrects, imports
    SETTLER = "settler"  # exchange: escrows listings and settles trades
    LENDER = "lender"  # bank: takes pledges, releases or enforces them
    AUDITOR = "auditor"  # reads everything
    BRIDGE = "bridge"  # token bridge: records mints and applies burns seen on chain


DEFAULT_ROLES: dict[ParticipantKind, tuple[Role, ...]] = {
    ParticipantKind.INDIVIDUAL: (Role.HOLDER,),
    ParticipantKind.PLATFORM: (Role.REPORTER, Role.HOLDER),
    ParticipantKind.ENTERPRISE: (Role.HOLDER,),
    ParticipantKind.EXCHANGE: (Role.SETTLER, Role.HOLDER),
    ParticipantKind.BANK: (Role.LENDER, Role.HOLDER),
    ParticipantKind.VERIFIER: (Role.VERIFIER,),
    ParticipantKind.REGISTRY_OPERATOR: (Role.ISSUER, Role.HOLDER),
    ParticipantKind.AUDITOR: (Role.AUDITOR,),
}


def parse_kind(value: str) -> ParticipantKind:
    try:
        return ParticipantKind(value)
    except ValueError:
        kinds = ", ".join(k.value for k in ParticipantKind)
        raise ValidationError(
            f"unknown participant kind {value!r} (expected one of {kinds})", field="kind"
        ) from None


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise ValidationError(
            f"unknown role {value!r} (expected one of {roles})", field="role"
        ) from None


class Participant(Aggregate):
    """A registered account: person, platform, enterprise, exchange, bank, verifier,
    registry operator or auditor. Individuals are known only by a pseudonymous id."""

    @event("Registered")
    def __init__(
        self,
        kind: str,
        name: str,
        roles: list[str],
        registered_by: str | None,
        public_key: str | None = None,
    ) -> None:
        self.kind = kind
        self.name = name
        self.roles = list(roles)
        self.registered_by = registered_by
        self.public_key = public_key
        self.suspended = False
        self.api_keys: dict[str, str] = {}  # key id -> SHA-256 of the secret (active keys)
        # mandate id -> {agent, scope, expires_at, max_quantity_g, used_g, revoked}: the
        # standing consents this participant granted to act on its credits
        self.mandates: dict[str, dict[str, Any]] = {}

    @classmethod
    def register(
        cls,
        participant_id: UUID,
        kind: str,
        name: str,
        registered_by: UUID | None,
        roles: list[str] | None = None,
        public_key: str | None = None,
    ) -> Participant:
        parsed = parse_kind(kind)
        name = check_text(name, "name")
        role_values = (
            [parse_role(r).value for r in roles]
            if roles is not None
            else [r.value for r in DEFAULT_ROLES[parsed]]
        )
        return cls._create(
            cls.Registered,
            id=participant_id,
            kind=parsed.value,
            name=name,
            roles=sorted(set(role_values)),
            registered_by=str(registered_by) if registered_by else None,
            public_key=public_key,
        )

    def has_role(self, role: Role) -> bool:
        return role.value in self.roles

    def grant_role(self, role: str, actor: UUID) -> None:
        parsed = parse_role(role)
        if parsed.value in self.roles:
            raise InvalidStateError(f"participant already has role {parsed.value}")
        self._role_granted(role=parsed.value, actor=str(actor))

    def revoke_role(self, role: str, actor: UUID) -> None:
        parsed = parse_role(role)
        if parsed.value not in self.roles:
            raise InvalidStateError(f"participant does not have role {parsed.value}")
        self._role_revoked(role=parsed.value, actor=str(actor))

    def issue_api_key(self, *, key_id: str, secret_sha256: str, actor: UUID) -> None:
        """Record a new API key by the SHA-256 of its secret (the secret is never stored)."""
        if key_id in self.api_keys:
            raise InvalidStateError(f"API key {key_id} already exists")
        if len(secret_sha256) != 64 or any(c not in "0123456789abcdef" for c in secret_sha256):
            raise ValidationError("secret_sha256 must be 64 lower-case hex digits",
                                  field="secret_sha256")
        self._api_key_issued(key_id=key_id, secret_sha256=secret_sha256, actor=str(actor))

    def revoke_api_key(self, *, key_id: str, actor: UUID) -> None:
        if key_id not in self.api_keys:
            raise InvalidStateError(f"no active API key {key_id}")
        self._api_key_revoked(key_id=key_id, actor=str(actor))

    def register_public_key(self, *, public_key: str, actor: UUID) -> None:
        """Register the Ed25519 public key (64 hex digits) that signs this participant's
        requests."""
        if len(public_key) != 64 or any(c not in "0123456789abcdef" for c in public_key):
            raise ValidationError("an Ed25519 public key is 64 lower-case hex digits",
                                  field="public_key")
        if public_key == self.public_key:
            raise InvalidStateError("that public key is already registered")
        self._public_key_registered(public_key=public_key, actor=str(actor))

    @event("ApiKeyIssued")
    def _api_key_issued(self, key_id: str, secret_sha256: str, actor: str) -> None:
        self.api_keys[key_id] = secret_sha256

    @event("ApiKeyRevoked")
    def _api_key_revoked(self, key_id: str, actor: str) -> None:
        self.api_keys.pop(key_id, None)

    @event("PublicKeyRegistered")
    def _public_key_registered(self, public_key: str, actor: str) -> None:
        self.public_key = public_key

    def suspend(self, reason: str, actor: UUID) -> None:
        if self.suspended:
            raise InvalidStateError("participant is already suspended")
        self._suspended(reason=check_text(reason, "reason", max_length=MAX_PROSE, prose=True),
                        actor=str(actor))

    def reinstate(self, actor: UUID) -> None:
        if not self.suspended:
            raise InvalidStateError("participant is not suspended")
        self._reinstated(actor=str(actor))

    # ------------------------------------------------------------------ mandates (consent)

    def grant_mandate(self, *, mandate_id: UUID, agent: Participant, scope: str,
                      expires_at: str | datetime | None, max_quantity_g: int | None,
                      now: datetime, actor: UUID) -> None:
        """Let ``agent`` act on this holder's credits within ``scope`` (list them for sale,
        pledge them), until revoked, expired or used up to ``max_quantity_g`` in total.

        Only the holder grants its mandates; the agent must have the scope's role and not be
        suspended; at most one mandate per agent and scope is in force at a time."""
        if actor != self.id:
            raise PermissionDeniedError("only the holder may grant mandates on its credits",
                                        holder=str(self.id), actor=str(actor))
        parsed = parse_scope(scope)
        if agent.id == self.id:
            raise ValidationError("a holder needs no mandate to act on its own credits",
                                  field="agent")
        role = Role(AGENT_ROLES[parsed])
        if agent.suspended or not agent.has_role(role):
            raise PermissionDeniedError(
                f"{agent.name} cannot hold a {parsed.value} mandate: it "
                + ("is suspended" if agent.suspended else f"lacks the {role.value} role"),
                agent=str(agent.id), scope=parsed.value, role=role.value)
        expiry, maximum = check_limits(expires_at=expires_at, max_quantity_g=max_quantity_g,
                                       now=now)
        if str(mandate_id) in self.mandates:
            raise DuplicateRecordError(f"mandate {mandate_id} already exists",
                                       record=str(mandate_id))
        for existing_id, existing in self.mandates.items():
            if (existing["agent"] == str(agent.id) and existing["scope"] == parsed.value
                    and mandate_status(existing, now) is MandateStatus.ACTIVE):
                raise DuplicateRecordError(
                    f"a {parsed.value} mandate to {agent.name} is already in force "
                    f"({existing_id}); revoke it first", record=existing_id,
                    agent=str(agent.id), scope=parsed.value)
        self._mandate_granted(mandate_id=str(mandate_id), agent=str(agent.id),
                              scope=parsed.value, expires_at=expiry, max_quantity_g=maximum,
                              actor=str(actor))

    def revoke_mandate(self, *, mandate_id: UUID, actor: UUID) -> None:
        """Withdraw a mandate: from the next command on, the agent may not use it."""
        if actor != self.id:
            raise PermissionDeniedError("only the holder may revoke its mandates",
                                        holder=str(self.id), actor=str(actor))
        mandate = self.mandates.get(str(mandate_id))
        if mandate is None:
            raise RecordNotFoundError(f"no mandate {mandate_id} granted by {self.name}",
                                      mandate=str(mandate_id))
        if mandate["revoked"]:
            raise InvalidStateError(f"mandate {mandate_id} is already revoked",
                                    mandate=str(mandate_id))
        self._mandate_revoked(mandate_id=str(mandate_id), actor=str(actor))

    def mandate_for(self, *, agent: UUID, scope: MandateScope, quantity: int,
                    now: datetime) -> str:
        """The id of the mandate in force that lets ``agent`` act for ``quantity`` g within
        ``scope``; raises :class:`ConsentRequiredError` (naming the holder, the agent, the
        scope and why) if there is none."""
        require_grams(quantity)
        candidates = [(mandate_id, m) for mandate_id, m in self.mandates.items()
                      if m["agent"] == str(agent) and m["scope"] == scope.value]
        details: dict[str, Any] = {"holder": str(self.id), "agent": str(agent),
                                   "scope": scope.value}
        reason = "none"
        for mandate_id, mandate in reversed(candidates):  # the latest grant first
            status = mandate_status(mandate, now)
            left = remaining_g(mandate)
            if status is MandateStatus.ACTIVE and (left is None or quantity <= left):
                return mandate_id
            if reason == "none":  # why the latest one does not do
                reason = "exceeds-limit" if status is MandateStatus.ACTIVE else status.value
                details |= {"mandate": mandate_id, "remaining_g": left}
        what = {"listing": "list its credits for sale", "pledge": "pledge its credits"}
        explanation = {
            "none": "has granted no such mandate",
            MandateStatus.REVOKED.value: "revoked its mandate",
            MandateStatus.EXPIRED.value: "has a mandate that expired",
            MandateStatus.EXHAUSTED.value: "has a mandate that is used up",
            "exceeds-limit": f"has a mandate for only {details.get('remaining_g')} g more",
        }[reason]
        raise ConsentRequiredError(
            f"holder {self.name} {explanation}: participant {agent} may not "
            f"{what[scope.value]} "
            f"({quantity} g)", **details, reason=reason, requested=quantity)

    def exercise_mandate(self, *, agent: UUID, scope: MandateScope, batch: UUID,
                         record: UUID, quantity: int, now: datetime, actor: UUID) -> str:
        """Record that ``agent`` used its mandate for ``quantity`` g (listing or pledge
        ``record`` of ``batch``); returns the mandate id. Saved with the batch's event, so a
        concurrent revocation makes one of the two writes retry."""
        mandate_id = self.mandate_for(agent=agent, scope=scope, quantity=quantity, now=now)
        self._mandate_exercised(mandate_id=mandate_id, batch=str(batch), record=str(record),
                                quantity=quantity, actor=str(actor))
        return mandate_id

    @event("MandateGranted")
    def _mandate_granted(self, mandate_id: str, agent: str, scope: str,
                         expires_at: str | None, max_quantity_g: int | None,
                         actor: str) -> None:
        self.mandates[mandate_id] = {"agent": agent, "scope": scope, "expires_at": expires_at,
                                     "max_quantity_g": max_quantity_g, "used_g": 0,
                                     "revoked": False}

    @event("MandateRevoked")
    def _mandate_revoked(self, mandate_id: str, actor: str) -> None:
        self.mandates[mandate_id]["revoked"] = True

    @event("MandateExercised")
    def _mandate_exercised(self, mandate_id: str, batch: str, record: str, quantity: int,
                           actor: str) -> None:
        self.mandates[mandate_id]["used_g"] += quantity

    @event("RoleGranted")
    def _role_granted(self, role: str, actor: str) -> None:
        self.roles = sorted({*self.roles, role})

    @event("RoleRevoked")
    def _role_revoked(self, role: str, actor: str) -> None:
        self.roles = [r for r in self.roles if r != role]

    @event("Suspended")
    def _suspended(self, reason: str, actor: str) -> None:
        self.suspended = True

    @event("Reinstated")
    def _reinstated(self, actor: str) -> None:
        self.suspended = False


def require_role(participant: Participant, role: Role) -> None:
    """Raise unless ``participant`` is active and has ``role``."""
    if participant.suspended:
        raise PermissionDeniedError(
            f"participant {participant.name} ({participant.id}) is suspended",
            participant=str(participant.id),
        )
    if not participant.has_role(role):
        raise PermissionDeniedError(
            f"participant {participant.name} ({participant.kind}) lacks the {role.value} role",
            participant=str(participant.id),
            role=role.value,
        )
