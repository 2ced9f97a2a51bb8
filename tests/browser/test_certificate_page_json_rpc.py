"""The certificate page of a ledger anchored on a JSON-RPC node (anvil, see
tests/anchoring/conftest.py): verified through the server's read-only proxy and, with the RPC
URL changed on the page, straight from the node; not final before K confirmations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.runtime import LedgerRuntime, Settings
from tests.anchoring.conftest import ANVIL_PRIVATE_KEY, anvil_url, mine_blocks
from tests.browser.conftest import RETIRE
from tests.browser.live import serve
from tests.browser.test_certificate_page import results, verdict_of
from tests.ledger.projections.scenario import issue_batch, make_cast

__all__ = ["anvil_url"]  # the session fixture, used here

CONFIRMATIONS = 2


@pytest.fixture(scope="module")
def anvil_world(anvil_url: str, tmp_path_factory: pytest.TempPathFactory,
                ) -> Iterator[dict[str, Any]]:
    data_dir = Path(tmp_path_factory.mktemp("browser-rpc")) / "ledger"
    settings = Settings(data_dir=data_dir, rpc_url=anvil_url, chain_key=ANVIL_PRIVATE_KEY,
                        confirmations=CONFIRMATIONS)
    with LedgerRuntime(settings) as runtime:
        ledger = runtime.ledger
        cast = make_cast(ledger)
        batch = issue_batch(ledger, cast, count=10)
        retirement = ledger.retire(actor=cast.platform, batch_id=batch, quantity=5_000,
                                   **RETIRE)
        runtime.sync()
        runtime.anchoring.anchor_now()
        mine_blocks(runtime.anchoring.chain, CONFIRMATIONS)
        runtime.anchoring.anchor_now()  # records the anchor final: a certificate is built
        with serve(runtime) as url:
            yield {"runtime": runtime, "url": url, "retirement": retirement,
                   "rpc": anvil_url}


def test_verified_through_the_servers_proxy_and_straight_from_the_node(page, anvil_world):
    page.goto(f"{anvil_world['url']}/explorer/certificates/{anvil_world['retirement']}")
    assert verdict_of(page) == "verified"
    assert set(results(page).values()) == {"PASS"}
    page.fill("#rpc-url", anvil_world["rpc"])  # the reader's own node (anvil allows CORS)
    page.click("#verify-button")
    assert verdict_of(page) == "verified"
    assert "2 required" in page.inner_text("tr[data-check='chain: finality']")


def test_more_confirmations_than_mined_is_not_final_yet(page, anvil_world):
    page.goto(f"{anvil_world['url']}/explorer/certificates/{anvil_world['retirement']}")
    assert verdict_of(page) == "verified"
    page.click("details summary")
    trust = page.input_value("#trust-anchors").replace(f'"confirmations": {CONFIRMATIONS}',
                                                       '"confirmations": 1000')
    assert '"confirmations": 1000' in trust
    page.fill("#trust-anchors", trust)
    page.click("#verify-button")
    assert verdict_of(page) == "not-verified-against-a-chain"
    assert results(page)["chain: finality"] == "NOT CHECKED"
