"""The public log: inclusion and consistency proofs, the registry's checkpoints as the chain
holds them, and the latest checkpoint as a C2SP signed note (see docs/ANCHORING.md)."""

from __future__ import annotations

import base64
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response

from anchoring.note import LogSigner, default_origin
from anchoring.proofs import (
    ChainCheckpoint,
    InclusionProof,
    LogProofs,
    NothingAnchoredError,
)
from anchoring.tiles import WIDTH, Tile, entry_bundle, hash_tile, parse_tile
from api.access import PUBLIC_ITEM, PUBLIC_LIST
from api.deps import RuntimeDep
from api.problems import problem_responses
from api.schemas.proofs import (
    ChainCheckpointPage,
    ChainCheckpointPublic,
    ConsistencyProofPublic,
    InclusionProofPublic,
)

__all__ = ["proofs_of", "router", "signer_of"]

router = APIRouter(prefix="/log", tags=["proofs"])

_MAX = 2**63 - 1
TreeSize = Annotated[int | None, Query(
    ge=0, le=_MAX, description="prove against the tree of this many leaves (at most the "
    "anchored size; default: the anchored size)")]
PROOF = {**PUBLIC_ITEM, **problem_responses(409)}
_TEXT = {"description": "a C2SP signed note", "content": {"text/plain": {"schema": {
    "type": "string"}}}}


def proofs_of(runtime: RuntimeDep) -> LogProofs:
    anchoring = runtime.anchoring
    return LogProofs(runtime.ledger.recorder, anchoring.merkle_log, anchoring.anchorer)


ProofsDep = Annotated[LogProofs, Depends(proofs_of)]


def signer_of(request: Request, proofs: ProofsDep) -> LogSigner:
    """The registry's log key, loaded once per app."""
    signer: LogSigner | None = getattr(request.app.state, "log_signer", None)
    if signer is None:
        chain = proofs.chain
        origin = default_origin(int(chain.chain_id), str(chain.contract_address))
        runtime = request.app.state.runtime
        signer = LogSigner.for_registry(runtime.settings.data_dir, origin)
        request.app.state.log_signer = signer
    return signer


def _inclusion(proof: InclusionProof) -> InclusionProofPublic:
    return InclusionProofPublic(
        leaf_index=proof.leaf_index, position=proof.position,
        originator_id=str(proof.originator_id), originator_version=proof.originator_version,
        topic=proof.topic, leaf_base64=base64.b64encode(proof.leaf).decode(),
        leaf_hash=proof.leaf_hash.hex(), tree_size=proof.tree_size, root=proof.root.hex(),
        audit_path=[p.hex() for p in proof.audit_path], anchored_size=proof.anchored_size)


@router.get("/leaves/{leaf_index}/inclusion", response_model=InclusionProofPublic,
            responses=PROOF)
def inclusion_by_leaf(leaf_index: Annotated[int, Path(ge=0, le=_MAX)], proofs: ProofsDep,
                      tree_size: TreeSize = None) -> InclusionProofPublic:
    """Inclusion proof of the event that is leaf ``leaf_index`` of the log."""
    return _inclusion(proofs.inclusion(leaf_index=leaf_index, tree_size=tree_size))


@router.get("/events/{position}/inclusion", response_model=InclusionProofPublic,
            responses=PROOF)
def inclusion_by_position(position: Annotated[int, Path(ge=1, le=_MAX)], proofs: ProofsDep,
                          tree_size: TreeSize = None) -> InclusionProofPublic:
    """Inclusion proof of the event at notification id ``position``."""
    return _inclusion(proofs.inclusion(position=position, tree_size=tree_size))


@router.get("/aggregates/{originator_id}/versions/{version}/inclusion",
            response_model=InclusionProofPublic, responses=PROOF)
def inclusion_by_originator(originator_id: Annotated[UUID, Path()],
                            version: Annotated[int, Path(ge=1, le=_MAX)], proofs: ProofsDep,
                            tree_size: TreeSize = None) -> InclusionProofPublic:
    """Inclusion proof of version ``version`` of aggregate ``originator_id``."""
    return _inclusion(proofs.inclusion(originator_id=originator_id, originator_version=version,
                                       tree_size=tree_size))


@router.get("/consistency", response_model=ConsistencyProofPublic, responses=PROOF)
def consistency(proofs: ProofsDep,
                first: Annotated[int, Query(ge=0, le=_MAX, description="the older size")],
                second: Annotated[int | None, Query(
                    ge=0, le=_MAX, description="the newer size, at most the anchored size "
                    "(default: the anchored size)")] = None) -> ConsistencyProofPublic:
    """RFC 9162 consistency proof from the tree of ``first`` leaves to that of ``second``
    (``0 <= first <= second <= anchored size``; 422 otherwise)."""
    proof = proofs.consistency(first, second)
    return ConsistencyProofPublic(
        first=proof.first, second=proof.second, first_root=proof.first_root.hex(),
        second_root=proof.second_root.hex(), proof=[p.hex() for p in proof.proof],
        anchored_size=proof.anchored_size)


