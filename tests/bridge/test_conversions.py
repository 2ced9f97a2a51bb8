"""Grams <-> 18-decimal token units (1 token = 1 t, so 1 g = 10**12 units), exactly, and the
bridge message a lock carries, against eth-abi as an independent encoder."""

from __future__ import annotations

from uuid import UUID

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from hypothesis import given
from hypothesis import strategies as st

from anchoring.bridge import PURPOSE_DETAIL_FIELDS, UNITS_PER_GRAM, grams_to_units, units_to_grams
from ledger.domain import retirement
from ledger.domain.credit_batch import bridge_lock_message, decode_bridge_lock_message
from ledger.domain.errors import ValidationError
from ledger.domain.quantities import MAX_GRAMS

grams = st.integers(min_value=1, max_value=MAX_GRAMS)  # what a ledger record may carry
addresses = st.binary(min_size=20, max_size=20).filter(any).map(lambda b: "0x" + b.hex())
uuids = st.binary(min_size=16, max_size=16).map(lambda b: UUID(bytes=b))


def test_one_tonne_is_one_token_of_18_decimals():
    assert UNITS_PER_GRAM == 10**12
    assert grams_to_units(1_000_000) == 10**18
    assert units_to_grams(10**18) == 1_000_000
    assert grams_to_units(4_544_760_000) == 4_544_760_000 * 10**12  # 4,544.76 t


@given(grams)
def test_grams_to_units_and_back_is_exact(g):
    units = grams_to_units(g)
    assert units == g * 10**12
    assert units_to_grams(units) == g


@given(grams, st.integers(min_value=1, max_value=UNITS_PER_GRAM - 1))
def test_units_that_are_not_whole_grams_are_rejected(g, remainder):
    for units in (g * UNITS_PER_GRAM + remainder, remainder):
        with pytest.raises(ValidationError) as raised:
            units_to_grams(units)
        assert raised.value.details["field"] == "amount"


@given(st.integers(max_value=0))
def test_no_units_or_negative_units_are_rejected(units):
    with pytest.raises(ValidationError):
        units_to_grams(units)
    with pytest.raises(ValidationError):
        grams_to_units(units)


@pytest.mark.parametrize("value", [1.0, 10.0**12, True, "1000000000000", None])
def test_floats_bools_and_text_are_refused_both_ways(value):
    with pytest.raises(ValidationError):
        units_to_grams(value)
    with pytest.raises(ValidationError):
        grams_to_units(value)


def test_amounts_beyond_uint256_are_refused():
    with pytest.raises(ValidationError):
        units_to_grams(2**256 * UNITS_PER_GRAM)


def test_amounts_beyond_what_a_ledger_record_holds_are_refused():
    assert units_to_grams(MAX_GRAMS * UNITS_PER_GRAM) == MAX_GRAMS
    with pytest.raises(ValidationError):
        units_to_grams((MAX_GRAMS + 1) * UNITS_PER_GRAM)
    with pytest.raises(ValidationError):
        grams_to_units(MAX_GRAMS + 1)


@given(st.integers(min_value=1, max_value=2**64), addresses, uuids, uuids, addresses, grams)
def test_bridge_message_is_the_abi_encoding_of_the_lock(chain_id, token, batch, lock,
                                                         recipient, g):
    message = bridge_lock_message(chain_id=chain_id, token_contract=token, batch_id=batch,
                                  lock_id=lock, recipient=recipient, quantity=g)
    types = ["uint256", "address", "bytes16", "bytes16", "address", "uint256"]
    assert message == abi_encode(types, [chain_id, token, batch.bytes, lock.bytes, recipient,
                                         g * UNITS_PER_GRAM]).hex()
    assert len(message) == 384 and message == message.lower()
    decoded = abi_decode(types, bytes.fromhex(message))
    assert decoded[5] == g * UNITS_PER_GRAM
    assert tuple(decode_bridge_lock_message(message)) == (
        chain_id, token.lower(), batch, lock, recipient.lower(), g * UNITS_PER_GRAM)


@pytest.mark.parametrize(("field", "changes"), [
    ("chain_address", {"recipient": "0xabc"}),
    ("chain_address", {"recipient": "0x" + "00" * 20}),
    ("token_contract", {"token_contract": "pool"}),
    ("chain_id", {"chain_id": 0}),
    ("chain_id", {"chain_id": True}),
    ("grams", {"quantity": 1.5}),
])
def test_bridge_messages_need_evm_addresses_a_chain_and_whole_grams(field, changes):
    arguments = {"chain_id": 1, "token_contract": "0x" + "11" * 20,
                 "batch_id": UUID(int=1), "lock_id": UUID(int=2),
                 "recipient": "0x" + "22" * 20, "quantity": 5, **changes}
    with pytest.raises(ValidationError) as raised:
        bridge_lock_message(**arguments)
    assert raised.value.details["field"] == field


def test_on_chain_purpose_detail_fills_the_field_the_ledger_requires():
    required = retirement._REQUIRED
    assert set(PURPOSE_DETAIL_FIELDS) == {p.value for p in retirement.RetirementPurpose}
    for purpose, fields in required.items():
        assert PURPOSE_DETAIL_FIELDS[purpose.value] == (fields[0] if fields else None)
        assert len(fields) <= 1
