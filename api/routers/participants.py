"""Participants: the public directory, and registration and administration by registry
operators (register, suspend, reinstate, grant and revoke roles, API keys, signing keys)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Path, Response

from api.access import PUBLIC_ITEM, PUBLIC_LIST, WRITE
from api.deps import CommandDep, ViewsDep
from api.pagination import Page, PageDep
from api.schemas.participants import (
    ApiKeyIssued,
    ApiKeyRevoked,
    IndividualCreate,
    OrganisationCreate,
    ParticipantPublic,
    PublicKeyUpdate,
    RoleGrant,
    SuspensionCreate,
)
from ledger.domain.errors import ParticipantNotFoundError
from ledger.domain.participant import ParticipantKind, Role
from ledger.projections.queries import ReadModels

__all__ = ["router"]

router = APIRouter(prefix="/participants", tags=["participants"])

ParticipantId = Annotated[UUID, Path(description="participant id")]
KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$", description="API key id")]
LIST = "participants"


def participant_public(views: ReadModels, participant_id: UUID) -> ParticipantPublic:
    row = views.participant(participant_id)
    if row is None:
        raise ParticipantNotFoundError(f"unknown participant {participant_id}",
                                       id=str(participant_id))
    return ParticipantPublic.from_row(row)


@router.get("", response_model=Page[ParticipantPublic], responses=PUBLIC_LIST)
def list_participants(views: ViewsDep, page: PageDep, kind: ParticipantKind | None = None,
                      role: Role | None = None) -> Page[ParticipantPublic]:
    """The participant directory (public). Individuals appear by pseudonymous id only."""
    rows = views.participants_page(after=page.after(LIST, str, str), limit=page.limit,
                                   kind=kind, role=role)
    return Page(items=[ParticipantPublic.from_row(r) for r in rows.rows],
                next_cursor=page.next_cursor(LIST, rows))


@router.get("/{participant_id}", response_model=ParticipantPublic, responses=PUBLIC_ITEM)
def get_participant(participant_id: ParticipantId, views: ViewsDep) -> ParticipantPublic:
    """A participant's public information."""
    return participant_public(views, participant_id)


@router.post("", status_code=201, response_model=ParticipantPublic, responses=WRITE)
async def register_participant(
    body: Annotated[IndividualCreate | OrganisationCreate, Body(discriminator="kind")],
    command: CommandDep,
) -> Response:
    """Register a participant (registry operators). An individual is registered by
    pseudonym only."""
    name = body.pseudonym if isinstance(body, IndividualCreate) else body.name
    pseudonym = body.pseudonym if isinstance(body, IndividualCreate) else None
    return await command.run(
        "register_participant",
        lambda actor: command.ledger.register_participant(
            kind=body.kind, name=name, registered_by=actor,
            roles=[r.value for r in body.roles] if body.roles is not None else None,
            pseudonym=pseudonym, public_key=body.public_key),
        lambda participant_id: participant_public(command.runtime.views, participant_id),
        status_code=201)


@router.post("/{participant_id}/suspension", response_model=ParticipantPublic,
             responses=WRITE)
async def suspend_participant(participant_id: ParticipantId, body: SuspensionCreate,
                        command: CommandDep) -> Response:
    """Suspend a participant: its API keys stop working (registry operators)."""
    return await command.run(
        "suspend_participant",
        lambda actor: command.ledger.suspend_participant(
            actor=actor, participant_id=participant_id, reason=body.reason),
        lambda _: participant_public(command.runtime.views, participant_id))


@router.post("/{participant_id}/reinstatement", response_model=ParticipantPublic,
             responses=WRITE)
async def reinstate_participant(participant_id: ParticipantId, command: CommandDep) -> Response:
    """Lift a suspension (registry operators)."""
    return await command.run(
        "reinstate_participant",
        lambda actor: command.ledger.reinstate_participant(actor=actor,
                                                           participant_id=participant_id),
        lambda _: participant_public(command.runtime.views, participant_id))


@router.post("/{participant_id}/roles", response_model=ParticipantPublic, responses=WRITE)
async def grant_role(participant_id: ParticipantId, body: RoleGrant,
               command: CommandDep) -> Response:
    """Grant a role, e.g. ``reporter`` to a cooperative requesting project issuance
    (registry operators)."""
    return await command.run(
        "grant_role",
        lambda actor: command.ledger.grant_role(actor=actor, participant_id=participant_id,
                                                role=body.role.value),
        lambda _: participant_public(command.runtime.views, participant_id))


@router.delete("/{participant_id}/roles/{role}", response_model=ParticipantPublic,
               responses=WRITE)
async def revoke_role(participant_id: ParticipantId, role: Role, command: CommandDep) -> Response:
    """Revoke a role (registry operators)."""
    return await command.run(
        "revoke_role",
        lambda actor: command.ledger.revoke_role(actor=actor, participant_id=participant_id,
                                                 role=role.value),
        lambda _: participant_public(command.runtime.views, participant_id))


@router.post("/{participant_id}/api-keys", status_code=201, response_model=ApiKeyIssued,
             responses=WRITE)
async def issue_api_key(participant_id: ParticipantId, command: CommandDep) -> Response:
    """Issue an API key (registry operators, or the participant itself). The secret is
    shown once; only its SHA-256 is stored."""
    return await command.run(
        "issue_api_key",
        lambda actor: command.ledger.issue_api_key(actor=actor,
                                                   participant_id=participant_id),
        lambda issued: ApiKeyIssued(participant_id=participant_id, key_id=issued[0],
                                    secret=issued[1]),
        status_code=201,
        redact=lambda model: model.model_copy(update={"secret": None}))


@router.delete("/{participant_id}/api-keys/{key_id}", response_model=ApiKeyRevoked,
               responses=WRITE)
async def revoke_api_key(participant_id: ParticipantId, key_id: KeyId,
                   command: CommandDep) -> Response:
    """Revoke an API key (registry operators, or the participant itself)."""
    return await command.run(
        "revoke_api_key",
        lambda actor: command.ledger.revoke_api_key(actor=actor, participant_id=participant_id,
                                                    key_id=key_id),
        lambda _: ApiKeyRevoked(participant_id=participant_id, key_id=key_id, active=False))


@router.put("/{participant_id}/public-key", response_model=ParticipantPublic,
            responses=WRITE)
async def register_public_key(participant_id: ParticipantId, body: PublicKeyUpdate,
                        command: CommandDep) -> Response:
    """Register the Ed25519 public key that verifies the participant's request signatures
    (registry operators)."""
    return await command.run(
        "register_public_key",
        lambda actor: command.ledger.register_public_key(
            actor=actor, participant_id=participant_id, public_key=body.public_key),
        lambda _: participant_public(command.runtime.views, participant_id))
