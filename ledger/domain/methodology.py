"""Methodologies (方法学): versioned, regional rules that turn activity data into grams CO2e."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal, Inexact, InvalidOperation, localcontext
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import ActivityLimitError, InvalidStateError, ValidationError
from ledger.domain.limits import MAX_METHODOLOGY_VERSION, bounded_text
from ledger.domain.text import check_text
from ledger.domain.timeutil import require_aware

__all__ = ["DEFAULT_MAX_ACTIVITY", "PLAIN_DECIMAL", "Methodology", "Quantification",
           "parse_decimal"]

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{1,63}$")
PLAIN_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)
MAX_DECIMALS = 6
MAX_DIGITS = 24
# The most activity one behaviour may report when its methodology names no maximum (those
# published before the bound existed): ten million units of whatever the methodology counts
# (kWh, km, g ...) in one act; a methodology publishes its own, tighter bound.
DEFAULT_MAX_ACTIVITY = Decimal(10_000_000)


def parse_decimal(value: str | int | Decimal, name: str) -> Decimal:
    """An exact, positive decimal with at most six decimal places (no floats)."""
    if isinstance(value, (bool, float)):
        raise ValidationError(f"{name} must be given as text or an integer, not {value!r}",
                              field=name)
    if isinstance(value, str) and not PLAIN_DECIMAL.fullmatch(value.strip(" ")):
        # Decimal() itself would read "1_0" as 10, "1e3" as 1000 and non-ASCII digits.
        raise ValidationError(f"{name} is not a plain decimal number (ASCII digits and at "
                              f"most one '.'): {value!r}", field=name)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(f"{name} is not a number: {value!r}", field=name) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationError(f"{name} must be a positive number, got {value!r}", field=name)
    if len(amount.as_tuple().digits) > MAX_DIGITS:
        raise ValidationError(f"{name} has more than {MAX_DIGITS} significant digits",
                              field=name)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        raise ValidationError(
            f"{name} has more than {MAX_DECIMALS} decimal places: {value!r}", field=name
        )
    return amount


@dataclass(frozen=True)
class Quantification:
    """The exact result of applying a methodology to an activity amount.

    ``reduction_g`` is the whole grams credited: the exact product rounded *down*
    (conservativeness). ``exact_g`` keeps the exact product so the sub-gram remainder not
    credited is on record, never silently lost.
    """

    reduction_g: int
    exact_g: str


class Methodology(Aggregate):
    """A published, versioned methodology such as ``WH-EV-CHARGING-V1``."""

    class Published(Aggregate.Created):
        """Published; version 2 names the most activity one behaviour may report
        (``max_activity``, in the activity unit). Version 1 events are upcast with
        ``max_activity`` None: :data:`DEFAULT_MAX_ACTIVITY` applies."""

        class_version = 2

        code: str
        methodology_version: str
        region: str
        scene: str
        activity_unit: str
        factor_g_per_unit: str
        valid_from: datetime
        valid_until: datetime | None
        published_by: str
        max_activity: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["max_activity"] = None

    @event(Published)
    def __init__(
        self,
        code: str,
        methodology_version: str,
        region: str,
        scene: str,
        activity_unit: str,
        factor_g_per_unit: str,
        valid_from: datetime,
        valid_until: datetime | None,
        published_by: str,
        max_activity: str | None,
    ) -> None:
        self.code = code
        # Not ``version``: that is the aggregate's event counter.
        self.methodology_version = methodology_version
        self.region = region
        self.scene = scene
        self.activity_unit = activity_unit
        self.factor_g_per_unit = factor_g_per_unit
        self.valid_from = valid_from
        self.valid_until = valid_until
        self.published_by = published_by
        self.max_activity_text = max_activity  # None: published before the bound existed
        self.superseded_by: str | None = None

    @classmethod
    def publish(
        cls,
        methodology_id: UUID,
        *,
        code: str,
        version: str,
        region: str,
        scene: str,
        activity_unit: str,
        factor_g_per_unit: str | int,
        valid_from: datetime,
        valid_until: datetime | None,
        actor: UUID,
        max_activity: str | int | Decimal | None = None,
    ) -> Methodology:
        """Publish; ``max_activity`` is the most activity one behaviour may report (default
        :data:`DEFAULT_MAX_ACTIVITY`)."""
        if not _CODE.match(code):
            raise ValidationError(
                f"methodology code {code!r} must be 2-64 upper-case letters, digits, . _ -",
                field="code",
            )
        for name, value in (("version", version), ("region", region), ("scene", scene),
                            ("activity_unit", activity_unit)):
            check_text(value, name)
        version = bounded_text(version, "methodology version", MAX_METHODOLOGY_VERSION,
                               field="version")
        factor = parse_decimal(factor_g_per_unit, "factor_g_per_unit")
        maximum = parse_decimal(DEFAULT_MAX_ACTIVITY if max_activity is None else max_activity,
                                "max_activity")
        start = require_aware(valid_from, "valid_from")
        end = require_aware(valid_until, "valid_until") if valid_until is not None else None
        if end is not None and end <= start:
            raise ValidationError("valid_until must be after valid_from", field="valid_until")
        return cls._create(
            cls.Published,
            id=methodology_id,
            code=code,
            methodology_version=version.strip(),
            region=region.strip(),
            scene=scene.strip(),
            activity_unit=activity_unit.strip(),
            factor_g_per_unit=str(factor),
            valid_from=start,
            valid_until=end,
            published_by=str(actor),
            max_activity=str(maximum),
        )

    @property
    def label(self) -> str:
        return f"{self.code} v{self.methodology_version}"

    @property
    def max_activity(self) -> Decimal:
        """The most activity one behaviour may report, in the activity unit."""
        text = self.max_activity_text
        return Decimal(text) if text is not None else DEFAULT_MAX_ACTIVITY

    def check_activity(self, activity_amount: Decimal) -> None:
        """Refuse an activity above :attr:`max_activity` (implausible for one act)."""
        if activity_amount > self.max_activity:
            raise ActivityLimitError(
                f"activity {activity_amount} {self.activity_unit} is above the most "
                f"{self.label} accepts for one behaviour ({self.max_activity} "
                f"{self.activity_unit})", field="activity_amount",
                maximum=str(self.max_activity), value=str(activity_amount))

    def is_valid_at(self, when: datetime) -> bool:
        return self.valid_from <= when and (self.valid_until is None or when < self.valid_until)

    def quantify(self, activity_amount: Decimal) -> Quantification:
        """Exact integer arithmetic: grams = floor(amount x factor)."""
        try:
            with localcontext(prec=100, traps=[Inexact]):
                exact = activity_amount * Decimal(self.factor_g_per_unit)
        except Inexact:
            raise ValidationError(
                f"activity amount {activity_amount} is too long to quantify exactly",
                field="activity_amount") from None
        whole = int(exact.to_integral_value(rounding=ROUND_FLOOR))
        return Quantification(reduction_g=whole, exact_g=format(exact.normalize(), "f"))

    def supersede(self, successor: Methodology, actor: UUID) -> None:
        if self.superseded_by is not None:
            raise InvalidStateError(
                f"{self.label} was already superseded by {self.superseded_by}",
                methodology=str(self.id),
            )
        if successor.code != self.code or successor.id == self.id:
            raise ValidationError(
                f"{successor.label} cannot supersede {self.label}: codes differ or same version",
                field="successor",
            )
        if successor.valid_from <= self.valid_from:
            raise ValidationError(
                "the successor must become valid after the superseded version", field="successor"
            )
        self._superseded(successor=str(successor.id), effective_at=successor.valid_from,
                         actor=str(actor))

    @event("Superseded")
    def _superseded(self, successor: str, effective_at: datetime, actor: str) -> None:
        self.superseded_by = successor
        if self.valid_until is None or effective_at < self.valid_until:
            self.valid_until = effective_at
