"""Schemas of checkpoints and certificates (see docs/ANCHORING.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CertificateAnchor", "CertificateDocument", "CertificateEvent", "CheckpointPage",
           "CheckpointPublic"]


class CheckpointPublic(BaseModel):
    """A Merkle root of the event log anchored on chain."""

    tree_size: int = Field(description="the root commits to the first tree_size events")
    root: str = Field(description="RFC 9162 root, hex")
    chain_id: int
    contract_address: str
    transaction: str
    block_number: int
    checkpoint_index: int
    final: bool = Field(description="enough confirmations to be considered final")
    submitted_at: str


class CheckpointPage(BaseModel):
    items: list[CheckpointPublic]
    next_after: int | None = Field(
        None, description="pass as after_tree_size for the next page; null on the last page")


class CertificateEvent(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    position: int
    originator_id: str
    originator_version: int
    topic: str
    state_base64: str = Field(description="the event exactly as stored")
    leaf_index: int
    leaf_hash: str
    inclusion_proof: list[str]


class CertificateAnchor(BaseModel):
    model_config = ConfigDict(extra="allow")

    tree_size: int
    root: str
    chain_id: int
    contract_address: str
    transaction: str
    block_number: int
    checkpoint_index: int


class CertificateDocument(BaseModel):
    """A ``carbon-ledger/certificate/v2`` document: verify it against trust anchors you
    chose (``GET /trust-anchors``, obtained over a channel you trust) with
    ``carbon-ledger verify FILE --trust TRUST.json --rpc-url URL``."""

    model_config = ConfigDict(extra="allow")

    format: str
    kind: str
    generated_at: str
    record: dict[str, Any]
    events: list[CertificateEvent]
    anchor: CertificateAnchor
    behaviour_proof: dict[str, Any] | None = None
