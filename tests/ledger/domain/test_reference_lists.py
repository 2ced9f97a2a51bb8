"""The domain's reference lists and clock rules (issue 15): vintages in the registry's local
year, ISO 4217 settlement currencies, export destinations, times not ahead of the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.currencies import ISO_4217_ACTIVE, SETTLEMENT_CURRENCIES, check_currency
from ledger.domain.destinations import EXPORT_DESTINATIONS, check_destination
from ledger.domain.errors import ValidationError
from ledger.domain.timeutil import MAX_CLOCK_SKEW, check_not_future
from ledger.domain.vintage import CHINA_STANDARD_TIME, vintage_of


@given(st.integers(min_value=1990, max_value=2100))
def test_the_vintage_turns_at_midnight_beijing_time(year):
    new_year = datetime(year, 1, 1, tzinfo=CHINA_STANDARD_TIME)
    assert vintage_of(new_year, "PHCER") == year
    assert vintage_of(new_year - timedelta(microseconds=1), "CCER") == year - 1
    assert vintage_of(new_year.astimezone(UTC), "SHCER") == year  # still 16:00 UTC the day before


def test_a_registry_may_count_vintages_in_its_own_zone():
    start = datetime(2023, 1, 1, 0, 0, tzinfo=CHINA_STANDARD_TIME)
    assert vintage_of(start, "XYCER", {"XYCER": UTC}) == 2022
    with pytest.raises(ValidationError):
        vintage_of(datetime(2023, 1, 1), "PHCER")  # naive: no instant


@pytest.mark.parametrize("code", ["CNY", "HKD", "USD", "EUR", "JPY", "XCG", "ZWG", "CHE"])
def test_active_iso_4217_codes_are_settlement_currencies(code):
    assert check_currency(code) == code


@pytest.mark.parametrize("code", ["ZZZ", "cny", "CN", "CNYY", "", " CNY", "XTS", "XXX", "XAU",
                                  "HRK", "ANG", "ZWL", "RMB", None, 156])
def test_other_codes_are_refused(code):
    with pytest.raises(ValidationError) as raised:
        check_currency(code)
    assert raised.value.details["field"] == "currency"


def test_the_currency_list_is_three_upper_case_letters_each():
    assert len(ISO_4217_ACTIVE) > 170
    assert all(len(c) == 3 and c.isascii() and c.isupper() for c in ISO_4217_ACTIVE)
    assert "CNY" in SETTLEMENT_CURRENCIES and "XXX" not in SETTLEMENT_CURRENCIES


@pytest.mark.parametrize(("text", "code"), [("CCER", "CCER"), (" phcer ", "PHCER"),
                                            ("\uff36\uff23\uff33", "VCS"), ("gs", "GS")])
def test_destinations_are_read_as_listed_codes(text, code):
    assert check_destination(text) == code


@pytest.mark.parametrize("text", ["", " ", "Mars", "CCER registry", "C CER", "CCER\u202e",
                                  None])
def test_unlisted_destinations_are_refused_listing_the_codes(text):
    with pytest.raises(ValidationError) as raised:
        check_destination(text)
    assert raised.value.details["accepted"] == sorted(EXPORT_DESTINATIONS)
    assert "accepted: CCER, CDCER" in raised.value.message


NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


@given(st.timedeltas(min_value=timedelta(days=-3650), max_value=timedelta(days=3650)))
def test_a_time_may_be_ahead_of_the_clock_by_the_skew_at_most(ahead):
    when = NOW + ahead
    if ahead <= MAX_CLOCK_SKEW:
        assert check_not_future(when, "occurred_at", now=NOW) == when
    else:
        with pytest.raises(ValidationError) as raised:
            check_not_future(when, "occurred_at", now=NOW)
        assert raised.value.details["field"] == "occurred_at"
        assert raised.value.details["now"] == NOW.isoformat()


def test_the_skew_boundary_is_exact():
    edge = NOW + MAX_CLOCK_SKEW
    assert check_not_future(edge.astimezone(CHINA_STANDARD_TIME), "t", now=NOW) == edge
    with pytest.raises(ValidationError):
        check_not_future(edge + timedelta(microseconds=1), "t", now=NOW)
