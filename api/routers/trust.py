"""Trust anchors: the chain, registry and anchorer accounts a certificate verifier trusts."""

from __future__ import annotations

from fastapi import APIRouter

from anchoring.trust import trust_anchors_of
from api.deps import RuntimeDep
from api.schemas.trust import TrustAnchorsPublic

__all__ = ["router"]

router = APIRouter(tags=["proofs"])


@router.get("/trust-anchors", response_model=TrustAnchorsPublic)
def trust_anchors(runtime: RuntimeDep) -> TrustAnchorsPublic:
    """Where this ledger anchors: verify certificates against these (``carbon-ledger verify
    --trust``), never against the registry a certificate names."""
    return TrustAnchorsPublic.model_validate(
        trust_anchors_of(runtime.anchoring).to_document())
