"""Quantities on pages: exact decimal text from integer grams, never a float.

A page shows tonnes with all six decimals (``1,234.567890 t``) so no gram is hidden, or
grams below one tonne (``12,345 g``); the exact grams go in a tooltip beside it.
"""

from __future__ import annotations

from ledger.domain.quantities import GRAMS_PER_TONNE

__all__ = ["grams_text", "tonnes"]


def tonnes(grams: int) -> str:
    """``grams`` in t CO2e, exact: ``1234567890`` -> ``"1,234.567890 t"``; below one tonne,
    in grams: ``12345`` -> ``"12,345 g"``."""
    grams = int(grams)
    sign = "-" if grams < 0 else ""
    magnitude = abs(grams)
    if magnitude < GRAMS_PER_TONNE:
        return f"{sign}{magnitude:,} g"
    whole, rest = divmod(magnitude, GRAMS_PER_TONNE)
    return f"{sign}{whole:,}.{rest:06d} t"


def grams_text(grams: int) -> str:
    """The exact grams, for a tooltip: ``"1,234,567,890 g CO2e"``."""
    return f"{int(grams):,} g CO2e"
