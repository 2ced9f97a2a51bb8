"""One batch, many holders (issue #17): does a command's cost grow with the batch's holders?

A batch is issued to a platform and handed out, 1 t each, to ``holders`` enterprises (one
transfer command each: the setup is timed and reported too). In the larger run the platform
then retires a gram at a time, ``retired_before`` times (a gram per cup of coffee: the
batch's history, and this holder's, grow by that many retirements; timed and reported as
well). Then, measured: transfers of 1 kg between random holders, retirements of 1 kg by
random holders, retirements of 1 kg by the platform, pledges of 1 kg by random holders
each released by the bank, and trades of 1 kg from an exchange's listing settled to random
holders, one command each. Run at 100
holders with no retirements (the reference) and at a larger count; the larger run's rows
carry the reference's rate as their baseline, so the ratio column is the figure the issue's
target (>= 0.8) speaks of.
"""

from __future__ import annotations

import random
from uuid import UUID

from benchmarks.data import make_cast, project_batch
from benchmarks.measure import Result, timed
from ledger.application import TradeInstruction
from ledger.runtime import LedgerRuntime

__all__ = ["MOVED_G", "REFERENCE_HOLDERS", "hand_out", "one_batch_rates"]

REFERENCE_HOLDERS = 100
SHARE_G = 1_000_000  # each holder's share of the batch: 1 t, a thousand moves
MOVED_G = 1_000


def hand_out(runtime: LedgerRuntime, holders: int) -> tuple[UUID, UUID, list[UUID], float]:
    """A batch held by ``holders`` enterprises and by the platform that handed it out (half
    of it); the setup's transfers per second."""
    ledger = runtime.ledger
    cast = make_cast(ledger, platforms=1)
    platform = cast.platforms[0]
    batch = project_batch(ledger, cast, SHARE_G * holders * 2, platform)
    accounts = [ledger.register_participant(kind="enterprise", name=f"Holder {i}",
                                            registered_by=cast.operator)
                for i in range(holders)]
    with timed() as t:
        for account in accounts:
            ledger.transfer(actor=platform, batch_id=batch, recipient=account,
                            quantity=SHARE_G)
    return batch, platform, accounts, holders / t.seconds


def _transfers(runtime: LedgerRuntime, batch: UUID, accounts: list[UUID], count: int,
               rng: random.Random) -> float:
    ledger = runtime.ledger
    with timed() as t:
        for _ in range(count):
            sender, recipient = rng.sample(accounts, 2)
            ledger.transfer(actor=sender, batch_id=batch, recipient=recipient,
                            quantity=MOVED_G)
    return count / t.seconds


def _retirements(runtime: LedgerRuntime, batch: UUID, accounts: list[UUID], count: int,
                 rng: random.Random, quantity: int = MOVED_G) -> float:
    """``count`` retirements of ``quantity`` g, each by a random one of ``accounts``."""
    ledger = runtime.ledger
    with timed() as t:
        for i in range(count):
            ledger.retire(actor=rng.choice(accounts), batch_id=batch, quantity=quantity,
                          beneficiary=f"beneficiary {i}", purpose="voluntary",
                          jurisdiction="CN", consumption_period="2024")
    return count / t.seconds


def _pledges(runtime: LedgerRuntime, batch: UUID, accounts: list[UUID], bank: UUID,
             count: int, rng: random.Random) -> float:
    """``count`` pledges of 1 kg by random holders to ``bank``, each released by the bank;
    commands (pledges and releases) per second."""
    ledger = runtime.ledger
    with timed() as t:
        for i in range(count):
            holder = rng.choice(accounts)
            pledge = ledger.pledge(actor=holder, batch_id=batch, holder=holder, bank=bank,
                                   loan_reference=f"loan {i}", quantity=MOVED_G)
            ledger.release_pledge(actor=bank, batch_id=batch, pledge_id=pledge)
    return 2 * count / t.seconds


def _settlements(runtime: LedgerRuntime, batch: UUID, accounts: list[UUID], exchange: UUID,
                 count: int, rng: random.Random) -> float:
    """``count`` trades of 1 kg from one listing of the exchange's own credits, each to a
    random holder; settlements per second."""
    ledger = runtime.ledger
    listing_ref = f"bench-{batch}"
    ledger.list_for_sale(actor=exchange, batch_id=batch, seller=exchange,
                         listing_ref=listing_ref, quantity=count * MOVED_G)
    with timed() as t:
        for i in range(count):
            ledger.settle_trade(actor=exchange, trade=TradeInstruction(
                trade_ref=f"T-{i}", listing_ref=listing_ref, batch_id=batch, seller=exchange,
                buyer=rng.choice(accounts), quantity=MOVED_G, price_per_tonne="40",
                currency="CNY"))
    return count / t.seconds


def one_batch_rates(runtime: LedgerRuntime, backend: str, holders: int, count: int,
                    reference: dict[str, float] | None = None, retired_before: int = 0,
                    ) -> tuple[list[Result], dict[str, float]]:
    """Rows for one ledger: setup, transfers and retirements on one batch of ``holders``
    holders, after ``retired_before`` retirements of a gram by the platform that handed the
    batch out; ``reference`` (the rates at :data:`REFERENCE_HOLDERS`) becomes their
    baseline. Returns the rows and the rates of the measured commands."""
    rng = random.Random(17)
    batch, platform, accounts, setup = hand_out(runtime, holders)
    rows = [Result(f"one batch: hand-out transfers to {holders:,} holders", backend, setup,
                   "commands/s")]
    history = f" and {retired_before:,} retirements" if retired_before else ""
    if retired_before:
        rate = _retirements(runtime, batch, [platform], retired_before, rng, quantity=1)
        rows.append(Result(f"one batch: one holder's {retired_before:,} retirements of 1 g "
                           f"at {holders:,} holders", backend, rate, "commands/s"))
    ledger = runtime.ledger
    operator = UUID(ledger.participant(platform).registered_by)
    bank = ledger.register_participant(kind="bank", name="Bench bank", registered_by=operator)
    exchange = ledger.register_participant(kind="exchange", name="Bench exchange",
                                           registered_by=operator)
    ledger.transfer(actor=platform, batch_id=batch, recipient=exchange,
                    quantity=count * MOVED_G)
    rates = {"transfers": _transfers(runtime, batch, accounts, count, rng),
             "retirements": _retirements(runtime, batch, accounts, count, rng),
             "one holder's retirements": _retirements(runtime, batch, [platform], count, rng),
             "pledges and releases": _pledges(runtime, batch, accounts, bank, count, rng),
             "settlements": _settlements(runtime, batch, accounts, exchange, count, rng)}
    for kind, rate in rates.items():
        baseline = reference.get(kind) if reference else None
        rows.append(Result(
            f"one batch: {kind} at {holders:,} holders{history}", backend, rate,
            "commands/s", baseline=baseline,
            baseline_name=(f"{kind} at {REFERENCE_HOLDERS} holders" if baseline else None),
            target=">= 0.8 of the rate at 100 holders" if baseline else None,
            met=(rate >= 0.8 * baseline) if baseline else None))
    return rows, rates
