"""The one retry of a ledger command (ledger.application.retry): what is retried, how
often, what is counted; and that the ledger's commands go through it."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from ledger.application import Ledger, retry
from ledger.application.retry import RetryStats, StaleRead, first_attempt, retrying
from ledger.domain.errors import ConcurrencyError, ValidationError
from tests.ledger.conftest import TONNE, World, sqlite_env


@pytest.fixture
def back_offs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The attempts the helper backed off after, instead of sleeping."""
    waits: list[int] = []
    monkeypatch.setattr(retry, "_back_off", waits.append)
    return waits


class Flaky:
    """A command that fails with the given errors, one per call, then returns 'done'."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.first_attempts: list[bool] = []

    def __call__(self) -> str:
        self.calls += 1
        self.first_attempts.append(first_attempt())
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_a_conflict_is_retried_after_forgetting_and_backing_off_then_succeeds(
        back_offs: list[int]) -> None:
    stats = RetryStats()
    forgotten: list[None] = []
    command = Flaky(IntegrityError("version taken"), IntegrityError("version taken"))

    assert retrying(command, stats=stats, before_retry=lambda: forgotten.append(None)) == "done"

    assert command.calls == 3
    assert len(forgotten) == 2  # each retry reads afresh
    assert back_offs == [0, 1]  # waits growing with the attempt
    assert command.first_attempts == [True, False, False]
    assert stats.as_dict() == {"conflicts": 2, "stale_reads": 0, "gave_up": 0, "retries": 2}


def test_it_gives_up_after_the_attempts_with_a_concurrency_error(back_offs: list[int]) -> None:
    stats = RetryStats()
    forgotten: list[None] = []
    command = Flaky(*(IntegrityError("version taken") for _ in range(5)))

    with pytest.raises(ConcurrencyError, match="the transfer kept conflicting") as raised:
        retrying(command, stats=stats, before_retry=lambda: forgotten.append(None),
                 what="the transfer", attempts=3)

    assert raised.value.code == "concurrency-conflict"
    assert command.calls == 3
    assert len(forgotten) == 2 and back_offs == [0, 1]  # no wait after the last attempt
    assert stats.as_dict() == {"conflicts": 3, "stale_reads": 0, "gave_up": 1, "retries": 2}


def test_the_default_is_ten_attempts(back_offs: list[int]) -> None:
    command = Flaky(*(IntegrityError("version taken") for _ in range(20)))
    with pytest.raises(ConcurrencyError):
        retrying(command, stats=RetryStats())
    assert command.calls == retry.MAX_ATTEMPTS == 10


@pytest.mark.parametrize("error", [ValidationError("quantity must be positive"),
                                   RuntimeError("a bug, not a race")])
def test_domain_and_other_errors_are_not_retried(back_offs: list[int],
                                                  error: Exception) -> None:
    stats = RetryStats()
    command = Flaky(error)
    with pytest.raises(type(error)) as raised:
        retrying(command, stats=stats)
    assert raised.value is error
    assert command.calls == 1 and back_offs == []
    assert stats.as_dict() == {"conflicts": 0, "stale_reads": 0, "gave_up": 0, "retries": 0}


def test_a_stale_read_is_retried_at_once_on_current_copies(back_offs: list[int]) -> None:
    stats = RetryStats()
    forgotten: list[None] = []
    command = Flaky(StaleRead())

    assert retrying(command, stats=stats, before_retry=lambda: forgotten.append(None)) == "done"

    assert command.first_attempts == [True, False]
    assert back_offs == [] and forgotten == []
    assert stats.as_dict() == {"conflicts": 0, "stale_reads": 1, "gave_up": 0, "retries": 1}


def test_a_nested_call_runs_once_and_the_outer_call_retries_the_whole_command(
        back_offs: list[int]) -> None:
    stats = RetryStats()
    inner = Flaky(IntegrityError("version taken"))
    outer_calls: list[None] = []

    def outer() -> str:
        outer_calls.append(None)
        return retrying(inner, stats=stats)

    assert retrying(outer, stats=stats) == "done"
    assert len(outer_calls) == 2 and inner.calls == 2
    assert stats.conflicts == 1  # counted once, by the outer call


def test_first_attempt_is_true_outside_any_command() -> None:
    assert first_attempt()


# ------------------------------------------------------------------ the ledger's commands


def test_a_participant_command_that_lost_a_race_is_retried_and_counted(world: World) -> None:
    """Another process changes the participant between this command's read and its save:
    the save conflicts, the command runs again on the current participant and keeps
    both changes."""
    ledger = world.ledger
    other = Ledger(env=sqlite_env(world.db))
    original = ledger.save
    saves: list[None] = []

    def save_after_another_process(*objs: Any, **kwargs: Any) -> Any:
        saves.append(None)
        if len(saves) == 1:
            other.grant_role(actor=world.operator, participant_id=world.emitter,
                             role="lender")
        return original(*objs, **kwargs)

    ledger.save = save_after_another_process  # type: ignore[method-assign]
    ledger.grant_role(actor=world.operator, participant_id=world.emitter, role="settler")

    participant = ledger.participant(world.emitter)
    assert {"lender", "settler"} <= {str(role) for role in participant.roles}
    assert len(saves) == 2
    assert ledger.retries.as_dict() == {"conflicts": 1, "stale_reads": 0, "gave_up": 0,
                                        "retries": 1}


def test_a_batch_command_that_lost_a_race_is_retried_and_counted(world: World) -> None:
    """Another process transfers from the same batch between this transfer's read and its
    save: the transfer runs again (after a conflict, or at once after a stale read when
    the store checks read sets) and both transfers are applied."""
    batch = world.project_batch(quantity=10 * TONNE)
    ledger = world.ledger
    other = Ledger(env=sqlite_env(world.db))
    original = ledger.save
    saves: list[None] = []

    def save_after_another_process(*objs: Any, **kwargs: Any) -> Any:
        saves.append(None)
        if len(saves) == 1:
            other.transfer(actor=world.emitter, batch_id=batch, recipient=world.organiser,
                           quantity=TONNE)
        return original(*objs, **kwargs)

    ledger.retries.reset()
    ledger.save = save_after_another_process  # type: ignore[method-assign]
    ledger.transfer(actor=world.emitter, batch_id=batch, recipient=world.organiser,
                    quantity=2 * TONNE)

    assert ledger.batch_view(batch).available(world.organiser) == 3 * TONNE
    assert ledger.batch_view(batch).available(world.emitter) == 7 * TONNE
    assert len(saves) == 2
    assert ledger.retries.retries == 1 and ledger.retries.gave_up == 0


def test_a_command_that_keeps_conflicting_fails_with_concurrency_conflict(
        world: World, back_offs: list[int]) -> None:
    ledger = world.ledger

    def always_conflicts(*objs: Any, **kwargs: Any) -> Any:
        raise IntegrityError("version taken")

    ledger.retries.reset()
    ledger.save = always_conflicts  # type: ignore[method-assign]
    with pytest.raises(ConcurrencyError, match="kept conflicting"):
        ledger.grant_role(actor=world.operator, participant_id=world.emitter, role="settler")
    assert ledger.retries.gave_up == 1
    assert ledger.retries.conflicts == retry.MAX_ATTEMPTS
    assert len(back_offs) == retry.MAX_ATTEMPTS - 1


def test_a_batch_command_that_keeps_conflicting_names_itself_and_saves_nothing(
        world: World, back_offs: list[int]) -> None:
    batch = world.project_batch(quantity=10 * TONNE)
    ledger = world.ledger

    def always_conflicts(*objs: Any, **kwargs: Any) -> Any:
        raise IntegrityError("version taken")

    ledger.retries.reset()
    ledger.save = always_conflicts  # type: ignore[method-assign]
    with pytest.raises(ConcurrencyError, match="the transfer command kept conflicting"):
        ledger.transfer(actor=world.emitter, batch_id=batch, recipient=world.organiser,
                        quantity=TONNE)
    assert ledger.retries.as_dict() == {"conflicts": retry.MAX_ATTEMPTS, "stale_reads": 0,
                                        "gave_up": 1, "retries": retry.MAX_ATTEMPTS - 1}
    assert ledger.batch_view(batch).available(world.emitter) == 10 * TONNE
