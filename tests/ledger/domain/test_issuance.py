"""Issuance schedules and requests: periods never overlap; requested -> attested -> issued."""

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from ledger.domain.errors import InvalidStateError, PeriodClosedError, ValidationError
from ledger.domain.issuance import IssuanceRequest, IssuanceSchedule, RequestStatus

PLATFORM = uuid4()
VERIFIER = uuid4()
OPERATOR = uuid4()
METHODOLOGY = uuid4()
SEP = datetime(2024, 9, 1, tzinfo=UTC)
OCT = datetime(2024, 10, 1, tzinfo=UTC)
NOV = datetime(2024, 11, 1, tzinfo=UTC)
SHA = "0123456789abcdef" * 4


def schedule() -> IssuanceSchedule:
    return IssuanceSchedule.open(uuid4(), PLATFORM, METHODOLOGY)


def behaviour_request(quantity: int = 2_000_000, count: int = 3) -> IssuanceRequest:
    return IssuanceRequest.for_behaviours(
        uuid4(), platform=PLATFORM, methodology=METHODOLOGY, period_start=SEP, period_end=OCT,
        cutoff_position=42, behaviour_count=count, quantity=quantity, behaviours_root="ab" * 32,
        actor=PLATFORM)


def project_request(**overrides) -> IssuanceRequest:
    kwargs = {"platform": PLATFORM, "methodology": METHODOLOGY, "period_start": SEP,
              "period_end": OCT, "quantity": 36_000_000_000, "project": "rooftop solar",
              "report_reference": "MR-2024-09", "report_sha256": SHA, "actor": PLATFORM}
    kwargs.update(overrides)
    return IssuanceRequest.for_monitoring_report(uuid4(), **kwargs)


# ---------------------------------------------------------------------------- schedule


def test_claimed_period_is_found_by_any_instant_inside_it():
    plan = schedule()
    request = uuid4()
    plan.claim(request_id=request, period_start=SEP, period_end=OCT, actor=PLATFORM)
    assert plan.claimed_by(SEP) == str(request)
    assert plan.claimed_by(OCT - timedelta(microseconds=1)) == str(request)
    assert plan.claimed_by(OCT) is None
    assert plan.claimed_by(SEP - timedelta(microseconds=1)) is None


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (SEP, OCT),  # the same period
        (SEP + timedelta(days=10), SEP + timedelta(days=11)),  # inside
        (SEP - timedelta(days=1), SEP + timedelta(seconds=1)),  # overlaps the start
        (OCT - timedelta(seconds=1), NOV),  # overlaps the end
        (SEP - timedelta(days=30), NOV),  # encloses
    ],
)
def test_overlapping_period_cannot_be_claimed_again(start, end):
    plan = schedule()
    first = uuid4()
    plan.claim(request_id=first, period_start=SEP, period_end=OCT, actor=PLATFORM)
    with pytest.raises(PeriodClosedError) as raised:
        plan.claim(request_id=uuid4(), period_start=start, period_end=end, actor=PLATFORM)
    assert raised.value.code == "period-closed"
    assert raised.value.details == {"request": str(first)}
    assert len(plan.periods) == 1


def test_adjacent_periods_can_both_be_claimed():
    plan = schedule()
    plan.claim(request_id=uuid4(), period_start=SEP, period_end=OCT, actor=PLATFORM)
    plan.claim(request_id=uuid4(), period_start=OCT, period_end=NOV, actor=PLATFORM)
    plan.claim(request_id=uuid4(), period_start=SEP - timedelta(days=31), period_end=SEP,
               actor=PLATFORM)
    assert len(plan.periods) == 3


def test_overlap_is_detected_across_time_zones():
    plan = schedule()
    plan.claim(request_id=uuid4(), period_start=SEP, period_end=OCT, actor=PLATFORM)
    beijing = timezone(timedelta(hours=8))
    # October 1st in Beijing starts at 16:00 UTC on September 30th, inside the claimed month
    start = datetime(2024, 10, 1, tzinfo=beijing)
    with pytest.raises(PeriodClosedError):
        plan.claim(request_id=uuid4(), period_start=start, period_end=NOV, actor=PLATFORM)
    plan.claim(request_id=uuid4(), period_start=datetime(2024, 10, 1, 8, tzinfo=beijing),
               period_end=NOV, actor=PLATFORM)


@pytest.mark.parametrize("end", [SEP, SEP - timedelta(days=1)])
def test_empty_or_inverted_period_is_rejected(end):
    with pytest.raises(ValidationError) as raised:
        schedule().claim(request_id=uuid4(), period_start=SEP, period_end=end, actor=PLATFORM)
    assert raised.value.details["field"] == "period_end"


# ---------------------------------------------------------------------------- requests


