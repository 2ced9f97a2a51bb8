"""Schema of the trust anchors a verifier of certificates needs (see docs/ANCHORING.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["TrustAnchorsPublic"]


class TrustAnchorsPublic(BaseModel):
    """A ``carbon-ledger/trust-anchors/v1`` document: save it and pass it to
    ``carbon-ledger verify CERT --trust FILE --rpc-url URL``. Obtain it over a channel you
    trust and compare it with what you already know: a certificate is only as good as the
    registry and anchorers you choose to trust."""

    format: str = Field(description="carbon-ledger/trust-anchors/v1")
    chain_id: int = Field(description="EIP-155 id of the chain the registry is on")
    registry: str = Field(description="address of the AnchorRegistry contract")
    anchorers: list[str] = Field(description="accounts that write this ledger's checkpoints")
    confirmations: int = Field(description="blocks on top of an anchor before it is final (K)")
