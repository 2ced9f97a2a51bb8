"""Query parameters that lists are filtered by."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from api.schemas.issuance import RegistryPrefix

__all__ = ["RegistryFilter", "TextFilter", "VintageFilter"]

RegistryFilter = Annotated[RegistryPrefix | None, Query(description="e.g. HBCER")]
VintageFilter = Annotated[int | None, Query(ge=1990, le=2100)]
TextFilter = Annotated[str | None, Query(max_length=200, description="exact match")]
