"""Schemas of checkpoints and certificates (see docs/ANCHORING.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CertificateAnchor", "CertificateDocument", "CertificateEvent",
           "ChainCheckpointPage", "ChainCheckpointPublic", "CheckpointPage", "CheckpointPublic",
           "ConsistencyProofPublic", "InclusionProofPublic"]


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


class InclusionProofPublic(BaseModel):
    """RFC 9162 inclusion of one stored event in the tree of ``tree_size`` leaves: hash
    ``leaf`` as ``SHA-256(0x00 || leaf)``, fold ``audit_path`` (RFC 9162 2.1.3.2) and compare
    with ``root``, which the chain holds for ``tree_size`` (or which a consistency proof ties
    to an anchored root)."""

    leaf_index: int = Field(description="0-based order of the event in the log")
    position: int = Field(description="the event's notification id")
    originator_id: str
    originator_version: int
    topic: str
    leaf_base64: str = Field(description="the canonical leaf bytes "
                             "(carbon-ledger/event-leaf/v1), base64")
    leaf_hash: str = Field(description="SHA-256(0x00 || leaf), hex")
    tree_size: int
    root: str = Field(description="RFC 9162 root of the first tree_size leaves, hex")
    audit_path: list[str] = Field(description="sibling hashes from the leaf up, hex")
    anchored_size: int = Field(description="the largest anchored tree size")


class ConsistencyProofPublic(BaseModel):
    """RFC 9162 consistency proof: the tree of ``first`` leaves is a prefix of the tree of
    ``second`` leaves (verify with RFC 9162 2.1.4.2)."""

    first: int
    second: int
    first_root: str = Field(description="hex")
    second_root: str = Field(description="hex")
    proof: list[str] = Field(description="hex hashes")
    anchored_size: int = Field(description="the largest anchored tree size")


class ChainCheckpointPublic(BaseModel):
    """A checkpoint as the ``AnchorRegistry`` contract holds it, read from the chain."""

    index: int = Field(description="position of the checkpoint in the registry")
    tree_size: int
    root: str = Field(description="hex")
    anchored_at: int = Field(description="timestamp of the anchoring block, Unix seconds")
    block_number: int
    transaction: str | None = Field(
        description="the anchoring transaction, from the contract's CheckpointAnchored log; "
        "null if the node no longer serves that log")
    chain_id: int
    contract_address: str


class ChainCheckpointPage(BaseModel):
    items: list[ChainCheckpointPublic]
    count: int = Field(description="checkpoints the registry holds")
    next_after: int | None = Field(
        None, description="pass as after_index for the next page; null on the last page")
