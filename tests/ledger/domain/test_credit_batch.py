"""CreditBatch: every command, every rejection path, lots and serials."""

import copy
from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from ledger.domain.credit_batch import CreditBatch, LotState, lot_key, split_lot_key
from ledger.domain.errors import (
    DuplicateRecordError,
    InsufficientBalanceError,
    InvalidStateError,
    PermissionDeniedError,
    RecordNotFoundError,
    ValidationError,
)
from ledger.domain.invariants import check_batch_supply, check_serial_coverage

OPERATOR = UUID("00000000-0000-4000-8000-000000000001")
HOLDER = UUID("00000000-0000-4000-8000-000000000002")
BUYER = UUID("00000000-0000-4000-8000-000000000003")
EXCHANGE = UUID("00000000-0000-4000-8000-000000000004")
OTHER_EXCHANGE = UUID("00000000-0000-4000-8000-000000000005")
BANK = UUID("00000000-0000-4000-8000-000000000006")
OTHER_BANK = UUID("00000000-0000-4000-8000-000000000007")
METHODOLOGY = UUID("00000000-0000-4000-8000-000000000008")

TONNE = 1_000_000
RETIREMENT = {
    "beneficiary": "舒氏集团",
    "purpose": "compliance_offset",
    "jurisdiction": "Hubei",
    "consumption_period": "2023",
    "details": {"compliance_period": "2023"},
}


def issue(quantity: int = 2_000 * TONNE, holder: UUID = HOLDER, serial_start: int = 1,
          **overrides) -> CreditBatch:
    kwargs = {
        "block": "HBCER-2024-000001", "registry": "HBCER", "vintage": 2024,
        "methodology": METHODOLOGY, "methodology_label": "WH-EV-CHARGING v1",
        "region": "Wuhan", "project_type": "behaviour", "quantity": quantity,
        "holder": holder, "source": {"kind": "behaviours"}, "behaviours_root": "ab" * 32,
        "actor": OPERATOR, "serial_start": serial_start,
    }
    kwargs.update(overrides)
    return CreditBatch.issue(uuid4(), **kwargs)


def lots_by_state(batch: CreditBatch, state: LotState) -> dict[str, list[list[int]]]:
    return {ref: ranges for key, ranges in batch.lots.items()
            for s, ref in [split_lot_key(key)] if s is state}


def assert_invariants(batch: CreditBatch) -> None:
    check_batch_supply(batch)
    check_serial_coverage(batch)


def assert_unchanged(batch: CreditBatch, command: Callable[[], object],
                     error: type[Exception]) -> Exception:
    """Run a command that must fail, and check it left no trace on the batch."""
    before = (copy.deepcopy(batch.__dict__), len(batch._pending_events))
    with pytest.raises(error) as raised:
        command()
    assert (batch.__dict__, len(batch._pending_events)) == before
    return raised.value


def escrow(batch, quantity, seller=HOLDER, exchange=EXCHANGE, listing_id=None, ref="L-1"):
    listing_id = listing_id or uuid4()
    batch.escrow(listing_id=listing_id, listing_ref=ref, exchange=exchange, seller=seller,
                 quantity=quantity, actor=exchange)
    return listing_id


def settle(batch, listing_id, quantity, buyer=BUYER, seller=HOLDER, actor=EXCHANGE,
           trade_id=None, retirement_id=None, retirement=None):
    return batch.settle_trade(
        trade_id=trade_id or uuid4(), trade_ref="T-1", listing_id=listing_id, seller=seller,
        buyer=buyer, quantity=quantity, price_per_tonne="34", currency="CNY", actor=actor,
        retirement_id=retirement_id, retirement=retirement)


def pledge(batch, quantity, holder=HOLDER, bank=BANK, actor=None, pledge_id=None):
    pledge_id = pledge_id or uuid4()
    batch.pledge(pledge_id=pledge_id, holder=holder, bank=bank, loan_reference="LOAN-2024-7",
                 quantity=quantity, actor=actor or bank)
    return pledge_id


def retire(batch, quantity, holder=HOLDER, retirement_id=None, details=None):
    retirement_id = retirement_id or uuid4()
    batch.retire(retirement_id=retirement_id, holder=holder, quantity=quantity,
                 details=details or RETIREMENT, actor=holder)
    return retirement_id


def lock(batch, quantity, holder=HOLDER, lock_id=None):
    lock_id = lock_id or uuid4()
    batch.lock_for_tokens(lock_id=lock_id, holder=holder, quantity=quantity,
                          chain_address="0x" + "ab" * 20, actor=holder)
    return lock_id


def export(batch, quantity, holder=HOLDER, export_id=None):
    export_id = export_id or uuid4()
    batch.export(export_id=export_id, holder=holder, quantity=quantity, destination="CCER",
                 actor=holder)
    return export_id


