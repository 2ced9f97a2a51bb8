"""Records read back: moves of serials (batch histories, chains of custody, transfers),
listings with what is left, cancellations, exports and corrections."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from api.schemas.batches import CancellationPublic
from api.schemas.common import ResponseModel, SerialRange, Stamp
from api.schemas.holdings import ExportPublic
from api.schemas.market import ListingPublic
from ledger.domain.credit_batch import LotState

__all__ = ["CancellationPublic", "CorrectionPublic", "CustodyPublic", "ExportPublic",
           "ListingOpenPublic", "LotPublic", "MoveKind", "MovePublic"]

MoveKind = Literal["issuance", "import", "transfer", "escrow", "listing_cancellation",
                   "settlement", "pledge", "pledge_release", "pledge_enforcement", "retirement",
                   "token_lock", "token_mint", "token_unlock", "token_retirement", "export",
                   "cancellation"]


class LotPublic(ResponseModel):
    """A lot: credits of one state under one reference (the holder for available credits,
    else the listing, pledge, lock, retirement, export or cancellation id)."""

    state: LotState
    ref: str | None = Field(description="null where the reader may not see it")
    holder: UUID | None = Field(description="null where the reader may not see it")


class MovePublic(ResponseModel):
    """Serials one event moved from one lot to another (from nothing for an issuance or
    import)."""

    batch_id: UUID
    position: int = Field(description="log position (notification id) of the event")
    kind: MoveKind
    from_lot: LotPublic | None
    to_lot: LotPublic
    serials: SerialRange
    quantity_g: int
    at: Stamp
    redacted: bool = Field(description=(
        "true when holders and references are withheld: the reader is not a party of the "
        "move, a registry operator or an auditor (retired lots are always shown: the "
        "retirement register is public)"))

    @classmethod
    def from_row(cls, row: dict[str, Any], *, full: bool) -> MovePublic:
        def lot(prefix: str, state: str) -> LotPublic:
            shown = full or state == "retired"
            return LotPublic(state=state, ref=row[f"{prefix}_ref"] if shown else None,
                             holder=row[f"{prefix}_holder"] if shown else None)

        source = row["from_state"]
        return cls(batch_id=row["batch"], position=row["position"], kind=row["kind"],
                   from_lot=None if source is None else lot("from", source),
                   to_lot=lot("to", row["to_state"]),
                   serials=SerialRange(start=row["start"], end=row["end"]),
                   quantity_g=row["quantity"], at=row["at"], redacted=not full)


class CustodyPublic(ResponseModel):
    """The chain of custody of one serial: every move of it, oldest first; the last move's
    ``to_lot`` is where it is now."""

    block: str
    batch_id: UUID
    serial: int
    moves: list[MovePublic]


class ListingOpenPublic(ListingPublic):
    remaining_g: int = Field(description="listed less sold while open; 0 once cancelled")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ListingOpenPublic:
        base = ListingPublic.from_row(row)
        return cls(**base.model_dump(), remaining_g=row["remaining"])


class CorrectionPublic(ResponseModel):
    position: int = Field(description="log position of the correction")
    batch_id: UUID
    field: str
    previous: str | None = Field(description="the value before; null if it had none")
    value: str
    reason: str
    at: Stamp

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CorrectionPublic:
        return cls(position=row["position"], batch_id=row["batch"], field=row["field"],
                   previous=row["previous"], value=row["value"], reason=row["reason"],
                   at=row["at"])
