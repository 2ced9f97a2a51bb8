"""Neutrality claims: met exactly when retired credits reach the footprint."""

from uuid import uuid4

import pytest

from ledger.domain.errors import DuplicateRecordError, ValidationError
from ledger.domain.neutrality_claim import NeutralityClaim
from ledger.domain.quantities import parse_quantity

ORGANISER = uuid4()
WGC_FOOTPRINT = parse_quantity("4,544.76 t")  # World Gas Conference 2025


def claim(footprint_g: int = WGC_FOOTPRINT) -> NeutralityClaim:
    return NeutralityClaim.register(uuid4(), organiser=ORGANISER,
                                    event_name=" World Gas Conference 2025 ",
                                    footprint_g=footprint_g, scope="event", actor=ORGANISER)


def test_new_claim_is_outstanding_in_full():
    wgc = claim()
    assert wgc.footprint_g == 4_544_760_000
    assert wgc.event_name == "World Gas Conference 2025"
    assert not wgc.met
    assert wgc.outstanding_g == 4_544_760_000


def test_claim_is_not_met_one_gram_short_of_the_footprint():
    wgc = claim()
    wgc.count_retirement(retirement_id=uuid4(), batch=uuid4(),
                         quantity=parse_quantity("4,544.759999 t"), actor=ORGANISER)
    assert wgc.retired_g == 4_544_759_999
    assert not wgc.met
    assert wgc.outstanding_g == 1
    assert wgc.collect_events()[-1].met is False


def test_claim_is_met_exactly_at_the_footprint_across_several_retirements():
    wgc = claim()
    wgc.count_retirement(retirement_id=uuid4(), batch=uuid4(), quantity=2_000_000_000,
                         actor=ORGANISER)
    wgc.count_retirement(retirement_id=uuid4(), batch=uuid4(), quantity=2_544_760_000,
                         actor=ORGANISER)
    assert wgc.retired_g == parse_quantity("4,544.76 t")
    assert wgc.met
    assert wgc.outstanding_g == 0
    assert [e.met for e in wgc.collect_events()[1:]] == [False, True]


def test_retiring_more_than_the_footprint_keeps_the_claim_met():
    branch = claim(footprint_g=parse_quantity("2.62 t"))  # Yunnan bank branch
    branch.count_retirement(retirement_id=uuid4(), batch=uuid4(),
                            quantity=parse_quantity("3 t"), actor=ORGANISER)
    assert branch.met
    assert branch.outstanding_g == 0
    assert branch.retired_g == 3_000_000


def test_a_retirement_is_counted_once():
    wgc = claim()
    retirement = uuid4()
    wgc.count_retirement(retirement_id=retirement, batch=uuid4(), quantity=5,
                         actor=ORGANISER)
    with pytest.raises(DuplicateRecordError):
        wgc.count_retirement(retirement_id=retirement, batch=uuid4(), quantity=5,
                             actor=ORGANISER)
    assert wgc.retired_g == 5


def test_donated_points_are_recorded_but_do_not_neutralise():
    forum = claim(footprint_g=parse_quantity("5503 kg"))  # CIIE 2022 forum
    forum.receive_donation(account=uuid4(), points=6_000_000, actor=ORGANISER)
    assert forum.donated_points == 6_000_000
    assert not forum.met
    assert forum.outstanding_g == 5_503_000


@pytest.mark.parametrize("quantity", [0, -1, 1.5, True, "5"])
def test_malformed_counted_quantity_or_points_are_rejected(quantity):
    wgc = claim()
    with pytest.raises(ValidationError):
        wgc.count_retirement(retirement_id=uuid4(), batch=uuid4(), quantity=quantity,
                             actor=ORGANISER)
    with pytest.raises(ValidationError):
        wgc.receive_donation(account=uuid4(), points=quantity, actor=ORGANISER)
    assert (wgc.retired_g, wgc.donated_points) == (0, 0)


@pytest.mark.parametrize(
    ("event_name", "footprint", "field"),
    [(" ", 1, "event_name"), ("Forum", 0, "footprint_g"), ("Forum", 5503.0, "footprint_g"),
     ("Forum", "5503 kg", "footprint_g")],
)
def test_malformed_claim_is_not_registered(event_name, footprint, field):
    with pytest.raises(ValidationError) as raised:
        NeutralityClaim.register(uuid4(), organiser=ORGANISER, event_name=event_name,
                                 footprint_g=footprint, scope="event", actor=ORGANISER)
    assert raised.value.details["field"] == field


def test_blank_scope_defaults_to_event():
    rice = NeutralityClaim.register(uuid4(), organiser=ORGANISER, event_name="rice 2024",
                                    footprint_g=2_500_000, scope=" ", actor=ORGANISER)
    assert rice.scope == "event"
