"""Tokenisation: locks of a holder's credits for the token contract, mints, the watcher."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints

from api.schemas.common import GramsIn, RequestModel, ResponseModel

__all__ = ["TokenLockCreate", "TokenLockPublic", "TokenMintPublic", "TokenSyncProblem",
           "TokenSyncPublic"]

Address = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{40}$"),
                    Field(description="an Ethereum address, 0x and 40 hex digits")]


class TokenLockCreate(RequestModel):
    """Lock the caller's own available credits of a batch for the ledger's token contract,
    to be minted to ``recipient`` once the lock event is anchored and final."""

    batch_id: UUID
    quantity_g: GramsIn
    recipient: Address


class TokenLockPublic(ResponseModel):
    id: UUID
    batch_id: UUID
    holder: UUID
    recipient: str
    quantity_g: int
    chain_id: int
    token_contract: str
    position: int = Field(description="notification id of the lock event (prove it with "
                          "GET /log/events/{position}/inclusion)")
    minted: bool = Field(description="the watcher has seen the lock minted on chain")
    minted_transaction: str | None = None


class TokenMintPublic(ResponseModel):
    """A mined ``mint``: what the contract minted."""

    lock_id: UUID
    transaction: str
    block_number: int
    token_id: str = Field(description="the batch's ERC-1155 token id (its UUID as an "
                          "integer), decimal")
    recipient: str
    quantity_g: int
    amount_units: str = Field(description="token units minted (10**12 per gram), decimal")


class TokenSyncProblem(ResponseModel):
    kind: str
    key: str
    error: str


class TokenSyncPublic(ResponseModel):
    """What one pass of the watcher applied to the ledger."""

    from_block: int | None
    to_block: int | None
    minted: int
    redeemed: int
    retired: int
    skipped: int
    rejected: list[TokenSyncProblem]
