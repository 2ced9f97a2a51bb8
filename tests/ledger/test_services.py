from __future__ import annotations

import time

from ledger.leases import Lease
from ledger.runtime import LedgerRuntime, Settings
from ledger.services import BackgroundServices
from tests.ledger.projections.scenario import make_cast


def test_a_lease_is_held_by_one_holder_until_it_expires(tmp_path):
    with LedgerRuntime(Settings(data_dir=tmp_path / "ledger")) as runtime:
        now = [1000.0]
        first = Lease(runtime.engine, "anchorer", ttl=10, clock=lambda: now[0])
        second = Lease(runtime.engine, "anchorer", ttl=10, clock=lambda: now[0])
        assert first.acquire()
        assert not second.acquire()
        assert first.acquire()  # renewal
        now[0] += 11
        assert second.acquire()  # expired: taken over
        assert not first.acquire()
        second.release()
        assert first.acquire()


def test_only_one_of_several_processes_anchors(tmp_path):
    settings = Settings(data_dir=tmp_path / "ledger", anchor_every_events=1,
                        anchor_every_seconds=0)
    runtimes = [LedgerRuntime(settings) for _ in range(3)]
    make_cast(runtimes[0].ledger)
    services = [BackgroundServices(rt, interval=0.05, lease_ttl=5) for rt in runtimes]
    for service in services:
        service.start()
    try:
        deadline = time.time() + 30
        while time.time() < deadline and sum(s.anchored for s in services) == 0:
            time.sleep(0.05)
        runtimes[0].ledger.register_participant(kind="auditor", name="late auditor")
        deadline = time.time() + 30
        while time.time() < deadline and sum(s.anchored for s in services) < 2:
            time.sleep(0.05)
    finally:
        for service in services:
            service.stop()
    anchorers = [s for s in services if s.anchored]
    assert len(anchorers) == 1
    assert anchorers[0].anchored >= 2
    records = runtimes[0].anchoring.anchorer.anchors()
    assert len({r.tree_size for r in records}) == len(records)
    assert all(rt.projector.lag() == 0 for rt in runtimes)
    for rt in runtimes:
        rt.close()
