"""Issuance requests (归集 -> 核证 -> 签发): platforms request, verifiers attest or reject,
registry operators issue batches."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Response

from api.access import PRIVILEGED, READ, WRITE, require
from api.deps import CallerDep, CommandDep, ViewsDep
from api.pagination import Page, PageDep
from api.routers.batches import batch_public
from api.schemas.batches import BatchPublic
from api.schemas.issuance import (
    AttestationCreate,
    IssuanceCreate,
    IssuanceRequestCreate,
    IssuanceRequestPublic,
    ProjectIssuanceRequestCreate,
    RejectionCreate,
)
from ledger.domain.errors import RecordNotFoundError
from ledger.domain.participant import Role
from ledger.projections.queries import ReadModels

__all__ = ["router"]

router = APIRouter(prefix="/issuance-requests", tags=["issuance"])
RequestId = Annotated[UUID, Path()]
Status = Literal["requested", "attested", "rejected", "issued"]
LIST = "issuance-requests"
READERS = (*PRIVILEGED, Role.VERIFIER)


def request_public(views: ReadModels, request_id: UUID) -> IssuanceRequestPublic:
    row = views.issuance_request(request_id)
    if row is None:
        raise RecordNotFoundError(f"unknown issuance request {request_id}", id=str(request_id))
    return IssuanceRequestPublic.from_row(row)


@router.get("", response_model=Page[IssuanceRequestPublic], responses=READ)
def list_requests(caller: CallerDep, views: ViewsDep, page: PageDep,
                  platform: UUID | None = None, status: Status | None = None,
                  methodology_id: UUID | None = None) -> Page[IssuanceRequestPublic]:
    """Issuance requests: a platform sees its own; verifiers, registry operators and
    auditors see all."""
    if not caller.has_role(*READERS):
        require(caller.has_role(Role.REPORTER) and platform in (None, caller.id), caller,
                "only verifiers, registry operators, auditors and the requesting platform "
                "may read issuance requests")
        platform = caller.id
    rows = views.issuance_requests_page(after=page.after(LIST, str, str), limit=page.limit,
                                        platform=platform, status=status,
                                        methodology=methodology_id)
    return Page(items=[IssuanceRequestPublic.from_row(r) for r in rows.rows],
                next_cursor=page.next_cursor(LIST, rows))


@router.get("/{request_id}", response_model=IssuanceRequestPublic, responses=READ)
def get_request(request_id: RequestId, caller: CallerDep,
                views: ViewsDep) -> IssuanceRequestPublic:
    found = request_public(views, request_id)
    require(caller.has_role(*READERS) or found.platform == caller.id, caller,
            "only verifiers, registry operators, auditors and the requesting platform may "
            "read an issuance request")
    return found


@router.post("", status_code=201, response_model=IssuanceRequestPublic, responses=WRITE)
async def request_issuance(body: IssuanceRequestCreate, command: CommandDep) -> Response:
    """Request issuance of the platform's unissued behaviours of one methodology and period
    (platforms). The request fixes its behaviours and their Merkle root."""
    return await command.run(
        "request_issuance",
        lambda actor: command.ledger.request_issuance(
            platform=actor, methodology_id=body.methodology_id,
            period_start=body.period_start, period_end=body.period_end),
        lambda request_id: request_public(command.runtime.views, request_id),
        status_code=201)


@router.post("/project", status_code=201, response_model=IssuanceRequestPublic,
             responses=WRITE)
async def request_project_issuance(body: ProjectIssuanceRequestCreate,
                             command: CommandDep) -> Response:
    """Request issuance of project credits from a monitoring report (platforms and other
    reporters)."""
    return await command.run(
        "request_project_issuance",
        lambda actor: command.ledger.request_project_issuance(
            platform=actor, methodology_id=body.methodology_id,
            period_start=body.period_start, period_end=body.period_end,
            quantity=body.quantity_g, project=body.project,
            report_reference=body.report_reference, report_sha256=body.report_sha256),
        lambda request_id: request_public(command.runtime.views, request_id),
        status_code=201)


@router.post("/{request_id}/attestation", response_model=IssuanceRequestPublic,
             responses=WRITE)
async def attest_request(request_id: RequestId, body: AttestationCreate,
                   command: CommandDep) -> Response:
    """Attest a request (verifiers)."""
    return await command.run(
        "attest_request",
        lambda actor: command.ledger.attest_request(actor=actor, request_id=request_id,
                                                    statement=body.statement),
        lambda _: request_public(command.runtime.views, request_id))


@router.post("/{request_id}/rejection", response_model=IssuanceRequestPublic,
             responses=WRITE)
async def reject_request(request_id: RequestId, body: RejectionCreate,
                   command: CommandDep) -> Response:
    """Reject a request (verifiers)."""
    return await command.run(
        "reject_request",
        lambda actor: command.ledger.reject_request(actor=actor, request_id=request_id,
                                                    reason=body.reason),
        lambda _: request_public(command.runtime.views, request_id))


@router.post("/{request_id}/issuance", status_code=201, response_model=BatchPublic,
             responses=WRITE)
async def issue_batch(request_id: RequestId, body: IssuanceCreate, command: CommandDep) -> Response:
    """Issue an attested request as a credit batch to the requesting platform (registry
    operators)."""
    return await command.run(
        "issue_batch",
        lambda actor: command.ledger.issue_batch(
            actor=actor, request_id=request_id, registry=body.registry, vintage=body.vintage,
            project_type=body.project_type),
        lambda batch_id: batch_public(command.runtime.views, batch_id),
        status_code=201)
