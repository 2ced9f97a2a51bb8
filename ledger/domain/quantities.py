"""Quantities of CO2e.

The ledger counts in whole **grams of CO2e** (1 carbon point = 1 g; 1 t = 1,000,000 g).
Balances are Python ``int`` values, never floats. Text such as ``"4,544.76 t"`` is parsed
exactly with :class:`decimal.Decimal`; an amount that is not a whole number of grams is
rejected rather than rounded.

The text form is strict (see :data:`ACCEPTED_FORMS`): the number is ASCII digits, optionally
grouped in thousands by ``,`` (or ``_``) at exactly every third digit from the decimal point
(``1,500,000``, never ``1,5`` or ``1,0,0``), with an optional ``.`` fraction that carries no
separator; then an optional unit. Text is first put in Unicode NFKC form, so full-width
digits, commas and points (U+FF10-U+FF19, U+FF0C, U+FF0E) read as their ASCII forms.
Anything else (an exponent, a sign, a decimal comma, a stray separator, an unknown unit) is
refused, never guessed at.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, Inexact, localcontext
from typing import Any

from ledger.domain.errors import ValidationError

__all__ = ["ACCEPTED_FORMS", "GRAMS_PER_KG", "GRAMS_PER_TONNE", "MAX_GRAMS", "UNITS",
           "format_grams", "parse_quantity", "require_grams"]

GRAMS_PER_KG = 1_000
MAX_TEXT = 64
GRAMS_PER_TONNE = 1_000_000
# The largest quantity a record may carry: read models keep grams in 64-bit integers
# (about 9.2 trillion tonnes, far beyond any real batch or behaviour).
MAX_GRAMS = 2**63 - 1

# Unit spellings (after NFKC, lower case, blanks removed) and their grams.
UNITS: dict[str, int] = {
    "g": 1, "gco2e": 1, "克": 1,
    "kg": GRAMS_PER_KG, "kgco2e": GRAMS_PER_KG, "千克": GRAMS_PER_KG, "公斤": GRAMS_PER_KG,
    "t": GRAMS_PER_TONNE, "tco2e": GRAMS_PER_TONNE, "tonne": GRAMS_PER_TONNE,
    "tonnes": GRAMS_PER_TONNE, "吨": GRAMS_PER_TONNE,
}
ACCEPTED_FORMS = (
    "a whole or decimal number of ASCII (or full-width) digits, thousands grouped by ',' or "
    "'_' in threes ('1,500,000'), a '.' fraction without separators, then an optional unit "
    "(none = g): g, gCO2e, 克, kg, kgCO2e, 千克, 公斤, t, tCO2e, tonne(s), 吨 "
    "(spaces before the unit or before CO2e are allowed; case does not matter)"
)
_NUMBER = re.compile(
    r"(?P<whole>[0-9]+|[1-9][0-9]{0,2}(?:,[0-9]{3})+|[1-9][0-9]{0,2}(?:_[0-9]{3})+)"
    r"(?:\.(?P<fraction>[0-9]+))?"
    r"(?: *(?P<unit>[A-Za-z\u4e00-\u9fff][A-Za-z0-9 \u4e00-\u9fff]*))?",
    re.ASCII,
)
_UNIT_BLANK = re.compile(r"^(kg|g|t) +co2e$")


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


def _unit_factor(unit: str | None) -> int | None:
    if unit is None:
        return 1
    unit = unit.lower()
    if (blank := _UNIT_BLANK.match(unit)) is not None:
        unit = f"{blank.group(1)}co2e"
    return UNITS.get(unit)


def parse_quantity(text: str | int, name: str = "quantity") -> int:
    """Parse ``"2,000 t"``, ``"5503 kg"``, ``"80t"``, ``"1500 g"`` or ``"3 吨"`` into grams,
    exactly.

    A bare number is grams. Raises :class:`ValidationError` (listing the accepted forms) for
    anything that does not denote a positive whole number of grams in one of them.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        return require_grams(text, name)
    if not isinstance(text, str):
        raise ValidationError(f"{name} must be text or an integer, got {text!r}", field=name)
    if len(text) > MAX_TEXT:
        raise ValidationError(f"{name} is longer than {MAX_TEXT} characters", field=name)
    # NFKC: full-width digits, commas and points and the no-break spaces become ASCII.
    normal = unicodedata.normalize("NFKC", text).strip(" ")
    match = _NUMBER.fullmatch(normal)
    factor = _unit_factor(match.group("unit")) if match is not None else None
    if match is None or factor is None:
        raise ValidationError(f"{name} is not a quantity: {text!r}; accepted: {ACCEPTED_FORMS}",
                              field=name, value=text, accepted=ACCEPTED_FORMS)
    digits = match.group("whole").replace(",", "").replace("_", "")
    fraction = match.group("fraction")
    amount = Decimal(f"{digits}.{fraction}" if fraction else digits)
    try:
        with localcontext(prec=2 * MAX_TEXT, traps=[Inexact]):
            grams = amount * factor
    except Inexact:  # pragma: no cover - 64 characters always fit 128 digits
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