def cancel(batch, quantity, holder=HOLDER, cancellation_id=None):
    cancellation_id = cancellation_id or uuid4()
    batch.cancel(cancellation_id=cancellation_id, holder=holder, quantity=quantity,
                 reason="invalid issuance", actor=OPERATOR)
    return cancellation_id


# ---------------------------------------------------------------------------- issuance


def test_issued_batch_puts_the_whole_block_in_the_holders_available_lot():
    batch = issue(quantity=2_000 * TONNE)
    assert batch.lots == {f"available/{HOLDER}": [[1, 2_000 * TONNE + 1]]}
    assert batch.serial_end == 2_000 * TONNE + 1
    assert batch.available(HOLDER) == 2_000 * TONNE
    assert batch.metadata == {"region": "Wuhan", "vintage": 2024}
    assert type(batch.collect_events()[0]).__name__ == "Issued"
    assert_invariants(batch)


def test_imported_batch_keeps_the_external_serials():
    batch = issue(quantity=500, serial_start=1_000_000, imported=True)
    assert batch.lots == {f"available/{HOLDER}": [[1_000_000, 1_000_500]]}
    assert type(batch.collect_events()[0]).__name__ == "Imported"
    assert_invariants(batch)


@pytest.mark.parametrize("quantity", [0, -1, 1.5, 10.0, True, "10", None])
def test_batch_with_malformed_quantity_is_not_issued(quantity):
    with pytest.raises(ValidationError) as raised:
        issue(quantity=quantity)
    assert raised.value.details["field"] == "quantity"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"vintage": 1989}, "vintage"),
        ({"vintage": 2101}, "vintage"),
        ({"vintage": True}, "vintage"),
        ({"vintage": "2024"}, "vintage"),
        ({"serial_start": -1}, "serial_start"),
        ({"serial_start": 1.0}, "serial_start"),
        ({"region": "  "}, "region"),
    ],
)
def test_batch_with_malformed_description_is_not_issued(overrides, field):
    with pytest.raises(ValidationError) as raised:
        issue(**overrides)
    assert raised.value.details["field"] == field


# ---------------------------------------------------------------------------- transfer


def test_transfer_moves_the_lowest_serials_to_the_recipient():
    batch = issue(quantity=1000)
    moved = batch.transfer(sender=HOLDER, recipient=BUYER, quantity=300, actor=HOLDER)
    assert moved == [[1, 301]]
    assert batch.lots == {f"available/{HOLDER}": [[301, 1001]],
                          f"available/{BUYER}": [[1, 301]]}
    assert_invariants(batch)


def test_transfers_back_and_forth_merge_adjacent_serials():
    batch = issue(quantity=1000)
    batch.transfer(sender=HOLDER, recipient=BUYER, quantity=300, actor=HOLDER)
    batch.transfer(sender=HOLDER, recipient=BUYER, quantity=200, actor=HOLDER)
    assert batch.lots[f"available/{BUYER}"] == [[1, 501]]
    # the buyer sends back its lowest serials, leaving a hole-free split
    assert batch.transfer(sender=BUYER, recipient=HOLDER, quantity=100, actor=BUYER) == [[1, 101]]
    assert batch.lots == {f"available/{HOLDER}": [[1, 101], [501, 1001]],
                          f"available/{BUYER}": [[101, 501]]}
    # the next move out of the holder spans two ranges, lowest first
    assert batch.transfer(sender=HOLDER, recipient=BUYER, quantity=150,
                          actor=HOLDER) == [[1, 101], [501, 551]]
    assert_invariants(batch)


def test_transferring_the_whole_holding_removes_the_senders_lot():
    batch = issue(quantity=1000)
    batch.transfer(sender=HOLDER, recipient=BUYER, quantity=1000, actor=HOLDER)
    assert batch.lots == {f"available/{BUYER}": [[1, 1001]]}
    assert batch.available(HOLDER) == 0


def test_transfer_beyond_the_available_balance_is_rejected_without_change():
    batch = issue(quantity=1000)
    error = assert_unchanged(batch, lambda: batch.transfer(
        sender=HOLDER, recipient=BUYER, quantity=1001, actor=HOLDER), InsufficientBalanceError)
    assert error.code == "insufficient-balance"
    assert error.details == {"batch": str(batch.id), "state": "available", "requested": 1001,
                             "available": 1000}


def test_account_without_credits_cannot_transfer():
    batch = issue(quantity=1000)
    error = assert_unchanged(batch, lambda: batch.transfer(
        sender=BUYER, recipient=HOLDER, quantity=1, actor=BUYER), InsufficientBalanceError)
    assert error.details["available"] == 0


