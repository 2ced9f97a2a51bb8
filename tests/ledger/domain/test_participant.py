"""Participants: kinds, default roles, role changes, suspension."""

from uuid import uuid4

import pytest

from ledger.domain.errors import InvalidStateError, PermissionDeniedError, ValidationError
from ledger.domain.participant import (
    DEFAULT_ROLES,
    Participant,
    ParticipantKind,
    Role,
    require_role,
)

OPERATOR = uuid4()


def register(kind: str, roles: list[str] | None = None) -> Participant:
    return Participant.register(uuid4(), kind, f"  a {kind}  ", OPERATOR, roles)


@pytest.mark.parametrize("kind", list(ParticipantKind))
def test_each_kind_gets_its_default_roles(kind):
    participant = register(kind.value)
    assert participant.roles == sorted(r.value for r in DEFAULT_ROLES[kind])
    assert participant.name == f"a {kind.value}"
    assert participant.registered_by == str(OPERATOR)
    assert not participant.suspended


def test_platform_reports_and_holds_but_cannot_issue_or_verify():
    platform = register("platform")
    require_role(platform, Role.REPORTER)
    require_role(platform, Role.HOLDER)
    for role in (Role.ISSUER, Role.VERIFIER, Role.SETTLER):
        with pytest.raises(PermissionDeniedError) as raised:
            require_role(platform, role)
        assert raised.value.details == {"participant": str(platform.id), "role": role.value}


def test_verifier_cannot_hold_credits():
    assert not register("verifier").has_role(Role.HOLDER)


def test_explicit_roles_replace_the_defaults_and_are_deduplicated():
    participant = register("enterprise", roles=["settler", "holder", "settler"])
    assert participant.roles == ["holder", "settler"]


@pytest.mark.parametrize(("kind", "roles"), [("robot", None), ("bank", ["banker"])])
def test_unknown_kind_or_role_is_rejected(kind, roles):
    with pytest.raises(ValidationError) as raised:
        register(kind, roles)
    assert raised.value.details["field"] == ("kind" if kind == "robot" else "role")


def test_blank_name_is_rejected():
    with pytest.raises(ValidationError) as raised:
        Participant.register(uuid4(), "bank", "   ", None)
    assert raised.value.details["field"] == "name"


def test_granted_role_is_usable_and_granting_twice_is_rejected():
    enterprise = register("enterprise")
    enterprise.grant_role("lender", actor=OPERATOR)
    require_role(enterprise, Role.LENDER)
    with pytest.raises(InvalidStateError):
        enterprise.grant_role("lender", actor=OPERATOR)


def test_revoked_role_is_refused_and_revoking_a_missing_role_is_rejected():
    exchange = register("exchange")
    exchange.revoke_role("settler", actor=OPERATOR)
    with pytest.raises(PermissionDeniedError):
        require_role(exchange, Role.SETTLER)
    with pytest.raises(InvalidStateError):
        exchange.revoke_role("settler", actor=OPERATOR)


def test_suspended_participant_is_refused_every_role_until_reinstated():
    bank = register("bank")
    bank.suspend("licence review", actor=OPERATOR)
    with pytest.raises(PermissionDeniedError) as raised:
        require_role(bank, Role.LENDER)
    assert raised.value.details == {"participant": str(bank.id)}
    assert "suspended" in raised.value.message
    bank.reinstate(actor=OPERATOR)
    require_role(bank, Role.LENDER)


def test_suspend_twice_and_reinstate_active_participant_are_rejected():
    bank = register("bank")
    with pytest.raises(InvalidStateError):
        bank.reinstate(actor=OPERATOR)
    bank.suspend("review", actor=OPERATOR)
    with pytest.raises(InvalidStateError):
        bank.suspend("again", actor=OPERATOR)


def test_participant_history_replays_to_the_same_state():
    platform = register("platform")
    platform.grant_role("verifier", actor=OPERATOR)
    platform.suspend("audit", actor=OPERATOR)
    events = platform.collect_events()
    assert [type(e).__name__ for e in events] == ["Registered", "RoleGranted", "Suspended"]
    replica = None
    for domain_event in events:
        replica = domain_event.mutate(replica)
    assert replica.roles == platform.roles == ["holder", "reporter", "verifier"]
    assert replica.suspended
