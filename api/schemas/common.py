"""Types shared by the request and response schemas.

Quantities are integers of grams CO2e (``quantity_g``); requests may give them as text with
a unit instead (``"2,000 t"``, ``"5503 kg"``), parsed exactly. Floats, booleans, zero and
negative quantities are refused. Unknown fields are refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
)

from ledger.domain.errors import ValidationError
from ledger.domain.quantities import ACCEPTED_FORMS, MAX_TEXT, parse_quantity

__all__ = [
    "LINE",
    "MAX_GRAMS",
    "MAX_SERIAL",
    "PROSE",
    "DecimalText",
    "Grams",
    "GramsIn",
    "Hex64",
    "Instant",
    "Name",
    "Points",
    "Reason",
    "Reference",
    "RequestModel",
    "ResponseModel",
    "Serial",
    "SerialRange",
    "Stamp",
    "Vintage",
    "ranges_of",
]

MAX_GRAMS = 10**15  # one billion tonnes: far above any batch, far below 64-bit columns
MAX_SERIAL = 2**62


def _parse_grams(value: int | str) -> int:
    if isinstance(value, int):
        return value
    try:
        grams = parse_quantity(value, "quantity_g")
    except ValidationError as error:
        raise ValueError(error.message) from None
    if grams > MAX_GRAMS:
        raise ValueError(f"quantity_g must be at most {MAX_GRAMS} g")
    return grams


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    """Base of response bodies."""


Grams = Annotated[StrictInt, Field(ge=1, le=MAX_GRAMS, description="grams CO2e")]
GramsIn = Annotated[
    # The text is checked by the domain's parser alone (its refusal lists the accepted forms).
    Grams | Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT)],
    AfterValidator(_parse_grams),
    Field(description='grams CO2e as an integer, or text with a unit: "2,000 t", "5503 kg", '
                      f'"3 吨". Text: {ACCEPTED_FORMS}'),
]
Points = Annotated[StrictInt, Field(ge=1, le=MAX_GRAMS, description="carbon points (1 g = 1)")]
Vintage = Annotated[StrictInt, Field(ge=1990, le=2100)]
Serial = Annotated[StrictInt, Field(ge=0, le=MAX_SERIAL)]
# Text: not blank, no control characters (line breaks allowed in longer prose only).
LINE = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
PROSE = r"^[^\x00-\x08\x0b-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x08\x0b-\x1f\x7f]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=LINE)]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=LINE)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=PROSE)]
DecimalText = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,15}(\.[0-9]{1,6})?$")]
Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Instant = Annotated[AwareDatetime, Field(description="RFC 3339 time with an offset")]
Stamp = datetime


class SerialRange(ResponseModel):
    """Serial numbers ``start`` (inclusive) to ``end`` (exclusive): one serial per gram."""

    start: int
    end: int


def ranges_of(ranges: Any) -> list[SerialRange]:
    return [SerialRange(start=int(start), end=int(end)) for start, end in ranges or []]