def test_only_the_holder_may_transfer_its_credits():
    batch = issue(quantity=1000)
    assert_unchanged(batch, lambda: batch.transfer(
        sender=HOLDER, recipient=BUYER, quantity=10, actor=BUYER), PermissionDeniedError)


def test_transfer_to_oneself_is_rejected():
    batch = issue(quantity=1000)
    error = assert_unchanged(batch, lambda: batch.transfer(
        sender=HOLDER, recipient=HOLDER, quantity=10, actor=HOLDER), ValidationError)
    assert error.details["field"] == "recipient"


# ------------------------------------------------------- malformed quantities, every command

QUANTITY_COMMANDS: dict[str, Callable[[CreditBatch, object], object]] = {
    "transfer": lambda b, q: b.transfer(sender=HOLDER, recipient=BUYER, quantity=q,
                                        actor=HOLDER),
    "escrow": lambda b, q: escrow(b, q),
    "pledge": lambda b, q: pledge(b, q),
    "retire": lambda b, q: retire(b, q),
    "lock_for_tokens": lambda b, q: lock(b, q),
    "export": lambda b, q: export(b, q),
    "cancel": lambda b, q: cancel(b, q),
}


@pytest.mark.parametrize("command", sorted(QUANTITY_COMMANDS))
@pytest.mark.parametrize("quantity", [0, -5, 1.5, 10.0, True, "10"])
def test_malformed_quantity_is_rejected_by_every_command(command, quantity):
    batch = issue(quantity=1000)
    error = assert_unchanged(batch, lambda: QUANTITY_COMMANDS[command](batch, quantity),
                             ValidationError)
    assert error.details["field"] == "quantity"


@pytest.mark.parametrize("quantity", [0, -5, 1.5, True, "10"])
def test_malformed_quantity_is_rejected_by_settlement_and_unlocking(quantity):
    batch = issue(quantity=1000)
    listing = escrow(batch, 500)
    lock_id = lock(batch, 200)
    assert_unchanged(batch, lambda: settle(batch, listing, quantity), ValidationError)
    assert_unchanged(batch, lambda: batch.unlock_tokens(
        lock_id=lock_id, recipient=HOLDER, quantity=quantity, chain_reference="0xburn",
        actor=OPERATOR), ValidationError)


# -------------------------------------------- credits outside the available lot are locked

def _all_escrowed(batch):
    escrow(batch, 1000)


def _all_pledged(batch):
    pledge(batch, 1000)


def _all_retired(batch):
    retire(batch, 1000)


def _all_tokenised(batch):
    lock(batch, 1000)


def _all_exported(batch):
    export(batch, 1000)


def _all_cancelled(batch):
    cancel(batch, 1000)


LOCK_AWAY = {
    "escrowed": _all_escrowed,
    "pledged": _all_pledged,
    "retired": _all_retired,
    "tokenised": _all_tokenised,
    "exported": _all_exported,
    "cancelled": _all_cancelled,
}


@pytest.mark.parametrize("command", sorted(QUANTITY_COMMANDS))
@pytest.mark.parametrize("state", sorted(LOCK_AWAY))
def test_credits_out_of_the_available_lot_cannot_be_moved_again(state, command):
    """Escrowed, pledged, retired, tokenised, exported or cancelled credits cannot be
    transferred, escrowed, pledged, retired, tokenised, exported or cancelled."""
    batch = issue(quantity=1000)
    LOCK_AWAY[state](batch)
    assert batch.totals_by_state()[state] == 1000
    error = assert_unchanged(batch, lambda: QUANTITY_COMMANDS[command](batch, 1),
                             InsufficientBalanceError)
    assert error.details["state"] == "available"
    assert error.details["available"] == 0
    assert error.details["requested"] == 1


def test_pledged_credits_cannot_be_retired_but_the_rest_can():
    batch = issue(quantity=1000)
    pledge(batch, 600)
    error = assert_unchanged(batch, lambda: retire(batch, 401), InsufficientBalanceError)
    assert error.details["available"] == 400
    retire(batch, 400)
    assert batch.totals_by_state()["retired"] == 400
    assert batch.totals_by_state()["pledged"] == 600


def test_retired_credits_cannot_be_retired_twice():
    batch = issue(quantity=1000)
    retire(batch, 1000)
    assert_unchanged(batch, lambda: retire(batch, 1000), InsufficientBalanceError)


# ---------------------------------------------------------------------------- exchange


def test_escrow_holds_the_sellers_lowest_credits_for_the_listing():
    batch = issue(quantity=1000)
    listing = escrow(batch, 400, ref="GZ-AUCTION-7")
    assert batch.lots == {f"available/{HOLDER}": [[401, 1001]],
                          f"escrowed/{listing}": [[1, 401]]}
    assert batch.listings[str(listing)] == {"exchange": str(EXCHANGE), "seller": str(HOLDER),
                                            "listing_ref": "GZ-AUCTION-7", "open": True}
    assert batch.owner_of_lot(f"escrowed/{listing}") == str(HOLDER)
    assert_invariants(batch)


