"""Questions users ask of the read models: balances, serials, pledges, retirements, accounts."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, and_, func, literal, null, or_, select, tuple_, union_all

from ledger.application import UnissuedBehaviours
from ledger.domain.behaviour import behaviour_leaf
from ledger.projections import schema as t
from ledger.projections.handlers import stamp
from ledger.projections.moves import custody_query
from ledger.projections.projector import TRACKING_NAME, Projector

__all__ = ["Page", "ProjectedBehaviourQueries", "ReadModels", "dump_tables"]


def _row(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    for key in ("ranges", "details", "source", "evidence"):
        # JSON columns; ``issuance_requests.source`` is plain text ("behaviours")
        if isinstance(data.get(key), str) and data[key][:1] in ("{", "["):
            data[key] = json.loads(data[key])
    return data


@dataclass(frozen=True)
class Page:
    """One page of a keyset-paginated list.

    ``next_after`` is the sort key of the last row when more rows follow (pass it back as
    ``after``), else ``None``. Pages are keyed on values that never change (log positions,
    registration stamps and ids), so rows recorded later never shift an earlier page.
    """

    rows: list[dict[str, Any]]
    next_after: tuple[Any, ...] | None


_STATES = ("available", "escrowed", "pledged", "retired", "tokenised", "exported", "cancelled")


def _equal(query: Any, filters: Mapping[Any, Any]) -> Any:
    """``query`` restricted to rows whose column equals the value, for each value given."""
    for column, value in filters.items():
        if value is not None:
            query = query.where(column == (str(value) if isinstance(value, UUID) else value))
    return query


class ReadModels:
    """Read-only access to the projected tables."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _all(self, query: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query)]

    def _one(self, query: Any) -> dict[str, Any] | None:
        rows = self._all(query)
        return rows[0] if rows else None

    # -- participants, methodologies
    def participants(self) -> list[dict[str, Any]]:
        return self._all(select(t.participants).order_by(t.participants.c.registered_at))

    def participant(self, participant_id: UUID | str) -> dict[str, Any] | None:
        return self._one(select(t.participants).where(t.participants.c.id == str(participant_id)))

    def api_key(self, key_id: str) -> dict[str, Any] | None:
        return self._one(select(t.api_keys).where(t.api_keys.c.key_id == key_id))

    def command_record(self, record_id: UUID | str) -> dict[str, Any] | None:
        row = self._one(select(t.command_records).where(
            t.command_records.c.id == str(record_id)))
        if row is not None:
            row["authentication"] = json.loads(row["authentication"])
            row["events"] = json.loads(row["events"])
        return row

    def methodologies(self) -> list[dict[str, Any]]:
        return self._all(select(t.methodologies).order_by(t.methodologies.c.code,
                                                          t.methodologies.c.version))

    # -- batches and supply
    def batches(self) -> list[dict[str, Any]]:
        return self._all(select(t.batches).order_by(t.batches.c.position))

    def batch(self, batch_id: UUID | str) -> dict[str, Any] | None:
        return self._one(select(t.batches).where(t.batches.c.id == str(batch_id)))

    def batch_by_block(self, block: str) -> dict[str, Any] | None:
        """The batch labelled ``block`` (the first, should an old log hold two)."""
        return self._one(select(t.batches).where(t.batches.c.block == block)
                         .order_by(t.batches.c.position))

    def supply(self, batch_id: UUID | str | None = None) -> list[dict[str, Any]]:
        query = (select(t.supply, t.batches.c.block)
                 .join(t.batches, t.batches.c.id == t.supply.c.batch)
                 .order_by(t.batches.c.position))
        if batch_id is not None:
            query = query.where(t.supply.c.batch == str(batch_id))
        return self._all(query)

    def balances(self, account: UUID | str | None = None,
                 batch_id: UUID | str | None = None) -> list[dict[str, Any]]:
        query = (select(t.balances, t.batches.c.block, t.participants.c.name)
                 .join(t.batches, t.batches.c.id == t.balances.c.batch)
                 .outerjoin(t.participants, t.participants.c.id == t.balances.c.account)
                 .order_by(t.batches.c.position, t.balances.c.account))
        if account is not None:
            query = query.where(t.balances.c.account == str(account))
        if batch_id is not None:
            query = query.where(t.balances.c.batch == str(batch_id))
        return self._all(query)

    def balance(self, account: UUID | str, batch_id: UUID | str) -> dict[str, int]:
        rows = self.balances(account, batch_id)
        states = ("available", "escrowed", "pledged", "retired", "tokenised", "exported",
                  "cancelled")
        return {s: int(rows[0][s]) if rows else 0 for s in states}

    # -- serials
    def serial_ranges(self, batch_id: UUID | str) -> list[dict[str, Any]]:
        return self._all(select(t.serials).where(t.serials.c.batch == str(batch_id))
                         .order_by(t.serials.c.start))

    def who_holds(self, block: str, serial: int) -> dict[str, Any] | None:
        """Who holds serial ``serial`` of batch ``block``, and in which state; for a retired
        serial, the retirement record too."""
        batch = self.batch_by_block(block)
        if batch is None:
            return None
        s = t.serials.c
        found = self._one(select(t.serials).where(and_(
            s.batch == batch["id"], s.start <= serial, s.end > serial)))
        if found is None:
            return None
        found["block"] = block
        if found["state"] == "retired":
            found["retirement"] = self.retirement(found["ref"])
        return found

    # -- pledges, retirements, trades
    def pledges(self, bank: UUID | str | None = None,
                status: str | None = None) -> list[dict[str, Any]]:
        query = select(t.pledges).order_by(t.pledges.c.position)
        if bank is not None:
            query = query.where(t.pledges.c.bank == str(bank))
        if status is not None:
            query = query.where(t.pledges.c.status == status)
        return self._all(query)

    def pledge(self, pledge_id: UUID | str) -> dict[str, Any] | None:
        return self._one(select(t.pledges).where(t.pledges.c.id == str(pledge_id)))

    def corrections(self, batch_id: UUID | str) -> list[dict[str, Any]]:
        """The corrections of a batch's descriptive fields, in order (with their positions)."""
        return self._all(select(t.corrections).where(t.corrections.c.batch == str(batch_id))
                         .order_by(t.corrections.c.position))

    def retirements(self, purpose: str | None = None,
                    beneficiary: str | None = None) -> list[dict[str, Any]]:
        query = (select(t.retirements, t.batches.c.block)
                 .join(t.batches, t.batches.c.id == t.retirements.c.batch)
                 .order_by(t.retirements.c.position))
        if purpose is not None:
            query = query.where(t.retirements.c.purpose == purpose)
        if beneficiary is not None:
            query = query.where(t.retirements.c.beneficiary == beneficiary)
        return self._all(query)

    def retirement(self, retirement_id: UUID | str) -> dict[str, Any] | None:
        return self._one(select(t.retirements, t.batches.c.block)
                         .join(t.batches, t.batches.c.id == t.retirements.c.batch)
                         .where(t.retirements.c.id == str(retirement_id)))

    def trades(self, exchange: UUID | str | None = None) -> list[dict[str, Any]]:
        query = select(t.trades).order_by(t.trades.c.position)
        if exchange is not None:
            query = query.where(t.trades.c.exchange == str(exchange))
        return self._all(query)

    def claims(self) -> list[dict[str, Any]]:
        return self._all(select(t.claims).order_by(t.claims.c.registered_at))

    def claim(self, claim_id: UUID | str) -> dict[str, Any] | None:
        return self._one(select(t.claims).where(t.claims.c.id == str(claim_id)))

    def issuance_requests(self) -> list[dict[str, Any]]:
        return self._all(select(t.issuance_requests).order_by(t.issuance_requests.c.requested_at))

    # -- behaviours and carbon accounts
    def behaviour(self, behaviour_id: UUID | str) -> dict[str, Any] | None:
        return self._one(select(t.behaviours).where(t.behaviours.c.id == str(behaviour_id)))

    def behaviour_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.behaviours)).scalar_one())

    def carbon_account(self, account: UUID | str) -> dict[str, Any]:
        """A person's statement: points earned, spent and left, with every entry."""
        summary = self._one(select(t.carbon_accounts).where(
            t.carbon_accounts.c.account == str(account))) or {
            "account": str(account), "earned": 0, "redeemed": 0, "donated": 0, "behaviours": 0}
        summary["balance"] = summary["earned"] - summary["redeemed"] - summary["donated"]
        b = t.behaviours.c
        earned = self._all(select(b.position, b.occurred_at, b.reduction_g, b.platform_ref,
                                  b.methodology, b.id).where(b.account == str(account)))
        spends = self._all(select(t.point_spends).where(
            t.point_spends.c.account == str(account)))
        entries = [{"position": e["position"], "kind": "earned", "points": e["reduction_g"],
                    "reference": e["platform_ref"], "at": e["occurred_at"],
                    "behaviour": e["id"]} for e in earned]
        entries += [{"position": s["position"], "kind": s["kind"], "points": -s["points"],
                     "reference": s["reference"], "at": s["at"]} for s in spends]
        summary["entries"] = sorted(entries, key=lambda e: e["position"])
        return summary

    def batch_behaviour_leaves(self, request_id: UUID | str) -> list[dict[str, Any]]:
        """The behaviours of an issuance request in leaf order, for inclusion proofs."""
        b = t.behaviours.c
        return self._all(select(b.id, b.account, b.reduction_g, b.methodology, b.occurred_at,
                                b.position).where(b.request_id == str(request_id))
                         .order_by(b.position))

    # -- pages for the HTTP API (keyset pagination) and single records

    def _page(self, query: Any, keys: Sequence[Any], after: Sequence[Any] | None,
              limit: int) -> Page:
        """Up to ``limit`` rows after the key ``after``, in key order."""
        if after is not None:
            query = query.where(tuple_(*keys) > tuple_(*after))
        rows = self._all(query.order_by(*keys).limit(limit + 1))
        if len(rows) <= limit:
            return Page(rows=rows, next_after=None)
        rows = rows[:limit]
        return Page(rows=rows, next_after=tuple(rows[-1][key.key] for key in keys))

    def participants_page(self, *, after: Sequence[Any] | None = None, limit: int = 50,
                          kind: str | None = None, role: str | None = None) -> Page:
        """Participants in registration order, by kind and role."""
        p = t.participants.c
        query = _equal(select(t.participants), {p.kind: kind})
        if role is not None:
            query = query.where(("," + p.roles + ",").contains(f",{role},", autoescape=True))
        return self._page(query, [p.registered_at, p.id], after, limit)

    def methodologies_page(self, *, after: Sequence[Any] | None = None, limit: int = 50,
                           code: str | None = None, region: str | None = None,
                           scene: str | None = None) -> Page:
        m = t.methodologies.c
        query = _equal(select(t.methodologies), {m.code: code, m.region: region, m.scene: scene})
        return self._page(query, [m.code, m.version], after, limit)

    def methodology(self, methodology_id: UUID | str) -> dict[str, Any] | None:
        return self._one(select(t.methodologies).where(
            t.methodologies.c.id == str(methodology_id)))

    def _batches_with_supply(self) -> Any:
        s = t.supply.c
        return (select(t.batches, s.issued, *(s[state] for state in _STATES))
                .join(t.supply, s.batch == t.batches.c.id))

    def batches_page(self, *, after: Sequence[Any] | None = None, limit: int = 50,
                     registry: str | None = None, vintage: int | None = None,
                     region: str | None = None, methodology: UUID | str | None = None,
                     project_type: str | None = None, origin: str | None = None) -> Page:
        """Batches in issuance order with their supply by state."""
        b = t.batches.c
        query = _equal(self._batches_with_supply(), {
            b.registry: registry, b.vintage: vintage, b.region: region,
            b.methodology: methodology, b.project_type: project_type, b.origin: origin})
        return self._page(query, [b.position], after, limit)

    def batch_with_supply(self, batch_id: UUID | str) -> dict[str, Any] | None:
        return self._one(self._batches_with_supply().where(t.batches.c.id == str(batch_id)))

    def supply_totals(self, *, registry: str | None = None, vintage: int | None = None,
                      region: str | None = None,
                      project_type: str | None = None) -> list[dict[str, Any]]:
        """Supply by state summed per registry, over the batches matching the filters."""
        b, s = t.batches.c, t.supply.c
        columns = ("issued", *_STATES)
        query = _equal(
            select(b.registry, *(s[state] for state in columns))
            .join(t.supply, s.batch == b.id),
            {b.registry: registry, b.vintage: vintage, b.region: region,
             b.project_type: project_type})
        # Summed here, exactly: the totals of many batches may pass 2**63 - 1, which SQLite's
        # sum() refuses (and its total() would round).
        totals: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                total = totals.setdefault(row.registry, {
                    "registry": row.registry, "batches": 0, **dict.fromkeys(columns, 0)})
                total["batches"] += 1
                for state in columns:
                    total[state] += int(row._mapping[state])
        return [totals[name] for name in sorted(totals)]

    def balances_page(self, account: UUID | str, *, after: Sequence[Any] | None = None,
                      limit: int = 50) -> Page:
        """An account's balances per batch, in batch issuance order."""
        b = t.batches.c
        query = (select(t.balances, b.block, b.position)
                 .join(t.batches, b.id == t.balances.c.batch)
                 .where(t.balances.c.account == str(account)))
        return self._page(query, [b.position], after, limit)

    def _retirements_with_holders(self) -> Any:
        b, p = t.batches.c, t.participants.c
        return (select(t.retirements, b.block, b.registry, b.vintage,
                       p.kind.label("holder_kind"), p.name.label("holder_name"))
                .join(t.batches, b.id == t.retirements.c.batch)
                .outerjoin(t.participants, p.id == t.retirements.c.holder))

    def retirements_page(self, *, after: Sequence[Any] | None = None, limit: int = 50,
                         purpose: str | None = None, beneficiary: str | None = None,
                         batch: UUID | str | None = None, holder: UUID | str | None = None,
                         registry: str | None = None, vintage: int | None = None,
                         jurisdiction: str | None = None) -> Page:
        """The public retirement register in log order, with the holder's kind and name."""
        r, b = t.retirements.c, t.batches.c
        query = _equal(self._retirements_with_holders(), {
            r.purpose: purpose, r.beneficiary: beneficiary, r.batch: batch, r.holder: holder,
            b.registry: registry, b.vintage: vintage, r.jurisdiction: jurisdiction})
        return self._page(query, [r.position, r.id], after, limit)

    def retirement_with_holder(self, retirement_id: UUID | str) -> dict[str, Any] | None:
        return self._one(self._retirements_with_holders().where(
            t.retirements.c.id == str(retirement_id)))

    def pledges_page(self, *, after: Sequence[Any] | None = None, limit: int = 50,
                     bank: UUID | str | None = None, holder: UUID | str | None = None,
                     party: UUID | str | None = None, batch: UUID | str | None = None,
                     status: str | None = None) -> Page:
        """Pledges in log order; ``party`` keeps those where it is the bank or the pledgor."""
        p = t.pledges.c
        query = _equal(select(t.pledges, t.batches.c.block)
                       .join(t.batches, t.batches.c.id == p.batch),
                       {p.bank: bank, p.holder: holder, p.batch: batch, p.status: status})
        if party is not None:
            query = query.where(or_(p.bank == str(party), p.holder == str(party)))
        return self._page(query, [p.position, p.id], after, limit)

    def pledge_with_block(self, pledge_id: UUID | str) -> dict[str, Any] | None:
        return self._one(select(t.pledges, t.batches.c.block)
                         .join(t.batches, t.batches.c.id == t.pledges.c.batch)
                         .where(t.pledges.c.id == str(pledge_id)))

    def mandates_page(self, *, after: Sequence[Any] | None = None, limit: int = 50,
                      holder: UUID | str | None = None, agent: UUID | str | None = None,
                      scope: str | None = None, revoked: bool | None = None) -> Page:
        """Mandates in log order (of their grant)."""
        m = t.mandates.c
        query = _equal(select(t.mandates), {m.holder: holder, m.agent: agent, m.scope: scope,
                                            m.revoked: revoked})
        return self._page(query, [m.position, m.id], after, limit)

    def mandate(self, mandate_id: UUID | str) -> dict[str, Any] | None:
        return self._one(select(t.mandates).where(t.mandates.c.id == str(mandate_id)))

    def trades_page(self, *, after: Sequence[Any] | None = None, limit: int = 50,
                    exchange: UUID | str | None = None, batch: UUID | str | None = None,
                    buyer: UUID | str | None = None, seller: UUID | str | None = None) -> Page:
        tr = t.trades.c
        query = _equal(select(t.trades), {tr.exchange: exchange, tr.batch: batch,
                                          tr.buyer: buyer, tr.seller: seller})
        return self._page(query, [tr.position, tr.id], after, limit)

    def moves_page(self, *, after: Sequence[Any] | None = None, limit: int = 50,
                   batch: UUID | str | None = None, kind: str | None = None,
                   party: UUID | str | None = None) -> Page:
        """Serial ranges moved by batch events, in log order (by position, then range
        start); ``party`` keeps the moves from or to that holder."""
        m = t.moves.c
        query = _equal(select(t.moves), {m.batch: batch, m.kind: kind})
        if party is not None:
            query = query.where(or_(m.from_holder == str(party), m.to_holder == str(party)))
        return self._page(query, [m.position, m.start], after, limit)

    def batch_moves(self, batch_id: UUID | str) -> list[dict[str, Any]]:
        """Every move of a batch, in log order."""
        m = t.moves.c
        return self._all(select(t.moves).where(m.batch == str(batch_id))
                         .order_by(m.position, m.start))

    def custody(self, batch_id: UUID | str, serial: int) -> list[dict[str, Any]]:
        """The chain of custody of one serial: every move whose range holds it, in log
        order, from its issuance (or import) to the lot it is in now. One index lookup per
        bin level (ledger.projections.moves), not a scan of the batch's moves."""
        return self._all(custody_query(str(batch_id), serial))

    def trade(self, trade_id: UUID | str) -> dict[str, Any] | None:
        return self._one(select(t.trades).where(t.trades.c.id == str(trade_id)))

    def listing(self, listing_id: UUID | str) -> dict[str, Any] | None:
        # Listing refs are unique per exchange; an old log may hold one reused on another
        # batch: the listings are then told apart by batch.
        return self._one(select(t.listings).where(t.listings.c.id == str(listing_id))
                         .order_by(t.listings.c.batch))

    def claims_page(self, *, after: Sequence[Any] | None = None, limit: int = 50,
                    organiser: UUID | str | None = None, scope: str | None = None,
                    met: bool | None = None) -> Page:
        c = t.claims.c
        query = _equal(select(t.claims), {c.organiser: organiser, c.scope: scope, c.met: met})
        return self._page(query, [c.registered_at, c.id], after, limit)

    def issuance_requests_page(self, *, after: Sequence[Any] | None = None, limit: int = 50,
                               platform: UUID | str | None = None, status: str | None = None,
                               methodology: UUID | str | None = None) -> Page:
        r = t.issuance_requests.c
        query = _equal(self._issuance_requests(),
                       {r.platform: platform, r.status: status, r.methodology: methodology})
        return self._page(query, [r.requested_at, r.id], after, limit)

    def issuance_request(self, request_id: UUID | str) -> dict[str, Any] | None:
        return self._one(self._issuance_requests().where(
            t.issuance_requests.c.id == str(request_id)))

    @staticmethod
    def _issuance_requests() -> Any:
        """Requests, with ``source`` (plain text, not JSON) as ``request_source``."""
        r = t.issuance_requests.c
        return select(*(c for c in t.issuance_requests.c if c.key != "source"),
                      r.source.label("request_source"))

    def export_record(self, export_id: UUID | str) -> dict[str, Any] | None:
        return self._one(select(t.exports).where(t.exports.c.id == str(export_id)))

    def cancellation(self, cancellation_id: UUID | str) -> dict[str, Any] | None:
        return self._one(select(t.cancellations).where(
            t.cancellations.c.id == str(cancellation_id)))

    def carbon_account_summary(self, account: UUID | str) -> dict[str, Any]:
        """A person's points earned, spent and left, without the entries."""
        summary = self._one(select(t.carbon_accounts).where(
            t.carbon_accounts.c.account == str(account))) or {
            "account": str(account), "earned": 0, "redeemed": 0, "donated": 0, "behaviours": 0}
        summary["balance"] = summary["earned"] - summary["redeemed"] - summary["donated"]
        return summary

    def account_entries_page(self, account: UUID | str, *, after: Sequence[Any] | None = None,
                             limit: int = 50) -> Page:
        """A person's statement entries (points earned by behaviours, redeemed, donated) in
        log order."""
        b, s = t.behaviours.c, t.point_spends.c
        earned = select(b.position, literal("earned").label("kind"),
                        b.reduction_g.label("points"), b.platform_ref.label("reference"),
                        b.occurred_at.label("at"), b.id.label("behaviour")).where(
            b.account == str(account))
        spent = select(s.position, s.kind, (-s.points).label("points"), s.reference, s.at,
                       null().label("behaviour")).where(s.account == str(account))
        entries = union_all(earned, spent).subquery()
        return self._page(select(entries), [entries.c.position], after, limit)

    def has_reported_for(self, platform: UUID | str, account: UUID | str) -> bool:
        """Whether ``platform`` reported at least one behaviour of ``account``."""
        b = t.behaviours.c
        return self._one(select(b.id).where(and_(b.platform == str(platform),
                                                 b.account == str(account))).limit(1)) is not None


