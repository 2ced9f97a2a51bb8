"""Typed views of the API's main resources (frozen dataclasses).

Field names are the JSON names; quantities are integer grams (``*_g``), ids are
:class:`~uuid.UUID`, instants are timezone-aware :class:`~datetime.datetime`. Fields the
server adds later are ignored; ``raw`` keeps the whole JSON object as received.
"""

from __future__ import annotations

import dataclasses
import types
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar, Union, get_args, get_origin, get_type_hints
from uuid import UUID

__all__ = [
    "Balance",
    "Batch",
    "BehaviourBatch",
    "BehaviourResult",
    "Holder",
    "Listing",
    "Mandate",
    "Page",
    "Pledge",
    "Problem",
    "Retirement",
    "SerialRange",
    "Supply",
    "Trade",
    "TradeResult",
    "TradeSettlementBatch",
    "Transfer",
    "from_json",
]

M = TypeVar("M")


def from_json(model: type[M], data: Any) -> M:
    """An instance of the dataclass ``model`` from a JSON object: its fields by name,
    converted to their annotated types; ``raw`` (if the model has it) is ``data``."""
    if not isinstance(data, dict):
        raise TypeError(f"{model.__name__} expects a JSON object, got {type(data).__name__}")
    hints = get_type_hints(model)
    values: dict[str, Any] = {}
    for item in dataclasses.fields(model):  # type: ignore[arg-type]
        if item.name == "raw":
            values["raw"] = data
        elif item.name in data:
            values[item.name] = _convert(hints[item.name], data[item.name])
    return model(**values)


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [arg for arg in get_args(hint) if arg is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if origin is list:
        (inner,) = get_args(hint)
        return [_convert(inner, item) for item in value]
    if hint is UUID:
        return UUID(str(value))
    if hint is datetime:
        return datetime.fromisoformat(str(value))
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected an integer, got {value!r}")
        return value
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_json(hint, value)
    return value


@dataclass(frozen=True)
class SerialRange:
    """Serials ``start`` (inclusive) to ``end`` (exclusive): one per gram."""

    start: int
    end: int


@dataclass(frozen=True)
class Problem:
    """A per-item error of a bulk write (a behaviour or a trade)."""

    code: str
    status: int
    detail: str
    title: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Holder:
    id: UUID
    kind: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Supply:
    issued_g: int
    available_g: int
    escrowed_g: int
    pledged_g: int
    retired_g: int
    tokenised_g: int
    exported_g: int
    cancelled_g: int


@dataclass(frozen=True)
class Balance:
    """The caller's credits of one batch, by state."""

    batch_id: UUID
    block: str
    available_g: int
    escrowed_g: int
    pledged_g: int
    retired_g: int
    tokenised_g: int
    exported_g: int
    cancelled_g: int
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Batch:
    id: UUID
    block: str
    registry: str
    vintage: int
    methodology_id: UUID
    methodology_label: str
    quantity_g: int
    serial_start: int
    serial_end: int
    origin: str
    issued_at: datetime
    supply: Supply
    region: str = ""
    project_type: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Retirement:
    id: UUID
    batch_id: UUID
    block: str
    holder: Holder
    quantity_g: int
    serials: list[SerialRange]
    beneficiary: str
    purpose: str
    jurisdiction: str
    consumption_period: str
    retired_at: datetime
    details: dict[str, Any] = field(default_factory=dict)
    trade_ref: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Transfer:
    batch_id: UUID
    sender: UUID
    recipient: UUID
    quantity_g: int
    serials: list[SerialRange]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Listing:
    id: UUID
    listing_ref: str
    batch_id: UUID
    exchange: UUID
    seller: UUID
    listed_g: int
    sold_g: int
    status: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class TradeResult:
    trade_ref: str
    settled: bool
    replayed: bool
    trade_id: UUID | None = None
    serials: list[SerialRange] = field(default_factory=list)
    retirement_id: UUID | None = None
    error: Problem | None = None


@dataclass(frozen=True)
class TradeSettlementBatch:
    settled: int
    failed: int
    results: list[TradeResult]


@dataclass(frozen=True)
class Trade:
    id: UUID
    trade_ref: str
    status: str
    exchange: UUID
    batch_id: UUID
    listing_id: UUID
    seller: UUID
    buyer: UUID
    quantity_g: int
    price_per_tonne: str
    currency: str
    serials: list[SerialRange]
    settled_at: datetime
    retirement_id: UUID | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Mandate:
    id: UUID
    holder: UUID
    agent: UUID
    scope: str
    used_g: int
    status: str
    granted_at: datetime
    expires_at: datetime | None = None
    max_quantity_g: int | None = None
    remaining_g: int | None = None
    revoked_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Pledge:
    id: UUID
    batch_id: UUID
    block: str
    holder: UUID
    bank: UUID
    loan_reference: str
    quantity_g: int
    serials: list[SerialRange]
    status: str
    locked: bool
    pledged_at: datetime
    closed_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class BehaviourResult:
    index: int
    accepted: bool
    reduction_g: int
    behaviour_id: UUID | None = None
    error: Problem | None = None


@dataclass(frozen=True)
class BehaviourBatch:
    accepted: int
    rejected: int
    results: list[BehaviourResult]


@dataclass(frozen=True)
class Page(Generic[M]):
    """One page of a list: pass ``next_cursor`` back as ``cursor`` (``None``: the last)."""

    items: list[M]
    next_cursor: str | None