def test_only_the_exchange_itself_may_escrow_for_its_listing():
    batch = issue(quantity=1000)
    assert_unchanged(batch, lambda: batch.escrow(
        listing_id=uuid4(), listing_ref="L", exchange=EXCHANGE, seller=HOLDER, quantity=1,
        actor=HOLDER), PermissionDeniedError)


def test_listing_id_cannot_be_reused():
    batch = issue(quantity=1000)
    listing = escrow(batch, 100)
    error = assert_unchanged(batch, lambda: escrow(batch, 100, listing_id=listing),
                             DuplicateRecordError)
    assert error.details == {"record": str(listing)}


def test_listing_needs_a_reference():
    batch = issue(quantity=1000)
    error = assert_unchanged(batch, lambda: escrow(batch, 100, ref="  "), ValidationError)
    assert error.details["field"] == "listing_ref"


def test_escrow_beyond_the_sellers_balance_is_rejected():
    batch = issue(quantity=1000)
    assert_unchanged(batch, lambda: escrow(batch, 1001), InsufficientBalanceError)


def test_settled_trade_delivers_escrowed_serials_to_the_buyer():
    batch = issue(quantity=1000)
    listing = escrow(batch, 400)
    trade = uuid4()
    assert settle(batch, listing, 250, trade_id=trade) == [[1, 251]]
    assert batch.lots == {f"available/{HOLDER}": [[401, 1001]],
                          f"escrowed/{listing}": [[251, 401]],
                          f"available/{BUYER}": [[1, 251]]}
    assert batch.trades == {str(trade): str(listing)}
    assert_invariants(batch)


def test_settling_the_whole_listing_empties_the_escrow_lot():
    batch = issue(quantity=1000)
    listing = escrow(batch, 400)
    settle(batch, listing, 400)
    assert f"escrowed/{listing}" not in batch.lots
    assert_unchanged(batch, lambda: settle(batch, listing, 1), InsufficientBalanceError)


def test_settlement_beyond_the_escrowed_quantity_is_rejected():
    batch = issue(quantity=1000)
    listing = escrow(batch, 400)
    error = assert_unchanged(batch, lambda: settle(batch, listing, 401),
                             InsufficientBalanceError)
    assert error.details["state"] == "escrowed"
    assert error.details["available"] == 400


def test_settle_with_retire_on_delivery_puts_the_credits_in_a_retired_lot_of_the_buyer():
    batch = issue(quantity=1000)
    listing = escrow(batch, 400)
    retirement_id = uuid4()
    settle(batch, listing, 80, retirement_id=retirement_id, retirement={
        "beneficiary": "Wuhan petrol station", "purpose": "eco_compensation",
        "jurisdiction": "Wuhan", "consumption_period": "2024",
        "details": {"case_reference": "(2024) 鄂01 民初 1号"}})
    assert batch.lots[f"retired/{retirement_id}"] == [[1, 81]]
    assert batch.available(BUYER) == 0
    assert batch.owner_of_lot(f"retired/{retirement_id}") == str(BUYER)
    events = batch.collect_events()
    settled = events[-1]
    assert settled.retirement_id == str(retirement_id)
    assert settled.retirement["purpose"] == "eco_compensation"
    assert_invariants(batch)


def test_retire_on_delivery_needs_a_retirement_id_and_valid_details():
    batch = issue(quantity=1000)
    listing = escrow(batch, 400)
    error = assert_unchanged(batch, lambda: settle(batch, listing, 10, retirement=RETIREMENT),
                             ValidationError)
    assert error.details["field"] == "retirement_id"
    bad = {**RETIREMENT, "purpose": "greenwashing"}
    error = assert_unchanged(batch, lambda: settle(batch, listing, 10, retirement_id=uuid4(),
                                                   retirement=bad), ValidationError)
    assert error.details["field"] == "purpose"


def test_retire_on_delivery_cannot_reuse_a_retirement_id():
    batch = issue(quantity=1000)
    retirement_id = retire(batch, 100)
    listing = escrow(batch, 400)
    assert_unchanged(batch, lambda: settle(batch, listing, 10, retirement_id=retirement_id,
                                           retirement=RETIREMENT), DuplicateRecordError)


def test_trade_id_cannot_be_settled_twice_in_a_batch():
    batch = issue(quantity=1000)
    listing = escrow(batch, 400)
    trade = uuid4()
    settle(batch, listing, 10, trade_id=trade)
    error = assert_unchanged(batch, lambda: settle(batch, listing, 10, trade_id=trade),
                             DuplicateRecordError)
    assert error.details == {"record": str(trade)}


