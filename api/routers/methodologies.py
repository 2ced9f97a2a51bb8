"""Methodologies (方法学): the public list; publication and supersession by registry
operators."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Response

from api.access import PUBLIC_ITEM, PUBLIC_LIST, WRITE
from api.deps import CommandDep, ViewsDep
from api.filters import TextFilter
from api.pagination import Page, PageDep
from api.schemas.methodologies import (
    MethodologyCode,
    MethodologyCreate,
    MethodologyPublic,
    SupersessionCreate,
)
from ledger.domain.errors import MethodologyNotFoundError
from ledger.projections.queries import ReadModels

__all__ = ["router"]

router = APIRouter(prefix="/methodologies", tags=["methodologies"])
MethodologyId = Annotated[UUID, Path()]
LIST = "methodologies"


def methodology_public(views: ReadModels, methodology_id: UUID) -> MethodologyPublic:
    row = views.methodology(methodology_id)
    if row is None:
        raise MethodologyNotFoundError(f"unknown methodology {methodology_id}",
                                       id=str(methodology_id))
    return MethodologyPublic.from_row(row)


@router.get("", response_model=Page[MethodologyPublic], responses=PUBLIC_LIST)
def list_methodologies(views: ViewsDep, page: PageDep,
                       code: Annotated[MethodologyCode | None, Query()] = None,
                       region: TextFilter = None,
                       scene: TextFilter = None) -> Page[MethodologyPublic]:
    """Published methodologies, by code and version."""
    rows = views.methodologies_page(after=page.after(LIST, str, str), limit=page.limit,
                                    code=code, region=region, scene=scene)
    return Page(items=[MethodologyPublic.from_row(r) for r in rows.rows],
                next_cursor=page.next_cursor(LIST, rows))


@router.get("/{methodology_id}", response_model=MethodologyPublic, responses=PUBLIC_ITEM)
def get_methodology(methodology_id: MethodologyId, views: ViewsDep) -> MethodologyPublic:
    return methodology_public(views, methodology_id)


@router.post("", status_code=201, response_model=MethodologyPublic, responses=WRITE)
async def publish_methodology(body: MethodologyCreate, command: CommandDep) -> Response:
    """Publish a methodology version (registry operators)."""
    return await command.run(
        "publish_methodology",
        lambda actor: command.ledger.publish_methodology(
            actor=actor, code=body.code, version=body.version, region=body.region,
            scene=body.scene, activity_unit=body.activity_unit,
            factor_g_per_unit=body.factor_g_per_unit, valid_from=body.valid_from,
            valid_until=body.valid_until, max_activity=body.max_activity),
        lambda methodology_id: methodology_public(command.runtime.views, methodology_id),
        status_code=201)


@router.post("/{methodology_id}/supersession", response_model=MethodologyPublic,
             responses=WRITE)
async def supersede_methodology(methodology_id: MethodologyId, body: SupersessionCreate,
                          command: CommandDep) -> Response:
    """Supersede a methodology by a successor (registry operators)."""
    return await command.run(
        "supersede_methodology",
        lambda actor: command.ledger.supersede_methodology(
            actor=actor, methodology_id=methodology_id, successor_id=body.successor_id),
        lambda _: methodology_public(command.runtime.views, methodology_id))
