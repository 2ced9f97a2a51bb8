"""Consent at the application: a listing or a pledge on another holder's credits needs that
holder's mandate in force, checked and recorded in the same save as the batch's event, so
that a revocation is ordered before or after it, never lost."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import Ledger, TradeInstruction, clock
from ledger.domain.credit_batch import LotState
from ledger.domain.errors import (
    ConsentRequiredError,
    LedgerError,
    PermissionDeniedError,
    RecordNotFoundError,
    ValidationError,
)
from ledger.domain.holding import Holding
from tests.ledger.conftest import TONNE, World, sqlite_env


def listing(world: World, batch: UUID, ref: str, quantity: int = TONNE,
            exchange: UUID | None = None, seller: UUID | None = None) -> UUID:
    return world.ledger.list_for_sale(
        actor=exchange or world.exchange, batch_id=batch, seller=seller or world.emitter,
        listing_ref=ref, quantity=quantity)


def holdings(world: World, batch: UUID, holder: UUID) -> dict[str, int]:
    """Everything ``holder`` owns of the batch, by lot."""
    credit_batch = world.ledger.batch_view(batch)
    owned: dict[str, int] = {}
    for key in credit_batch.lots:
        if credit_batch.owner_of_lot(key) == str(holder):
            owned[key] = credit_batch.held(*_split(key))
    return owned


def _split(key: str) -> tuple[LotState, str]:
    state, _, ref = key.partition("/")
    return LotState(state), ref


def test_an_exchange_cannot_list_a_holders_credits_without_its_mandate(world: World):
    batch = world.project_batch(quantity=10 * TONNE)
    before = world.ledger.recorder.max_notification_id()
    with pytest.raises(ConsentRequiredError) as raised:
        listing(world, batch, "L-1")
    assert raised.value.details == {"holder": str(world.emitter), "agent": str(world.exchange),
                                    "scope": "listing", "reason": "none", "requested": TONNE}
    assert world.ledger.recorder.max_notification_id() == before  # nothing written
    assert world.ledger.batch_view(batch).available(world.emitter) == 10 * TONNE


def test_a_bank_cannot_pledge_a_holders_credits_without_its_mandate(world: World):
    batch = world.project_batch(quantity=10 * TONNE)
    with pytest.raises(ConsentRequiredError) as raised:
        world.ledger.pledge(actor=world.bank, batch_id=batch, holder=world.emitter,
                            bank=world.bank, loan_reference="LN", quantity=TONNE)
    assert raised.value.details["scope"] == "pledge"
    assert world.ledger.batch_view(batch).available(world.emitter) == 10 * TONNE


def test_a_mandate_lets_the_exchange_list_and_records_its_use(world: World):
    batch = world.project_batch(quantity=10 * TONNE)
    mandate = world.ledger.grant_mandate(actor=world.emitter, agent=world.exchange,
                                         scope="listing", max_quantity_g=3 * TONNE)
    listing_id = listing(world, batch, "L-1", 2 * TONNE)
    holder = world.ledger.participant(world.emitter)
    assert holder.mandates[str(mandate)]["used_g"] == 2 * TONNE
    exercised = world.ledger.repository.event_store.get(world.emitter)
    last = list(exercised)[-1]
    assert (type(last).__name__, last.mandate_id, last.record, last.batch, last.actor) == (
        "MandateExercised", str(mandate), str(listing_id), str(batch), str(world.exchange))
    with pytest.raises(ConsentRequiredError) as raised:  # over the maximum
        listing(world, batch, "L-2", 2 * TONNE)
    assert raised.value.details["remaining_g"] == TONNE
    listing(world, batch, "L-3", TONNE)  # exactly what is left
    assert world.ledger.batch_view(batch).available(world.emitter) == 7 * TONNE


def test_a_revoked_mandate_stops_the_next_listing_but_not_the_open_ones(world: World):
    batch = world.project_batch(quantity=10 * TONNE)
    mandate = world.ledger.grant_mandate(actor=world.emitter, agent=world.exchange,
                                         scope="listing")
    listing(world, batch, "L-1")
    world.ledger.revoke_mandate(actor=world.emitter, mandate_id=mandate)
    with pytest.raises(ConsentRequiredError) as raised:
        listing(world, batch, "L-2")
    assert raised.value.details["reason"] == "revoked"
    # what was listed before the revocation is still the exchange's to settle or cancel
    world.ledger.settle_trade(actor=world.exchange, trade=TradeInstruction(
        trade_ref="T-1", listing_ref="L-1", batch_id=batch, seller=world.emitter,
        buyer=world.organiser, quantity=TONNE // 2, price_per_tonne="40", currency="CNY"))
    world.ledger.cancel_listing(actor=world.exchange, batch_id=batch, listing_ref="L-1")
    assert world.ledger.batch_view(batch).available(world.emitter) == 10 * TONNE - TONNE // 2


def test_an_expired_mandate_cannot_be_used(world: World, monkeypatch: pytest.MonkeyPatch):
    batch = world.project_batch(quantity=10 * TONNE)
    now = datetime.now(UTC)
    world.ledger.grant_mandate(actor=world.emitter, agent=world.bank, scope="pledge",
                               expires_at=now + timedelta(days=1))
    world.ledger.pledge(actor=world.bank, batch_id=batch, holder=world.emitter,
                        bank=world.bank, loan_reference="LN-1", quantity=TONNE)
    monkeypatch.setattr(clock, "now", lambda: now + timedelta(days=1))
    with pytest.raises(ConsentRequiredError) as raised:
        world.ledger.pledge(actor=world.bank, batch_id=batch, holder=world.emitter,
                            bank=world.bank, loan_reference="LN-2", quantity=TONNE)
    assert raised.value.details["reason"] == "expired"
    with pytest.raises(ValidationError):  # and no new mandate can start in the past
        world.ledger.grant_mandate(actor=world.emitter, agent=world.bank, scope="pledge",
                                   expires_at=now + timedelta(hours=1))


def test_a_mandate_to_another_agent_or_of_another_scope_does_not_count(world: World):
    batch = world.project_batch(quantity=10 * TONNE)
    other_exchange = world.ledger.register_participant(kind="exchange", name="other exchange",
                                                       registered_by=world.operator)
    world.ledger.grant_mandate(actor=world.emitter, agent=other_exchange, scope="listing")
    world.ledger.grant_mandate(actor=world.emitter, agent=world.other_bank, scope="pledge")
    world.ledger.grant_mandate(actor=world.organiser, agent=world.exchange, scope="listing")
    with pytest.raises(ConsentRequiredError):
        listing(world, batch, "L-1")  # the emitter's mandate is to the other exchange
    with pytest.raises(ConsentRequiredError):
        world.ledger.pledge(actor=world.bank, batch_id=batch, holder=world.emitter,
                            bank=world.bank, loan_reference="LN", quantity=TONNE)
    assert world.ledger.batch_view(batch).available(world.emitter) == 10 * TONNE


def test_the_holder_acting_itself_needs_no_mandate(world: World):
    batch = world.project_batch(quantity=10 * TONNE)
    world.ledger.pledge(actor=world.emitter, batch_id=batch, holder=world.emitter,
                        bank=world.bank, loan_reference="LN", quantity=TONNE)
    world.ledger.transfer(actor=world.emitter, batch_id=batch, recipient=world.exchange,
                          quantity=TONNE)
    listing(world, batch, "OWN", TONNE, seller=world.exchange)  # its own credits
    assert world.ledger.participant(world.emitter).mandates == {}
    assert world.ledger.participant(world.exchange).mandates == {}
    assert world.ledger.batch_view(batch).available(world.exchange) == 0


def test_grants_check_the_holder_and_the_agent(world: World):
    with pytest.raises(PermissionDeniedError):  # a verifier holds no credits to mandate
        world.ledger.grant_mandate(actor=world.verifier, agent=world.exchange,
                                   scope="listing")
    with pytest.raises(PermissionDeniedError) as raised:  # a bank cannot list
        world.ledger.grant_mandate(actor=world.emitter, agent=world.bank, scope="listing")
    assert raised.value.details["role"] == "settler"
    with pytest.raises(LedgerError) as unknown:
        world.ledger.grant_mandate(actor=world.emitter, agent=uuid4(), scope="pledge")
    assert unknown.value.code == "unknown-participant"
    with pytest.raises(RecordNotFoundError):  # another holder's mandate is not found
        mandate = world.ledger.grant_mandate(actor=world.organiser, agent=world.bank,
                                             scope="pledge")
        world.ledger.revoke_mandate(actor=world.emitter, mandate_id=mandate)


def test_a_suspended_agent_cannot_use_its_mandate(world: World):
    batch = world.project_batch(quantity=10 * TONNE)
    world.ledger.grant_mandate(actor=world.emitter, agent=world.exchange, scope="listing")
    world.ledger.suspend_participant(actor=world.operator, participant_id=world.exchange,
                                     reason="licence withdrawn")
    with pytest.raises(PermissionDeniedError, match="suspended"):
        listing(world, batch, "L-1")


def test_settlement_only_delivers_what_the_seller_let_the_exchange_list(world: World):
    batch = world.project_batch(quantity=10 * TONNE)
    world.ledger.transfer(actor=world.emitter, batch_id=batch, recipient=world.organiser,
                          quantity=5 * TONNE)
    world.ledger.grant_mandate(actor=world.emitter, agent=world.exchange, scope="listing")
    listing(world, batch, "L-1", TONNE)
    before = holdings(world, batch, world.organiser)
    for instruction in (
        # naming a seller other than the listing's
        dict(trade_ref="T-1", listing_ref="L-1", seller=world.organiser),
        # a listing that does not exist
        dict(trade_ref="T-2", listing_ref="NO-SUCH", seller=world.organiser),
        # more than the listing holds
        dict(trade_ref="T-3", listing_ref="L-1", seller=world.emitter, quantity=2 * TONNE),
    ):
        terms = {"batch_id": batch, "buyer": world.exchange, "quantity": TONNE,
                 "price_per_tonne": "0.000001", "currency": "CNY", **instruction}
        with pytest.raises(LedgerError):
            world.ledger.settle_trade(actor=world.exchange, trade=TradeInstruction(**terms))
    assert holdings(world, batch, world.organiser) == before
    assert world.ledger.batch_view(batch).available(world.exchange) == 0


def test_a_revocation_racing_a_listing_is_ordered_never_lost(world: World,
                                                              monkeypatch: pytest.MonkeyPatch):
    """The holder's revocation is saved, by another process, after the exchange's command
    checked the mandate and before it saved: the listing must not be recorded after the
    revocation on the strength of the mandate it revoked."""
    batch = world.project_batch(quantity=10 * TONNE)
    mandate = world.ledger.grant_mandate(actor=world.emitter, agent=world.exchange,
                                         scope="listing")
    listing(world, batch, "L-0")  # everything the next listing reads is cached
    holder_process = Ledger(env=sqlite_env(world.db))
    escrow = Holding.escrow
    revoked: list[bool] = []

    def revoke_first(self: Holding, **kwargs):  # while the listing is being decided
        if not revoked:
            holder_process.revoke_mandate(actor=world.emitter, mandate_id=mandate)
            revoked.append(True)
        return escrow(self, **kwargs)

    monkeypatch.setattr(Holding, "escrow", revoke_first)
    with pytest.raises(ConsentRequiredError) as raised:
        listing(world, batch, "L-1")
    assert raised.value.details["reason"] == "revoked"
    assert revoked == [True]
    assert [m["listing_ref"] for m in world.ledger.batch_view(batch).listings.values()] == ["L-0"]
    assert world.ledger.batch_view(batch).available(world.emitter) == 9 * TONNE


# Commands other participants may send, none of them the holder and none with its mandate.
COMMANDS = st.sampled_from(["list", "pledge", "pledge-as-third", "settle", "cancel-listing",
                            "enforce", "release", "transfer-out", "retire", "export",
                            "lock", "grant-own"])


def _attempt(world: World, batch: UUID, holder: UUID, kind: str, who: str, actor: UUID,
             ref: str, quantity: int) -> None:
    """One command of ``actor`` (not the holder) naming the holder or its credits."""
    ledger = world.ledger
    if kind == "list":
        ledger.list_for_sale(actor=actor, batch_id=batch, seller=holder, listing_ref=ref,
                             quantity=quantity)
    elif kind == "pledge":
        ledger.pledge(actor=actor, batch_id=batch, holder=holder, bank=actor,
                      loan_reference=ref, quantity=quantity)
    elif kind == "pledge-as-third":
        ledger.pledge(actor=actor, batch_id=batch, holder=holder, bank=world.other_bank,
                      loan_reference=ref, quantity=quantity)
    elif kind == "settle":
        ledger.settle_trade(actor=actor, trade=TradeInstruction(
            trade_ref=ref, listing_ref=ref, batch_id=batch, seller=holder, buyer=actor,
            quantity=quantity, price_per_tonne="0.000001", currency="CNY"))
    elif kind == "cancel-listing":
        ledger.cancel_listing(actor=actor, batch_id=batch, listing_ref=ref)
    elif kind in ("enforce", "release"):
        command = ledger.enforce_pledge if kind == "enforce" else ledger.release_pledge
        command(actor=actor, batch_id=batch, pledge_id=uuid4())
    elif kind == "transfer-out":
        ledger.transfer(actor=actor, batch_id=batch, recipient=world.pay_app,
                        quantity=quantity)
    elif kind == "retire":
        ledger.retire(actor=actor, batch_id=batch, quantity=quantity, beneficiary="x",
                      purpose="voluntary", jurisdiction="CN", consumption_period="2025")
    elif kind == "export":
        ledger.export(actor=actor, batch_id=batch, quantity=quantity, destination="CCER")
    elif kind == "lock":
        ledger.lock_for_tokens(actor=actor, batch_id=batch, quantity=quantity,
                               chain_address="0xabc")
    else:  # the actor grants mandates on its own credits: they never cover the holder's
        ledger.grant_mandate(actor=actor,
                             agent=world.exchange if who != "exchange" else world.bank,
                             scope="listing" if who != "exchange" else "pledge")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(COMMANDS, st.sampled_from(["exchange", "bank", "other"]),
                                st.integers(1, 3 * TONNE)), min_size=1, max_size=8))
def test_no_commands_of_others_without_a_mandate_change_what_a_holder_owns(
        world: World, steps: list[tuple[str, str, int]]) -> None:
    if not hasattr(world, "consent_batch"):  # one batch for all examples (one per world)
        world.consent_batch = world.project_batch(quantity=10 * TONNE)  # type: ignore[attr-defined]
        world.ledger.transfer(actor=world.emitter, batch_id=world.consent_batch,  # type: ignore[attr-defined]
                              recipient=world.organiser, quantity=5 * TONNE)
    batch: UUID = world.consent_batch  # type: ignore[attr-defined]
    holder = world.emitter  # owns 5 t; grants nothing to anyone
    owned = holdings(world, batch, holder)
    actors = {"exchange": world.exchange, "bank": world.bank, "other": world.organiser}
    for n, (kind, who, quantity) in enumerate(steps):
        ref = f"{who}-{kind}-{n}-{uuid4().hex[:6]}"
        with contextlib.suppress(LedgerError):
            _attempt(world, batch, holder, kind, who, actors[who], ref, quantity)
        assert holdings(world, batch, holder) == owned, (kind, who)