def test_listing_of_another_exchange_cannot_be_settled_or_cancelled():
    batch = issue(quantity=1000)
    listing = escrow(batch, 400)
    error = assert_unchanged(batch, lambda: settle(batch, listing, 10, actor=OTHER_EXCHANGE),
                             PermissionDeniedError)
    assert error.details == {"listing": str(listing)}
    assert_unchanged(batch, lambda: batch.cancel_listing(listing_id=listing,
                                                         actor=OTHER_EXCHANGE),
                     PermissionDeniedError)


def test_unknown_listing_cannot_be_settled_or_cancelled():
    batch = issue(quantity=1000)
    missing = uuid4()
    error = assert_unchanged(batch, lambda: settle(batch, missing, 10), RecordNotFoundError)
    assert error.details == {"listing": str(missing)}
    assert_unchanged(batch, lambda: batch.cancel_listing(listing_id=missing, actor=EXCHANGE),
                     RecordNotFoundError)


def test_settlement_must_name_the_listings_seller_and_another_buyer():
    batch = issue(quantity=1000)
    listing = escrow(batch, 400)
    error = assert_unchanged(batch, lambda: settle(batch, listing, 10, seller=BUYER,
                                                   buyer=BANK), ValidationError)
    assert error.details["field"] == "seller"
    error = assert_unchanged(batch, lambda: settle(batch, listing, 10, buyer=HOLDER),
                             ValidationError)
    assert error.details["field"] == "buyer"


def test_cancelled_listing_returns_the_rest_to_the_seller_and_cannot_be_settled():
    batch = issue(quantity=1000)
    listing = escrow(batch, 400)
    settle(batch, listing, 100)
    assert batch.cancel_listing(listing_id=listing, actor=EXCHANGE) == [[101, 401]]
    assert batch.lots == {f"available/{HOLDER}": [[101, 1001]],
                          f"available/{BUYER}": [[1, 101]]}
    assert batch.listings[str(listing)]["open"] is False
    error = assert_unchanged(batch, lambda: settle(batch, listing, 1), InvalidStateError)
    assert error.details == {"listing": str(listing)}
    assert_unchanged(batch, lambda: batch.cancel_listing(listing_id=listing, actor=EXCHANGE),
                     InvalidStateError)
    assert_invariants(batch)


def test_fully_settled_listing_can_still_be_closed():
    batch = issue(quantity=1000)
    listing = escrow(batch, 400)
    settle(batch, listing, 400)
    assert batch.cancel_listing(listing_id=listing, actor=EXCHANGE) == []
    assert batch.listings[str(listing)]["open"] is False
    assert_invariants(batch)


# ---------------------------------------------------------------------------- pledges


@pytest.mark.parametrize("registered_by", ["holder", "bank"])
def test_pledge_locks_credits_registered_by_the_pledgor_or_the_bank(registered_by):
    batch = issue(quantity=1000)
    actor = HOLDER if registered_by == "holder" else BANK
    pledge_id = pledge(batch, 600, actor=actor)
    assert batch.lots == {f"available/{HOLDER}": [[601, 1001]],
                          f"pledged/{pledge_id}": [[1, 601]]}
    assert batch.pledges[str(pledge_id)] == {"holder": str(HOLDER), "bank": str(BANK),
                                             "loan_reference": "LOAN-2024-7",
                                             "status": "active"}
    assert batch.owner_of_lot(f"pledged/{pledge_id}") == str(HOLDER)
    assert_invariants(batch)


def test_third_party_cannot_register_a_pledge():
    batch = issue(quantity=1000)
    assert_unchanged(batch, lambda: pledge(batch, 10, actor=BUYER), PermissionDeniedError)


def test_pledge_to_oneself_blank_loan_reference_and_reused_pledge_id_are_rejected():
    batch = issue(quantity=1000, holder=BANK)
    error = assert_unchanged(batch, lambda: pledge(batch, 10, holder=BANK, bank=BANK),
                             ValidationError)
    assert error.details["field"] == "bank"
    batch = issue(quantity=1000)
    error = assert_unchanged(batch, lambda: batch.pledge(
        pledge_id=uuid4(), holder=HOLDER, bank=BANK, loan_reference=" ", quantity=10,
        actor=BANK), ValidationError)
    assert error.details["field"] == "loan_reference"
    pledge_id = pledge(batch, 10)
    assert_unchanged(batch, lambda: pledge(batch, 10, pledge_id=pledge_id),
                     DuplicateRecordError)


def test_same_credits_cannot_be_pledged_twice():
    batch = issue(quantity=1000)
    pledge(batch, 1000, bank=BANK)
    assert_unchanged(batch, lambda: pledge(batch, 1, bank=OTHER_BANK), InsufficientBalanceError)


