"""The token bridge of a ledger as its API and command line reach it.

A ledger has a bridge when its anchoring chain can hold a token contract (a JSON-RPC chain,
``CARBON_LEDGER_RPC_URL``; the embedded chain cannot, see ``docs/TOKENISATION.md``) and the
environment names it:

``CARBON_LEDGER_TOKEN_CONTRACT``        the ``CarbonCreditToken`` address
``CARBON_LEDGER_BRIDGE_ACTOR``          the participant with the ``bridge`` role that records
                                        mints and burns
``CARBON_LEDGER_BRIDGE_CONFIRMATIONS``  blocks on top of a chain event before the watcher
                                        applies it (default 2)

:func:`open_bridge` attaches to it; :func:`bridge_errors` turns the bridge's failures into
ledger errors with stable codes (4xx problems over HTTP, one line and a non-zero exit on the
command line). The ledger's own rules still decide every command: a lock is the holder's own
command on its own available credits (``Ledger.lock_for_tokens``), the watcher's needs the
``bridge`` role.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eth_utils import is_address
from sqlalchemy import select

from anchoring.bridge import (
    Bridge,
    BridgeError,
    BridgeRejectedError,
    LockNotProvableError,
)
from anchoring.chain import ChainError
from ledger.domain.errors import ConflictError, RecordNotFoundError, ValidationError
from ledger.projections import schema as views
from ledger.runtime import LedgerRuntime

__all__ = [
    "ACTOR_ENV",
    "CONFIRMATIONS_ENV",
    "TOKEN_ENV",
    "BridgeFailedError",
    "LockUnprovableError",
    "TokenContractRejectedError",
    "TokensNotConfiguredError",
    "bridge_errors",
    "check_address",
    "lock_status",
    "open_bridge",
]

TOKEN_ENV = "CARBON_LEDGER_TOKEN_CONTRACT"
ACTOR_ENV = "CARBON_LEDGER_BRIDGE_ACTOR"
CONFIRMATIONS_ENV = "CARBON_LEDGER_BRIDGE_CONFIRMATIONS"


class TokensNotConfiguredError(ConflictError):
    """This ledger has no token bridge (no token contract configured, or a chain that cannot
    hold one)."""

    code = "tokens-not-configured"


class LockUnprovableError(ConflictError):
    """The lock cannot be minted yet: not a bridged lock of this contract, or its event is
    not in a final anchored checkpoint."""

    code = "lock-not-provable"


class TokenContractRejectedError(ConflictError):
    """The token contract reverted (e.g. the lock was minted already)."""

    code = "token-contract-rejected"


class BridgeFailedError(ConflictError):
    """The chain could not be reached or the bridge failed otherwise; retry later."""

    code = "bridge-failed"


def check_address(value: str, field: str = "recipient") -> str:
    """``value`` if it is a 0x-prefixed 20-byte hex address (any case), else a
    :class:`ValidationError`."""
    if not (isinstance(value, str) and value.startswith("0x") and is_address(value)):
        raise ValidationError(f"{field} {value!r} is not an Ethereum address (0x and 40 hex "
                              "digits)", field=field)
    return value


def _configured(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise TokensNotConfiguredError(f"no token bridge: {name} is not set")
    return value


@contextmanager
def bridge_errors() -> Iterator[None]:
    """Map bridge and chain failures to ledger errors with stable codes."""
    try:
        yield
    except LockNotProvableError as error:
        raise LockUnprovableError(str(error)) from error
    except BridgeRejectedError as error:
        raise TokenContractRejectedError(f"the token contract refused: {error}",
                                         error=error.error) from error
    except (BridgeError, ChainError) as error:
        raise BridgeFailedError(f"the token bridge failed: {error}") from error


def open_bridge(runtime: LedgerRuntime) -> Bridge:
    """The bridge configured by the environment (see the module documentation)."""
    token = _configured(TOKEN_ENV)
    check_address(token, TOKEN_ENV)
    try:
        actor = UUID(_configured(ACTOR_ENV))
    except ValueError:
        raise TokensNotConfiguredError(f"{ACTOR_ENV} is not a participant id") from None
    try:
        confirmations = int(os.environ.get(CONFIRMATIONS_ENV) or 2)
    except ValueError:
        raise TokensNotConfiguredError(f"{CONFIRMATIONS_ENV} is not a number") from None
    with bridge_errors():
        try:
            return Bridge(runtime, token, actor=actor, confirmations=confirmations)
        except TypeError as error:  # the embedded chain
            raise TokensNotConfiguredError(
                f"no token bridge on this chain: {error}; anchor on a JSON-RPC chain "
                "(CARBON_LEDGER_RPC_URL)") from None


def lock_status(runtime: LedgerRuntime, lock_id: UUID) -> dict[str, Any]:
    """A bridged lock as the read models hold it: batch, holder, recipient, quantity, the
    chain and contract it is for, and its mint once the watcher saw it."""
    runtime.sync()
    with runtime.reader.connect() as conn:
        row = conn.execute(
            select(views.bridge_locks, views.token_locks.c.holder)
            .join(views.token_locks, views.token_locks.c.id == views.bridge_locks.c.id)
            .where(views.bridge_locks.c.id == str(lock_id))
        ).first()
    if row is None:
        raise RecordNotFoundError(f"unknown bridged lock {lock_id}", lock=str(lock_id))
    return {
        "id": UUID(str(row.id)), "batch_id": UUID(str(row.batch)),
        "holder": UUID(str(row.holder)), "recipient": row.recipient,
        "quantity_g": int(row.quantity), "chain_id": int(row.chain_id),
        "token_contract": row.token_contract, "position": int(row.position),
        "minted": row.minted_tx is not None, "minted_transaction": row.minted_tx,
    }
