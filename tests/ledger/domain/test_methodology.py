"""Methodologies: exact quantification, validity windows, supersession."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import pytest

from ledger.domain.behaviour import Behaviour
from ledger.domain.errors import InvalidStateError, ValidationError
from ledger.domain.methodology import Methodology, parse_decimal

ACTOR = uuid4()
JAN_2024 = datetime(2024, 1, 1, tzinfo=UTC)
JAN_2025 = datetime(2025, 1, 1, tzinfo=UTC)

# Regression: the methodology's version text once overwrote the aggregate's event counter
# (``Aggregate.version``), so any event after ``Published`` raised TypeError.


def publish(code="WH-EV-CHARGING", version="1", factor="600", unit="kWh",
            valid_from=JAN_2024, valid_until=None, scene="ev_charging") -> Methodology:
    return Methodology.publish(
        uuid4(), code=code, version=version, region="Wuhan", scene=scene,
        activity_unit=unit, factor_g_per_unit=factor, valid_from=valid_from,
        valid_until=valid_until, actor=ACTOR,
    )


def test_ev_charging_quantification_is_exact():
    result = publish(factor="600").quantify(Decimal("12.345"))
    assert result.reduction_g == 7407
    assert Decimal(result.exact_g) == Decimal("7407")


def test_sub_gram_remainder_is_rounded_down_but_kept_on_record():
    metro = publish(code="WH-METRO", factor="71.2", unit="km", scene="metro")
    result = metro.quantify(Decimal("2.37"))
    assert result.reduction_g == 168
    assert result.exact_g == "168.744"


def test_quantification_never_rounds_up_even_just_below_a_gram():
    result = publish(factor="0.999999").quantify(Decimal("1"))
    assert result.reduction_g == 0
    assert result.exact_g == "0.999999"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("71.2", Decimal("71.2")), (600, Decimal(600)), (" 0.5 ", Decimal("0.5")),
     ("0.000001", Decimal("0.000001"))],
)
def test_parse_decimal_accepts_exact_positive_numbers(value, expected):
    assert parse_decimal(value, "factor") == expected


@pytest.mark.parametrize("value", [1.5, True, "0", "-1", "abc", "NaN", "Infinity", "0.0000001",
                                   "1_0", "1e3", "1E+1", "+5", ".5", "5.", "1,5",
                                   "\u0661\u0660", "\uff11\uff10", "5\t"])
def test_parse_decimal_rejects_floats_non_positive_and_over_precise_values(value):
    with pytest.raises(ValidationError) as raised:
        parse_decimal(value, "factor")
    assert raised.value.details["field"] == "factor"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"code": "wh-lower"}, "code"),
        ({"code": "X"}, "code"),
        ({"version": " "}, "version"),
        ({"scene": ""}, "scene"),
        ({"unit": ""}, "activity_unit"),
        ({"factor": 0.6}, "factor_g_per_unit"),
        ({"factor": "0"}, "factor_g_per_unit"),
        ({"valid_until": JAN_2024}, "valid_until"),
        ({"valid_until": JAN_2024 - timedelta(days=1)}, "valid_until"),
        ({"valid_from": datetime(2024, 1, 1)}, "valid_from"),  # naive
    ],
)
def test_malformed_methodology_is_not_published(kwargs, field):
    with pytest.raises(ValidationError) as raised:
        publish(**kwargs)
    assert raised.value.details["field"] == field


def test_real_registry_codes_are_accepted_and_factor_is_stored_as_text():
    methodology = publish(code="SHCER02020042024II", factor="71.20")
    assert methodology.factor_g_per_unit == "71.20"
    assert methodology.label == "SHCER02020042024II v1"
    publish(code="SCER-LY-001-V01")
    publish(code="XMCER-02-V1-2025")


def test_validity_window_is_half_open_and_timezone_aware():
    methodology = publish(valid_from=JAN_2024, valid_until=JAN_2025)
    assert methodology.is_valid_at(JAN_2024)
    assert methodology.is_valid_at(JAN_2025 - timedelta(microseconds=1))
    assert not methodology.is_valid_at(JAN_2025)
    assert not methodology.is_valid_at(JAN_2024 - timedelta(microseconds=1))
    # 2025-01-01 07:59 in Beijing is still 2024 in UTC
    beijing = timezone(timedelta(hours=8))
    assert methodology.is_valid_at(datetime(2025, 1, 1, 7, 59, tzinfo=beijing))
    assert not methodology.is_valid_at(datetime(2025, 1, 1, 8, 0, tzinfo=beijing))


def test_open_ended_methodology_stays_valid():
    assert publish().is_valid_at(datetime(2099, 1, 1, tzinfo=UTC))


def test_supersession_ends_the_old_version_when_the_successor_starts():
    v1 = publish(version="1")
    v2 = publish(version="2", factor="650", valid_from=JAN_2025)
    v1.supersede(v2, actor=ACTOR)
    assert v1.superseded_by == str(v2.id)
    assert v1.valid_until == JAN_2025
    assert not v1.is_valid_at(JAN_2025)
    assert v2.is_valid_at(JAN_2025)


def test_supersession_keeps_an_earlier_end_date():
    v1 = publish(version="1", valid_until=datetime(2024, 6, 1, tzinfo=UTC))
    v1.supersede(publish(version="2", valid_from=JAN_2025), actor=ACTOR)
    assert v1.valid_until == datetime(2024, 6, 1, tzinfo=UTC)


def test_superseding_twice_is_rejected():
    v1 = publish(version="1")
    v1.supersede(publish(version="2", valid_from=JAN_2025), actor=ACTOR)
    with pytest.raises(InvalidStateError) as raised:
        v1.supersede(publish(version="3", valid_from=JAN_2025 + timedelta(days=1)), actor=ACTOR)
    assert raised.value.details == {"methodology": str(v1.id)}


@pytest.mark.parametrize(
    "successor_kwargs",
    [
        {"code": "SH-EV-CHARGING", "version": "2", "valid_from": JAN_2025},  # other code
        {"version": "2", "valid_from": JAN_2024},  # not later
        {"version": "2", "valid_from": JAN_2024 - timedelta(days=1)},
    ],
)
def test_successor_must_share_the_code_and_start_later(successor_kwargs):
    v1 = publish(version="1")
    with pytest.raises(ValidationError) as raised:
        v1.supersede(publish(**successor_kwargs), actor=ACTOR)
    assert raised.value.details["field"] == "successor"
    assert v1.superseded_by is None


def test_methodology_aggregate_version_counts_its_events():
    methodology = publish(version="2.1")
    assert methodology.version == 1  # one event so far: Published
    assert methodology.label == "WH-EV-CHARGING v2.1"


def test_a_version_cannot_supersede_itself():
    v1 = publish(version="1", valid_from=JAN_2024)
    with pytest.raises(ValidationError):
        v1.supersede(v1, actor=ACTOR)


def report(methodology: Methodology, amount: str, when: datetime, act: str = "charger:1|t1"):
    return Behaviour.report(uuid4(), platform=uuid4(), platform_ref="rec-1", account=uuid4(),
                            methodology=methodology, act_identity=act,
                            activity_amount=Decimal(amount), occurred_at=when)


def test_behaviour_is_quantified_by_its_methodology():
    behaviour = report(publish(factor="600"), "12.345", datetime(2024, 9, 3, tzinfo=UTC))
    assert behaviour.reduction_g == 7407
    assert behaviour.scene == "ev_charging"
    assert behaviour.activity_amount == "12.345"


def test_behaviour_outside_methodology_validity_is_rejected():
    methodology = publish(valid_from=JAN_2024, valid_until=JAN_2025)
    with pytest.raises(ValidationError) as raised:
        report(methodology, "10", JAN_2025)
    assert raised.value.details["field"] == "occurred_at"


def test_behaviour_worth_less_than_a_gram_is_rejected():
    with pytest.raises(ValidationError) as raised:
        report(publish(factor="600"), "0.001", datetime(2024, 9, 3, tzinfo=UTC))
    assert raised.value.details["field"] == "activity_amount"


@pytest.mark.parametrize("act", ["", "   ", "x" * 201])
def test_behaviour_needs_a_short_non_empty_act_identity(act):
    with pytest.raises(ValidationError) as raised:
        report(publish(), "10", datetime(2024, 9, 3, tzinfo=UTC), act=act)
    assert raised.value.details["field"] == "act_identity"


def test_activity_amount_too_long_to_quantify_exactly_is_a_validation_error():
    metro = publish(code="WH-METRO", factor="71.2", unit="km", scene="metro")
    with pytest.raises(ValidationError):
        report(metro, "9" * 99, datetime(2024, 9, 3, tzinfo=UTC))
