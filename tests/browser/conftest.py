"""Browser tests: Debian's chromium driven by Playwright against a live server.

Chromium is never downloaded (no ``playwright install``): the tests launch
``/usr/bin/chromium`` (Debian's ``chromium`` package). Without it, or without Playwright, they
are skipped with the reason, unless ``CARBON_LEDGER_REQUIRE_BROWSER=1`` (set by ``.ci/run``),
which turns the skip into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.application import TradeInstruction
from ledger.runtime import LedgerRuntime, Settings
from tests.browser.live import CHROMIUM, CHROMIUM_ARGS, serve
from tests.ledger.projections.scenario import issue_batch, make_cast

RETIRE = {"beneficiary": "Hubei Power Co.", "purpose": "compliance_offset",
          "jurisdiction": "Hubei", "consumption_period": "2023",
          "details": {"compliance_period": "2023"}}


def _unavailable(reason: str) -> None:
    if os.environ.get("CARBON_LEDGER_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CARBON_LEDGER_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def ledger_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A ledger on the embedded chain with an anchored retirement, a pledge, an enforced
    pledge and a trade retired on delivery."""
    data_dir = Path(tmp_path_factory.mktemp("browser")) / "ledger"
    with LedgerRuntime(Settings(data_dir=data_dir)) as runtime:
        ledger = runtime.ledger
        cast = make_cast(ledger)
        batch = issue_batch(ledger, cast, count=40)
        retirement = ledger.retire(actor=cast.platform, batch_id=batch, quantity=123_456,
                                   **RETIRE)
        pledge = ledger.pledge(actor=cast.platform, batch_id=batch, holder=cast.platform,
                               bank=cast.bank, loan_reference="GL-1", quantity=50_000)
        enforced = ledger.pledge(actor=cast.platform, batch_id=batch, holder=cast.platform,
                                 bank=cast.bank, loan_reference="GL-2", quantity=7_000)
        ledger.enforce_pledge(actor=cast.bank, batch_id=batch, pledge_id=enforced)
        ledger.grant_mandate(actor=cast.platform, agent=cast.exchange, scope="listing")
        ledger.list_for_sale(actor=cast.exchange, batch_id=batch, seller=cast.platform,
                             listing_ref="L-1", quantity=9_000)
        delivered = ledger.settle_trade(actor=cast.exchange, trade=TradeInstruction(
            trade_ref="T-1", listing_ref="L-1", batch_id=batch, seller=cast.platform,
            buyer=cast.holders[0], quantity=8_000, price_per_tonne="40", currency="CNY",
            retire_on_delivery=RETIRE)).retirement_id
        runtime.sync()
        runtime.anchoring.anchor_now()
        yield {"runtime": runtime, "cast": cast, "batch": batch, "retirement": retirement,
               "pledge": pledge, "enforced_pledge": enforced,
               "retired_on_delivery": delivered}


@pytest.fixture(scope="session")
def live_server(ledger_world: dict[str, Any]) -> Iterator[str]:
    """Base URL of a live server over ``ledger_world``."""
    with serve(ledger_world["runtime"]) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is not installed (Debian package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (the test extra)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-US")
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.errors = errors
    yield opened
    context.close()
