"""``carbon-ledger tokens ...``: the token bridge from the command line.

=========================  ==========================================================
``tokens deploy``          deploy ``CarbonCreditToken`` reading the ledger's registry
``tokens lock``            a holder locks its own credits for the token contract
``tokens mint LOCK``       anchor now if needed, prove the lock and mint its tokens
``tokens status LOCK``     a bridged lock and whether its mint was seen
``tokens sync``            the watcher: apply confirmed mints and burns to the ledger
``tokens redeem``          burn tokens back to credits of a ledger account
``tokens retire``          burn tokens to retire them
``tokens conservation``    where every gram of a batch is, off chain and on chain
=========================  ==========================================================

The bridge is configured as for the API (:mod:`anchoring.tokens`). ``redeem`` and
``retire`` are the token holder's own chain transactions: they are signed with the holder's
Ethereum key from ``CARBON_LEDGER_TOKEN_HOLDER_KEY``, never with the operator's. Heavy
imports happen in the handlers, so that building the parser stays cheap.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any
from uuid import UUID

from ledger.domain.errors import LedgerError, ValidationError

__all__ = ["HOLDER_KEY_ENV", "add_token_commands"]

HOLDER_KEY_ENV = "CARBON_LEDGER_TOKEN_HOLDER_KEY"


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an id: {text!r}") from None


def _grams(text: str) -> int:
    from ledger.domain.quantities import parse_quantity

    try:
        return parse_quantity(text, "quantity")
    except ValidationError as error:
        raise argparse.ArgumentTypeError(error.message) from None


def add_token_commands(tokens: argparse.ArgumentParser,
                       open_runtime: Callable[[argparse.Namespace], Any]) -> None:
    """Add the ``tokens`` subcommands to ``tokens``; ``open_runtime(args)`` opens the ledger
    of ``--data-dir`` (the CLI's ``_open``)."""
    sub = tokens.add_subparsers(dest="token_command", required=True)

    def add(name: str, handler: Callable[[Any, argparse.Namespace], None],
            help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text)

        def run(args: argparse.Namespace) -> None:
            from anchoring.tokens import bridge_errors

            with open_runtime(args) as runtime, bridge_errors():
                handler(runtime, args)

        command.set_defaults(handler=run)
        return command

    deploy = add("deploy", _deploy, "deploy the token contract (the operator's key is its "
                 "admin, registrar and minter)")
    deploy.add_argument("--actor", type=_uuid, required=True,
                        help="the participant with the bridge role")
    lock = add("lock", _lock, "lock a holder's own available credits for the token contract")
    lock.add_argument("--holder", type=_uuid, required=True)
    lock.add_argument("--batch", type=_uuid, required=True)
    lock.add_argument("--quantity", type=_grams, required=True, help='e.g. "300 kg"')
    lock.add_argument("--recipient", required=True, help="the Ethereum address to mint to")
    mint = add("mint", _mint, "prove a lock against a final anchored checkpoint and mint it")
    mint.add_argument("lock", type=_uuid)
    status = add("status", _status, "a bridged lock")
    status.add_argument("lock", type=_uuid)
    add("sync", _sync, "apply the confirmed mints and burns of the chain to the ledger")
    redeem = add("redeem", _redeem, f"burn tokens back to a ledger account ({HOLDER_KEY_ENV})")
    redeem.add_argument("--batch", type=_uuid, required=True)
    redeem.add_argument("--quantity", type=_grams, required=True)
    redeem.add_argument("--account", type=_uuid, required=True,
                        help="the ledger participant credited")
    retire = add("retire", _retire, f"burn tokens to retire them ({HOLDER_KEY_ENV})")
    retire.add_argument("--batch", type=_uuid, required=True)
    retire.add_argument("--quantity", type=_grams, required=True)
    retire.add_argument("--beneficiary", required=True)
    retire.add_argument("--purpose", required=True)
    retire.add_argument("--jurisdiction", required=True)
    retire.add_argument("--period", required=True, help="the consumption period")
    retire.add_argument("--detail", default="", help="the purpose's required detail")
    conservation = add("conservation", _conservation, "where every gram of a batch is")
    conservation.add_argument("--batch", type=_uuid, required=True)


def _deploy(runtime: Any, args: argparse.Namespace) -> None:
    from anchoring.bridge import Bridge

    try:
        bridge = Bridge.deploy(runtime, actor=args.actor, confirmations=0)
    except TypeError as error:
        raise LedgerError(f"no token on this chain: {error}") from None
    print(f"CarbonCreditToken deployed at {bridge.address} on chain {bridge.chain_id}")
    print(f"export CARBON_LEDGER_TOKEN_CONTRACT={bridge.address} "
          f"CARBON_LEDGER_BRIDGE_ACTOR={args.actor}")


def _lock(runtime: Any, args: argparse.Namespace) -> None:
    from eth_utils import to_checksum_address

    from anchoring.tokens import check_address, open_bridge

    recipient = to_checksum_address(check_address(args.recipient))
    lock_id = open_bridge(runtime).lock(holder=args.holder, batch_id=args.batch,
                                        quantity=args.quantity, recipient=recipient)
    print(f"locked {args.quantity:,} g for tokens: lock {lock_id}")


def _mint(runtime: Any, args: argparse.Namespace) -> None:
    from anchoring.tokens import lock_status, open_bridge

    lock_status(runtime, args.lock)  # an unknown lock: one line, before touching the chain
    runtime.anchoring.anchor_now()
    bridge = open_bridge(runtime)
    receipt = bridge.mint(args.lock)
    print(f"minted {receipt.grams:,} g ({receipt.amount} units of token {receipt.token_id}) "
          f"to {receipt.recipient}: tx {receipt.tx_hash} (block {receipt.block_number})")


def _status(runtime: Any, args: argparse.Namespace) -> None:
    from anchoring.tokens import lock_status

    lock = lock_status(runtime, args.lock)
    state = f"minted in {lock['minted_transaction']}" if lock["minted"] else "not minted yet"
    print(f"lock {lock['id']}: {lock['quantity_g']:,} g of batch {lock['batch_id']} held by "
          f"{lock['holder']}, for {lock['recipient']} on token {lock['token_contract']} "
          f"(chain {lock['chain_id']}), {state}")


def _sync(runtime: Any, args: argparse.Namespace) -> None:
    from anchoring.tokens import open_bridge

    report = open_bridge(runtime).sync()
    print(f"blocks {report.from_block}-{report.to_block}: minted {report.minted}, redeemed "
          f"{report.redeemed}, retired {report.retired}, skipped {report.skipped}, rejected "
          f"{len(report.rejected)}")
    for kind, key, error in report.rejected:
        print(f"REJECTED {kind} {key}: {error}")


def _holder_signer(bridge: Any) -> Any:
    from anchoring.bridge import LocalSigner

    key = os.environ.get(HOLDER_KEY_ENV)
    if not key:
        raise LedgerError(f"burning tokens needs the token holder's key ({HOLDER_KEY_ENV})")
    try:
        return LocalSigner(bridge.w3, key)
    except ValueError as error:
        raise LedgerError(f"{HOLDER_KEY_ENV} is not a private key: {error}") from None


def _redeem(runtime: Any, args: argparse.Namespace) -> None:
    from anchoring.tokens import open_bridge

    bridge = open_bridge(runtime)
    signer = _holder_signer(bridge)
    receipt = bridge.redeem(signer, args.batch, args.quantity, args.account)
    print(f"burned {args.quantity:,} g from {signer.address} for account {args.account}: tx "
          f"{receipt['transactionHash'].to_0x_hex()}; 'tokens sync' applies it once confirmed")


def _retire(runtime: Any, args: argparse.Namespace) -> None:
    from anchoring.tokens import open_bridge

    bridge = open_bridge(runtime)
    signer = _holder_signer(bridge)
    receipt = bridge.retire(signer, args.batch, args.quantity, beneficiary=args.beneficiary,
                            purpose=args.purpose, jurisdiction=args.jurisdiction,
                            consumption_period=args.period, purpose_detail=args.detail)
    print(f"retired {args.quantity:,} g on chain from {signer.address}: tx "
          f"{receipt['transactionHash'].to_0x_hex()}; 'tokens sync' records it once confirmed")


def _conservation(runtime: Any, args: argparse.Namespace) -> None:
    from anchoring.tokens import open_bridge

    c = open_bridge(runtime).conservation(args.batch)
    off = ", ".join(f"{state} {grams:,}" for state, grams in c.off_chain.items() if grams)
    print(f"issued {c.issued:,} g = off chain ({off or 'none'}) + locked not minted "
          f"{c.locked_not_minted:,} + on chain {c.on_chain:,} + burns in flight "
          f"{c.burns_in_flight:,} + other tokens {c.other_tokens:,}: "
          f"{'balanced' if c.balanced else 'NOT BALANCED'} (pool {c.pool:,})")
    if not c.balanced:
        raise LedgerError(f"batch {args.batch} is not conserved: {c.total:,} g counted")
