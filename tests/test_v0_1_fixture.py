"""A data directory written by carbon-ledger v0.1 (``tests/fixtures/v0_1``, made by its
``make_fixture.py``) opens with today's code: its history stays as written, its balances and
serials carry over, ``check`` passes, the certificates issued then still verify, and new
commands work on it."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from anchoring.certificate import Verdict, verify_certificate
from anchoring.trust import TrustAnchors
from ledger.application import TradeInstruction
from ledger.checks import check_ledger
from ledger.domain import ids
from ledger.domain.credit_batch import LotState
from ledger.domain.errors import LedgerError
from ledger.domain.holding import Holding
from ledger.domain.serials import ranges_total
from ledger.runtime import LedgerRuntime, Settings

FIXTURE = Path(__file__).parent / "fixtures" / "v0_1"
EXPECTED: dict[str, Any] = json.loads((FIXTURE / "expected.json").read_text())
T = 1_000_000


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CARBON_LEDGER_DATABASE_URL", "CARBON_LEDGER_DATABASE_SCHEMA",
                 "CARBON_LEDGER_RPC_URL"):
        monkeypatch.delenv(name, raising=False)
    target = tmp_path / "data"
    shutil.copytree(FIXTURE / "data", target)
    return target


def _events(path: Path) -> list[tuple[Any, ...]]:
    import sqlite3

    with sqlite3.connect(path) as db:
        return db.execute("SELECT originator_id, originator_version, topic, state "
                          "FROM stored_events ORDER BY rowid").fetchall()


def _serial_lots(rt: LedgerRuntime) -> dict[str, list[list[int]]]:
    """Every non-empty lot of the fixture's batch as the serial register shows it."""
    lots: dict[str, list[list[int]]] = {}
    for row in rt.views.serial_ranges(EXPECTED["batch"]):
        lots.setdefault(f"{row['state']}/{row['ref']}", []).append(
            [int(row["start"]), int(row["end"])])
    return {key: sorted(ranges) for key, ranges in sorted(lots.items())}


def test_opens_with_its_balances_and_serials(data_dir: Path) -> None:
    with LedgerRuntime(Settings.from_env(data_dir)) as rt:
        rt.sync()
        assert _serial_lots(rt) == EXPECTED["lots"]
        people = EXPECTED["participants"]
        assert rt.views.balance(people["bob"], EXPECTED["batch"])["available"] == 288 * T
        assert check_ledger(rt).problems == []
        assert not rt.ledger.batch(UUID(EXPECTED["batch"])).is_split  # as 0.1 left it


def test_rebuilt_read_models_show_the_same_serials(data_dir: Path) -> None:
    (data_dir / "views.sqlite").unlink()
    with LedgerRuntime(Settings.from_env(data_dir)) as rt:
        rt.sync()
        assert _serial_lots(rt) == EXPECTED["lots"]


def test_history_is_not_rewritten(data_dir: Path) -> None:
    before = _events(data_dir / "events.sqlite")
    with LedgerRuntime(Settings.from_env(data_dir)) as rt:
        rt.sync()
        people = EXPECTED["participants"]
        rt.ledger.transfer(actor=UUID(people["bob"]), batch_id=UUID(EXPECTED["batch"]),
                           recipient=UUID(people["carol"]), quantity=1 * T)
    after = _events(data_dir / "events.sqlite")
    assert after[: len(before)] == before
    assert hashlib.sha256(repr(before).encode()).hexdigest()  # the fixture has events
    assert len(before) > 40


@pytest.mark.parametrize("name", ["retirement", "pledge"])
def test_old_certificates_still_verify(data_dir: Path, name: str) -> None:
    cert = json.loads((data_dir / "certificates" / f"{name}.json").read_text())
    trust = TrustAnchors.from_document(
        json.loads((data_dir / "certificates" / "trust-anchors.json").read_text()))
    with LedgerRuntime(Settings.from_env(data_dir)) as rt:
        verification = verify_certificate(cert, rt.anchoring.chain, trust)
        assert verification.verdict is Verdict.VERIFIED, verification.failed