class ProjectedBehaviourQueries:
    """The write side's questions, answered from the behaviour index after catching up."""

    def __init__(self, projector: Projector) -> None:
        self.projector = projector

    def earned_points(self, account: UUID) -> int:
        self.projector.catch_up()
        c = t.carbon_accounts.c
        with self.projector.engine.connect() as conn:
            earned = conn.execute(select(c.earned).where(c.account == str(account))).scalar()
        return int(earned or 0)

    def earned_points_of(self, accounts: Collection[str]) -> dict[str, int]:
        """Points earned by each account (one query per 500 accounts, after catching up)."""
        self.projector.catch_up()
        c = t.carbon_accounts.c
        wanted = sorted(accounts)
        earned = dict.fromkeys(wanted, 0)
        with self.projector.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                earned.update((row.account, int(row.earned)) for row in conn.execute(
                    select(c.account, c.earned).where(c.account.in_(wanted[start:start + 500]))))
        return earned

    def unissued_behaviours(self, platform: UUID, methodology: UUID, period_start: datetime,
                            period_end: datetime) -> UnissuedBehaviours:
        self.projector.catch_up()
        b = t.behaviours.c
        with self.projector.engine.connect() as conn:
            cutoff = int(conn.execute(select(t.tracking.c.position).where(
                t.tracking.c.name == TRACKING_NAME)).scalar_one())
            rows = conn.execute(select(b.id, b.account, b.reduction_g, b.methodology,
                                       b.occurred_at).where(and_(
                b.platform == str(platform), b.methodology == str(methodology),
                b.occurred_at >= stamp(period_start), b.occurred_at < stamp(period_end),
                b.position <= cutoff, b.request_id.is_(None))).order_by(b.position)).all()
        leaves = [behaviour_leaf(r.id, r.account, r.reduction_g, r.methodology,
                                 datetime.fromisoformat(r.occurred_at.replace("Z", "+00:00")))
                  for r in rows]
        return UnissuedBehaviours(cutoff_position=cutoff, leaves=leaves,
                                  total_g=sum(int(r.reduction_g) for r in rows))


def dump_tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every read-model row, sorted, for comparing a projection with a rebuild."""
    dumped = {}
    with engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            rows = conn.execute(select(table)).all()
            dumped[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return dumped
