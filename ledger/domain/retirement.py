"""Retirement (注销): what a retirement is for. Retirement is permanent: retired credits can
never be transferred, sold, pledged, tokenised or retired again."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from ledger.domain.errors import ValidationError
from ledger.domain.text import MAX_PROSE, check_text

__all__ = ["RetirementPurpose", "validate_retirement_details"]


class RetirementPurpose(StrEnum):
    COMPLIANCE_OFFSET = "compliance_offset"  # 配额抵消
    EVENT_NEUTRALITY = "event_neutrality"  # 大型活动碳中和
    OPERATIONAL_NEUTRALITY = "operational_neutrality"  # 企业运营碳中和
    PRODUCT_NEUTRALITY = "product_neutrality"  # 产品碳中和
    ECO_COMPENSATION = "eco_compensation"  # 以碳代偿
    DONATION = "donation"  # 碳捐赠
    VOLUNTARY = "voluntary"


# Purpose-specific fields a retirement must name.
_REQUIRED: dict[RetirementPurpose, tuple[str, ...]] = {
    RetirementPurpose.COMPLIANCE_OFFSET: ("compliance_period",),
    RetirementPurpose.EVENT_NEUTRALITY: ("event",),
    RetirementPurpose.OPERATIONAL_NEUTRALITY: ("subject",),
    RetirementPurpose.PRODUCT_NEUTRALITY: ("product",),
    RetirementPurpose.ECO_COMPENSATION: ("case_reference",),
    RetirementPurpose.DONATION: ("recipient",),
    RetirementPurpose.VOLUNTARY: (),
}
_OPTIONAL = ("claim_id", "note", "footprint_g")
_TEXT_FIELDS = {
    "compliance_period", "event", "subject", "product", "case_reference", "recipient", "note",
    "claim_id",
}


def validate_retirement_details(
    *,
    beneficiary: str,
    purpose: str,
    jurisdiction: str,
    consumption_period: str,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate a retirement's purpose and return its canonical description for the event."""
    try:
        parsed = RetirementPurpose(purpose)
    except ValueError:
        options = ", ".join(p.value for p in RetirementPurpose)
        raise ValidationError(
            f"unknown retirement purpose {purpose!r} (expected one of {options})",
            field="purpose",
        ) from None
    for name, value in (("beneficiary", beneficiary), ("jurisdiction", jurisdiction),
                        ("consumption_period", consumption_period)):
        check_text(value, name)
    details = dict(details or {})
    allowed = set(_REQUIRED[parsed]) | set(_OPTIONAL)
    unknown = sorted(set(details) - allowed)
    if unknown:
        raise ValidationError(
            f"unexpected fields for a {parsed.value} retirement: {', '.join(unknown)}",
            field=unknown[0],
        )
    for name in _REQUIRED[parsed]:
        value = details.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(
                f"a {parsed.value} retirement must name its {name}", field=name
            )
    for name in _TEXT_FIELDS & set(details):
        check_text(details[name], name, max_length=MAX_PROSE)
    if "footprint_g" in details:
        footprint = details["footprint_g"]
        if isinstance(footprint, bool) or not isinstance(footprint, int) or footprint <= 0:
            raise ValidationError("footprint_g must be a positive whole number of grams",
                                  field="footprint_g")
    return {
        "beneficiary": beneficiary.strip(),
        "purpose": parsed.value,
        "jurisdiction": jurisdiction.strip(),
        "consumption_period": consumption_period.strip(),
        **{k: (v.strip() if isinstance(v, str) else v) for k, v in sorted(details.items())},
    }