def test_new_commands_work_on_it(data_dir: Path) -> None:
    people = {k: UUID(v) for k, v in EXPECTED["participants"].items()}
    batch = UUID(EXPECTED["batch"])
    with LedgerRuntime(Settings.from_env(data_dir)) as rt:
        lg = rt.ledger
        lg.transfer(actor=people["alice"], batch_id=batch, recipient=people["bob"],
                    quantity=2 * T)
        lg.retire(actor=people["bob"], batch_id=batch, quantity=1 * T, beneficiary="Bob Co",
                  purpose="voluntary", jurisdiction="CN", consumption_period="2026")
        lg.release_pledge(actor=people["bank"], batch_id=batch,
                          pledge_id=UUID(EXPECTED["pledge"]))
        rt.sync()
        assert rt.views.balance(people["bob"], batch)["available"] == (288 + 2 - 1 + 40) * T
        assert rt.views.balance(people["alice"], batch)["available"] == (261 - 2) * T
        assert check_ledger(rt).problems == []
        # the first transfer split the batch (#17): events appended, none rewritten
        assert lg.batch(batch).is_split
        assert not [k for k in lg.batch(batch).lots if k.startswith("available/")]
        holders = {lg._get(h, Holding, LedgerError, "holding").account
                   for h in lg.holdings_by_batch()[batch]}
        assert {str(people["alice"]), str(people["bob"])} <= holders


def test_its_listing_and_pledge_close_on_the_batch_and_new_ones_live_on_holdings(
        data_dir: Path) -> None:
    """Issue #17: the 0.1 listing and pledge were made on the batch and are settled,
    cancelled and enforced there; a new listing and pledge live on the holdings; both
    kinds sit side by side and the ledger checks clean."""
    people = {k: UUID(v) for k, v in EXPECTED["participants"].items()}
    batch = UUID(EXPECTED["batch"])
    with LedgerRuntime(Settings.from_env(data_dir)) as rt:
        lg = rt.ledger
        exchange, alice, bob = people["exchange"], people["alice"], people["bob"]
        # L-1 (0.1, on the batch) still holds 20 t in escrow
        lg.settle_trade(actor=exchange, trade=TradeInstruction(
            trade_ref="T-3", listing_ref="L-1", batch_id=batch, seller=alice, buyer=bob,
            quantity=5 * T, price_per_tonne="36", currency="CNY"))
        returned = lg.cancel_listing(actor=exchange, batch_id=batch, listing_ref="L-1")
        assert ranges_total(returned) == 15 * T
        lg.enforce_pledge(actor=people["bank"], batch_id=batch,
                          pledge_id=UUID(EXPECTED["pledge"]))
        # new ones, on holdings
        lg.list_for_sale(actor=exchange, batch_id=batch, seller=alice, listing_ref="L-3",
                         quantity=10 * T)
        lg.settle_trade(actor=exchange, trade=TradeInstruction(
            trade_ref="T-4", listing_ref="L-3", batch_id=batch, seller=alice, buyer=bob,
            quantity=4 * T, price_per_tonne="36", currency="CNY"))
        pledge = lg.pledge(actor=bob, batch_id=batch, holder=bob, bank=people["bank"],
                           loan_reference="GL-9", quantity=3 * T)
        view = lg.batch_view(batch)
        assert view.listings[str(ids.listing_id(exchange, "L-1"))]["open"] is False
        assert str(ids.listing_id(exchange, "L-1")) in view.batch.listings  # on the batch
        assert str(ids.listing_id(exchange, "L-3")) in view.holdings[str(alice)].listings
        assert view.pledges[str(pledge)] == {"bank": str(people["bank"]),
                                            "loan_reference": "GL-9", "status": "active",
                                            "holder": str(bob)}
        assert view.pledges[EXPECTED["pledge"]]["status"] == "enforced"
        assert view.held(LotState.ESCROWED, ids.listing_id(exchange, "L-3")) == 6 * T
        rt.sync()
        balances = {name: rt.views.balance(people[name], batch) for name in ("alice", "bob")}
        assert balances["bob"]["available"] == (288 + 5 + 4 - 3) * T
        assert balances["bob"]["pledged"] == 3 * T
        assert balances["alice"]["escrowed"] == 6 * T
        assert check_ledger(rt).problems == []
