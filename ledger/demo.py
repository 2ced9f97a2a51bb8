"""``carbon-ledger demo``: the real cases of the domain primer, replayed end to end.

Figures from reported 2022-2025 carbon-inclusion cases: the Hubei pilot-market purchase of
2,000 t of Wuhan personal EV-charging reductions for a compliance offset; the World Gas
Conference 2025 neutralised with 4,544.76 t of EV-charging reductions; the CIIE 2022 forum's
5,503 kg; the Guangzhou auction of 43,474 t of village forestry credits at 34 CNY/t; a bank
pledge released and another enforced; the Wuhan eco-compensation of 80 t bought for
4,604 CNY; cross-region recognition for the Harbin Asian Winter Games. Behaviour data are
generated (deterministically) at a realistic size: personal charging sessions of 30-90 kWh.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from ledger.application import BehaviourReport, TradeInstruction
from ledger.checks import check_ledger
from ledger.domain.credit_batch import LotState
from ledger.domain.errors import LedgerError
from ledger.domain.quantities import format_grams, parse_quantity
from ledger.projections.queries import dump_tables
from ledger.runtime import LedgerRuntime

__all__ = ["run_demo"]

# The states of a holder's own credits the final balances show.
HELD_STATES = (LotState.AVAILABLE, LotState.ESCROWED, LotState.PLEDGED, LotState.RETIRED)

EV_CODE, EV_VERSION = "WH-EV-CHARGING-V1", "1"
METRO_CODE, METRO_VERSION = "WH-METRO-V1", "1"
Say = Callable[[str], None]


class Demo:
    def __init__(self, runtime: LedgerRuntime, say: Say, people: int, seed: int) -> None:
        self.rt = runtime
        self.ledger = runtime.ledger
        self.say = say
        self.people = people
        self.random = random.Random(seed)
        self.names: dict[str, str] = {}

    def step(self, title: str) -> None:
        self.say("")
        self.say(f"== {title}")

    def register(self, kind: str, name: str, by: UUID | None) -> UUID:
        participant = self.ledger.register_participant(kind=kind, name=name, registered_by=by)
        self.names[str(participant)] = name
        return participant

    # ------------------------------------------------------------------ the story

    def run(self) -> None:
        self.step("Participants")
        op = self.register("registry_operator", "Hubei carbon-inclusion registry", None)
        self.operator = op
        self.ev_app = self.register("platform", "EV-charging app (Wuhan)", op)
        self.pay_app = self.register("platform", "Payment app carbon channel", op)
        self.network = self.register("platform", "EV-charging network operator", op)
        self.village = self.register("enterprise", "Village forestry cooperative", op)
        self.verifier = self.register("verifier", "Accredited verifier", op)
        self.hbex = self.register("exchange", "Hubei emission exchange", op)
        self.gzex = self.register("exchange", "Guangzhou carbon exchange", op)
        self.shu = self.register("enterprise", "Shu's Group (emitter)", op)
        self.wgc = self.register("enterprise", "World Gas Conference 2025 organiser", op)
        self.ciie = self.register("enterprise", "CIIE 2022 forum organiser", op)
        self.station = self.register("enterprise", "Wuhan petrol station (eco-compensation)", op)
        self.buyer = self.register("enterprise", "Forestry credit buyer", op)
        self.bank_a = self.register("bank", "Bank A (green loans)", op)
        self.bank_b = self.register("bank", "Bank B", op)
        self.harbin = self.register("enterprise", "Harbin Asian Winter Games organiser", op)
        self.ledger.grant_role(actor=op, participant_id=self.village, role="reporter")
        self.say(f"{len(self.names)} participants registered; the forestry cooperative is "
                 "granted the reporter role to request project issuance")

        self.methodologies()
        wuhan = self.behaviours_and_issuance()
        self.anchor("behaviours and the Wuhan batch")
        self.hubei_trade(wuhan)
        self.eco_compensation(wuhan)
        self.event_neutrality()
        self.forestry_auction_and_pledges()
        self.cross_region_recognition()
        self.points()
        self.summary()
        self.certificate()

    def methodologies(self) -> None:
        self.step("Methodologies (方法学)")
        op = self.operator
        self.ev = self.ledger.publish_methodology(
            actor=op, code=EV_CODE, version=EV_VERSION, region="Wuhan", scene="ev-charging",
            activity_unit="kWh", factor_g_per_unit="600", valid_from="2024-01-01")
        self.metro = self.ledger.publish_methodology(
            actor=op, code=METRO_CODE, version=METRO_VERSION, region="Wuhan", scene="metro",
            activity_unit="passenger-km", factor_g_per_unit="71.2", valid_from="2024-01-01")
        self.sh_ev = self.ledger.publish_methodology(
            actor=op, code="SHCER02020042024II", version="2024", region="Shanghai",
            scene="ev-charging-network", activity_unit="MWh", factor_g_per_unit="580000",
            valid_from="2024-01-01")
        self.forestry = self.ledger.publish_methodology(
            actor=op, code="GD-FORESTRY-V1", version="1", region="Guangdong",
            scene="forestry", activity_unit="t CO2e sequestered",
            factor_g_per_unit="1000000", valid_from="2020-01-01")
        for label in (f"{EV_CODE} v1: 600 g CO2e per kWh charged (Wuhan)",
                      f"{METRO_CODE} v1: 71.2 g CO2e per passenger-km (Wuhan)",
                      "SHCER02020042024II: EV-charging network (Shanghai)",
                      "GD-FORESTRY-V1: village forestry (Guangdong)"):
            self.say(f"published {label}")

    def behaviours_and_issuance(self) -> UUID:
        self.step("Behaviours (低碳行为), Sep-Oct 2024, reported in bulk by two platforms")
        start = datetime(2024, 9, 1, tzinfo=UTC)
        target = parse_quantity("2,150 t")
        sessions: list[BehaviourReport] = []
        total = 0
        while total < target:
            person = f"wuhan-user-{self.random.randrange(self.people):06d}"
            kwh = self.random.randrange(300, 900) / 10
            moment = start + timedelta(seconds=self.random.randrange(61 * 86400))
            charger = f"WH-CHG-{self.random.randrange(4000):05d}"
            sessions.append(BehaviourReport(
                person=person, methodology_code=EV_CODE, methodology_version=EV_VERSION,
                act_identity=f"charger:{charger}|start:{moment.isoformat()}",
                activity_amount=f"{kwh:.1f}", occurred_at=moment,
                platform_ref=f"EVAPP-{len(sessions):07d}"))
            total += int(kwh * 10) * 60  # 600 g/kWh on tenths of a kWh
        accepted = rejected = 0
        for i in range(0, len(sessions), 5000):
            results = self.ledger.report_behaviours(platform=self.ev_app,
                                                    reports=sessions[i : i + 5000])
            accepted += sum(r.accepted for r in results)
            rejected += sum(not r.accepted for r in results)
        self.say(f"EV-charging app: {accepted:,} charging sessions accepted, {rejected} rejected")

        rides = [BehaviourReport(
            person=f"wuhan-user-{self.random.randrange(self.people):06d}",
            methodology_code=METRO_CODE, methodology_version=METRO_VERSION,
            act_identity=f"metro-card:{n:08d}|2024-10-{1 + n % 28:02d}",
            activity_amount=f"{self.random.randrange(20, 300) / 10:.1f}",
            occurred_at=datetime(2024, 10, 1 + n % 28, 8, tzinfo=UTC),
            platform_ref=f"PAY-{n:07d}") for n in range(2000)]
        first = sessions[0]
        self.person_pseudonym = first.person
        duplicate = BehaviourReport(
            person=first.person, methodology_code=EV_CODE, methodology_version=EV_VERSION,
            act_identity=first.act_identity, activity_amount=first.activity_amount,
            occurred_at=first.occurred_at, platform_ref="PAY-CHARGE-0001")
        results = self.ledger.report_behaviours(platform=self.pay_app,
                                                reports=[*rides, duplicate])
        metro_ok = sum(r.accepted for r in results[:-1])
        self.say(f"Payment app: {metro_ok:,} metro rides accepted")
        error = results[-1].error
        if results[-1].accepted or error is None:
            raise LedgerError("the duplicate charging session was not rejected")
        self.say(f"Payment app re-reporting charging session {first.platform_ref}: "
                 f"REJECTED [{error.code}] {error}")

        self.step("Issuance (归集 -> 核证 -> 签发)")
        request = self.ledger.request_issuance(platform=self.ev_app, methodology_id=self.ev,
                                               period_start="2024-09-01",
                                               period_end="2024-11-01")
        req = self.ledger.request(request)
        self.say(f"EV-charging app requests issuance of {req.evidence['behaviour_count']:,} "
                 f"behaviours, {format_grams(req.quantity)}, behaviours root "
                 f"{req.evidence['behaviours_root'][:16]}...")
        self.ledger.attest_request(actor=self.verifier, request_id=request,
                                   statement="Sampled 2% of sessions against charger logs")
        self.say("verifier attests")
        wuhan = self.ledger.issue_batch(actor=self.operator, request_id=request,
                                        registry="HBCER", vintage=2024)
        batch = self.ledger.batch(wuhan)
        self.say(f"registry issues batch {batch.block}: {format_grams(batch.quantity)}, "
                 f"serials {batch.serial_start}-{batch.serial_end - 1}, holder EV-charging app")
        return wuhan

    def hubei_trade(self, wuhan: UUID) -> None:
        self.step("Hubei pilot market: Shu's Group buys 2,000 t to offset its 2023 gap")
        two_thousand = parse_quantity("2,000 t")
        try:
            self.ledger.list_for_sale(actor=self.hbex, batch_id=wuhan, seller=self.ev_app,
                                      listing_ref="HBEX-L-2024-1106", quantity=two_thousand)
        except LedgerError as error:
            self.say(f"exchange lists the EV-charging app's credits unasked: REJECTED "
                     f"[{error.code}]")
        self.ledger.grant_mandate(actor=self.ev_app, agent=self.hbex, scope="listing",
                                  max_quantity_g=parse_quantity("2,080 t"))
        self.say("the EV-charging app grants the exchange a listing mandate for 2,080 t")
        self.ledger.list_for_sale(actor=self.hbex, batch_id=wuhan, seller=self.ev_app,
                                  listing_ref="HBEX-L-2024-1107", quantity=two_thousand)
        self.say("exchange escrows 2,000 t listed by the EV-charging app")
        trade = TradeInstruction(
            trade_ref="HBEX-T-2024-000731", listing_ref="HBEX-L-2024-1107", batch_id=wuhan,
            seller=self.ev_app, buyer=self.shu, quantity=two_thousand,
            price_per_tonne="45.00", currency="CNY")
        first = self.ledger.settle_trade(actor=self.hbex, trade=trade)
        again = self.ledger.settle_trade(actor=self.hbex, trade=trade)
        self.say(f"trade {trade.trade_ref} settled: 2,000 t delivered to Shu's Group")
        self.say(f"exchange retries {trade.trade_ref}: replayed={again.replayed}, same serials="
                 f"{again.ranges == first.ranges}, nothing delivered twice")
        retirement = self.ledger.retire(
            actor=self.shu, batch_id=wuhan, quantity=two_thousand, beneficiary="Shu's Group",
            purpose="compliance_offset", jurisdiction="Hubei pilot ETS",
            consumption_period="2023", details={"compliance_period": "2023"})
        self.hubei_retirement = retirement
        self.say(f"Shu's Group retires 2,000 t for its 2023 compliance offset "
                 f"(retirement {retirement})")

    def eco_compensation(self, wuhan: UUID) -> None:
        self.step("Wuhan eco-compensation (以碳代偿): 80 t bought for 4,604 CNY and retired")
        eighty = parse_quantity("80 t")
        self.ledger.list_for_sale(actor=self.hbex, batch_id=wuhan, seller=self.ev_app,
                                  listing_ref="HBEX-L-2025-0042", quantity=eighty)
        self.ledger.settle_trade(actor=self.hbex, trade=TradeInstruction(
            trade_ref="HBEX-T-2025-000019", listing_ref="HBEX-L-2025-0042", batch_id=wuhan,
            seller=self.ev_app, buyer=self.station, quantity=eighty, price_per_tonne="57.55",
            currency="CNY", retire_on_delivery={
                "beneficiary": "Ecological restoration, Wuhan", "purpose": "eco_compensation",
                "jurisdiction": "Wuhan", "consumption_period": "2025",
                "details": {"case_reference": "Petrol-station air pollution case, 2025"}}))
        self.say("80 t at 57.55 CNY/t (4,604 CNY) delivered and retired on delivery")

    def event_neutrality(self) -> None:
        self.step("Event neutrality (大型活动碳中和)")
        network_batch = self._project_batch(
            self.network, self.sh_ev, "SHCER", "5,000 t", "Shanghai EV-charging network 2024",
            "MR-SH-EV-2024-Q4", datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
        footprint = parse_quantity("4,544.76 t")
        claim = self.ledger.register_claim(actor=self.wgc, event_name="World Gas Conference 2025",
                                           footprint_g=footprint)
        self.say(f"WGC 2025 registers a footprint of {format_grams(footprint)}")
        self.ledger.transfer(actor=self.network, batch_id=network_batch, recipient=self.wgc,
                             quantity=footprint)
        self.ledger.retire(
            actor=self.wgc, batch_id=network_batch, quantity=footprint,
            beneficiary="World Gas Conference 2025", purpose="event_neutrality",
            jurisdiction="China", consumption_period="2025",
            details={"event": "World Gas Conference 2025", "claim_id": str(claim),
                     "footprint_g": footprint})
        met = self.ledger.claim(claim)
        self.say(f"retired {format_grams(met.retired_g)} against the claim: met={met.met}")

        forum = parse_quantity("5503 kg")
        ciie_claim = self.ledger.register_claim(actor=self.ciie, event_name="CIIE 2022 forum",
                                                footprint_g=forum)
        self.ledger.transfer(actor=self.network, batch_id=network_batch, recipient=self.ciie,
                             quantity=forum)
        self.ledger.retire(
            actor=self.ciie, batch_id=network_batch, quantity=forum,
            beneficiary="CIIE 2022 forum", purpose="event_neutrality", jurisdiction="Shanghai",
            consumption_period="2022", details={"event": "CIIE 2022 forum",
                                                "claim_id": str(ciie_claim)})
        self.say(f"CIIE 2022 forum: {format_grams(forum)} retired, "
                 f"met={self.ledger.claim(ciie_claim).met}")

    def _project_batch(self, platform: UUID, methodology: UUID, registry: str, quantity: str,
                       project: str, report: str, start: datetime, end: datetime) -> UUID:
        digest = hashlib.sha256(f"{project}|{report}".encode()).hexdigest()
        request = self.ledger.request_project_issuance(
            platform=platform, methodology_id=methodology, period_start=start, period_end=end,
            quantity=parse_quantity(quantity), project=project, report_reference=report,
            report_sha256=digest)
        self.ledger.attest_request(actor=self.verifier, request_id=request,
                                   statement=f"Monitoring report {report} verified")
        batch_id = self.ledger.issue_batch(actor=self.operator, request_id=request,
                                           registry=registry, vintage=start.year)
        batch = self.ledger.batch(batch_id)
        self.say(f"project batch {batch.block}: {quantity} issued from monitoring report "
                 f"{report} ({project})")
        return batch_id

    def forestry_auction_and_pledges(self) -> None:
        self.step("Guangzhou auction of village forestry credits (PHCER), then bank pledges")
        forestry = self._project_batch(
            self.village, self.forestry, "PHCER", "43,474 t", "Village forestry carbon sink",
            "MR-GD-FOREST-2023", datetime(2023, 1, 1, tzinfo=UTC),
            datetime(2024, 1, 1, tzinfo=UTC))
        lot = parse_quantity("43,474 t")
        self.ledger.grant_mandate(actor=self.village, agent=self.gzex, scope="listing",
                                  max_quantity_g=lot)
        self.ledger.list_for_sale(actor=self.gzex, batch_id=forestry, seller=self.village,
                                  listing_ref="GZ-AUCTION-01", quantity=lot)
        self.ledger.settle_trade(actor=self.gzex, trade=TradeInstruction(
            trade_ref="GZ-AUCTION-01-WIN", listing_ref="GZ-AUCTION-01", batch_id=forestry,
            seller=self.village, buyer=self.buyer, quantity=lot, price_per_tonne="34",
            currency="CNY"))
        self.say("auction settled: 43,474 t at 34 CNY/t (1,478,116 CNY)")
        self.ledger.grant_mandate(actor=self.buyer, agent=self.bank_a, scope="pledge",
                                  max_quantity_g=parse_quantity("10,000 t"))
        self.say("the buyer grants Bank A a pledge mandate for 10,000 t")
        repaid = self.ledger.pledge(actor=self.bank_a, batch_id=forestry, holder=self.buyer,
                                    bank=self.bank_a, loan_reference="GL-2024-001",
                                    quantity=parse_quantity("10,000 t"))
        self.say("Bank A registers a pledge of 10,000 t (loan GL-2024-001)")
        try:
            self.ledger.retire(actor=self.buyer, batch_id=forestry,
                               quantity=parse_quantity("40,000 t"), beneficiary="x",
                               purpose="voluntary", jurisdiction="CN", consumption_period="2024")
        except LedgerError as error:
            self.say(f"buyer tries to retire 40,000 t while 10,000 t are pledged: REJECTED "
                     f"[{error.code}]")
        self.ledger.release_pledge(actor=self.bank_a, batch_id=forestry, pledge_id=repaid)
        self.say("loan repaid: Bank A releases the pledge")
        self.ledger.transfer(actor=self.buyer, batch_id=forestry, recipient=self.village,
                             quantity=parse_quantity("5,000 t"))
        defaulted = self.ledger.pledge(actor=self.village, batch_id=forestry,
                                       holder=self.village, bank=self.bank_b,
                                       loan_reference="VL-2024-17",
                                       quantity=parse_quantity("5,000 t"))
        self.say("the cooperative pledges 5,000 t to Bank B (loan VL-2024-17)")
        try:
            self.ledger.release_pledge(actor=self.bank_a, batch_id=forestry,
                                       pledge_id=defaulted)
        except LedgerError as error:
            self.say(f"Bank A tries to release Bank B's pledge: REJECTED [{error.code}]")
        self.ledger.enforce_pledge(actor=self.bank_b, batch_id=forestry, pledge_id=defaulted)
        self.say("loan defaulted: Bank B enforces, 5,000 t move to Bank B")

    def cross_region_recognition(self) -> None:
        self.step("Cross-region recognition (跨区域互认) for the Harbin Asian Winter Games")
        imported = self.ledger.import_batch(
            actor=self.operator, external_registry="CDCER", external_block="CDCER-2024-000318",
            serial_start=0, serial_end=parse_quantity("100 t"), holder=self.harbin,
            methodology_id=self.ev, vintage=2024, region="Chengdu")
        self.say("100 t of CDCER-2024-000318 imported from Chengdu's registry")
        try:
            self.ledger.import_batch(
                actor=self.operator, external_registry="CDCER",
                external_block="CDCER-2024-000318", serial_start=parse_quantity("50 t"),
                serial_end=parse_quantity("150 t"), holder=self.harbin,
                methodology_id=self.ev, vintage=2024, region="Chengdu")
        except LedgerError as error:
            self.say(f"importing an overlapping range again: REJECTED [{error.code}]")
        self.ledger.retire(
            actor=self.harbin, batch_id=imported, quantity=parse_quantity("100 t"),
            beneficiary="Harbin 2025 Asian Winter Games", purpose="donation",
            jurisdiction="Heilongjiang", consumption_period="2025",
            details={"recipient": "Harbin 2025 Asian Winter Games"})
        self.say("100 t donated to the Games and retired")

    def points(self) -> None:
        self.step("Carbon accounts (碳账户): points redeemed and donated")
        pseudonym = self.person_pseudonym
        person = self.ledger.register_participant(kind="individual", name=pseudonym,
                                                  pseudonym=pseudonym)
        earned = self.ledger.queries.earned_points(person) if self.ledger.queries else 0
        self.ledger.redeem_points(actor=person, points=2000, reward="Wuhan metro day ticket")
        hq = self.ledger.register_claim(actor=self.shu, event_name="Shu's Group HQ 2025",
                                        footprint_g=parse_quantity("324 t"),
                                        scope="operational")
        self.ledger.donate_points(actor=person, points=1000, claim_id=hq)
        self.rt.sync()
        account = self.rt.views.carbon_account(person)
        self.say(f"{pseudonym} earned {earned:,} points from "
                 f"{account['behaviours']} behaviours, redeemed 2,000 for a metro day ticket, "
                 f"donated 1,000 to Shu's Group HQ; balance {account['balance']:,}")
        try:
            self.ledger.redeem_points(actor=person, points=account["balance"] + 1,
                                      reward="too much")
        except LedgerError as error:
            self.say(f"redeeming more than the balance: REJECTED [{error.code}]")

    def anchor(self, what: str) -> None:
        status = self.rt.anchoring.anchor_now()
        record = status.anchor
        if record is not None:
            self.say(f"anchored {what}: tree of {record.tree_size:,} events, root "
                     f"{record.root.hex()[:16]}..., tx {record.tx_hash[:18]}...")

    def certificate(self) -> None:
        from anchoring.certificate import (
            build_retirement_certificate,
            render_certificate,
            verify_certificate,
        )
        from anchoring.trust import trust_anchors_of

        self.step("Anchoring and a verified retirement certificate")
        self.anchor("the whole history")
        anchoring = self.rt.anchoring
        self.say(f"anchored on {anchoring.chain!r}")
        if not self.wait_for_finality():
            self.say(f"the anchor is not final yet ({anchoring.anchorer.required_confirmations} "
                     "confirmations); build the certificate later with")
            self.say(f"  carbon-ledger --data-dir {self.rt.settings.data_dir} certificate "
                     f"retirement {self.hubei_retirement}")
            return
        cert = build_retirement_certificate(self.rt, anchoring.merkle_log, anchoring.anchorer,
                                            self.hubei_retirement)
        trust = trust_anchors_of(anchoring)
        checks = verify_certificate(cert, anchoring.chain, trust)
        for line in render_certificate(cert, checks).splitlines():
            self.say(line)
        if not checks.ok:
            raise LedgerError("the demo's retirement certificate did not verify")
        target = self.rt.settings.data_dir / "certificates" / "hubei-2000t-retirement.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(cert, indent=2, ensure_ascii=False) + "\n")
        trust_file = target.parent / "trust-anchors.json"
        trust_file.write_text(json.dumps(trust.to_document(), indent=2) + "\n")
        self.say("")
        self.say(f"certificate saved to {target}; check it independently with")
        self.say(f"  carbon-ledger --data-dir {self.rt.settings.data_dir} verify {target} "
                 f"--trust {trust_file}")

    def wait_for_finality(self, timeout: float = 120.0, stalled: float = 15.0) -> bool:
        """Wait until the latest anchor is final: at most ``timeout`` seconds, and no longer
        than ``stalled`` seconds without a new block (a dev node that mines on demand)."""
        anchoring = self.rt.anchoring
        anchorer = anchoring.anchorer
        start = last_progress = time.monotonic()
        seen = -1
        while True:
            anchorer.refresh_confirmations()
            latest = anchorer.latest_anchor()
            if latest is None or latest.final:
                return True
            now = time.monotonic()
            if latest.confirmations != seen:
                seen, last_progress = latest.confirmations, now
            if now - start > timeout or now - last_progress > stalled:
                return False
            time.sleep(1.0)

    def summary(self) -> None:
        views = self.rt.views
        self.rt.sync()
        self.step("Supply per batch (issued = available + escrowed + pledged + retired + "
                  "tokenised + exported + cancelled)")
        for row in views.supply():
            parts = ", ".join(f"{state} {format_grams(int(row[state]))}"
                              for state in (s.value for s in LotState)
                              if int(row[state]))
            self.say(f"{row['block']}: issued {format_grams(int(row['issued']))} = {parts}")

        self.step("Final balances")
        for row in views.balances():
            parts = ", ".join(f"{state} {format_grams(int(row[state]))}"
                              for state in (s.value for s in HELD_STATES)
                              if int(row[state]))
            if parts:
                self.say(f"{row['name'] or row['account']:<42} {row['block']:<26} {parts}")

        self.step("Public retirement register (注销)")
        for row in views.retirements():
            first, last = row["ranges"][0][0], row["ranges"][-1][1] - 1
            self.say(f"{row['id']}  {format_grams(int(row['quantity'])):>12}  "
                     f"{row['purpose']:<18} {row['beneficiary']}  [{row['block']} "
                     f"serials {first}-{last}]")

        self.step("Neutrality claims")
        for row in views.claims():
            self.say(f"{row['event_name']:<36} footprint {format_grams(int(row['footprint_g']))}"
                     f", retired {format_grams(int(row['retired_g']))}, donated points "
                     f"{int(row['donated_points']):,}, met={bool(row['met'])}")

        self.step("Checks")
        report = check_ledger(self.rt)
        self.say(f"invariants and read models checked for {report.batches} batches: "
                 f"{'OK' if report.ok else 'PROBLEMS: ' + '; '.join(report.problems)}")
        if not report.ok:
            raise LedgerError("ledger check failed: " + "; ".join(report.problems))
        before = dump_tables(self.rt.engine)
        replayed = self.rt.projector.rebuild()
        same = dump_tables(self.rt.engine) == before
        self.say(f"read models rebuilt from {replayed:,} events: identical={same}")
        if not same:
            raise LedgerError("rebuilding the read models gave different tables")
        total = sum(int(r["issued"]) for r in views.supply())
        self.say(f"total issued {format_grams(total)} across "
                 f"{len(views.batches())} batches; data in {self.rt.settings.data_dir}")


def run_demo(runtime: LedgerRuntime, say: Say = print, people: int = 20_000,
             seed: int = 2024) -> None:
    Demo(runtime, say, people, seed).run()
