"""Trust anchors: what a verifier decides to trust before reading a certificate.

A certificate names the chain, registry contract and transaction of its anchor, but those are
claims made by whoever wrote the certificate: anyone can deploy an ``AnchorRegistry`` of their
own and anchor any root in it. A verifier therefore fixes, independently of the certificate:

- ``chain_id``: the chain (EIP-155 id, as the verifier's node reports it);
- ``registry``: the address of the registry contract the ledger's operator anchors in;
- ``anchorers``: the accounts allowed to have written the checkpoint (the registry's admin can
  grant ``ANCHORER_ROLE`` to others; a checkpoint written by any other account is refused);
- ``confirmations``: how many blocks must be mined on top of the anchoring block (K).

The operator publishes them as a small JSON document (``carbon-ledger trust-anchors``,
``GET /trust-anchors``) in format ``carbon-ledger/trust-anchors/v1``::

    {"format": "carbon-ledger/trust-anchors/v1", "chain_id": 1,
     "registry": "0x...", "anchorers": ["0x..."], "confirmations": 12}

which a verifier should obtain over a channel it trusts (the registry's website, a signed
release, a regulator's publication) and compare with what it already knows, once; it then
passes it to :func:`anchoring.certificate.verify_certificate` or ``carbon-ledger verify
--trust FILE`` (or gives the same values as flags).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eth_utils import is_address, to_checksum_address

from ledger.domain.errors import ValidationError

__all__ = ["DEFAULT_CONFIRMATIONS", "TRUST_ANCHORS_FORMAT", "TrustAnchors", "TrustAnchorsError",
           "trust_anchors_of"]

TRUST_ANCHORS_FORMAT = "carbon-ledger/trust-anchors/v1"
DEFAULT_CONFIRMATIONS = 2
"""K when a verifier gives none (the ledger's own default on a JSON-RPC chain)."""

_MAX_CONFIRMATIONS = 1_000_000


class TrustAnchorsError(ValidationError):
    """Trust anchors are missing a value or hold a malformed one."""

    code = "invalid-trust-anchors"


def _address(value: object, what: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise TrustAnchorsError(f"{what} must be a 20-byte hex address, got {value!r}",
                                field=what)
    return str(to_checksum_address(value))


def _whole(value: object, what: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise TrustAnchorsError(f"{what} must be a whole number in [{minimum}, {maximum}], "
                                f"got {value!r}", field=what)
    return value


@dataclass(frozen=True)
class TrustAnchors:
    """The chain, registry, anchorer accounts and confirmations a verifier trusts."""

    chain_id: int
    registry: str
    anchorers: tuple[str, ...]
    confirmations: int = DEFAULT_CONFIRMATIONS

    @classmethod
    def of(cls, *, chain_id: object, registry: object, anchorers: Iterable[object],
           confirmations: object = DEFAULT_CONFIRMATIONS) -> TrustAnchors:
        """Checked and normalised (checksummed addresses); :class:`TrustAnchorsError` on a
        missing or malformed value."""
        if isinstance(anchorers, str | bytes):
            anchorers = [anchorers]
        accounts = tuple(dict.fromkeys(_address(a, "anchorers") for a in anchorers))
        if not accounts:
            raise TrustAnchorsError("trust anchors must name at least one anchorer account",
                                    field="anchorers")
        return cls(chain_id=_whole(chain_id, "chain_id", 1, 2**256 - 1),
                   registry=_address(registry, "registry"), anchorers=accounts,
                   confirmations=_whole(confirmations, "confirmations", 0,
                                        _MAX_CONFIRMATIONS))

    @classmethod
    def from_document(cls, document: object) -> TrustAnchors:
        """Parse a ``carbon-ledger/trust-anchors/v1`` document."""
        if not isinstance(document, dict) or document.get("format") != TRUST_ANCHORS_FORMAT:
            raise TrustAnchorsError(f"not a {TRUST_ANCHORS_FORMAT} document", field="format")
        for name in ("chain_id", "registry", "anchorers"):
            if name not in document:
                raise TrustAnchorsError(f"trust anchors lack {name!r}", field=name)
        anchorers = document["anchorers"]
        if not isinstance(anchorers, list):
            raise TrustAnchorsError("anchorers must be a list of addresses", field="anchorers")
        return cls.of(chain_id=document["chain_id"], registry=document["registry"],
                      anchorers=anchorers,
                      confirmations=document.get("confirmations", DEFAULT_CONFIRMATIONS))

    def to_document(self) -> dict[str, Any]:
        """The ``carbon-ledger/trust-anchors/v1`` document."""
        return {"format": TRUST_ANCHORS_FORMAT, "chain_id": self.chain_id,
                "registry": self.registry, "anchorers": list(self.anchorers),
                "confirmations": self.confirmations}

    def trusts_anchorer(self, account: str) -> bool:
        """Whether ``account`` is one of the trusted anchorer accounts."""
        return account.lower() in {a.lower() for a in self.anchorers}


def trust_anchors_of(anchoring: Any) -> TrustAnchors:
    """The trust anchors of a ledger's own anchoring (a :class:`ledger.runtime.Anchoring`):
    what its operator publishes."""
    chain = anchoring.chain
    return TrustAnchors.of(chain_id=int(chain.chain_id), registry=chain.contract_address,
                           anchorers=[chain.anchorer_address],
                           confirmations=int(anchoring.anchorer.required_confirmations))
