"""Amounts and identities read exactly (issue 15), through the ledger's commands: act
identities under other spellings, legacy behaviour ids, vintages in local time, settlement
currencies, export destinations, behaviours dated ahead, and dangerous text in every
human-readable field. Every refusal is a ValidationError decided before anything is saved."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from ledger.application import BehaviourReport
from ledger.domain import ids
from ledger.domain.behaviour import Behaviour
from ledger.domain.errors import DuplicateBehaviourError, LedgerError, ValidationError
from ledger.domain.ids import NS_BEHAVIOUR
from tests.ledger.conftest import EV, METRO, SHA, TONNE, World
from tests.ledger.test_application import listed, trade

FIRST = "charger:WH-0001|2024-09-03T08:15Z"
# The same charging session as FIRST, as an outside check wrote it (issue 15): each was
# accepted as a new act before act identities were normalised.
RESPELLINGS = [
    "charger:WH-0001|2024-09-03T16:15+08:00",  # another offset, same instant
    "charger:WH-0001|2024-09-03T08:15:00.000Z",  # another precision
    "CHARGER:wh-0001|2024-09-03t08:15z",  # another case
    "charger\uff1aWH-0001|2024-09-03T08\uff1a15Z",  # full-width colons
    "  charger:WH-0001 | 2024-09-03T08:15Z",  # blanks
    "charger:WH\u200b-0001|2024-09-03T08:15Z",  # a zero-width space
    "\uff43\uff48\uff41\uff52\uff47\uff45\uff52:WH-0001|2024-09-03 16:15:00 +0800",
]


def charge(world: World, act: str, ref: str, when: str = "2024-09-03T08:15:00Z",
           methodology: tuple[str, str] = EV) -> BehaviourReport:
    return world.charge("wuhan-user-1", "10", when, ref=ref, act=act, methodology=methodology)


def written(world: World) -> int:
    return world.ledger.recorder.max_notification_id() or 0


# -- act identities ---------------------------------------------------------------------


def test_the_same_act_respelled_is_refused_as_a_duplicate_naming_the_first(world: World):
    [first] = world.report(world.ev_app, [charge(world, FIRST, "rec-1")])
    assert first.accepted
    for n, spelling in enumerate(RESPELLINGS):  # one call each, by either platform
        platform = world.pay_app if n % 2 else world.ev_app
        [again] = world.report(platform, [charge(world, spelling, f"again-{n}")])
        assert not again.accepted, spelling
        assert isinstance(again.error, DuplicateBehaviourError)
        assert again.error.details["behaviour"] == str(first.behaviour_id)
        assert again.error.details["first_platform_ref"] == "rec-1"


def test_respellings_in_one_call_are_refused_naming_the_first_item(world: World):
    results = world.report(world.ev_app, [charge(world, FIRST, "rec-1")] + [
        charge(world, spelling, f"again-{n}") for n, spelling in enumerate(RESPELLINGS)])
    assert [r.accepted for r in results] == [True] + [False] * len(RESPELLINGS)
    assert all("item 0" in r.error.message for r in results[1:])


def test_distinct_acts_stay_distinct(world: World):
    acts = [FIRST, "charger:WH-0001|2024-09-03T08:16Z",  # another minute
            "charger:WH-0001|2024-09-03T08:15:00.5Z",  # another half second
            "charger:WH-0002|2024-09-03T08:15Z",  # another charger
            "charger:WH-0001|2024-09-03T08:15",  # no offset: not an instant, kept as text
            "charger:WH-0001|2024-09-03T08:15+01:00"]  # another instant
    results = world.report(world.ev_app, [charge(world, act, f"r{n}")
                                          for n, act in enumerate(acts)])
    assert all(r.accepted for r in results), [r.error for r in results]
    assert len({r.behaviour_id for r in results}) == len(acts)


def _old_id(scene: str, act_identity: str) -> UUID:
    """The id the code before issue 15 derived: the exact text."""
    return ids.uuid5(NS_BEHAVIOUR, f"{scene}\x1f{act_identity.strip()}")


def _store_the_old_way(world: World, act_identity: str, ref: str) -> UUID:
    """A behaviour as the old code stored it: its id derived from the exact text."""
    methodology = world.ledger.methodology(world.ev)
    behaviour_id = _old_id(methodology.scene, act_identity)
    assert behaviour_id != ids.behaviour_id(methodology.scene, act_identity)  # not normal
    event = Behaviour.reported(
        behaviour_id, platform=world.ev_app, platform_ref=ref,
        account=ids.individual_account_id("wuhan-user-1"), methodology=methodology,
        act_identity=act_identity, activity_amount=Decimal("10"),
        occurred_at=datetime(2024, 9, 3, 8, 15, tzinfo=UTC))
    world.ledger.save(event)
    return behaviour_id


@pytest.mark.parametrize("in_one_call", [False, True])
def test_an_act_stored_under_its_old_exact_text_id_is_still_refused(world: World,
                                                                     in_one_call: bool):
    legacy = _store_the_old_way(world, FIRST, "old-rec")
    assert world.ledger.repository.get(legacy).act_identity == FIRST  # still readable
    reports = [charge(world, FIRST, "new-rec"), charge(world, "charger:WH-9|x", "other")]
    if in_one_call:
        results = world.report(world.pay_app, reports)
    else:
        results = [world.report(world.pay_app, [r])[0] for r in reports]
    assert [r.accepted for r in results] == [False, True]
    error = results[0].error
    assert isinstance(error, DuplicateBehaviourError)
    assert error.details["behaviour"] == str(legacy)  # names the stored behaviour
    assert error.details["first_platform_ref"] == "old-rec"


def test_without_indexing_an_old_act_respelled_is_stored_once_more(world: World):
    """Why an upgraded ledger runs ``index_legacy_acts``: an act's old id cannot be derived
    from another spelling. From then on, every spelling collides with that second record."""
    _store_the_old_way(world, FIRST, "old-rec")
    [second] = world.report(world.ev_app, [charge(world, RESPELLINGS[0], "new")])
    assert second.accepted
    for spelling in [FIRST, *RESPELLINGS]:
        [again] = world.report(world.ev_app, [charge(world, spelling, "again")])
        assert not again.accepted


def test_indexed_old_acts_refuse_every_spelling_naming_the_old_behaviour(world: World):
    legacy = _store_the_old_way(world, FIRST, "old-rec")
    other = _store_the_old_way(world, "charger:WH-0002|2024-09-03T09:00Z", "old-rec-2")
    twice = _store_the_old_way(world, "CHARGER:WH-0002|2024-09-03T17:00+08:00", "dup")
    [fresh] = world.report(world.ev_app, [charge(world, "charger:WH-0003|x", "new-rec")])
    assert world.ledger.index_legacy_acts(page=2) == (4, 2)  # the old double count: one key
    assert world.ledger.index_legacy_acts() == (4, 0)  # idempotent
    for n, spelling in enumerate([FIRST, *RESPELLINGS]):
        [again] = world.report(world.pay_app if n % 2 else world.ev_app,
                               [charge(world, spelling, f"again-{n}")])
        assert isinstance(again.error, DuplicateBehaviourError), spelling
        assert again.error.details["behaviour"] == str(legacy)
        assert again.error.details["first_platform_ref"] == "old-rec"
    [again] = world.report(world.ev_app, [charge(world, "charger:wh-0002|2024-09-03T09:00Z",
                                                 "again")])
    assert again.error.details["behaviour"] == str(other)
    assert twice != other and fresh.accepted


def test_a_key_found_on_a_concurrent_save_names_the_old_behaviour(world: World,
                                                                   monkeypatch):
    """The one-at-a-time path (after a chunk's save collided) resolves a key too."""
    legacy = _store_the_old_way(world, FIRST, "old-rec")
    world.ledger.index_legacy_acts()
    monkeypatch.setattr(type(world.ledger), "_reject_recorded",
                        lambda self, pending, results, legacy_ids: 0)  # as if saved meanwhile
    [again] = world.report(world.ev_app, [charge(world, RESPELLINGS[0], "again")])
    assert isinstance(again.error, DuplicateBehaviourError)
    assert again.error.details["behaviour"] == str(legacy)


def test_the_legacy_id_rule_is_the_old_derivation():
    for scene, act in [("ev_charging", FIRST), ("metro", "card:42|2024-05-01T08:00")]:
        assert ids.legacy_behaviour_id(scene, act) == _old_id(scene, act)
    # identities already in normal form keep the very id they had
    normal = "charger:wh-0001|2024-09-03T08:15:00Z"
    assert ids.behaviour_id("ev_charging", normal) == _old_id("ev_charging", normal)


def test_the_bulk_file_import_refuses_respellings_too(world: World, tmp_path):
    import json

    from ledger.bulk_import import import_behaviours
    from tests.ledger.conftest import sqlite_env

    lines = [{"person": "p", "methodology_code": EV[0], "methodology_version": EV[1],
              "act_identity": act, "activity_amount": "1", "occurred_at":
              "2024-09-03T08:15:00Z", "platform_ref": f"f{n}"}
             for n, act in enumerate([FIRST, *RESPELLINGS])]
    source, results = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    summary = import_behaviours(sqlite_env(world.db), world.ev_app, source, results,
                                processes=1)
    assert (summary.accepted, summary.rejected) == (1, len(RESPELLINGS))


# -- behaviours dated ahead ---------------------------------------------------------------


def test_a_behaviour_dated_ahead_of_the_clock_is_refused_on_its_own(world: World):
    now = datetime.now(UTC)
    soon = (now + timedelta(minutes=1)).isoformat()  # within the clock skew
    late = (now + timedelta(minutes=10)).isoformat()
    years = "2031-01-01T00:00:00+08:00"
    before = written(world)
    results = world.report(world.ev_app, [
        charge(world, "card:1", "a", soon, METRO), charge(world, "card:2", "b", late, METRO),
        charge(world, "card:3", "c", years, METRO)])
    assert [r.accepted for r in results] == [True, False, False]
    for result in results[1:]:
        assert isinstance(result.error, ValidationError)
        assert result.error.details["field"] == "occurred_at"
        assert "in the future" in result.error.message
        assert result.error.details["max_skew_s"] == 300
    assert written(world) == before + 1


# -- vintage ----------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "vintage"), [
    ("2023-01-01T00:00:00+08:00", 2023),  # issued as 2022 before: the UTC year
    ("2022-12-31T16:00:00Z", 2023),  # the same instant
    ("2022-12-31T15:59:59Z", 2022),
    ("2023-12-31T23:59:59+08:00", 2023),
    ("2024-01-01T00:00:00Z", 2024),
])
def test_the_default_vintage_is_the_year_in_the_registrys_local_time(world: World, start,
                                                                       vintage):
    methodology = world.ledger.publish_methodology(
        actor=world.operator, code="GD-FOREST", version="1", region="Guangdong",
        scene="forestry", activity_unit="t", factor_g_per_unit="1000000",
        valid_from="2020-01-01")
    request = world.ledger.request_project_issuance(
        platform=world.ev_app, methodology_id=methodology, period_start=start,
        period_end="2025-01-01T00:00:00+08:00", quantity=TONNE, project="village forest",
        report_reference="MR-1", report_sha256=SHA)
    world.ledger.attest_request(actor=world.verifier, request_id=request, statement="ok")
    batch = world.ledger.issue_batch(actor=world.operator, request_id=request,
                                     registry="PHCER")
    issued = world.ledger.batch(batch)
    assert issued.vintage == vintage
    assert issued.block == f"PHCER-{vintage}-000001"


