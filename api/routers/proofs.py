"""Proofs: anchored checkpoints, and certificates anyone can verify without trusting us."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response

from anchoring.certificate import build_pledge_certificate, build_retirement_certificate
from anchoring.neutrality import build_neutrality_certificate
from api.access import PUBLIC_ITEM, PUBLIC_LIST, READ
from api.certificate_pdf import (
    certificate_page_url,
    claim_page_url,
    neutrality_pdf,
    retirement_pdf,
)
from api.deps import CallerDep, RuntimeDep, ViewsDep
from api.problems import problem_responses
from api.routers.claims import claim_public
from api.routers.pledges import _readable, pledge_row
from api.routers.retirements import retirement_public
from api.schemas.proofs import CertificateDocument, CheckpointPage, CheckpointPublic

__all__ = ["router"]

router = APIRouter(tags=["proofs"])


@router.get("/checkpoints", response_model=CheckpointPage, responses=PUBLIC_LIST)
def list_checkpoints(runtime: RuntimeDep,
                     after_tree_size: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> CheckpointPage:
    """The Merkle roots of the event log anchored on chain, by increasing tree size."""
    records = [r for r in runtime.anchoring.anchorer.anchors()
               if r.tree_size > after_tree_size][: limit + 1]
    items = [CheckpointPublic(
        tree_size=r.tree_size, root=r.root.hex(), chain_id=r.chain_id,
        contract_address=r.contract_address, transaction=r.tx_hash,
        block_number=r.block_number, checkpoint_index=r.checkpoint_index, final=r.final,
        submitted_at=r.submitted_at.isoformat()) for r in records[:limit]]
    more = len(records) > limit
    return CheckpointPage(items=items, next_after=items[-1].tree_size if more else None)


def _document(cert: dict[str, Any]) -> CertificateDocument:
    return CertificateDocument.model_validate(cert)


@router.get("/retirements/{retirement_id}/certificate", response_model=CertificateDocument,
            responses={**PUBLIC_ITEM, **problem_responses(409)})
def retirement_certificate(retirement_id: Annotated[UUID, Path()], runtime: RuntimeDep,
                           views: ViewsDep) -> CertificateDocument:
    """The retirement certificate: the retirement and its batch's issuance as stored, their
    inclusion proofs against an anchored root, and where that root is on chain. 409 until
    the retirement is in a final anchored checkpoint."""
    retirement_public(views, retirement_id)  # 404 for an unknown retirement
    anchoring = runtime.anchoring
    return _document(build_retirement_certificate(runtime, anchoring.merkle_log,
                                                  anchoring.anchorer, retirement_id))


_PDF = {"description": "the certificate as a bilingual (中文/English) PDF, the JSON certificate "
        "embedded as `certificate.json`", "content": {"application/pdf": {
            "schema": {"type": "string", "format": "binary"}}}}


@router.get("/retirements/{retirement_id}/certificate.pdf", response_model=None,
            responses={200: _PDF, **PUBLIC_ITEM, **problem_responses(409)})
def retirement_certificate_pdf(retirement_id: Annotated[UUID, Path()], request: Request,
                               runtime: RuntimeDep, views: ViewsDep) -> Response:
    """The retirement certificate as a PDF, in Chinese and English whatever the request's
    language: every field, the anchoring evidence, a QR code opening the certificate's page
    (``/explorer/certificates/{id}`` under the public base URL) and the JSON certificate
    embedded, so ``carbon-ledger verify certificate.pdf`` verifies the file alone. 409
    until the retirement is in a final anchored checkpoint."""
    retirement_public(views, retirement_id)  # 404 for an unknown retirement
    anchoring = runtime.anchoring
    cert = build_retirement_certificate(runtime, anchoring.merkle_log, anchoring.anchorer,
                                        retirement_id)
    pdf = retirement_pdf(_json_bytes(cert),
                         certificate_page_url(_base_url(request), retirement_id))
    return _pdf_response(pdf, f"retirement-{retirement_id}.pdf")


@router.get("/claims/{claim_id}/certificate.pdf", response_model=None,
            responses={200: _PDF, **PUBLIC_ITEM, **problem_responses(409)})
def claim_certificate_pdf(claim_id: Annotated[UUID, Path()], request: Request,
                          runtime: RuntimeDep, views: ViewsDep) -> Response:
    """The neutrality certificate as a PDF (中文/English): the claim's footprint, whether it is
    fully neutralised, and every retirement counted for it with its anchoring; embedded, the
    JSON (``carbon-ledger/neutrality-certificate/v1``: the claim and each retirement's
    certificate), which ``carbon-ledger verify`` verifies. 409 until every retirement
    counted is in a final anchored checkpoint (or when it counts more than 1,000)."""
    claim_public(views, claim_id)  # 404 for an unknown claim
    anchoring = runtime.anchoring
    cert = build_neutrality_certificate(runtime, anchoring.merkle_log, anchoring.anchorer,
                                        claim_id)
    pdf = neutrality_pdf(_json_bytes(cert), claim_page_url(_base_url(request), claim_id))
    return _pdf_response(pdf, f"neutrality-{claim_id}.pdf")


def _json_bytes(cert: dict[str, Any]) -> bytes:
    """The certificate as embedded (and as ``carbon-ledger certificate`` writes it)."""
    return (json.dumps(cert, indent=2, ensure_ascii=False) + "\n").encode()


def _base_url(request: Request) -> str:
    """CARBON_LEDGER_PUBLIC_BASE_URL, else the request's own base URL."""
    return getattr(request.app.state, "public_base_url", None) or str(request.base_url)


def _pdf_response(pdf: bytes, filename: str) -> Response:
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-cache"})


@router.get("/pledges/{pledge_id}/certificate", response_model=CertificateDocument,
            responses={**READ, **problem_responses(409)})
def pledge_certificate(pledge_id: Annotated[UUID, Path()], caller: CallerDep,
                       runtime: RuntimeDep) -> CertificateDocument:
    """What a bank keeps: the pledge and its batch's issuance with proofs and the anchor
    (the bank, the pledgor, registry operators and auditors)."""
    row = pledge_row(runtime.views, pledge_id)
    _readable(caller, row)
    anchoring = runtime.anchoring
    return _document(build_pledge_certificate(runtime, anchoring.merkle_log,
                                              anchoring.anchorer, pledge_id))