def test_released_pledge_returns_the_credits_to_the_pledgor():
    batch = issue(quantity=1000)
    pledge_id = pledge(batch, 600)
    assert batch.release_pledge(pledge_id=pledge_id, actor=BANK) == [[1, 601]]
    assert batch.lots == {f"available/{HOLDER}": [[1, 1001]]}
    assert batch.pledges[str(pledge_id)]["status"] == "released"


def test_enforced_pledge_gives_the_credits_to_the_bank():
    batch = issue(quantity=1000)
    pledge_id = pledge(batch, 600)
    assert batch.enforce_pledge(pledge_id=pledge_id, actor=BANK) == [[1, 601]]
    assert batch.lots == {f"available/{HOLDER}": [[601, 1001]],
                          f"available/{BANK}": [[1, 601]]}
    assert batch.pledges[str(pledge_id)]["status"] == "enforced"
    assert_invariants(batch)


@pytest.mark.parametrize("action", ["release_pledge", "enforce_pledge"])
@pytest.mark.parametrize("actor", [OTHER_BANK, HOLDER, BUYER])
def test_only_the_pledgee_bank_may_release_or_enforce(action, actor):
    batch = issue(quantity=1000)
    pledge_id = pledge(batch, 600)
    error = assert_unchanged(batch, lambda: getattr(batch, action)(pledge_id=pledge_id,
                                                                   actor=actor),
                             PermissionDeniedError)
    assert error.details == {"pledge": str(pledge_id), "actor": str(actor)}


@pytest.mark.parametrize("first", ["release_pledge", "enforce_pledge"])
@pytest.mark.parametrize("second", ["release_pledge", "enforce_pledge"])
def test_pledge_cannot_be_released_or_enforced_twice(first, second):
    batch = issue(quantity=1000)
    pledge_id = pledge(batch, 600)
    getattr(batch, first)(pledge_id=pledge_id, actor=BANK)
    error = assert_unchanged(batch, lambda: getattr(batch, second)(pledge_id=pledge_id,
                                                                   actor=BANK),
                             InvalidStateError)
    status = "released" if first == "release_pledge" else "enforced"
    assert error.details == {"pledge": str(pledge_id), "status": status}


def test_unknown_pledge_cannot_be_released():
    batch = issue(quantity=1000)
    missing = uuid4()
    error = assert_unchanged(batch, lambda: batch.release_pledge(pledge_id=missing, actor=BANK),
                             RecordNotFoundError)
    assert error.details == {"pledge": str(missing)}


# ---------------------------------------------------------------------------- retirement


def test_retirement_moves_credits_to_a_permanent_retired_lot():
    batch = issue(quantity=1000)
    retirement_id = retire(batch, 300)
    assert batch.lots == {f"available/{HOLDER}": [[301, 1001]],
                          f"retired/{retirement_id}": [[1, 301]]}
    assert batch.owner_of_lot(f"retired/{retirement_id}") == str(HOLDER)
    retired = batch.collect_events()[-1]
    assert retired.details == {"beneficiary": "舒氏集团", "purpose": "compliance_offset",
                               "jurisdiction": "Hubei", "consumption_period": "2023",
                               "compliance_period": "2023"}


def test_only_the_holder_may_retire_and_a_retirement_id_is_used_once():
    batch = issue(quantity=1000)
    assert_unchanged(batch, lambda: batch.retire(retirement_id=uuid4(), holder=HOLDER,
                                                 quantity=1, details=RETIREMENT, actor=BUYER),
                     PermissionDeniedError)
    retirement_id = retire(batch, 1)
    assert_unchanged(batch, lambda: retire(batch, 1, retirement_id=retirement_id),
                     DuplicateRecordError)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"purpose": "offsetting"}, "purpose"),
        ({"beneficiary": " "}, "beneficiary"),
        ({"jurisdiction": ""}, "jurisdiction"),
        ({"consumption_period": " "}, "consumption_period"),
        ({"details": {}}, "compliance_period"),
        ({"details": {"compliance_period": "2023", "colour": "green"}}, "colour"),
        ({"details": {"compliance_period": "2023", "footprint_g": 1.5}}, "footprint_g"),
        ({"details": {"compliance_period": "2023", "footprint_g": 0}}, "footprint_g"),
        ({"details": {"compliance_period": "2023", "note": 7}}, "note"),
        ({"purpose": "event_neutrality", "details": {}}, "event"),
        ({"purpose": "donation", "details": {"event": "x"}}, "event"),
    ],
)
def test_retirement_with_invalid_purpose_details_is_rejected(changes, field):
    batch = issue(quantity=1000)
    details = {**RETIREMENT, **changes}
    error = assert_unchanged(batch, lambda: retire(batch, 10, details=details), ValidationError)
    assert error.details["field"] == field