# -- currency ---------------------------------------------------------------------------


@pytest.mark.parametrize("currency", ["ZZZ", "cny", "XTS", "XXX", "XAU", "HRK", "CN", "",
                                      "CNY ", "\uff23\uff2e\uff39"])
def test_a_settlement_currency_must_be_an_active_iso_4217_code(world: World, currency):
    batch = listed(world, 10 * TONNE)
    before = written(world)
    [result] = world.ledger.settle_trades(actor=world.exchange, trades=[
        trade(batch, world, "T-1", TONNE, currency=currency)])
    assert not result.settled
    assert isinstance(result.error, ValidationError)
    assert result.error.details["field"] == "currency"
    assert written(world) == before


@pytest.mark.parametrize("price", ["1_0", "1e1", "\u0661\u0660", "+10", " 10", 10])
def test_a_price_is_a_plain_decimal_or_refused(world: World, price):
    batch = listed(world, 10 * TONNE)
    [result] = world.ledger.settle_trades(actor=world.exchange, trades=[
        trade(batch, world, "T-1", TONNE, price_per_tonne=price)])
    assert not result.settled
    assert result.error.details["field"] == "price_per_tonne"


@pytest.mark.parametrize("currency", ["CNY", "HKD", "USD", "EUR", "XCG"])
def test_active_currencies_settle(world: World, currency):
    batch = listed(world, 10 * TONNE)
    [result] = world.ledger.settle_trades(actor=world.exchange, trades=[
        trade(batch, world, "T-1", TONNE, currency=currency)])
    assert result.settled, result.error


