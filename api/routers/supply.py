"""Supply totals by state, per registry (public)."""

from __future__ import annotations

from fastapi import APIRouter

from api.access import PUBLIC_LIST
from api.deps import ViewsDep
from api.filters import RegistryFilter, TextFilter, VintageFilter
from api.schemas.batches import STATES, RegistrySupply, SupplyPublic, SupplyTotalsPublic

__all__ = ["router"]

router = APIRouter(prefix="/supply", tags=["batches"])


@router.get("", response_model=SupplyTotalsPublic, responses=PUBLIC_LIST)
def supply_totals(views: ViewsDep, registry: RegistryFilter = None,
                  vintage: VintageFilter = None, region: TextFilter = None,
                  project_type: TextFilter = None) -> SupplyTotalsPublic:
    """Credits issued, and where they are now (available, escrowed, pledged, retired,
    tokenised, exported, cancelled), over the batches matching the filters."""
    rows = views.supply_totals(registry=registry, vintage=vintage, region=region,
                               project_type=project_type)
    per_registry = [RegistrySupply(registry=r["registry"], batches=r["batches"],
                                   supply=SupplyPublic.from_row(r)) for r in rows]
    total = {key: sum(int(r[key]) for r in rows) for key in ("issued", *STATES)}
    return SupplyTotalsPublic(batches=sum(r.batches for r in per_registry),
                              supply=SupplyPublic.from_row(total), by_registry=per_registry)
