"""Mandates on the holder's Participant: who may grant and revoke them, what limits mean,
and which mandate (if any) lets an agent act on the holder's credits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.errors import (
    ConsentRequiredError,
    DuplicateRecordError,
    InvalidStateError,
    PermissionDeniedError,
    RecordNotFoundError,
    ValidationError,
)
from ledger.domain.mandates import MandateScope, MandateStatus, mandate_status
from ledger.domain.participant import Participant

OPERATOR = uuid4()
NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)
LISTING, PLEDGE = MandateScope.LISTING, MandateScope.PLEDGE


def register(kind: str) -> Participant:
    return Participant.register(uuid4(), kind, f"a {kind}", OPERATOR)


@pytest.fixture
def holder() -> Participant:
    return register("enterprise")


@pytest.fixture
def exchange() -> Participant:
    return register("exchange")


@pytest.fixture
def bank() -> Participant:
    return register("bank")


def grant(holder: Participant, agent: Participant, scope: str = "listing", *,
          expires_at: str | datetime | None = None, max_quantity_g: int | None = None,
          now: datetime = NOW, actor: UUID | None = None) -> UUID:
    mandate_id = uuid4()
    holder.grant_mandate(mandate_id=mandate_id, agent=agent, scope=scope,
                         expires_at=expires_at, max_quantity_g=max_quantity_g, now=now,
                         actor=holder.id if actor is None else actor)
    return mandate_id


def unchanged(holder: Participant, attempt) -> Exception:
    """``attempt`` raises and leaves the holder as it was (no event, no state change)."""
    before = (holder.version, repr(holder.mandates), len(holder.pending_events))
    with pytest.raises(Exception) as raised:
        attempt()
    assert (holder.version, repr(holder.mandates), len(holder.pending_events)) == before
    return raised.value


def test_a_granted_mandate_lets_its_agent_act_within_its_scope(holder, exchange, bank):
    listing = grant(holder, exchange, "listing")
    pledge = grant(holder, bank, "pledge", max_quantity_g=500)
    assert holder.mandate_for(agent=exchange.id, scope=LISTING, quantity=10**12,
                              now=NOW) == str(listing)
    assert holder.mandate_for(agent=bank.id, scope=PLEDGE, quantity=500, now=NOW) == str(pledge)
    granted = holder.pending_events[-1]
    assert type(granted).__name__ == "MandateGranted"
    assert (granted.agent, granted.scope, granted.max_quantity_g, granted.expires_at,
            granted.actor) == (str(bank.id), "pledge", 500, None, str(holder.id))


@pytest.mark.parametrize("scope, asked", [("listing", PLEDGE), ("pledge", LISTING)])
def test_a_mandate_of_one_scope_does_not_cover_the_other(holder, exchange, bank, scope, asked):
    agent = exchange if scope == "listing" else bank
    both = register("exchange")
    both.grant_role(role="lender", actor=OPERATOR)  # an agent that may hold either
    grant(holder, both, scope)
    grant(holder, agent, scope)
    for who in (agent, both):
        with pytest.raises(ConsentRequiredError) as raised:
            holder.mandate_for(agent=who.id, scope=asked, quantity=1, now=NOW)
        assert raised.value.details["scope"] == asked.value
        assert raised.value.details["reason"] == "none"


def test_a_mandate_to_one_agent_does_not_cover_another(holder, exchange):
    grant(holder, exchange)
    other = register("exchange")
    with pytest.raises(ConsentRequiredError) as raised:
        holder.mandate_for(agent=other.id, scope=LISTING, quantity=1, now=NOW)
    assert raised.value.details == {"holder": str(holder.id), "agent": str(other.id),
                                    "scope": "listing", "reason": "none", "requested": 1}
    assert raised.value.code == "consent-required"
    assert isinstance(raised.value, PermissionDeniedError)  # answered 403


def test_only_the_holder_grants_and_revokes_its_mandates(holder, exchange):
    unchanged(holder, lambda: grant(holder, exchange, actor=exchange.id))
    mandate = grant(holder, exchange)
    error = unchanged(holder, lambda: holder.revoke_mandate(mandate_id=mandate,
                                                            actor=exchange.id))
    assert isinstance(error, PermissionDeniedError)
    error = unchanged(holder, lambda: holder.revoke_mandate(mandate_id=mandate,
                                                            actor=OPERATOR))
    assert isinstance(error, PermissionDeniedError)


@pytest.mark.parametrize("kind, scope", [
    ("enterprise", "listing"), ("bank", "listing"), ("platform", "listing"),
    ("enterprise", "pledge"), ("exchange", "pledge"), ("individual", "pledge"),
    ("verifier", "listing"), ("auditor", "pledge")])
def test_the_agent_must_have_the_role_of_the_scope(holder, kind, scope):
    agent = register(kind)
    error = unchanged(holder, lambda: grant(holder, agent, scope))
    assert isinstance(error, PermissionDeniedError)
    assert error.details["role"] == {"listing": "settler", "pledge": "lender"}[scope]


def test_a_suspended_agent_cannot_be_granted_a_mandate(holder, exchange):
    exchange.suspend(reason="licence withdrawn", actor=OPERATOR)
    error = unchanged(holder, lambda: grant(holder, exchange))
    assert isinstance(error, PermissionDeniedError) and "suspended" in str(error)


@pytest.mark.parametrize("changes, field", [
    ({"scope": "sell"}, "scope"),
    ({"scope": "LISTING "}, "scope"),
    ({"expires_at": NOW}, "expires_at"),  # not after now
    ({"expires_at": NOW - timedelta(days=1)}, "expires_at"),
    ({"expires_at": "2025-13-01T00:00:00Z"}, "expires_at"),
    ({"expires_at": "2026-01-01T00:00:00"}, "expires_at"),  # no offset
    ({"expires_at": datetime(2026, 1, 1)}, "expires_at"),  # naive
    ({"max_quantity_g": 0}, "max_quantity_g"),
    ({"max_quantity_g": -5}, "max_quantity_g"),
    ({"max_quantity_g": 1.0}, "max_quantity_g"),
    ({"max_quantity_g": True}, "max_quantity_g"),
    ({"max_quantity_g": "5 t"}, "max_quantity_g"),
    ({"max_quantity_g": 2**63}, "max_quantity_g"),
])
def test_invalid_limits_are_refused_precisely(holder, exchange, changes, field):
    arguments = {"scope": "listing", **changes}
    error = unchanged(holder, lambda: grant(holder, exchange, **arguments))
    assert isinstance(error, ValidationError)
    assert error.details["field"] == field


def test_a_holder_needs_no_mandate_for_itself(exchange):
    error = unchanged(exchange, lambda: grant(exchange, exchange))
    assert isinstance(error, ValidationError) and error.details["field"] == "agent"


def test_one_mandate_per_agent_and_scope_is_in_force_at_a_time(holder, exchange, bank):
    first = grant(holder, exchange, expires_at=NOW + timedelta(days=30))
    error = unchanged(holder, lambda: grant(holder, exchange, max_quantity_g=5))
    assert isinstance(error, DuplicateRecordError) and error.details["record"] == str(first)
    grant(holder, bank, "pledge")  # another scope and agent: fine
    # expired: a new one may be granted
    renewed = grant(holder, exchange, now=NOW + timedelta(days=31))
    assert holder.mandate_for(agent=exchange.id, scope=LISTING, quantity=1,
                              now=NOW + timedelta(days=31)) == str(renewed)
    # revoked: likewise
    holder.revoke_mandate(mandate_id=renewed, actor=holder.id)
    again = grant(holder, exchange, now=NOW + timedelta(days=31))
    assert again != renewed


def test_revoking_stops_the_next_use_and_is_recorded_once(holder, exchange):
    mandate = grant(holder, exchange)
    holder.revoke_mandate(mandate_id=mandate, actor=holder.id)
    assert type(holder.pending_events[-1]).__name__ == "MandateRevoked"
    with pytest.raises(ConsentRequiredError) as raised:
        holder.mandate_for(agent=exchange.id, scope=LISTING, quantity=1, now=NOW)
    assert raised.value.details["reason"] == "revoked"
    assert raised.value.details["mandate"] == str(mandate)
    error = unchanged(holder, lambda: holder.revoke_mandate(mandate_id=mandate,
                                                            actor=holder.id))
    assert isinstance(error, InvalidStateError)
    error = unchanged(holder, lambda: holder.revoke_mandate(mandate_id=uuid4(),
                                                            actor=holder.id))
    assert isinstance(error, RecordNotFoundError)


def test_an_expired_mandate_cannot_be_used(holder, exchange):
    expiry = NOW + timedelta(hours=1)
    mandate = grant(holder, exchange, expires_at=expiry.isoformat())
    assert holder.mandate_for(agent=exchange.id, scope=LISTING, quantity=1,
                              now=expiry - timedelta(microseconds=1)) == str(mandate)
    with pytest.raises(ConsentRequiredError) as raised:
        holder.mandate_for(agent=exchange.id, scope=LISTING, quantity=1, now=expiry)
    assert raised.value.details["reason"] == "expired"


def test_the_maximum_quantity_is_a_total_over_every_use(holder, exchange):
    mandate = grant(holder, exchange, max_quantity_g=100)
    for record in (uuid4(), uuid4()):
        holder.exercise_mandate(agent=exchange.id, scope=LISTING, batch=uuid4(),
                                record=record, quantity=40, now=NOW, actor=exchange.id)
    assert holder.mandates[str(mandate)]["used_g"] == 80
    exercised = holder.pending_events[-1]
    assert (type(exercised).__name__, exercised.mandate_id, exercised.quantity) == (
        "MandateExercised", str(mandate), 40)
    error = unchanged(holder, lambda: holder.exercise_mandate(
        agent=exchange.id, scope=LISTING, batch=uuid4(), record=uuid4(), quantity=21, now=NOW,
        actor=exchange.id))
    assert isinstance(error, ConsentRequiredError)
    assert (error.details["reason"], error.details["remaining_g"]) == ("exceeds-limit", 20)
    holder.exercise_mandate(agent=exchange.id, scope=LISTING, batch=uuid4(), record=uuid4(),
                            quantity=20, now=NOW, actor=exchange.id)
    assert mandate_status(holder.mandates[str(mandate)], NOW) is MandateStatus.EXHAUSTED
    with pytest.raises(ConsentRequiredError) as raised:
        holder.mandate_for(agent=exchange.id, scope=LISTING, quantity=1, now=NOW)
    assert raised.value.details["reason"] == "exhausted"


def test_replaying_the_events_gives_the_same_mandates(holder, exchange, bank):
    listing = grant(holder, exchange, max_quantity_g=10, expires_at="2030-01-01T08:00:00+08:00")
    grant(holder, bank, "pledge")
    holder.exercise_mandate(agent=exchange.id, scope=LISTING, batch=uuid4(), record=uuid4(),
                            quantity=4, now=NOW, actor=exchange.id)
    holder.revoke_mandate(mandate_id=listing, actor=holder.id)
    replayed = None
    for event in holder.collect_events():
        replayed = event.mutate(replayed)
    assert replayed is not None and replayed.mandates == holder.mandates
    assert replayed.mandates[str(listing)] == {
        "agent": str(exchange.id), "scope": "listing",
        "expires_at": "2030-01-01T00:00:00+00:00", "max_quantity_g": 10, "used_g": 4,
        "revoked": True}


@given(maximum=st.integers(1, 10**9),
       uses=st.lists(st.integers(1, 10**9), max_size=12))
def test_uses_never_exceed_the_maximum(maximum: int, uses: list[int]) -> None:
    holder, exchange = register("enterprise"), register("exchange")
    grant(holder, exchange, max_quantity_g=maximum)
    used = 0
    for quantity in uses:
        try:
            holder.exercise_mandate(agent=exchange.id, scope=LISTING, batch=uuid4(),
                                    record=uuid4(), quantity=quantity, now=NOW,
                                    actor=exchange.id)
        except ConsentRequiredError as error:
            assert used + quantity > maximum
            assert error.details["remaining_g"] == maximum - used
        else:
            used += quantity
        assert used <= maximum
    assert sum(m["used_g"] for m in holder.mandates.values()) == used