def test_behaviour_request_records_its_evidence():
    request = behaviour_request(quantity=7407, count=1)
    assert request.status == RequestStatus.REQUESTED
    assert request.source == "behaviours"
    assert request.quantity == 7407
    assert request.evidence == {"cutoff_position": 42, "behaviour_count": 1,
                                "behaviours_root": "ab" * 32}
    assert request.behaviours_root == "ab" * 32


def test_request_without_behaviours_is_rejected():
    with pytest.raises(ValidationError) as raised:
        behaviour_request(count=0)
    assert raised.value.details["field"] == "period"


@pytest.mark.parametrize("quantity", [0, -1, 1.5, True])
def test_request_with_malformed_quantity_is_rejected(quantity):
    with pytest.raises(ValidationError):
        behaviour_request(quantity=quantity)
    with pytest.raises(ValidationError):
        project_request(quantity=quantity)


def test_monitoring_report_request_records_the_report():
    request = project_request(project=" rooftop solar ", report_reference=" MR-2024-09 ")
    assert request.source == "monitoring_report"
    assert request.evidence == {"project": "rooftop solar", "report_reference": "MR-2024-09",
                                "report_sha256": SHA}
    assert request.behaviours_root is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"period_end": SEP}, "period_end"),
        ({"project": " "}, "project"),
        ({"report_reference": ""}, "report_reference"),
        ({"report_sha256": SHA.upper()}, "report_sha256"),
        ({"report_sha256": SHA[:-1]}, "report_sha256"),
        ({"report_sha256": SHA[:-1] + "g"}, "report_sha256"),
    ],
)
def test_malformed_monitoring_report_request_is_rejected(overrides, field):
    with pytest.raises(ValidationError) as raised:
        project_request(**overrides)
    assert raised.value.details["field"] == field


def test_request_goes_from_requested_to_attested_to_issued():
    request = behaviour_request()
    request.attest(statement="  checked 3 behaviours  ", actor=VERIFIER)
    assert request.status == RequestStatus.ATTESTED
    assert request.verifier == str(VERIFIER)
    batch = uuid4()
    request.mark_issued(batch_id=batch, actor=OPERATOR)
    assert request.status == RequestStatus.ISSUED
    assert request.batch == str(batch)
    names = [type(e).__name__ for e in request.collect_events()]
    assert names == ["Requested", "Attested", "BatchIssued"]


def test_unattested_request_cannot_be_issued():
    request = behaviour_request()
    with pytest.raises(InvalidStateError) as raised:
        request.mark_issued(batch_id=uuid4(), actor=OPERATOR)
    assert raised.value.details == {"status": "requested"}
    assert request.batch is None


def test_request_cannot_be_issued_twice():
    request = behaviour_request()
    request.attest(statement="ok", actor=VERIFIER)
    first = uuid4()
    request.mark_issued(batch_id=first, actor=OPERATOR)
    with pytest.raises(InvalidStateError) as raised:
        request.mark_issued(batch_id=uuid4(), actor=OPERATOR)
    assert raised.value.details == {"status": "issued"}
    assert request.batch == str(first)


def test_request_cannot_be_attested_twice():
    request = behaviour_request()
    request.attest(statement="ok", actor=VERIFIER)
    with pytest.raises(InvalidStateError) as raised:
        request.attest(statement="again", actor=uuid4())
    assert raised.value.details == {"status": "attested"}
    assert request.verifier == str(VERIFIER)


def test_platform_cannot_attest_its_own_request():
    request = behaviour_request()
    with pytest.raises(InvalidStateError):
        request.attest(statement="trust me", actor=PLATFORM)
    assert request.status == RequestStatus.REQUESTED


def test_attestation_needs_a_statement_and_rejection_a_reason():
    request = behaviour_request()
    with pytest.raises(ValidationError) as raised:
        request.attest(statement="  ", actor=VERIFIER)
    assert raised.value.details["field"] == "statement"
    with pytest.raises(ValidationError) as raised:
        request.reject(reason="", actor=VERIFIER)
    assert raised.value.details["field"] == "reason"
    assert request.status == RequestStatus.REQUESTED


def test_rejected_request_cannot_be_attested_issued_or_rejected_again():
    request = behaviour_request()
    request.reject(reason="double-counted with another app", actor=VERIFIER)
    assert request.status == RequestStatus.REJECTED
    with pytest.raises(InvalidStateError):
        request.attest(statement="ok", actor=VERIFIER)
    with pytest.raises(InvalidStateError):
        request.mark_issued(batch_id=uuid4(), actor=OPERATOR)
    with pytest.raises(InvalidStateError):
        request.reject(reason="again", actor=VERIFIER)


def test_attested_request_cannot_be_rejected():
    request = behaviour_request()
    request.attest(statement="ok", actor=VERIFIER)
    with pytest.raises(InvalidStateError):
        request.reject(reason="changed my mind", actor=VERIFIER)
