from __future__ import annotations

from ledger.application import CommandContext, TradeInstruction
from ledger.runtime import LedgerRuntime, Settings
from tests.ledger.projections.scenario import issue_batch, make_cast, sessions


def test_a_bulk_command_record_lists_every_event_of_every_chunk(tmp_path):
    with LedgerRuntime(Settings(data_dir=tmp_path / "ledger")) as runtime:
        cast = make_cast(runtime.ledger)
        context = CommandContext(participant=cast.platform, command="report behaviours",
                                 request_sha256="ab" * 32, idempotency_key="bulk-1")
        with runtime.ledger.command_context(context):
            results = runtime.ledger.report_behaviours(platform=cast.platform,
                                                       reports=sessions(2_500))
        assert all(r.accepted for r in results)
        record = runtime.ledger.command_record(context.record_id)
        assert len(record.events) == 2_500  # three saves of up to 1,000, one record
        runtime.sync()
        assert len(runtime.views.command_record(context.record_id)["events"]) == 2_500


def test_retire_on_delivery_counts_toward_the_named_claim(tmp_path):
    with LedgerRuntime(Settings(data_dir=tmp_path / "ledger")) as runtime:
        ledger = runtime.ledger
        cast = make_cast(ledger)
        batch = issue_batch(ledger, cast, count=30)
        organiser = cast.holders[0]
        claim = ledger.register_claim(actor=organiser, event_name="Forum", footprint_g=50_000)
        ledger.grant_mandate(actor=cast.platform, agent=cast.exchange, scope="listing")
        ledger.list_for_sale(actor=cast.exchange, batch_id=batch, seller=cast.platform,
                             listing_ref="L", quantity=50_000)
        ledger.settle_trade(actor=cast.exchange, trade=TradeInstruction(
            trade_ref="T", listing_ref="L", batch_id=batch, seller=cast.platform,
            buyer=organiser, quantity=50_000, price_per_tonne="40", currency="CNY",
            retire_on_delivery={"beneficiary": "Forum", "purpose": "event_neutrality",
                                "jurisdiction": "CN", "consumption_period": "2025",
                                "details": {"event": "Forum", "claim_id": str(claim)}}))
        assert ledger.claim(claim).met
        runtime.sync()
        assert runtime.views.claim(claim)["retired_g"] == 50_000
