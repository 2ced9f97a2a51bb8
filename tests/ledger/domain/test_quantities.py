"""Quantities are whole grams: parsed exactly, never rounded, never floats."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.errors import ValidationError
from ledger.domain.quantities import (
    GRAMS_PER_KG,
    GRAMS_PER_TONNE,
    MAX_GRAMS,
    format_grams,
    parse_quantity,
    require_grams,
)


@pytest.mark.parametrize(
    ("text", "grams"),
    [
        ("4,544.76 t", 4_544_760_000),  # World Gas Conference 2025 footprint
        ("5503 kg", 5_503_000),  # CIIE 2022 forum
        ("2,000 t", 2_000_000_000),  # Hubei pilot market purchase
        ("80t", 80_000_000),  # Wuhan eco-compensation, no space before the unit
        ("1500 g", 1_500),
        ("1500", 1_500),  # a bare number is grams
        ("43_474 t", 43_474_000_000),
        ("  2.62 T  ", 2_620_000),  # case and surrounding blanks do not matter
        ("3 tCO2e", 3_000_000),
        ("0.000001 t", 1),  # one gram expressed in tonnes
        ("1.5 kg", 1_500),
        ("1e3 g", 1_000),
    ],
)
def test_quantity_text_is_parsed_exactly_into_grams(text, grams):
    assert parse_quantity(text) == grams


def test_an_int_is_taken_as_grams():
    assert parse_quantity(7407) == 7407


@pytest.mark.parametrize(
    "text",
    ["0.0000001 t", "0.5 g", "1.0001 kg", "4,544.7600001 t"],
)
def test_amount_that_is_not_whole_grams_is_rejected_not_rounded(text):
    with pytest.raises(ValidationError) as raised:
        parse_quantity(text, "footprint")
    assert raised.value.code == "validation-error"
    assert raised.value.details["field"] == "footprint"
    assert raised.value.details["value"] == text


@pytest.mark.parametrize(
    "text", ["", "t", "ten tonnes", "NaN", "Infinity t", "1.2.3 kg", "0", "0 t", "-5 t"]
)
def test_malformed_or_non_positive_quantity_text_is_rejected(text):
    with pytest.raises(ValidationError) as raised:
        parse_quantity(text)
    assert raised.value.details["field"] == "quantity"


@pytest.mark.parametrize("value", [1.5, 10.0, None, b"10", [10], Decimal("10")])
def test_parse_quantity_refuses_values_that_are_neither_text_nor_int(value):
    with pytest.raises(ValidationError):
        parse_quantity(value)


@pytest.mark.parametrize("value", [0, -1, 1.5, 10.0, True, False, "10", None, Decimal("10")])
def test_require_grams_rejects_malformed_quantities(value):
    with pytest.raises(ValidationError) as raised:
        require_grams(value, "quantity")
    assert raised.value.code == "validation-error"
    assert raised.value.details["field"] == "quantity"


def test_require_grams_accepts_zero_only_when_allowed():
    assert require_grams(0, "points", allow_zero=True) == 0
    assert require_grams(1) == 1
    with pytest.raises(ValidationError):
        require_grams(-1, allow_zero=True)


@pytest.mark.parametrize(
    "text", ["1.0000000000000000000000000001 g", "5503.00000000000000000000000001 kg"]
)
def test_long_amount_with_sub_gram_remainder_is_rejected_not_rounded(text):
    with pytest.raises(ValidationError):
        parse_quantity(text)


@pytest.mark.parametrize(
    ("grams", "text"),
    [
        (4_544_760_000, "4,544.76 t"),
        (5_503_000, "5.503 t"),
        (5_503, "5.503 kg"),
        (2_000_000_000, "2,000 t"),
        (1_000_000, "1 t"),
        (1_000, "1 kg"),
        (999, "999 g"),
        (0, "0 g"),
        (1_000_001, "1.000001 t"),
        (-2_620_000, "-2.62 t"),
    ],
)
def test_format_grams_renders_exactly(grams, text):
    assert format_grams(grams) == text


@given(st.integers(min_value=1, max_value=10**18))
def test_format_grams_round_trips_through_parse_quantity(grams):
    assert parse_quantity(format_grams(grams)) == grams


@given(
    whole=st.integers(min_value=0, max_value=10**9),
    unit=st.sampled_from([("g", 1), ("kg", GRAMS_PER_KG), ("t", GRAMS_PER_TONNE)]),
)
def test_whole_units_parse_to_their_multiple_of_grams(whole, unit):
    name, factor = unit
    text = f"{whole:,} {name}"
    if whole == 0:
        with pytest.raises(ValidationError):
            parse_quantity(text)
    else:
        assert parse_quantity(text) == whole * factor


def test_require_grams_refuses_what_a_64_bit_read_model_cannot_hold():
    assert require_grams(MAX_GRAMS) == MAX_GRAMS
    with pytest.raises(ValidationError) as raised:
        require_grams(MAX_GRAMS + 1, "quantity")
    assert raised.value.details["field"] == "quantity"