# -- export destinations ----------------------------------------------------------------


@pytest.mark.parametrize("destination", ["Mars registry", "ccer registry", "X", " ",
                                         "CCER\u202e", "VERRA-ISH"])
def test_an_export_must_name_a_recognised_registry(world: World, destination):
    batch = world.project_batch(quantity=10 * TONNE)
    before = written(world)
    with pytest.raises(ValidationError) as raised:
        world.ledger.export(actor=world.emitter, batch_id=batch, quantity=TONNE,
                            destination=destination)
    assert raised.value.details["field"] == "destination"
    assert "CCER" in raised.value.details["accepted"]
    assert "accepted: CCER" in raised.value.message or "CCER" in raised.value.message
    assert written(world) == before


def test_an_export_destination_is_recorded_as_its_listed_code(world: World):
    batch = world.project_batch(quantity=10 * TONNE)
    world.ledger.export(actor=world.emitter, batch_id=batch, quantity=TONNE,
                        destination=" ccer ")
    world.ledger.export(actor=world.emitter, batch_id=batch, quantity=TONNE,
                        destination="\uff36\uff23\uff33")  # full-width VCS
    events = [e for e in world.ledger.repository.event_store.get(batch)
              if type(e).__name__ == "Exported"]
    assert [e.destination for e in events] == ["CCER", "VCS"]