@pytest.mark.parametrize(
    ("purpose", "detail"),
    [("event_neutrality", {"event": "World Gas Conference 2025"}),
     ("operational_neutrality", {"subject": "Yunnan branch"}),
     ("product_neutrality", {"product": "carbon-neutral rice"}),
     ("eco_compensation", {"case_reference": "court-2024-17"}),
     ("donation", {"recipient": "Chengdu World Games"}),
     ("voluntary", {})],
)
def test_every_retirement_purpose_is_accepted_with_its_required_detail(purpose, detail):
    batch = issue(quantity=1000)
    retire(batch, 10, details={**RETIREMENT, "purpose": purpose, "details": detail})
    assert batch.totals_by_state()["retired"] == 10


# ---------------------------------------------------------------------------- tokenisation


def test_locked_credits_are_tokenised_and_unlocking_returns_them_partially():
    batch = issue(quantity=1000)
    lock_id = lock(batch, 500)
    assert batch.lots[f"tokenised/{lock_id}"] == [[1, 501]]
    assert batch.owner_of_lot(f"tokenised/{lock_id}") == str(HOLDER)
    # burned tokens come back off-chain, possibly to someone else
    assert batch.unlock_tokens(lock_id=lock_id, recipient=BUYER, quantity=200,
                               chain_reference="0xburn1", actor=OPERATOR) == [[1, 201]]
    assert batch.lots == {f"available/{HOLDER}": [[501, 1001]],
                          f"tokenised/{lock_id}": [[201, 501]],
                          f"available/{BUYER}": [[1, 201]]}
    assert_invariants(batch)


def test_unlocking_more_than_is_locked_is_rejected():
    batch = issue(quantity=1000)
    lock_id = lock(batch, 500)
    error = assert_unchanged(batch, lambda: batch.unlock_tokens(
        lock_id=lock_id, recipient=HOLDER, quantity=501, chain_reference="0x",
        actor=OPERATOR), InsufficientBalanceError)
    assert error.details["state"] == "tokenised"
    assert error.details["available"] == 500


def test_unknown_token_lock_cannot_be_unlocked():
    batch = issue(quantity=1000)
    assert_unchanged(batch, lambda: batch.unlock_tokens(
        lock_id=uuid4(), recipient=HOLDER, quantity=1, chain_reference="0x", actor=OPERATOR),
        RecordNotFoundError)


def test_token_lock_rules():
    batch = issue(quantity=1000)
    assert_unchanged(batch, lambda: batch.lock_for_tokens(
        lock_id=uuid4(), holder=HOLDER, quantity=1, chain_address="0xabc", actor=BUYER),
        PermissionDeniedError)
    error = assert_unchanged(batch, lambda: batch.lock_for_tokens(
        lock_id=uuid4(), holder=HOLDER, quantity=1, chain_address=" ", actor=HOLDER),
        ValidationError)
    assert error.details["field"] == "chain_address"
    lock_id = lock(batch, 1)
    assert_unchanged(batch, lambda: lock(batch, 1, lock_id=lock_id), DuplicateRecordError)


# ---------------------------------------------------------------------------- export, cancel


def test_exported_credits_are_gone_for_good():
    batch = issue(quantity=1000)
    export_id = export(batch, 700)
    assert batch.lots[f"exported/{export_id}"] == [[1, 701]]
    assert batch.owner_of_lot(f"exported/{export_id}") == str(HOLDER)
    assert_unchanged(batch, lambda: batch.transfer(sender=HOLDER, recipient=BUYER,
                                                   quantity=301, actor=HOLDER),
                     InsufficientBalanceError)


def test_export_rules():
    batch = issue(quantity=1000)
    assert_unchanged(batch, lambda: batch.export(export_id=uuid4(), holder=HOLDER, quantity=1,
                                                 destination="CCER", actor=BUYER),
                     PermissionDeniedError)
    error = assert_unchanged(batch, lambda: batch.export(
        export_id=uuid4(), holder=HOLDER, quantity=1, destination=" ", actor=HOLDER),
        ValidationError)
    assert error.details["field"] == "destination"
    export_id = export(batch, 1)
    assert_unchanged(batch, lambda: export(batch, 1, export_id=export_id),
                     DuplicateRecordError)


