"""A read model that cannot apply an event never takes the ledger down (issue 15).

The event is injected the way an old log could hold one: saved past the domain's rules (a
behaviour of more grams than a 64-bit column holds). The projector then stops *before* it
and names it; the API starts and answers reads from the rows it has; writes are refused with
a 503 ``projection-stuck`` problem (never a bare 500); ``carbon-ledger status`` prints the
event and exits non-zero; and once nothing is stuck, writes are taken again.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from api import ApiSettings, create_app
from ledger.cli import main as cli_main
from ledger.domain.behaviour import Behaviour
from ledger.domain.ids import individual_account_id
from ledger.projections.failures import ProjectionStuckError
from ledger.runtime import LedgerRuntime, Settings
from tests.api.support import PROBLEM, World

TOO_MANY_GRAMS = 2**64  # one more bit than the read model's BIGINT holds


def poison(runtime: LedgerRuntime, platform: UUID, methodology: UUID) -> Behaviour.Reported:
    """Save, past the domain's checks, a behaviour the read models cannot hold."""
    event = Behaviour.Reported(
        originator_topic="ledger.domain.behaviour:Behaviour", originator_id=uuid4(),
        originator_version=1, timestamp=Behaviour.Reported.create_timestamp(),
        platform=str(platform), platform_ref="poison", account=str(individual_account_id("p")),
        methodology=str(methodology), scene="ev-charging", act_identity="poison",
        activity_amount="1", occurred_at=datetime(2024, 9, 1, tzinfo=UTC),
        reduction_g=TOO_MANY_GRAMS, exact_g=str(TOO_MANY_GRAMS))
    runtime.ledger.save(event)
    return event


def test_a_stuck_projector_names_the_event_and_the_api_keeps_reading(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    runtime, api = world.runtime, world.api
    platform = world.actors["platform"]
    before = runtime.projector.position()
    with caplog.at_level(logging.ERROR, logger="ledger.projections.projector"):
        event = poison(runtime, platform.id, world.methodology)
        # an event after it, which the projector must not skip past
        world.ledger.suspend_participant(actor=world.operator.id,
                                         participant_id=world.actors["auditor"].id,
                                         reason="later")
        with pytest.raises(ProjectionStuckError) as raised:
            runtime.sync()
    failure = raised.value.failure
    assert failure.position == before + 1  # the poison itself: the events before it applied
    assert failure.topic == "ledger.domain.behaviour:Behaviour.Reported"
    assert failure.originator_id == str(event.originator_id)
    assert failure.originator_version == 1
    assert "Overflow" in failure.error or "out of range" in failure.error
    assert runtime.projector.position() == before  # stopped before it, not past it
    assert runtime.projection_failure == failure
    logged = [r for r in caplog.records if str(event.originator_id) in r.getMessage()]
    assert len(logged) == 1  # logged once, naming the event
    with pytest.raises(ProjectionStuckError):
        runtime.sync()
    assert len([r for r in caplog.records if str(event.originator_id) in r.getMessage()]) == 1

    # reads answer with what the read models have
    assert api.get(None, "/participants").status_code == 200
    assert api.get(None, f"/methodologies/{world.methodology}").status_code == 200
    # writes are refused with a clear problem, and nothing is written
    recorded = runtime.ledger.recorder.max_notification_id()
    response = api.post(world.operator, "/participants", json={
        "kind": "enterprise", "name": "refused while stuck"})
    assert response.status_code == 503
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["code"] == "projection-stuck"
    assert problem["details"]["position"] == failure.position
    assert problem["details"]["originator_id"] == str(event.originator_id)
    assert runtime.ledger.recorder.max_notification_id() == recorded


def test_serve_and_status_with_a_stuck_projector(
        storage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(data_dir=tmp_path / "ledger")
    with LedgerRuntime(settings) as runtime:
        from api.bootstrap import bootstrap_operator

        root = bootstrap_operator(runtime, "operator")
        operator = root.participant_id
        platform = runtime.ledger.register_participant(
            kind="platform", name="app", registered_by=operator)
        methodology = runtime.ledger.publish_methodology(
            actor=operator, code="WH-EV", version="1", region="Wuhan", scene="ev-charging",
            activity_unit="kWh", factor_g_per_unit="600", valid_from="2024-01-01")
        runtime.sync()
        event = poison(runtime, platform, methodology)

    # the app of a data directory whose log holds it starts (as `serve` builds it) and reads
    app = create_app(ApiSettings(ledger=settings, anchoring=False))
    with TestClient(app) as client:
        assert client.get("/participants").status_code == 200
        assert client.get(f"/methodologies/{methodology}").status_code == 200

    code = cli_main(["--data-dir", str(settings.data_dir), "status"])
    out, err = capsys.readouterr()
    assert code != 0
    assert "PROJECTION STUCK" in out
    assert str(event.originator_id) in out
    assert "Behaviour.Reported" in out
    assert "projection-stuck" in err and len(err.strip().splitlines()) == 1


def test_a_transient_page_failure_is_not_reported_as_stuck(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page that fails once (a lost connection, say) is applied again event by event."""
    runtime = world.runtime
    projector = runtime.projector
    world.ledger.suspend_participant(actor=world.operator.id,
                                     participant_id=world.actors["auditor"].id, reason="x")
    real = projector._apply_page
    failures = [RuntimeError("connection lost")]

    def flaky(page_size: int, *args: object, **kwargs: object) -> int:
        if failures and page_size > 1:
            raise failures.pop()
        return real(page_size, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(projector, "_apply_page", flaky)
    assert runtime.sync() == 1
    assert runtime.projection_failure is None


def test_a_write_whose_catch_up_meets_the_stuck_event_is_a_503(world: World) -> None:
    """The poison arrives between two requests (another process saved it): the next write
    runs, its catch-up stops before the poison, and it answers the 503 problem, not a 500."""
    runtime = world.runtime
    event = poison(runtime, world.actors["platform"].id, world.methodology)
    assert runtime.projection_failure is None  # not met yet
    response = world.api.post(world.operator, "/participants", json={
        "kind": "enterprise", "name": "recorded, not yet readable"})
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "projection-stuck"
    assert response.json()["details"]["originator_id"] == str(event.originator_id)
    assert runtime.projection_failure is not None


def test_the_follower_logs_a_stuck_event_once_and_keeps_retrying(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    from ledger.services import BackgroundServices

    runtime = world.runtime
    event = poison(runtime, world.actors["platform"].id, world.methodology)
    services = BackgroundServices(runtime, interval=0.02, anchoring=False)
    with caplog.at_level(logging.ERROR):
        services.start()
        try:
            deadline = time.monotonic() + 10
            while runtime.projection_failure is None and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.3)  # several more attempts
        finally:
            services.stop()
    assert runtime.projection_failure is not None
    named = [r for r in caplog.records if str(event.originator_id) in r.getMessage()]
    assert len(named) == 1
    assert not [r for r in caplog.records if r.name == "ledger.services"]  # no traceback spam