def test_a_deployment_may_list_its_own_destinations(world: World):
    batch = world.project_batch(quantity=10 * TONNE)
    world.ledger.export_destinations = {"HKEX-CORE": "Core Climate, Hong Kong"}
    world.ledger.export(actor=world.emitter, batch_id=batch, quantity=TONNE,
                        destination="hkex-core")
    with pytest.raises(ValidationError):
        world.ledger.export(actor=world.emitter, batch_id=batch, quantity=TONNE,
                            destination="CCER")


# -- text in every command --------------------------------------------------------------

DANGEROUS = [
    "Bank\u202eA",  # right-to-left override
    "\u2066Bank\u2069",  # isolates
    "Bank\u200fA",  # right-to-left mark
    "Bank\x1bA",  # C0 escape
    "Bank\x85A",  # C1 next line
    "Bank\x7fA",  # DEL
    "\u200b\u200b",  # zero-width spaces only
    "\u3164",  # Hangul filler only
    "\u00a0\u2003",  # blanks only
    "\u0301",  # a combining mark alone
    "Bank\ufffeA",  # a noncharacter
]


Prepare = Callable[[], Callable[[str], Any]]


def _commands(world: World) -> dict[str, Prepare]:
    """Every command with a human-readable text field: a set-up that returns the command,
    taking that text."""
    ledger, op = world.ledger, world.operator
    ledger.grant_mandate(actor=world.emitter, agent=world.exchange, scope="listing")

    def batch() -> UUID:  # as World.project_batch, from a report of its own
        requested = request()
        ledger.attest_request(actor=world.verifier, request_id=requested, statement="ok")
        issued = ledger.issue_batch(actor=op, request_id=requested, registry="PHCER")
        ledger.transfer(actor=world.ev_app, batch_id=issued, recipient=world.emitter,
                        quantity=TONNE)
        return issued

    def request() -> UUID:
        return ledger.request_project_issuance(
            platform=world.ev_app, methodology_id=world.ev, period_start="2024-01-01",
            period_end="2024-02-01", quantity=TONNE, project=f"p{uuid4()}",
            report_reference="r", report_sha256=hashlib.sha256(uuid4().bytes).hexdigest())

    def simple(run: Callable[[str], Any]) -> Prepare:
        return lambda: run

    def retire(name: str, place: str = "field") -> Prepare:
        def prepare() -> Callable[[str], Any]:
            held = batch()

            def run(value: str) -> Any:
                fields: dict[str, Any] = {"beneficiary": "b", "jurisdiction": "Wuhan",
                                          "consumption_period": "2024", "details": None}
                purpose = "voluntary"
                if place == "details":
                    fields["details"] = {name: value}
                    purpose = "eco_compensation" if name == "case_reference" else "voluntary"
                else:
                    fields[name] = value
                return ledger.retire(actor=world.emitter, batch_id=held, quantity=1,
                                     purpose=purpose, **fields)
            return run
        return prepare

    def report(field: str) -> Prepare:
        def run(value: str) -> Any:
            item = charge(world, "card:1", "r", "2024-09-03T08:00:00Z")
            item = BehaviourReport(**{**vars(item), field: value})
            [result] = ledger.report_behaviours(platform=world.ev_app, reports=[item])
            if result.error:
                raise result.error
        return simple(run)

    def on_batch(command: Callable[[UUID, str], Any]) -> Prepare:
        def prepare() -> Callable[[str], Any]:
            held = batch()
            return lambda value: command(held, value)
        return prepare

    def on_request(command: Callable[[UUID, str], Any]) -> Prepare:
        def prepare() -> Callable[[str], Any]:
            requested = request()
            return lambda value: command(requested, value)
        return prepare

    def settle() -> Callable[[str], Any]:
        held, ref = batch(), f"L-{uuid4()}"
        ledger.list_for_sale(actor=world.exchange, batch_id=held, seller=world.emitter,
                             listing_ref=ref, quantity=TONNE)
        return lambda value: ledger.settle_trade(actor=world.exchange, trade=trade(
            held, world, value, TONNE, listing_ref=ref))

    def suspend() -> Callable[[str], Any]:
        someone = ledger.register_participant(kind="enterprise", name=f"e-{uuid4()}",
                                              registered_by=op)
        return lambda value: ledger.suspend_participant(actor=op, participant_id=someone,
                                                        reason=value)

    def sha() -> str:
        return hashlib.sha256(uuid4().bytes).hexdigest()

    def redeem() -> Callable[[str], Any]:
        person = world.person(f"p-{uuid4()}")
        return lambda value: ledger.redeem_points(actor=person, points=1, reward=value)

    def import_batch(region: str = "Chengdu", block: str = "") -> Callable[[str], Any]:
        block = block or f"CDCER-2024-{uuid4()}"
        return lambda value: ledger.import_batch(
            actor=op, external_registry="CDCER",
            external_block=value if block == "-" else block, serial_start=0,
            serial_end=TONNE, holder=world.emitter, methodology_id=world.ev, vintage=2024,
            region=value if region == "" else region)

    return {
        "participant name": simple(lambda v: ledger.register_participant(
            kind="enterprise", name=v, registered_by=op)),
        "pseudonym": simple(lambda v: ledger.register_participant(
            kind="individual", name=None, pseudonym=v, registered_by=op)),
        "suspension reason": suspend,
        "methodology region": simple(lambda v: ledger.publish_methodology(
            actor=op, code="X-1", version="1", region=v, scene="s", activity_unit="kWh",
            factor_g_per_unit="1", valid_from="2024-01-01")),
        "methodology scene": simple(lambda v: ledger.publish_methodology(
            actor=op, code="X-2", version="1", region="r", scene=v, activity_unit="kWh",
            factor_g_per_unit="1", valid_from="2024-01-01")),
        "behaviour platform_ref": report("platform_ref"),
        "behaviour act_identity": report("act_identity"),
        "behaviour person": report("person"),
        "project": simple(lambda v: ledger.request_project_issuance(
            platform=world.ev_app, methodology_id=world.ev, period_start="2024-01-01",
            period_end="2024-02-01", quantity=TONNE, project=v, report_reference="r",
            report_sha256=sha())),
        "report_reference": simple(lambda v: ledger.request_project_issuance(
            platform=world.ev_app, methodology_id=world.ev, period_start="2024-01-01",
            period_end="2024-02-01", quantity=TONNE, project=f"p{uuid4()}",
            report_reference=v, report_sha256=sha())),
        "attestation statement": on_request(lambda r, v: ledger.attest_request(
            actor=world.verifier, request_id=r, statement=v)),
        "rejection reason": on_request(lambda r, v: ledger.reject_request(
            actor=world.verifier, request_id=r, reason=v)),
        "beneficiary": retire("beneficiary"),
        "jurisdiction": retire("jurisdiction"),
        "consumption_period": retire("consumption_period"),
        "retirement note": retire("note", "details"),
        "case_reference": retire("case_reference", "details"),
        "listing_ref": on_batch(lambda b, v: ledger.list_for_sale(
            actor=world.exchange, batch_id=b, seller=world.emitter, listing_ref=v,
            quantity=TONNE)),
        "trade_ref": settle,
        "loan_reference": on_batch(lambda b, v: ledger.pledge(
            actor=world.emitter, batch_id=b, holder=world.emitter, bank=world.bank,
            loan_reference=v, quantity=TONNE)),
        "cancellation reason": on_batch(lambda b, v: ledger.cancel(
            actor=op, batch_id=b, holder=world.emitter, quantity=1, reason=v)),
        "corrected region": on_batch(lambda b, v: ledger.correct_batch(
            actor=op, batch_id=b, field="region", value=v, reason="typo")),
        "correction reason": on_batch(lambda b, v: ledger.correct_batch(
            actor=op, batch_id=b, field="region", value="Guangzhou", reason=v)),
        "claim event_name": simple(lambda v: ledger.register_claim(
            actor=world.organiser, event_name=v, footprint_g=TONNE)),
        "reward": redeem,
        "import region": lambda: import_batch(region=""),
        "external_block": lambda: import_batch(region="Chengdu", block="-"),
    }