def _checkpoint(checkpoint: ChainCheckpoint) -> ChainCheckpointPublic:
    return ChainCheckpointPublic(
        index=checkpoint.index, tree_size=checkpoint.tree_size, root=checkpoint.root.hex(),
        anchored_at=checkpoint.anchored_at, block_number=checkpoint.block_number,
        transaction=checkpoint.transaction, chain_id=checkpoint.chain_id,
        contract_address=checkpoint.contract_address)


@router.get("/chain-checkpoints", response_model=ChainCheckpointPage,
            responses={**PUBLIC_LIST, **problem_responses(409)})
def chain_checkpoints(proofs: ProofsDep,
                      after_index: Annotated[int, Query(ge=-1, le=_MAX)] = -1,
                      limit: Annotated[int, Query(ge=1, le=100)] = 20) -> ChainCheckpointPage:
    """The checkpoints of the ``AnchorRegistry`` contract, read from the chain (not from the
    operator's records), by index, each with its anchoring transaction."""
    count = proofs.chain_checkpoint_count()
    items = [_checkpoint(c) for c in proofs.chain_checkpoints(after_index, limit)]
    more = bool(items) and items[-1].index < count - 1
    return ChainCheckpointPage(items=items, count=count,
                               next_after=items[-1].index if more else None)


@router.get("/chain-checkpoints/latest", response_model=ChainCheckpointPublic,
            responses=problem_responses(409))
def latest_chain_checkpoint(proofs: ProofsDep) -> ChainCheckpointPublic:
    """The registry's latest checkpoint, read from the chain; 409 if there is none."""
    latest = proofs.latest_chain_checkpoint()
    if latest is None:
        raise NothingAnchoredError("the registry holds no checkpoint yet")
    return _checkpoint(latest)


@router.get("/checkpoint", response_model=None,
            responses={200: _TEXT, **problem_responses(409)})
def signed_checkpoint(proofs: ProofsDep,
                      signer: Annotated[LogSigner, Depends(signer_of)]) -> PlainTextResponse:
    """The latest anchored checkpoint in the C2SP ``tlog-checkpoint`` format (origin, tree
    size, base64 root), as a C2SP signed note signed with the registry's Ed25519 log key
    (verifier key at ``GET /log/key``)."""
    tree_size, root = proofs.signed_head()
    note = signer.sign_checkpoint(signer.name, tree_size, root)
    return PlainTextResponse(note, media_type="text/plain; charset=utf-8")


@router.get("/key", response_model=None,
            responses={200: {"description": "a C2SP verifier key", "content": {
                "text/plain": {"schema": {"type": "string"}}}}})
def verifier_key(signer: Annotated[LogSigner, Depends(signer_of)]) -> PlainTextResponse:
    """The verifier key of the log key: ``<name>+<key ID>+<base64(0x01 || public key)>``."""
    return PlainTextResponse(signer.verifier_key + "\n", media_type="text/plain; charset=utf-8")


_TILE = {"description": "a C2SP tlog-tiles tile", "content": {"application/octet-stream": {
    "schema": {"type": "string", "format": "binary"}}}}
_IMMUTABLE = "public, max-age=31536000, immutable"


def _tile_response(body: bytes, tile: Tile) -> Response:
    headers = {"Cache-Control": _IMMUTABLE if tile.width == WIDTH else "no-cache"}
    return Response(body, media_type="application/octet-stream", headers=headers)


@router.get("/tile/entries/{index:path}", response_model=None,
            responses={200: _TILE, **PUBLIC_ITEM, **problem_responses(409)})
def entry_bundle_tile(index: Annotated[str, Path(max_length=64)], runtime: RuntimeDep,
                      proofs: ProofsDep) -> Response:
    """C2SP tlog-tiles entry bundle ``<N>[.p/<W>]``: leaves ``256 N`` on, each as a 16-bit
    big-endian length and its ``carbon-ledger/event-leaf/v1`` bytes (up to the latest
    anchored checkpoint)."""
    tile = parse_tile("entries", index)
    size, _ = proofs.signed_head()
    return _tile_response(entry_bundle(runtime.ledger.recorder, proofs.merkle_log, tile, size),
                          tile)


@router.get("/tile/{level}/{index:path}", response_model=None,
            responses={200: _TILE, **PUBLIC_ITEM, **problem_responses(409)})
def hash_tile_of(level: Annotated[str, Path(max_length=8)],
                 index: Annotated[str, Path(max_length=64)], proofs: ProofsDep) -> Response:
    """C2SP tlog-tiles hash tile ``<L>/<N>[.p/<W>]``: the ``W`` (256 if full) node hashes of
    height ``8 L`` from node ``256 N`` on, up to the latest anchored checkpoint."""
    tile = parse_tile(level, index)
    size, _ = proofs.signed_head()
    return _tile_response(hash_tile(proofs.merkle_log, tile, size), tile)
