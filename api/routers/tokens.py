"""Tokenisation (docs/TOKENISATION.md): a holder locks its own credits for the ledger's token
contract, the lock is minted on chain with its proof once anchored, and the watcher applies
what the chain did. Burns (``redeem``, ``retire``) are the token holders' own chain
transactions, signed with their keys: they are not made through this API."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from eth_utils import to_checksum_address
from fastapi import APIRouter, Path, Request, Response

from anchoring.bridge import Bridge
from anchoring.tokens import bridge_errors, lock_status, open_bridge
from api.access import PRIVILEGED, READ, WRITE, require
from api.auth import Caller
from api.deps import CallerDep, CommandDep, RuntimeDep
from api.schemas.tokens import (
    TokenLockCreate,
    TokenLockPublic,
    TokenMintPublic,
    TokenSyncProblem,
    TokenSyncPublic,
)
from ledger.domain.participant import Role
from ledger.runtime import LedgerRuntime

__all__ = ["router"]

router = APIRouter(prefix="/tokens", tags=["tokens"])

LockId = Annotated[UUID, Path()]


def bridge_of(request: Request) -> Bridge:
    """The ledger's bridge (``anchoring.tokens.open_bridge``), attached once per app."""
    bridge: Bridge | None = getattr(request.app.state, "bridge", None)
    if bridge is None:
        bridge = open_bridge(request.app.state.runtime)
        request.app.state.bridge = bridge
    return bridge


def _lock(runtime: LedgerRuntime, lock_id: UUID) -> TokenLockPublic:
    return TokenLockPublic(**lock_status(runtime, lock_id))


def _may_mint(caller: Caller, holder: UUID) -> bool:
    return caller.id == holder or caller.has_role(Role.BRIDGE, Role.ISSUER)


@router.post("/locks", status_code=201, response_model=TokenLockPublic, responses=WRITE)
async def lock_for_tokens(body: TokenLockCreate, command: CommandDep,
                          request: Request) -> Response:
    """Lock the caller's own available credits for the ledger's token contract (the
    holder's command: nobody locks another's credits). 409 ``tokens-not-configured`` if the
    ledger has no token bridge."""
    def act(actor: UUID) -> UUID:
        bridge = bridge_of(request)
        return command.ledger.lock_for_tokens(
            actor=actor, batch_id=body.batch_id, quantity=body.quantity_g,
            chain_address=to_checksum_address(body.recipient), chain_id=bridge.chain_id,
            token_contract=bridge.address)

    return await command.run("lock_for_tokens", act,
                             lambda lock_id: _lock(command.runtime, lock_id), status_code=201)


@router.get("/locks/{lock_id}", response_model=TokenLockPublic, responses=READ)
def token_lock(lock_id: LockId, caller: CallerDep, runtime: RuntimeDep) -> TokenLockPublic:
    """A bridged lock (its holder, the bridge, registry operators and auditors)."""
    lock = _lock(runtime, lock_id)
    require(lock.holder == caller.id or caller.has_role(Role.BRIDGE, *PRIVILEGED), caller,
            "only the lock's holder, the bridge and the registry read a lock")
    return lock


@router.post("/locks/{lock_id}/mint", response_model=TokenMintPublic, responses=WRITE)
async def mint(lock_id: LockId, command: CommandDep, request: Request) -> Response:
    """Prove the lock's event against a final anchored checkpoint and mint its tokens to its
    recipient (the lock's holder, the bridge or a registry operator). 409
    ``lock-not-provable`` until the lock event is anchored and final,
    ``token-contract-rejected`` if the contract refuses (e.g. minted already)."""
    def act(actor: UUID) -> TokenMintPublic:
        lock = _lock(command.runtime, lock_id)
        require(_may_mint(command.caller, lock.holder), command.caller,
                "only the lock's holder, the bridge and the registry mint a lock")
        bridge = bridge_of(request)
        with bridge_errors():
            bridge.register_batch(lock.batch_id)
            receipt = bridge.mint(lock_id)
        return TokenMintPublic(
            lock_id=lock_id, transaction=receipt.tx_hash, block_number=receipt.block_number,
            token_id=str(receipt.token_id), recipient=receipt.recipient,
            quantity_g=receipt.grams, amount_units=str(receipt.amount))

    return await command.run("mint_tokens", act, lambda minted: minted)


@router.post("/sync", response_model=TokenSyncPublic, responses=WRITE)
async def sync(command: CommandDep, request: Request) -> Response:
    """Apply to the ledger the mints and burns the chain has confirmed (the bridge and
    registry operators; the ledger records them as the configured bridge participant)."""
    def act(actor: UUID) -> TokenSyncPublic:
        require(command.caller.has_role(Role.BRIDGE, Role.ISSUER), command.caller,
                "only the bridge and the registry run the token watcher")
        bridge = bridge_of(request)
        with bridge_errors():
            report = bridge.sync()
        return TokenSyncPublic(
            from_block=report.from_block, to_block=report.to_block, minted=report.minted,
            redeemed=report.redeemed, retired=report.retired, skipped=report.skipped,
            rejected=[TokenSyncProblem(kind=k, key=key, error=e)
                      for k, key, e in report.rejected])

    return await command.run("sync_tokens", act, lambda report: report)
