"""Quantities are whole grams: parsed exactly, never rounded, never floats."""

import unicodedata
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.errors import ValidationError
from ledger.domain.quantities import (
    ACCEPTED_FORMS,
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
        ("1,000.5 kg", 1_000_500),
        ("1,234,567.000001 t", 1_234_567_000_001),
        ("3 kg CO2e", 3_000),
        ("3 kgCO2e", 3_000),
        ("3 gCO2e", 3),
        ("3 g CO2e", 3),
        ("7 t CO2e", 7_000_000),
        ("5 tonnes", 5_000_000),
        ("1 tonne", 1_000_000),
        ("3 吨", 3_000_000),
        ("3吨", 3_000_000),
        ("2 千克", 2_000),
        ("2公斤", 2_000),
        ("9 克", 9),
        ("\uff11\uff0c\uff15\uff10\uff10 吨", 1_500_000_000),  # full-width digits and comma: NFKC
        ("\uff12.\uff16\uff12\uff54", 2_620_000),
        ("1,500\u00a0g", 1_500),  # a no-break space is a space (NFKC)
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
    "text", ["", "t", "ten tonnes", "NaN", "Infinity t", "1.2.3 kg", "0", "0 t", "-5 t",
             "1e3 g", "+5 t", ".5 t", "5. t", "5 kgs", "5 lb", "5\tt", "٣ t"]
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


@pytest.mark.parametrize(
    "text",
    [
        "1,5 t",  # a decimal comma is not a thousands separator: was read as 15 t
        "1,0,0 t",  # was read as 100 t
        "1__0 kg",  # was read as 10 kg
        "1_0 kg", "10,00 t", "1,0000 t", ",100 t", "100, t", "1,000,00 t", "0,001 t",
        "1,000_000 t",  # one kind of separator per number
        "1.000,5 kg", "1.5,0 t", "1.500_000 t",  # no separator in the fraction
        "1,,000 t", "1 000 t", "1'000 t",
    ],
)
def test_separators_outside_thousands_positions_are_refused_listing_the_forms(text):
    """Issue 15: separators were deleted wherever they stood, so ``"1,5 t"`` became 15 t."""
    with pytest.raises(ValidationError) as raised:
        parse_quantity(text, "quantity_g")
    assert raised.value.details["field"] == "quantity_g"
    assert raised.value.details["accepted"] == ACCEPTED_FORMS
    assert "accepted:" in raised.value.message and "吨" in raised.value.message


@given(st.integers(min_value=1, max_value=MAX_GRAMS))
def test_any_gram_amount_formatted_in_any_accepted_way_parses_back(grams):
    assert parse_quantity(format_grams(grams)) == grams
    assert parse_quantity(f"{grams:,} g") == grams
    assert parse_quantity(f"{grams:_}gCO2e") == grams
    assert parse_quantity(f"{grams}") == grams
    if grams % GRAMS_PER_KG == 0:
        assert parse_quantity(f"{grams // GRAMS_PER_KG:,} 千克") == grams


_REFERENCE_UNITS = {"": 1, "g": 1, "gco2e": 1, "克": 1, "kg": 1_000, "kgco2e": 1_000,
                    "千克": 1_000, "公斤": 1_000, "t": 10**6, "tco2e": 10**6, "tonne": 10**6,
                    "tonnes": 10**6, "吨": 10**6}


def _reference_reading(text: str) -> int | None:
    """An independent, deliberately naive strict reading: split number and unit at the
    first character that is not a digit, separator or point; the thousands grouping is
    valid exactly when Python's own grouping of the whole part reproduces it."""
    text = unicodedata.normalize("NFKC", text).strip(" ")
    cut = 0
    while cut < len(text) and text[cut] in "0123456789,_.":
        cut += 1
    number, unit = text[:cut], text[cut:].strip(" ").lower()
    unit = " ".join(part for part in unit.split(" ") if part).replace(" co2e", "co2e")
    if unit not in _REFERENCE_UNITS or not number:
        return None
    whole, _, fraction = number.partition(".")
    if "." in fraction or (_ and not fraction) or not whole:
        return None
    if not fraction.isdigit() and fraction:
        return None
    for separator in ",_":
        if separator in whole:
            plain = whole.replace(separator, "")
            if not plain.isdigit() or format(int(plain), separator) != whole:
                return None
            whole = plain
    if not whole.isdigit():
        return None
    scaled = (int(whole) * 10 ** len(fraction) + (int(fraction) if fraction else 0)) \
        * _REFERENCE_UNITS[unit]
    grams, remainder = divmod(scaled, 10 ** len(fraction))
    if remainder or not 0 < grams <= MAX_GRAMS:
        return None
    return grams


_PIECES = st.sampled_from(["0", "1", "5", "9", "00", "000", "123", "1,000", ",", "_", ".",
                           " ", "  ", "t", "kg", "g", " CO2e", "co2e", "tonnes", "吨", "千克",
                           "克", "e", "-", "+", "\uff15", "\uff0c", "\uff0e", "\u00a0", "\t", "x"])


@given(st.lists(_PIECES, max_size=10).map("".join))
def test_any_text_parses_to_the_strict_reading_or_is_refused(text):
    """Never a different number: the parser agrees with an independent strict reading."""
    expected = _reference_reading(text)
    try:
        grams = parse_quantity(text)
    except ValidationError:
        grams = None
    assert grams == expected, text
