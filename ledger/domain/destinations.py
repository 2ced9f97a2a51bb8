"""Registries credits may be exported to (转出), by code.

An export moves credits out of this ledger for good, so where they went must be a registry
the other side (and an auditor) can name without doubt, not free text. The default list
holds China's national registry, the carbon-inclusion registries named in the domain primer
and the two large voluntary-market registries; a deployment may give its own
(``Ledger.export_destinations``). A destination is given by its code, in any case and width
(NFKC, case-insensitive); the event records the code as listed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

from ledger.domain.errors import ValidationError

__all__ = ["EXPORT_DESTINATIONS", "check_destination"]

EXPORT_DESTINATIONS: Mapping[str, str] = MappingProxyType({
    "CCER": "China Certified Emission Reduction registry (national)",
    "PHCER": "Guangdong carbon-inclusion registry (碳普惠)",
    "SHCER": "Shanghai carbon-inclusion registry",
    "CDCER": "Chengdu carbon-inclusion registry (碳惠天府)",
    "NCER": "Ning'er carbon-inclusion registry",
    "HBCER": "Hubei carbon-inclusion registry",
    "SZCER": "Shenzhen carbon-inclusion registry",
    "XMCER": "Xiamen carbon-inclusion registry",
    "SCER": "Sichuan carbon-inclusion registry",
    "VCS": "Verra Verified Carbon Standard registry",
    "GS": "Gold Standard impact registry",
})


def check_destination(destination: object,
                      accepted: Mapping[str, str] = EXPORT_DESTINATIONS) -> str:
    """The listed code ``destination`` names, else :class:`ValidationError` listing the
    accepted codes."""
    code = (unicodedata.normalize("NFKC", destination).strip().upper()
            if isinstance(destination, str) else None)
    if code not in accepted:
        listed = ", ".join(sorted(accepted))
        raise ValidationError(
            f"destination {destination!r} is not a recognised registry; accepted: {listed}",
            field="destination", value=str(destination), accepted=sorted(accepted))
    return code