COMMANDS = [
    "participant name", "pseudonym", "suspension reason", "methodology region",
    "methodology scene", "behaviour platform_ref", "behaviour act_identity",
    "behaviour person", "project", "report_reference", "attestation statement",
    "rejection reason", "beneficiary", "jurisdiction", "consumption_period",
    "retirement note", "case_reference", "listing_ref", "trade_ref", "loan_reference",
    "cancellation reason", "corrected region", "correction reason", "claim event_name",
    "reward", "import region", "external_block",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_text_field_refuses_dangerous_or_invisible_text(world: World, command: str):
    prepare = _commands(world)[command]
    try:  # with ordinary text the command is not refused for its text
        prepare()("Acceptable text 可以")
    except LedgerError as error:
        assert not isinstance(error, ValidationError), error  # e.g. no points to redeem
    for text in DANGEROUS:
        run = prepare()
        before = written(world)
        with pytest.raises(ValidationError) as raised:
            run(text)
        assert written(world) == before, text
        message = raised.value.message
        assert "U+" in message or "visible" in message or "must name" in message, (
            command, text, message)


def test_the_command_list_covers_every_command_built(world: World):
    assert set(COMMANDS) == set(_commands(world))


def test_a_saved_event_never_carries_a_dangerous_code_point(world: World):
    """The backstop: whatever field a future command forgets to check."""
    methodology = world.ledger.methodology(world.ev)
    before = written(world)
    for bad in ["\u202e", "\x1b", "\x85", "\u2066", "\ud800", "\uffff"]:
        event = Behaviour.reported(
            uuid4(), platform=world.ev_app, platform_ref="ok",
            account=uuid4(), methodology=methodology, act_identity="card:1",
            activity_amount=Decimal("1"), occurred_at=datetime(2024, 9, 3, tzinfo=UTC))
        object.__setattr__(event, "platform_ref", f"ref{bad}")
        with pytest.raises(ValidationError) as raised:
            world.ledger.save(event)
        assert raised.value.details["field"] == "platform_ref"
        assert raised.value.details["code_point"] == f"U+{ord(bad):04X}"
    assert written(world) == before


@pytest.mark.parametrize("amount", ["1_0", "1e1", "\u0661\u0660", "\uff11\uff10", "+10"])
def test_an_activity_amount_is_a_plain_decimal_or_refused(world: World, amount):
    """Decimal() reads "1_0" as 10 and "1e1" as 10: the bulk file import and the ledger
    took them so; the API's schema refused them."""
    item = BehaviourReport(**{**vars(charge(world, "card:1", "r")), "activity_amount": amount})
    [result] = world.report(world.ev_app, [item])
    assert not result.accepted
    assert result.error.details["field"] == "activity_amount"
