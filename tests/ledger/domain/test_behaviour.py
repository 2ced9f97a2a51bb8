"""Behaviours: the event-only factory of bulk ingestion records exactly what the aggregate
factory records."""

from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from eventsourcing.application import project_aggregate
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.behaviour import Behaviour
from ledger.domain.errors import ValidationError
from ledger.domain.text import check_text
from tests.ledger.domain.test_methodology import publish

METRO = publish(code="WH-METRO", factor="71.2", unit="km", scene="metro")


def both(**overrides: object) -> tuple[Behaviour, Behaviour.Reported]:
    kwargs = {"platform": uuid4(), "platform_ref": "  ride-1 ", "account": uuid4(),
              "methodology": METRO, "act_identity": "card:42|2024-05-01T08:00",
              "activity_amount": Decimal("2.37"),
              "occurred_at": datetime(2024, 5, 1, 8, tzinfo=UTC)}
    kwargs.update(overrides)
    behaviour_id = uuid4()
    return (Behaviour.report(behaviour_id, **kwargs),  # type: ignore[arg-type]
            Behaviour.reported(behaviour_id, **kwargs))  # type: ignore[arg-type]


def _acceptable(text: str) -> bool:
    try:
        check_text(text, "ref")
    except ValidationError:
        return False
    return True


@given(ref=st.text(min_size=1, max_size=200).filter(_acceptable),
       amount=st.decimals(min_value=Decimal("0.1"), max_value=Decimal("10000000"),
                          places=3))
def test_reported_event_is_the_event_report_records(ref: str, amount: Decimal) -> None:
    aggregate, event = both(platform_ref=ref, activity_amount=amount)
    (recorded,) = aggregate.collect_events()
    fields = {k: v for k, v in asdict(event).items() if k != "timestamp"}
    assert fields == {k: v for k, v in asdict(recorded).items() if k != "timestamp"}
    assert type(event) is type(recorded)
    rebuilt = project_aggregate(None, [event])
    assert vars(rebuilt) | {"_created_on": None, "_modified_on": None} == \
        vars(aggregate) | {"_created_on": None, "_modified_on": None, "_pending_events": []}


@pytest.mark.parametrize(("overrides", "field"), [
    ({"occurred_at": datetime(2023, 5, 1, tzinfo=UTC)}, "occurred_at"),
    ({"activity_amount": Decimal("0.001")}, "activity_amount"),
    ({"platform_ref": "   "}, "platform_ref"),
    ({"act_identity": "x" * 201}, "act_identity"),
])
def test_reported_validates_like_report(overrides: dict[str, object], field: str) -> None:
    for factory in (Behaviour.report, Behaviour.reported):
        with pytest.raises(ValidationError) as raised:
            factory(uuid4(), **{"platform": uuid4(), "platform_ref": "r", "account": uuid4(),
                                "methodology": METRO, "act_identity": "a",
                                "activity_amount": Decimal("2"),
                                "occurred_at": datetime(2024, 5, 1, tzinfo=UTC),
                                **overrides})  # type: ignore[arg-type]
        assert raised.value.details.get("field", field) == field


def test_a_nul_character_is_refused_in_the_texts_a_behaviour_stores() -> None:
    for name in ("platform_ref", "act_identity"):
        with pytest.raises(ValidationError) as raised:
            both(**{name: "ride\x00-1"})
        assert raised.value.details["field"] == name


def test_a_behaviour_quantifying_beyond_64_bit_grams_is_refused() -> None:
    huge = publish(code="WH-HUGE", factor="1000000000000", unit="t", scene="huge")
    Behaviour.reported(uuid4(), platform=uuid4(), platform_ref="r", account=uuid4(),
                       methodology=huge, act_identity="a", activity_amount=Decimal("9000000"),
                       occurred_at=datetime(2024, 5, 1, tzinfo=UTC))  # 9e18 g: fits
    with pytest.raises(ValidationError) as raised:
        Behaviour.reported(uuid4(), platform=uuid4(), platform_ref="r", account=uuid4(),
                           methodology=huge, act_identity="a",
                           activity_amount=Decimal("123456789.123456"),
                           occurred_at=datetime(2024, 5, 1, tzinfo=UTC))
    assert raised.value.details["field"] == "activity_amount"
