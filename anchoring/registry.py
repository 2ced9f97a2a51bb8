"""The ledger's one anchor registry: a fact recorded in the ledger's own database.

Every host of a ledger (API workers, ``carbon-ledger anchor --follow`` on another machine, a
lease moving between hosts with different data directories) must anchor to the same
``AnchorRegistry``; otherwise each host's anchors, and each host's audit, would see only a
part of the history. The registry is therefore recorded once, in ``anchor_registry`` next to
``merkle_anchors`` (the shared PostgreSQL database, or ``merkle.sqlite`` of an embedded
ledger), and every host opens that one:

* a registry recorded for the ledger wins; a configured address
  (``CARBON_LEDGER_ANCHOR_CONTRACT``) or a data directory's remembered address
  (``anchor-contract.txt``, written by earlier versions) that names another one is refused
  (:class:`RegistryMismatchError`) instead of anchoring elsewhere;
* with nothing recorded, the configured or remembered address is recorded; a ledger that
  already recorded anchors (before this table existed) adopts the registry of its anchors,
  and refuses if they name several;
* only a ledger that has never anchored deploys a registry (its first initialisation), under
  the start-up lock, so two hosts starting at once do not deploy two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError

from ledger.domain.errors import ConflictError

__all__ = [
    "RecordedRegistry",
    "RegistryMismatchError",
    "anchor_registry",
    "choose_registry",
    "record_registry",
    "recorded_registry",
]

metadata = MetaData()

REGISTRY_NAME = "anchor-registry"

anchor_registry = Table(
    "anchor_registry",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("chain_id", BigInteger, nullable=False),
    Column("contract_address", String(42), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)


class RegistryMismatchError(ConflictError):
    """A host was configured (or remembers) a registry other than the ledger's."""

    code = "registry-mismatch"


@dataclass(frozen=True)
class RecordedRegistry:
    chain_id: int
    contract_address: str


def recorded_registry(engine: Engine) -> RecordedRegistry | None:
    """The registry recorded for this ledger, or ``None`` (the table may not exist yet)."""
    if not _has_table(engine):
        return None
    with engine.connect() as conn:
        row = conn.execute(select(anchor_registry).where(
            anchor_registry.c.name == REGISTRY_NAME)).first()
    if row is None:
        return None
    return RecordedRegistry(int(row.chain_id), str(row.contract_address))


def _has_table(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(engine.dialect.has_table(conn, "anchor_registry"))


def record_registry(engine: Engine, chain_id: int, contract_address: str) -> RecordedRegistry:
    """Record the ledger's registry (idempotent; the table is created with the anchoring
    tables); :class:`RegistryMismatchError` if another one is recorded already."""
    existing = recorded_registry(engine)
    if existing is None:
        try:
            with engine.begin() as conn:
                conn.execute(insert(anchor_registry).values(
                    name=REGISTRY_NAME, chain_id=chain_id, contract_address=contract_address,
                    recorded_at=datetime.now(UTC)))
            return RecordedRegistry(chain_id, contract_address)
        except IntegrityError:  # another host recorded one at the same moment
            existing = recorded_registry(engine)
            if existing is None:
                raise
    check_same(existing, chain_id, contract_address, "this host's chain")
    return existing


def check_same(recorded: RecordedRegistry, chain_id: int, contract_address: str,
               source: str) -> None:
    if recorded.chain_id != chain_id or \
            recorded.contract_address.lower() != contract_address.lower():
        raise RegistryMismatchError(
            f"this ledger anchors to registry {recorded.contract_address} on chain "
            f"{recorded.chain_id}, but {source} names {contract_address} on chain {chain_id}; "
            "refusing to anchor to a second registry")


def choose_registry(engine: Engine, configured: str | None, remembered: str | None,
                    anchored: Callable[[], set[tuple[int, str]]]) -> str | None:
    """The registry address a JSON-RPC host must open, ``None`` if it is to deploy one.

    ``configured``: the host's ``anchor_contract`` setting; ``remembered``: its data
    directory's ``anchor-contract.txt``; ``anchored``: the registries that recorded anchors
    name. Raises :class:`RegistryMismatchError` when they disagree with the recorded one.
    """
    recorded = recorded_registry(engine)
    if recorded is not None:
        for source, address in (("CARBON_LEDGER_ANCHOR_CONTRACT", configured),
                                ("anchor-contract.txt", remembered)):
            if address is not None:
                check_same(recorded, recorded.chain_id, address, source)
        return recorded.contract_address
    if configured is not None or remembered is not None:
        return configured or remembered
    contracts = anchored()
    if len({address.lower() for _, address in contracts}) > 1:
        raise RegistryMismatchError(
            "this ledger's anchors name several registries ("
            + ", ".join(sorted(address for _, address in contracts))
            + "); set CARBON_LEDGER_ANCHOR_CONTRACT to the one to keep")
    if contracts:
        return next(iter(contracts))[1]
    return None
