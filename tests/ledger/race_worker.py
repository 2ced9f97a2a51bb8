"""A separate OS process that hammers one ledger, for the concurrency tests.

Usage: python -m tests.ledger.race_worker MODE JSON_ARGS
- ``race``: wait until ``start_at``, then try every command in ``commands`` once and print one
  JSON line of outcomes.
- ``burst``: retire 1 g at a time forever, printing ``ACK <retirement id>`` after each
  command returned (was acknowledged), until killed.
- ``pairs``: wait until ``start_at``, then transfer ``quantity`` back and forth between the
  holders ``a`` and ``b`` of one batch ``rounds`` times; print one JSON line with the count
  of commands and this process's retries.
- ``pledgors``: wait until ``start_at``, then pledge ``quantity`` of ``holder``'s credits to
  ``bank`` and have the bank release it, ``rounds`` times; print the same.
- ``sellers``: wait until ``start_at``; then ``exchange`` lists ``seller``'s credits and
  settles ``rounds`` trades of them to ``buyer``, every other one retired on delivery;
  print the same.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from ledger.application import TradeInstruction
from ledger.domain.errors import LedgerError
from ledger.runtime import LedgerRuntime, Settings

RETIRE = {"beneficiary": "B", "purpose": "voluntary", "jurisdiction": "CN",
          "consumption_period": "2024"}


def _settings(args: dict[str, Any]) -> Settings:
    return Settings(data_dir=Path(args["data_dir"]), database_url=args.get("database_url"),
                    database_schema=args.get("database_schema") or "public")


def _run(runtime: LedgerRuntime, command: dict[str, Any]) -> dict[str, Any]:
    ledger = runtime.ledger
    batch, actor = UUID(command["batch"]), UUID(command["actor"])
    quantity = int(command.get("quantity", 0))
    kind = command["kind"]
    if kind == "transfer":
        ledger.transfer(actor=actor, batch_id=batch, recipient=UUID(command["recipient"]),
                        quantity=quantity)
    elif kind == "pledge":
        ledger.pledge(actor=actor, batch_id=batch, holder=actor, bank=UUID(command["bank"]),
                      loan_reference="race", quantity=quantity)
    elif kind == "retire":
        ledger.retire(actor=actor, batch_id=batch, quantity=quantity, **RETIRE)
    elif kind == "tokenise":
        ledger.lock_for_tokens(actor=actor, batch_id=batch, quantity=quantity,
                               chain_address="0x" + "ab" * 20)
    elif kind == "settle":
        result = ledger.settle_trade(actor=actor, trade=TradeInstruction(
            trade_ref=command["trade_ref"], listing_ref=command["listing_ref"], batch_id=batch,
            seller=UUID(command["seller"]), buyer=UUID(command["buyer"]), quantity=quantity,
            price_per_tonne="40", currency="CNY"))
        return {"ok": True, "replayed": result.replayed}
    return {"ok": True}


def race(args: dict[str, Any]) -> None:
    with LedgerRuntime(_settings(args)) as runtime:
        while time.time() < args["start_at"]:
            time.sleep(0.001)
        outcomes = []
        for command in args["commands"]:
            try:
                outcomes.append({"kind": command["kind"], **_run(runtime, command)})
            except LedgerError as error:
                outcomes.append({"kind": command["kind"], "ok": False, "code": error.code})
        print(json.dumps(outcomes), flush=True)


def burst(args: dict[str, Any]) -> None:
    with LedgerRuntime(_settings(args)) as runtime:
        batch, actor = UUID(args["batch"]), UUID(args["actor"])
        print("READY", flush=True)
        while True:
            retirement = runtime.ledger.retire(actor=actor, batch_id=batch, quantity=1,
                                               **RETIRE)
            print(f"ACK {retirement}", flush=True)


def pairs(args: dict[str, Any]) -> None:
    with LedgerRuntime(_settings(args)) as runtime:
        ledger = runtime.ledger
        batch, a, b = UUID(args["batch"]), UUID(args["a"]), UUID(args["b"])
        while time.time() < args["start_at"]:
            time.sleep(0.001)
        for _ in range(args["rounds"]):
            ledger.transfer(actor=a, batch_id=batch, recipient=b, quantity=args["quantity"])
            ledger.transfer(actor=b, batch_id=batch, recipient=a, quantity=args["quantity"])
        print(json.dumps({"commands": 2 * args["rounds"], **ledger.retries.as_dict()}),
              flush=True)


def pledgors(args: dict[str, Any]) -> None:
    with LedgerRuntime(_settings(args)) as runtime:
        ledger = runtime.ledger
        batch, holder, bank = UUID(args["batch"]), UUID(args["holder"]), UUID(args["bank"])
        while time.time() < args["start_at"]:
            time.sleep(0.001)
        for i in range(args["rounds"]):
            pledge = ledger.pledge(actor=holder, batch_id=batch, holder=holder, bank=bank,
                                   loan_reference=f"L-{holder}-{i}", quantity=args["quantity"])
            ledger.release_pledge(actor=bank, batch_id=batch, pledge_id=pledge)
        print(json.dumps({"commands": 2 * args["rounds"], **ledger.retries.as_dict()}),
              flush=True)


def sellers(args: dict[str, Any]) -> None:
    with LedgerRuntime(_settings(args)) as runtime:
        ledger = runtime.ledger
        batch, exchange = UUID(args["batch"]), UUID(args["exchange"])
        seller, buyer = UUID(args["seller"]), UUID(args["buyer"])
        rounds, quantity = args["rounds"], args["quantity"]
        while time.time() < args["start_at"]:
            time.sleep(0.001)
        listing_ref = f"L-{seller}"
        ledger.list_for_sale(actor=exchange, batch_id=batch, seller=seller,
                             listing_ref=listing_ref, quantity=rounds * quantity + 1)
        for i in range(rounds):
            ledger.settle_trade(actor=exchange, trade=TradeInstruction(
                trade_ref=f"T-{seller}-{i}", listing_ref=listing_ref, batch_id=batch,
                seller=seller, buyer=buyer, quantity=quantity, price_per_tonne="40",
                currency="CNY", retire_on_delivery=RETIRE if i % 2 else None))
        print(json.dumps({"commands": rounds + 1, **ledger.retries.as_dict()}), flush=True)


if __name__ == "__main__":
    modes = {"race": race, "burst": burst, "pairs": pairs, "pledgors": pledgors,
             "sellers": sellers}
    modes[sys.argv[1]](json.loads(sys.argv[2]))
