"""Questions users ask of the read models: balances, serials, pledges, retirements, accounts."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, and_, func, select

from ledger.application import UnissuedBehaviours
from ledger.domain.behaviour import behaviour_leaf
from ledger.projections import schema as t
from ledger.projections.handlers import stamp
from ledger.projections.projector import TRACKING_NAME, Projector

__all__ = ["ProjectedBehaviourQueries", "ReadModels", "dump_tables"]


def _row(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    for key in ("ranges", "details", "source", "evidence"):
        if isinstance(data.get(key), str):
            data[key] = json.loads(data[key])
    return data


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
        return self._one(select(t.batches).where(t.batches.c.block == block))

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
