"""Participants: registration, suspension, roles, API keys and signing keys."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import Field

from api.schemas.common import Hex64, Name, Reason, RequestModel, ResponseModel, Stamp
from ledger.domain.participant import ParticipantKind, Role

__all__ = [
    "ApiKeyIssued",
    "ApiKeyRevoked",
    "HolderPublic",
    "IndividualCreate",
    "MePublic",
    "OrganisationCreate",
    "ParticipantCreate",
    "ParticipantPublic",
    "PublicKeyUpdate",
    "RoleGrant",
    "SuspensionCreate",
]

Roles = Annotated[list[Role], Field(max_length=len(Role),
                                    description="default: the roles of the kind")]


class IndividualCreate(RequestModel):
    """A person, known only by the pseudonymous id that platforms report behaviours under."""

    kind: Literal["individual"]
    pseudonym: Name
    roles: Roles | None = None
    public_key: Hex64 | None = Field(default=None, description="Ed25519 public key, hex")


class OrganisationCreate(RequestModel):
    kind: Literal["platform", "enterprise", "exchange", "bank", "verifier",
                  "registry_operator", "auditor"]
    name: Name
    roles: Roles | None = None
    public_key: Hex64 | None = Field(default=None, description="Ed25519 public key, hex")


ParticipantCreate = Annotated[IndividualCreate | OrganisationCreate,
                              Field(discriminator="kind")]


class ParticipantPublic(ResponseModel):
    """What anyone may know of a participant. Individuals are shown by their pseudonymous
    account id only: their name is never disclosed."""

    id: UUID
    kind: ParticipantKind
    name: str | None = Field(description="null for individuals")
    roles: list[Role]
    suspended: bool
    public_key: str | None
    registered_at: Stamp

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ParticipantPublic:
        individual = row["kind"] == ParticipantKind.INDIVIDUAL
        return cls(id=row["id"], kind=row["kind"], name=None if individual else row["name"],
                   roles=[r for r in row["roles"].split(",") if r],
                   suspended=bool(row["suspended"]), public_key=row["public_key"],
                   registered_at=row["registered_at"])


class HolderPublic(ResponseModel):
    """A holder as shown in public records (no name for individuals)."""

    id: UUID
    kind: ParticipantKind | None
    name: str | None

    @classmethod
    def of(cls, holder: str, kind: str | None, name: str | None) -> HolderPublic:
        return cls(id=holder, kind=kind,
                   name=None if kind in (None, ParticipantKind.INDIVIDUAL) else name)


class MePublic(ResponseModel):
    participant: ParticipantPublic
    key_id: str
    signed: bool = Field(description="whether this request carried a valid signature")


class SuspensionCreate(RequestModel):
    reason: Reason


class RoleGrant(RequestModel):
    role: Role


class PublicKeyUpdate(RequestModel):
    public_key: Hex64 = Field(description="Ed25519 public key, 64 lower-case hex digits")


class ApiKeyIssued(ResponseModel):
    participant_id: UUID
    key_id: str
    secret: str | None = Field(description=(
        "the bearer secret, shown once; null when an idempotent retry replays the response "
        "(secrets are not kept)"))


class ApiKeyRevoked(ResponseModel):
    participant_id: UUID
    key_id: str
    active: bool
