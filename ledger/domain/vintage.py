"""Vintages: the year a credit's reductions belong to.

A batch's vintage, unless the registry operator gives one, is the calendar year in which its
period *starts*, read in the local time of the registry that issues it, not in UTC: a period
starting 2023-01-01T00:00+08:00 (2022-12-31T16:00Z) is vintage 2023 for a Chinese registry.

Each registry prefix may name its zone in :data:`REGISTRY_TIME_ZONES`; every other registry
uses :data:`DEFAULT_TIME_ZONE`, China Standard Time (Asia/Shanghai, UTC+08:00), the zone of
every carbon-inclusion registry this ledger serves. A fixed offset, not the tz database: China
has kept UTC+08:00 without daylight saving since 1991, and its daylight-saving years changed
no date near a new year, so the year is exact for every vintage the ledger accepts (1990-2100),
and the rule needs no time-zone data on the machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone, tzinfo

from ledger.domain.timeutil import require_aware

__all__ = ["CHINA_STANDARD_TIME", "DEFAULT_TIME_ZONE", "REGISTRY_TIME_ZONES", "vintage_of"]

CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")
DEFAULT_TIME_ZONE: tzinfo = CHINA_STANDARD_TIME
# Registry prefix -> the zone its vintages are counted in (none differs from the default yet).
REGISTRY_TIME_ZONES: Mapping[str, tzinfo] = {
    "CCER": CHINA_STANDARD_TIME,
}


def vintage_of(period_start: datetime, registry: str,
               zones: Mapping[str, tzinfo] = REGISTRY_TIME_ZONES) -> int:
    """The vintage of a period starting at ``period_start`` issued by ``registry``."""
    start = require_aware(period_start, "period_start")
    return start.astimezone(zones.get(registry, DEFAULT_TIME_ZONE)).year