def test_cancellation_moves_credits_to_a_cancelled_lot_and_needs_a_reason():
    batch = issue(quantity=1000)
    error = assert_unchanged(batch, lambda: batch.cancel(
        cancellation_id=uuid4(), holder=HOLDER, quantity=1, reason=" ", actor=OPERATOR),
        ValidationError)
    assert error.details["field"] == "reason"
    cancellation_id = cancel(batch, 250)
    assert batch.lots[f"cancelled/{cancellation_id}"] == [[1, 251]]
    assert batch.owner_of_lot(f"cancelled/{cancellation_id}") == str(HOLDER)
    assert_unchanged(batch, lambda: cancel(batch, 1, cancellation_id=cancellation_id),
                     DuplicateRecordError)
    assert_unchanged(batch, lambda: cancel(batch, 751), InsufficientBalanceError)


# ---------------------------------------------------------------------------- corrections


@pytest.mark.parametrize(
    ("field", "value"), [("region", "Hubei"), ("vintage", 2023), ("project_name", "Metro")]
)
def test_descriptive_fields_can_be_corrected_keeping_the_original_in_history(field, value):
    batch = issue(quantity=1000)
    previous = batch.metadata.get(field)
    batch.correct(field=field, value=value, reason=" registry typo ", actor=OPERATOR)
    assert batch.metadata[field] == value
    if field != "project_name":
        assert getattr(batch, field) == value
    corrected = batch.collect_events()[-1]
    assert (corrected.field, corrected.previous, corrected.value, corrected.reason) == (
        field, previous, value, "registry typo")
    assert batch.lots == {f"available/{HOLDER}": [[1, 1001]]}


@pytest.mark.parametrize(
    ("field", "value", "reason", "bad_field"),
    [
        ("quantity", 5, "r", "field"),
        ("holder", str(BUYER), "r", "field"),
        ("block", "HBCER-2024-000009", "r", "field"),
        ("vintage", 1900, "r", "value"),
        ("vintage", "2023", "r", "value"),
        ("vintage", True, "r", "value"),
        ("region", " ", "r", "value"),
        ("region", 7, "r", "value"),
        ("region", "Hubei", "  ", "reason"),
    ],
)
def test_invalid_corrections_are_rejected(field, value, reason, bad_field):
    batch = issue(quantity=1000)
    error = assert_unchanged(batch, lambda: batch.correct(field=field, value=value,
                                                          reason=reason, actor=OPERATOR),
                             ValidationError)
    assert error.details["field"] == bad_field


def test_correction_to_the_current_value_is_rejected():
    batch = issue(quantity=1000)
    error = assert_unchanged(batch, lambda: batch.correct(field="region", value="Wuhan",
                                                          reason="r", actor=OPERATOR),
                             InvalidStateError)
    assert error.details == {"field": "region"}


# ---------------------------------------------------------------------------- lots and history


def test_lot_keys_name_state_and_reference():
    ref = uuid4()
    assert lot_key(LotState.PLEDGED, ref) == f"pledged/{ref}"
    assert split_lot_key(f"pledged/{ref}") == (LotState.PLEDGED, str(ref))
    with pytest.raises(ValueError):
        split_lot_key("lost/123")


def test_full_history_replays_to_identical_lots_and_records():
    batch = issue(quantity=10_000)
    listing = escrow(batch, 3000)
    settle(batch, listing, 1000)
    settle(batch, listing, 500, retirement_id=uuid4(), retirement=RETIREMENT)
    batch.cancel_listing(listing_id=listing, actor=EXCHANGE)
    released = pledge(batch, 1000)
    enforced = pledge(batch, 1000, bank=OTHER_BANK)
    batch.release_pledge(pledge_id=released, actor=BANK)
    batch.enforce_pledge(pledge_id=enforced, actor=OTHER_BANK)
    lock_id = lock(batch, 800)
    batch.unlock_tokens(lock_id=lock_id, recipient=BUYER, quantity=300, chain_reference="0x1",
                        actor=OPERATOR)
    retire(batch, 100)
    export(batch, 100)
    cancel(batch, 100)
    batch.transfer(sender=BUYER, recipient=HOLDER, quantity=50, actor=BUYER)
    batch.correct(field="region", value="Hubei", reason="typo", actor=OPERATOR)
    assert_invariants(batch)

    events = batch.collect_events()
    replica = events[0].mutate(None)
    for domain_event in events[1:]:
        replica = domain_event.mutate(replica)
    assert replica.version == batch.version == len(events)
    assert replica.lots == batch.lots
    for name in ("listings", "pledges", "retirements", "locks", "exports", "cancellations",
                 "trades", "metadata", "region"):
        assert getattr(replica, name) == getattr(batch, name), name
    assert {state: len(lots_by_state(batch, state)) for state in LotState} == {
        LotState.AVAILABLE: 3,  # holder, buyer and the bank that enforced its pledge
        LotState.ESCROWED: 0,
        LotState.PLEDGED: 0,
        LotState.RETIRED: 2,
        LotState.TOKENISED: 1,
        LotState.EXPORTED: 1,
        LotState.CANCELLED: 1,
    }
