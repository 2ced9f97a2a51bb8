"""Quantities of CO2e.

The ledger counts in whole **grams of CO2e** (1 carbon point = 1 g; 1 t = 1,000,000 g).
Balances are Python ``int`` values, never floats. Text such as ``"4,544.76 t"`` is parsed
exactly with :class:`decimal.Decimal`; an amount that is not a whole number of grams is
rejected rather than rounded.
"""

from __future__ import annotations

from decimal import Decimal, Inexact, InvalidOperation, localcontext
from typing import Any

from ledger.domain.errors import ValidationError

__all__ = ["GRAMS_PER_KG", "GRAMS_PER_TONNE", "MAX_GRAMS", "format_grams", "parse_quantity",
           "require_grams"]

GRAMS_PER_KG = 1_000
MAX_TEXT = 64
GRAMS_PER_TONNE = 1_000_000
# The largest quantity a record may carry: read models keep grams in 64-bit integers
# (about 9.2 trillion tonnes, far beyond any real batch or behaviour).
MAX_GRAMS = 2**63 - 1

_UNITS = {"g": 1, "kg": GRAMS_PER_KG, "t": GRAMS_PER_TONNE, "tco2e": GRAMS_PER_TONNE}


def require_grams(value: Any, name: str = "quantity", *, allow_zero: bool = False) -> int:
    """Return ``value`` if it is a positive whole number of grams, else raise.

    ``bool`` and ``float`` are refused even when integral: a float near a balance is a bug.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(
            f"{name} must be a whole number of grams, got {value!r}",
            field=name,
            value=repr(value),
        )
    if value < 0 or (value == 0 and not allow_zero):
        bound = "zero or more" if allow_zero else "greater than zero"
        raise ValidationError(f"{name} must be {bound}, got {value}", field=name, value=value)
    if value > MAX_GRAMS:
        raise ValidationError(f"{name} must be at most {MAX_GRAMS} grams, got {value}",
                              field=name, value=str(value))
    return value


def parse_quantity(text: str | int, name: str = "quantity") -> int:
    """Parse ``"2,000 t"``, ``"5503 kg"``, ``"80t"`` or ``"1500 g"`` into grams, exactly.

    A bare number is grams. Raises :class:`ValidationError` for anything that does not
    denote a positive whole number of grams.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        return require_grams(text, name)
    if not isinstance(text, str):
        raise ValidationError(f"{name} must be text or an integer, got {text!r}", field=name)
    if len(text) > MAX_TEXT:
        raise ValidationError(f"{name} is longer than {MAX_TEXT} characters", field=name)
    raw = text.strip().lower().replace(",", "").replace("_", "")
    unit = "g"
    for candidate in sorted(_UNITS, key=len, reverse=True):
        if raw.endswith(candidate):
            unit, raw = candidate, raw[: -len(candidate)].strip()
            break
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise ValidationError(f"{name} is not a quantity: {text!r}", field=name) from None
    if not amount.is_finite():
        raise ValidationError(f"{name} is not a finite quantity: {text!r}", field=name)
    try:
        with localcontext(prec=2 * MAX_TEXT, traps=[Inexact]):
            grams = amount * _UNITS[unit]
    except Inexact:
        raise ValidationError(f"{name} {text!r} is too long to convert exactly",
                              field=name) from None
    if grams != grams.to_integral_value():
        raise ValidationError(
            f"{name} {text!r} is not a whole number of grams", field=name, value=text
        )
    return require_grams(int(grams), name)


def format_grams(grams: int) -> str:
    """Render grams for people: ``4544760000`` -> ``"4,544.76 t"``, ``5503000`` -> ``"5.503 t"``.

    Exact: trailing zeros are dropped, no digit is rounded away.
    """
    sign = "-" if grams < 0 else ""
    grams = abs(grams)
    if grams >= GRAMS_PER_TONNE:
        whole, rest = divmod(grams, GRAMS_PER_TONNE)
        fraction = f"{rest:06d}".rstrip("0")
        return f"{sign}{whole:,}{'.' + fraction if fraction else ''} t"
    if grams >= GRAMS_PER_KG:
        whole, rest = divmod(grams, GRAMS_PER_KG)
        fraction = f"{rest:03d}".rstrip("0")
        return f"{sign}{whole:,}{'.' + fraction if fraction else ''} kg"
    return f"{sign}{grams} g"
