"""Neutrality certificates: a claim's footprint, the retirements counted against it, each with
its own verifiable retirement certificate, and whether the footprint is fully covered.

A document of format ``carbon-ledger/neutrality-certificate/v1``:

- ``claim``: the claim as the ledger holds it (id, organiser, event name, scope, footprint,
  grams retired for it, outstanding grams, ``met``, registration time, the retirement ids);
- ``retirements``: one ``carbon-ledger/certificate/v2`` retirement certificate per counted
  retirement, in the order they were counted.

:func:`verify_neutrality_certificate` verifies every retirement certificate (each against
the chain) and checks that each names this claim (``details.claim_id``) and that their proven
quantities add up to ``retired_g``, and ``met`` to ``retired_g >= footprint_g``. What it
cannot prove: the footprint itself, which is the organiser's statement as registered (no
event of the claim is in the document), and that no retirement is left out.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from anchoring.certificate import (
    CertificateError,
    Check,
    Verification,
    build_retirement_certificate,
    verify_certificate,
)
from anchoring.chain import ChainClient
from anchoring.log import MerkleLog
from anchoring.service import Anchorer
from anchoring.trust import TrustAnchors
from ledger.domain.errors import RecordNotFoundError
from ledger.runtime import LedgerRuntime

__all__ = ["MAX_RETIREMENTS", "NEUTRALITY_FORMAT", "build_neutrality_certificate",
           "verify_neutrality_certificate"]

NEUTRALITY_FORMAT = "carbon-ledger/neutrality-certificate/v1"
MAX_RETIREMENTS = 1000
"""The most retirements one neutrality certificate holds (each carries its proofs)."""


def build_neutrality_certificate(runtime: LedgerRuntime, merkle_log: MerkleLog,
                                 anchorer: Anchorer, claim_id: UUID | str) -> dict[str, Any]:
    """The claim and a retirement certificate for each retirement counted for it;
    :class:`CertificateError` for an unknown claim, too many retirements, or a retirement
    not yet in a final anchored checkpoint."""
    runtime.sync()
    try:
        claim = runtime.ledger.claim(UUID(str(claim_id)))
    except (RecordNotFoundError, ValueError):
        raise CertificateError(f"unknown neutrality claim {claim_id}") from None
    if len(claim.retirements) > MAX_RETIREMENTS:
        raise CertificateError(
            f"the claim counts {len(claim.retirements)} retirements; a neutrality certificate "
            f"holds at most {MAX_RETIREMENTS}: take each retirement's certificate instead")
    retirements = [build_retirement_certificate(runtime, merkle_log, anchorer, retirement)
                   for retirement in claim.retirements]
    return {
        "format": NEUTRALITY_FORMAT,
        "kind": "neutrality",
        "generated_at": max((r["generated_at"] for r in retirements), default=""),
        "claim": {
            "claim_id": str(claim.id), "organiser": claim.organiser,
            "event_name": claim.event_name, "scope": claim.scope,
            "footprint_g": claim.footprint_g, "retired_g": claim.retired_g,
            "outstanding_g": claim.outstanding_g, "met": claim.met,
            "registered_at": claim.created_on.isoformat(),
            "retirement_ids": list(claim.retirements),
        },
        "retirements": retirements,
    }


def _claim_of(cert: dict[str, Any]) -> str | None:
    details = cert["record"].get("details")
    if isinstance(details, str):
        details = json.loads(details) if details else {}
    return str(details.get("claim_id")) if isinstance(details, dict) else None


def verify_neutrality_certificate(doc: dict[str, Any], chain: ChainClient | None = None,
                                  trust: TrustAnchors | None = None) -> Verification:
    """Every retirement certificate verified, and the claim's totals checked against them.
    The verdict is the worst of all (a refused retirement refuses the whole)."""
    if not isinstance(doc, dict) or doc.get("format") != NEUTRALITY_FORMAT:
        return Verification((Check("format", False, f"not a {NEUTRALITY_FORMAT} document"),))
    checks: list[Check] = [Check("format", True, NEUTRALITY_FORMAT)]
    try:
        claim, retirements = doc["claim"], doc["retirements"]
        if not isinstance(retirements, list):
            raise TypeError("retirements must be a list")
        proven = 0
        for cert in retirements:
            name = f"retirement {cert['record']['retirement_id']}"
            verification = verify_certificate(cert, chain, trust)
            for check in verification.checks:
                checks.append(Check(f"{name}: {check.name}", check.ok, check.detail,
                                    check.undecided))
            checks.append(Check(f"{name}: counted for the claim",
                                _claim_of(cert) == str(claim["claim_id"]),
                                f"retired for claim {_claim_of(cert)}"))
            proven += int(cert["record"]["quantity_g"])
        ids = [str(c["record"]["retirement_id"]) for c in retirements]
        checks.append(Check("claim: retirements", ids == [str(i) for i in
                                                          claim["retirement_ids"]],
                            f"{len(ids)} retirement certificates for "
                            f"{len(claim['retirement_ids'])} retirements counted"))
        retired, footprint = int(claim["retired_g"]), int(claim["footprint_g"])
        checks.append(Check("claim: retired", proven == retired,
                            f"the retirements add up to {proven} g; the claim states "
                            f"{retired} g"))
        checks.append(Check("claim: covered", bool(claim["met"]) == (retired >= footprint)
                            and int(claim["outstanding_g"]) == max(0, footprint - retired),
                            f"{retired} g retired of a {footprint} g footprint "
                            f"(the footprint is the organiser's statement, not proven)"))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        checks.append(Check("structure", False, f"malformed certificate: {error!r}"))
    return Verification(tuple(checks))
