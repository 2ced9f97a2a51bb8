"""Reading what could not be read before issue 18: a batch's moves, a serial's chain of
custody, transfers, listings with what is left, cancellations, exports, corrections, and a
holder's own trades. Each list against the commands performed; each restricted one
refused or empty for a participant who is not a party."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import pytest

from ledger.application import TradeInstruction
from tests.api.support import Actor, World, assert_problem

T = 1_000_000
RETIRE = {"beneficiary": "B", "purpose": "voluntary", "jurisdiction": "CN",
          "consumption_period": "2024"}


@pytest.fixture
def storage(backend: str) -> str:
    """These tests run on SQLite and on PostgreSQL."""
    return backend


@dataclass
class Market:
    batch: UUID
    block: str
    first: int  # the first serial of the batch
    platform: Actor
    seller: Actor
    buyer: Actor
    outsider: Actor
    exchange: Actor
    auditor: Actor
    listing: UUID
    trade: UUID
    retirement: UUID
    export: UUID
    cancellation: UUID


def _market(world: World) -> Market:
    """platform -(transfer 10 t)-> seller; the exchange lists 4 t of the seller's and sells
    1 t to the buyer, who retires 0.5 t; the seller exports 1 t; the operator cancels 1 t
    of the platform's and corrects the batch's region."""
    ledger, operator = world.ledger, world.operator
    platform, exchange = world.actors["platform"], world.actors["exchange"]
    seller, auditor = world.actors["enterprise"], world.actors["auditor"]
    buyer, outsider = world.register("enterprise"), world.register("enterprise")
    batch = world.project_batch(platform, "100 t")
    ledger.transfer(actor=platform.id, batch_id=batch, recipient=seller.id, quantity=10 * T)
    ledger.grant_mandate(actor=seller.id, agent=exchange.id, scope="listing")
    listing = ledger.list_for_sale(actor=exchange.id, batch_id=batch, seller=seller.id,
                                   listing_ref="L1", quantity=4 * T)
    trade = ledger.settle_trade(actor=exchange.id, trade=TradeInstruction(
        trade_ref="T1", listing_ref="L1", batch_id=batch, seller=seller.id, buyer=buyer.id,
        quantity=T, price_per_tonne="40", currency="CNY")).trade_id
    retirement = ledger.retire(actor=buyer.id, batch_id=batch, quantity=T // 2, **RETIRE)
    export = ledger.export(actor=seller.id, batch_id=batch, quantity=T, destination="CCER")
    cancellation = ledger.cancel(actor=operator.id, batch_id=batch, holder=platform.id,
                                 quantity=T, reason="double counted with project X")
    ledger.correct_batch(actor=operator.id, batch_id=batch, field="region", value="Hubei",
                         reason="typo")
    world.runtime.sync()
    made = ledger.batch(batch)
    return Market(batch=batch, block=made.block, first=made.serial_start, platform=platform,
                  seller=seller, buyer=buyer, outsider=outsider, exchange=exchange,
                  auditor=auditor, listing=listing, trade=trade, retirement=retirement,
                  export=export, cancellation=cancellation)


def _all(world: World, actor: Actor | None, path: str, **params: Any) -> list[dict]:
    """Every item of every page (two per page, so the cursors are exercised)."""
    items, cursor = [], None
    while True:
        response = world.api.get(actor, path, params={"limit": 2, "cursor": cursor, **params})
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        if body["next_cursor"] is None:
            return items
        cursor = body["next_cursor"]


def _holders(move: dict) -> tuple[Any, Any]:
    return ((move["from_lot"] or {}).get("holder"), move["to_lot"]["holder"])


def test_a_batch_history_is_public_but_names_holders_only_to_parties(world: World):
    m = _market(world)
    path = f"/batches/{m.batch}/moves"
    public = _all(world, None, path)
    assert [(i["kind"], i["quantity_g"]) for i in public] == [
        ("issuance", 100 * T), ("transfer", 10 * T), ("escrow", 4 * T), ("settlement", T),
        ("retirement", T // 2), ("export", T), ("cancellation", T)]
    positions = [i["position"] for i in public]
    assert positions == sorted(positions)
    retired = public[4]
    assert retired["to_lot"] == {"state": "retired", "ref": str(m.retirement),
                                 "holder": str(m.buyer.id)}  # as the public register shows
    assert retired["from_lot"] == {"state": "available", "ref": None, "holder": None}
    assert all(i["redacted"] for i in public)
    assert all(_holders(i) in ((None, None), (None, str(m.buyer.id))) for i in public)

    # The seller sees the moves it is a party of; an outsider none; an auditor all.
    seen = {i["kind"]: i for i in _all(world, m.seller, path)}
    assert not seen["transfer"]["redacted"]
    assert _holders(seen["transfer"]) == (str(m.platform.id), str(m.seller.id))
    assert seen["issuance"]["redacted"] and seen["retirement"]["redacted"]
    assert all(i["redacted"] for i in _all(world, m.outsider, path))
    assert not any(i["redacted"] for i in _all(world, m.auditor, path))
    assert [i["kind"] for i in _all(world, None, path, kind="transfer")] == ["transfer"]


def test_the_chain_of_custody_of_a_serial(world: World):
    m = _market(world)
    # The first serial: platform -> seller -> escrow -> buyer (sold) -> retired.
    response = world.api.get(m.auditor, f"/serials/{m.block}/{m.first}/custody")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["batch_id"] == str(m.batch) and body["serial"] == m.first
    assert [(i["kind"], i["to_lot"]["state"], i["to_lot"]["holder"]) for i in body["moves"]] == [
        ("issuance", "available", str(m.platform.id)),
        ("transfer", "available", str(m.seller.id)),
        ("escrow", "escrowed", str(m.seller.id)),
        ("settlement", "available", str(m.buyer.id)),
        ("retirement", "retired", str(m.buyer.id))]
    now = world.api.get(None, f"/serials/{m.block}/{m.first}").json()
    assert now["state"] == "retired" and now["reference"] == str(m.retirement)
    # A serial never moved has its issuance only; past the batch there is none.
    last = m.first + 100 * T - 1
    untouched = world.api.get(None, f"/serials/{m.block}/{last - 2 * T}/custody").json()
    assert [i["kind"] for i in untouched["moves"]] == ["issuance"]
    assert_problem(world.api.get(None, f"/serials/{m.block}/{last + 1}/custody"),
                   404, "unknown-record")
    assert_problem(world.api.get(None, f"/serials/NO-SUCH-BLOCK/{m.first}/custody"),
                   404, "unknown-record")
    assert_problem(world.api.get(None, f"/serials/{m.block}/-1/custody"), 422,
                   "validation-error")


def test_unknown_batches_bad_cursors_and_filters_are_problems(world: World):
    m = _market(world)
    assert_problem(world.api.get(None, f"/batches/{UUID(int=7)}/moves"), 404, "unknown-record")
    assert_problem(world.api.get(None, f"/batches/{m.batch}/moves",
                                 params={"kind": "theft"}), 422, "validation-error")
    other = world.api.get(m.auditor, "/transfers", params={"limit": 1}).json()
    assert other["next_cursor"] is None  # one transfer
    trades = world.api.get(m.buyer, "/me/trades", params={"limit": 1}).json()
    listings_cursor = world.api.get(m.auditor, "/listings", params={"limit": 1,
                                                                    "status": "all"})
    assert listings_cursor.status_code == 200
    moves_cursor = world.api.get(None, f"/batches/{m.batch}/moves",
                                 params={"limit": 1}).json()["next_cursor"]
    for path, actor in (("/transfers", m.auditor), ("/me/trades", m.buyer),
                        ("/corrections", None), ("/exports", m.auditor),
                        ("/cancellations", m.auditor), ("/listings", m.auditor)):
        assert_problem(world.api.get(actor, path, params={"cursor": moves_cursor}), 422,
                       "invalid-cursor")
        assert_problem(world.api.get(actor, path, params={"cursor": "not-a-cursor!"}), 422,
                       "invalid-cursor")
    assert trades["next_cursor"] is None
    for path, params in (("/me/trades", {"side": "both"}), ("/listings", {"status": "gone"}),
                         ("/transfers", {"party": "me"}), ("/exports", {"batch_id": "x"}),
                         ("/corrections", {"field": "f" * 33}),
                         ("/cancellations", {"limit": 0})):
        assert_problem(world.api.get(m.auditor if path != "/me/trades" else m.buyer, path,
                                     params=params), 422, "validation-error")


def test_transfers_are_read_by_their_parties_operators_and_auditors(world: World):
    m = _market(world)
    for party in (m.platform, m.seller):
        mine = _all(world, party, "/transfers")
        assert [(i["quantity_g"], *_holders(i)) for i in mine] == [
            (10 * T, str(m.platform.id), str(m.seller.id))]
        assert not mine[0]["redacted"]
    assert _all(world, m.outsider, "/transfers") == []
    assert_problem(world.api.get(m.outsider, "/transfers", params={"party": str(m.seller.id)}),
                   403, "forbidden")
    assert_problem(world.api.get(None, "/transfers"), 401, "invalid-api-key")
    for reader in (m.auditor, world.operator):
        assert len(_all(world, reader, "/transfers")) == 1
        assert len(_all(world, reader, "/transfers", party=str(m.seller.id))) == 1
        assert _all(world, reader, "/transfers", party=str(m.outsider.id)) == []
        assert _all(world, reader, "/transfers", batch_id=str(UUID(int=1))) == []


def test_a_holder_reads_its_own_trades_as_buyer_or_seller(world: World):
    m = _market(world)
    for holder, side in ((m.buyer, "buyer"), (m.seller, "seller")):
        mine = _all(world, holder, "/me/trades")
        assert [(i["id"], i["quantity_g"], i["buyer"], i["seller"]) for i in mine] == [
            (str(m.trade), T, str(m.buyer.id), str(m.seller.id))]
        assert _all(world, holder, "/me/trades", side=side) == mine
        other = "seller" if side == "buyer" else "buyer"
        assert _all(world, holder, "/me/trades", side=other) == []
    assert _all(world, m.outsider, "/me/trades") == []
    assert _all(world, m.buyer, "/me/trades", batch_id=str(UUID(int=1))) == []
    assert_problem(world.api.get(None, "/me/trades"), 401, "invalid-api-key")


def test_listings_show_what_is_left_to_their_parties(world: World):
    m = _market(world)
    for reader in (m.exchange, m.seller, m.auditor):
        listed = _all(world, reader, "/listings")
        assert [(i["id"], i["listed_g"], i["sold_g"], i["remaining_g"], i["status"])
                for i in listed] == [(str(m.listing), 4 * T, T, 3 * T, "open")]
    assert _all(world, m.outsider, "/listings") == []
    assert _all(world, m.buyer, "/listings", status="all") == []
    world.ledger.cancel_listing(actor=m.exchange.id, batch_id=m.batch, listing_ref="L1")
    world.runtime.sync()
    assert _all(world, m.exchange, "/listings") == []
    cancelled = _all(world, m.exchange, "/listings", status="cancelled")
    assert [(i["remaining_g"], i["status"]) for i in cancelled] == [(0, "cancelled")]
    assert world.balance(m.seller, m.batch)["available"] == 10 * T - 4 * T - T + 3 * T
    assert _all(world, m.auditor, "/listings", exchange=str(m.exchange.id),
                batch_id=str(m.batch), status="all") == cancelled


def test_cancellations_and_exports_are_read_by_their_holder_and_operators(world: World):
    m = _market(world)
    cancellations = _all(world, m.platform, "/cancellations")
    assert [(i["id"], i["holder"], i["quantity_g"], i["reason"]) for i in cancellations] == [
        (str(m.cancellation), str(m.platform.id), T, "double counted with project X")]
    assert _all(world, world.operator, "/cancellations") == cancellations
    assert _all(world, m.auditor, "/cancellations", holder=str(m.platform.id)) == cancellations
    assert _all(world, m.seller, "/cancellations") == []
    assert_problem(world.api.get(m.seller, "/cancellations",
                                 params={"holder": str(m.platform.id)}), 403, "forbidden")

    exports = _all(world, m.seller, "/exports")
    assert [(i["id"], i["destination"], i["quantity_g"]) for i in exports] == [
        (str(m.export), "CCER", T)]
    assert _all(world, m.auditor, "/exports", destination="CCER") == exports
    assert _all(world, m.auditor, "/exports", destination="SHCER") == []
    assert _all(world, m.platform, "/exports") == []
    assert_problem(world.api.get(m.platform, "/exports", params={"holder": str(m.seller.id)}),
                   403, "forbidden")
    assert_problem(world.api.get(None, "/exports"), 401, "invalid-api-key")


def test_corrections_are_public_with_old_and_new_values(world: World):
    m = _market(world)
    corrections = _all(world, None, "/corrections")
    assert [(i["batch_id"], i["field"], i["previous"], i["value"], i["reason"])
            for i in corrections] == [(str(m.batch), "region", "Wuhan", "Hubei", "typo")]
    assert _all(world, None, "/corrections", batch_id=str(m.batch), field="region") \
        == corrections
    assert _all(world, None, "/corrections", field="vintage") == []
