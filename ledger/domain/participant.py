"""Participants: every account holder and actor of the ledger."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import InvalidStateError, PermissionDeniedError, ValidationError
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
