"""Event handlers that turn domain events into read-model rows.

Each handler is applied inside the projector's transaction, together with the tracking
position, so a handler's rows exist exactly when its event counts as processed. Handlers
never consult the write side: everything they need is in the event or in earlier rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, update
from sqlalchemy import delete as sql_delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ledger.domain.credit_batch import LotState, decode_bridge_lock_message, token_pool_id
from ledger.domain.methodology import DEFAULT_MAX_ACTIVITY
from ledger.projections import schema as t
from ledger.projections.behaviour_rows import BehaviourRow, stamp
from ledger.projections.driver_statements import DriverStatement
from ledger.projections.moves import batch_of, record_moves

__all__ = ["BULK_HANDLERS", "HANDLERS", "INDEXES_USED", "BehaviourRow", "stamp"]

STATES = [s.value for s in LotState]

Handler = Callable[[Connection, Any, int], None]
# (connection, events, their positions)
BulkHandler = Callable[[Connection, list[Any], list[int]], None]
HANDLERS: dict[str, Handler] = {}
# Optional set-at-a-time versions of handlers, for runs of the same event (bulk ingestion).
BULK_HANDLERS: dict[str, BulkHandler] = {}
# The secondary indexes a handler's own queries need (a rebuild that deferred them creates
# them before applying the first such event, instead of scanning the table for each).
INDEXES_USED: dict[str, tuple[str, ...]] = {
    "IssuanceRequest.Requested": ("ix_behaviours_selection",),
}




def handles(*names: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            HANDLERS[name] = handler
        return handler

    return register


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


# ---------------------------------------------------------------- participants, methodologies


@handles("Participant.Registered")
def _participant_registered(conn: Connection, e: Any, _: int) -> None:
    conn.execute(insert(t.participants), dict(
        id=str(e.originator_id), kind=e.kind, name=e.name, roles=",".join(e.roles),
        suspended=False, public_key=e.public_key, registered_at=stamp(e.timestamp)))


def _set_roles(conn: Connection, participant: str, change: Callable[[set[str]], None]) -> None:
    row = conn.execute(select(t.participants.c.roles).where(
        t.participants.c.id == participant)).one()
    roles = set(filter(None, row.roles.split(",")))
    change(roles)
    conn.execute(update(t.participants).where(t.participants.c.id == participant)
                 .values(roles=",".join(sorted(roles))))


@handles("Participant.RoleGranted")
def _role_granted(conn: Connection, e: Any, _: int) -> None:
    _set_roles(conn, str(e.originator_id), lambda roles: roles.add(e.role))


@handles("Participant.RoleRevoked")
def _role_revoked(conn: Connection, e: Any, _: int) -> None:
    _set_roles(conn, str(e.originator_id), lambda roles: roles.discard(e.role))


@handles("Participant.Suspended", "Participant.Reinstated")
def _suspension(conn: Connection, e: Any, _: int) -> None:
    conn.execute(update(t.participants).where(t.participants.c.id == str(e.originator_id))
                 .values(suspended=type(e).__name__ == "Suspended"))


@handles("Participant.ApiKeyIssued")
def _api_key_issued(conn: Connection, e: Any, _: int) -> None:
    conn.execute(insert(t.api_keys), dict(
        key_id=e.key_id, participant=str(e.originator_id), secret_sha256=e.secret_sha256,
        active=True, issued_at=stamp(e.timestamp)))


@handles("Participant.ApiKeyRevoked")
def _api_key_revoked(conn: Connection, e: Any, _: int) -> None:
    conn.execute(update(t.api_keys).where(t.api_keys.c.key_id == e.key_id)
                 .values(active=False))


@handles("Participant.PublicKeyRegistered")
def _public_key_registered(conn: Connection, e: Any, _: int) -> None:
    conn.execute(update(t.participants).where(t.participants.c.id == str(e.originator_id))
                 .values(public_key=e.public_key))


@handles("Participant.MandateGranted")
def _mandate_granted(conn: Connection, e: Any, position: int) -> None:
    conn.execute(insert(t.mandates), dict(
        id=e.mandate_id, holder=str(e.originator_id), agent=e.agent, scope=e.scope,
        expires_at=e.expires_at, max_quantity=e.max_quantity_g, used=0, revoked=False,
        granted_at=stamp(e.timestamp), position=position))


@handles("Participant.MandateRevoked")
def _mandate_revoked(conn: Connection, e: Any, _: int) -> None:
    conn.execute(update(t.mandates).where(t.mandates.c.id == e.mandate_id)
                 .values(revoked=True, revoked_at=stamp(e.timestamp)))


@handles("Participant.MandateExercised")
def _mandate_exercised(conn: Connection, e: Any, _: int) -> None:
    conn.execute(update(t.mandates).where(t.mandates.c.id == e.mandate_id)
                 .values(used=t.mandates.c.used + e.quantity))


_COMMAND_RECORD_INSERT = DriverStatement(insert(t.command_records))  # one per API write


@handles("CommandRecord.Recorded")
def _command_recorded(conn: Connection, e: Any, position: int) -> None:
    _COMMAND_RECORD_INSERT.execute(conn, dict(
        id=str(e.originator_id), participant=e.participant, command=e.command,
        request_sha256=e.request_sha256, authentication=_dumps(e.authentication),
        idempotency_key=e.idempotency_key, events=_dumps(e.events), position=position,
        recorded_at=stamp(e.timestamp)))


@handles("CommandRecord.EventsAdded")
def _command_events_added(conn: Connection, e: Any, _: int) -> None:
    c = t.command_records.c
    row = conn.execute(select(c.events).where(c.id == str(e.originator_id))).one()
    conn.execute(update(t.command_records).where(c.id == str(e.originator_id))
                 .values(events=_dumps([*json.loads(row.events), *e.events])))


@handles("Methodology.Published")
def _methodology_published(conn: Connection, e: Any, _: int) -> None:
    conn.execute(insert(t.methodologies), dict(
        id=str(e.originator_id), code=e.code, version=e.methodology_version, region=e.region,
        scene=e.scene, activity_unit=e.activity_unit, factor_g_per_unit=e.factor_g_per_unit,
        max_activity=e.max_activity or str(DEFAULT_MAX_ACTIVITY),
        valid_from=stamp(e.valid_from),
        valid_until=stamp(e.valid_until) if e.valid_until else None))


@handles("Methodology.Superseded")
def _methodology_superseded(conn: Connection, e: Any, _: int) -> None:
    row = conn.execute(select(t.methodologies.c.valid_until).where(
        t.methodologies.c.id == str(e.originator_id))).one()
    until = stamp(e.effective_at)
    if row.valid_until is not None and row.valid_until < until:
        until = row.valid_until
    conn.execute(update(t.methodologies).where(t.methodologies.c.id == str(e.originator_id))
                 .values(superseded_by=e.successor, valid_until=until))


# ---------------------------------------------------------------- behaviours and points


def _ensure_carbon_account(conn: Connection, account: str) -> None:
    exists = conn.execute(select(t.carbon_accounts.c.account).where(
        t.carbon_accounts.c.account == account)).first()
    if exists is None:
        conn.execute(insert(t.carbon_accounts), dict(
            account=account, earned=0, redeemed=0, donated=0, behaviours=0))


_BEHAVIOUR_COLUMNS = ", ".join(BehaviourRow._fields)
_INSERT_BEHAVIOURS = (f"INSERT INTO behaviours ({_BEHAVIOUR_COLUMNS}) "
                      f"VALUES ({', '.join('?' * len(BehaviourRow._fields))})")
_COPY_BEHAVIOURS = f"COPY behaviours ({_BEHAVIOUR_COLUMNS}) FROM STDIN"
# Points earned, added to each account's totals; the account is created on first use.
_ADD_EARNED = ("INSERT INTO carbon_accounts (account, earned, redeemed, donated, behaviours) "
               "{rows} ON CONFLICT (account) DO UPDATE SET "
               "earned = carbon_accounts.earned + excluded.earned, "
               "behaviours = carbon_accounts.behaviours + excluded.behaviours")
_ADD_EARNED_SQLITE = _ADD_EARNED.format(rows="VALUES (?, ?, 0, 0, ?)")
_ADD_EARNED_POSTGRES = _ADD_EARNED.format(
    rows="SELECT account, earned, 0, 0, behaviours FROM unnest(%s::varchar[], %s::bigint[], "
    "%s::bigint[]) AS u(account, earned, behaviours)")


def _is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _behaviour_rows(events: list[Any], positions: list[int]) -> list[BehaviourRow]:
    """The rows of a run: fast-decoded events are rows already; domain events are converted."""
    if all(type(e) is BehaviourRow for e in events):
        return events
    return [e if type(e) is BehaviourRow else BehaviourRow.from_event(e, position)
            for e, position in zip(events, positions, strict=True)]


def _insert_behaviours(conn: Connection, rows: list[BehaviourRow]) -> None:
    """Straight to the driver (the rows are plain values): ``COPY`` on PostgreSQL, one
    ``executemany`` on SQLite."""
    if _is_postgres(conn):
        with conn.connection.cursor() as cursor, cursor.copy(_COPY_BEHAVIOURS) as copy:
            for row in rows:
                copy.write_row(row)
        return
    conn.exec_driver_sql(_INSERT_BEHAVIOURS, rows)


def _earned_by_account(rows: list[BehaviourRow]) -> tuple[dict[str, int], dict[str, int]]:
    """Grams earned and behaviours reported per account, over ``rows``."""
    grams: dict[str, int] = {}
    counts: dict[str, int] = {}
    for row in rows:
        account = row.account
        grams[account] = grams.get(account, 0) + row.reduction_g
        counts[account] = counts.get(account, 0) + 1
    return grams, counts


def _add_earned(conn: Connection, grams: dict[str, int], counts: dict[str, int]) -> None:
    """Add to each account's totals, creating missing accounts: one upsert statement (with
    arrays on PostgreSQL: one round trip)."""
    accounts = list(grams)
    if _is_postgres(conn):
        conn.exec_driver_sql(_ADD_EARNED_POSTGRES, (
            accounts, [grams[a] for a in accounts], [counts[a] for a in accounts]))
        return
    conn.exec_driver_sql(_ADD_EARNED_SQLITE, [(a, grams[a], counts[a]) for a in accounts])


def _behaviours_reported(conn: Connection, events: list[Any], positions: list[int]) -> None:
    """Behaviours (a run of one or many): one bulk insert of their rows and one upsert of the
    points earned per account."""
    rows = _behaviour_rows(events, positions)
    _insert_behaviours(conn, rows)
    _add_earned(conn, *_earned_by_account(rows))


BULK_HANDLERS["Behaviour.Reported"] = _behaviours_reported
HANDLERS["Behaviour.Reported"] = lambda conn, e, position: _behaviours_reported(
    conn, [e], [position])


@handles("CarbonAccount.Opened")
def _carbon_account_opened(conn: Connection, e: Any, _: int) -> None:
    _ensure_carbon_account(conn, e.account)


@handles("CarbonAccount.PointsRedeemed")
def _points_redeemed(conn: Connection, e: Any, position: int) -> None:
    _record_spend(conn, e.account, e, position, "redeemed", e.reward)


@handles("CarbonAccount.PointsDonated")
def _points_donated(conn: Connection, e: Any, position: int) -> None:
    _record_spend(conn, e.account, e, position, "donated",
                  f"{e.event_name} ({e.claim})")


def _record_spend(conn: Connection, account: str, e: Any, position: int, kind: str,
                  reference: str) -> None:
    c = t.carbon_accounts.c
    _ensure_carbon_account(conn, account)
    column = c.redeemed if kind == "redeemed" else c.donated
    conn.execute(update(t.carbon_accounts).where(c.account == account)
                 .values({column.name: column + e.points}))
    conn.execute(insert(t.point_spends), dict(
        position=position, account=account, kind=kind, points=e.points, reference=reference,
        at=stamp(e.timestamp)))


# ---------------------------------------------------------------- issuance


@handles("IssuanceSchedule.Opened", "IssuanceSchedule.PeriodClaimed", "Registry.Opened",
         "Registry.BlockAssigned", "ExternalRegistry.Recognised",
         "ExternalRegistry.RangeImported", "Trade.Settled", "ActKey.Indexed",
         "UniqueKey.Claimed")
def _no_view(conn: Connection, e: Any, position: int) -> None:
    """Facts kept for consistency on the write side; their read models come from other
    events (the batch, the trade settlement on the batch)."""


@handles("IssuanceRequest.Requested")
def _requested(conn: Connection, e: Any, position: int) -> None:
    request_id = str(e.originator_id)
    conn.execute(insert(t.issuance_requests), dict(
        id=request_id, platform=e.platform, methodology=e.methodology, source=e.source,
        period_start=stamp(e.period_start), period_end=stamp(e.period_end),
        quantity=e.quantity, status="requested", evidence=_dumps(e.evidence),
        requested_at=stamp(e.timestamp)))
    if e.source == "behaviours":
        b = t.behaviours.c
        conn.execute(update(t.behaviours).where(and_(
            b.platform == e.platform, b.methodology == e.methodology,
            b.occurred_at >= stamp(e.period_start), b.occurred_at < stamp(e.period_end),
            b.position <= e.evidence["cutoff_position"], b.request_id.is_(None),
        )).values(request_id=request_id))


@handles("IssuanceRequest.Attested")
def _attested(conn: Connection, e: Any, _: int) -> None:
    conn.execute(update(t.issuance_requests).where(
        t.issuance_requests.c.id == str(e.originator_id)).values(
        status="attested", verifier=e.actor))


@handles("IssuanceRequest.Rejected")
def _rejected(conn: Connection, e: Any, _: int) -> None:
    conn.execute(update(t.issuance_requests).where(
        t.issuance_requests.c.id == str(e.originator_id)).values(status="rejected"))


@handles("IssuanceRequest.BatchIssued")
def _batch_issued(conn: Connection, e: Any, _: int) -> None:
    conn.execute(update(t.issuance_requests).where(
        t.issuance_requests.c.id == str(e.originator_id)).values(status="issued", batch=e.batch))


# ---------------------------------------------------------------- credit batches


@handles("CreditBatch.Issued", "CreditBatch.Imported")
def _batch_created(conn: Connection, e: Any, position: int) -> None:
    batch = str(e.originator_id)
    conn.execute(insert(t.batches), dict(
        id=batch, block=e.block, registry=e.registry, vintage=e.vintage,
        methodology=e.methodology, methodology_label=e.methodology_label, region=e.region,
        project_type=e.project_type, quantity=e.quantity, serial_start=e.serial_start,
        behaviours_root=e.behaviours_root, source=_dumps(e.source),
        origin="imported" if type(e).__name__ == "Imported" else "issued",
        issued_at=stamp(e.timestamp), position=position))
    conn.execute(insert(t.supply), dict(batch=batch, issued=e.quantity,
                                         **{s: 0 for s in STATES}))
    _adjust(conn, batch, e.holder, "available", e.quantity)
    conn.execute(insert(t.serials), dict(batch=batch, start=e.serial_start,
                                          end=e.serial_start + e.quantity, state="available",
                                          ref=e.holder, holder=e.holder))
    record_moves(conn, e, position, [[e.serial_start, e.serial_start + e.quantity]], None,
                 ("available", e.holder, e.holder))


# The statements of the serial and balance moves (every transfer, trade, pledge and
# retirement runs several) are built once and run on the driver (see driver_statements):
# building a SQLAlchemy expression costs several times what executing its compiled form
# does, and that execution several times the driver's.
_b = t.balances.c
_u = t.supply.c
_s = t.serials.c


def _balance_upserts(insert_of: Callable[[Any], Any]) -> dict[str, DriverStatement]:
    """Per state: add ``p_delta`` to an account's balance, creating the row at zero."""
    statements = {}
    for state in STATES:
        statement = insert_of(t.balances).values(
            account=bindparam("p_account"), batch=bindparam("p_batch"),
            **{s: (bindparam("p_delta") if s == state else 0) for s in STATES})
        statements[state] = DriverStatement(statement.on_conflict_do_update(
            index_elements=[_b.account, _b.batch],
            set_={state: _b[state] + statement.excluded[state]}))
    return statements


_BALANCE_ADD = {"sqlite": _balance_upserts(sqlite_insert),
                "postgresql": _balance_upserts(postgresql_insert)}
_SUPPLY_ADD = {state: DriverStatement(update(t.supply).where(_u.batch == bindparam("p_batch"))
                                      .values({state: _u[state] + bindparam("p_delta")}))
               for state in STATES}
_SAME_LOT = and_(_s.batch == bindparam("p_batch"), _s.state == bindparam("p_state"),
                 _s.ref == bindparam("p_ref"))
_RANGE_HOLDING = DriverStatement(select(_s.start, _s.end).where(and_(
    _SAME_LOT, _s.start <= bindparam("p_start"), _s.end >= bindparam("p_end"))))
_RANGE_NEIGHBOURS = DriverStatement(select(_s.start, _s.end).where(and_(
    _SAME_LOT, or_(_s.end == bindparam("p_start"), _s.start == bindparam("p_end")))))
_AT = and_(_s.batch == bindparam("p_batch"), _s.start == bindparam("p_at"))
_RANGE_DELETE = DriverStatement(sql_delete(t.serials).where(_AT))
_RANGE_SET_START = DriverStatement(
    update(t.serials).where(_AT).values(start=bindparam("p_new_start")))
_RANGE_SET_END = DriverStatement(update(t.serials).where(_AT).values(end=bindparam("p_new_end")))
_RANGE_INSERT = DriverStatement(insert(t.serials))


def _adjust(conn: Connection, batch: str, account: str, state: str, delta: int) -> None:
    """Add ``delta`` to an account's balance in ``state`` and to the batch supply."""
    _add_balance(conn, batch, account, state, delta)
    _SUPPLY_ADD[state].execute(conn, {"p_batch": batch, "p_delta": delta})


def _add_balance(conn: Connection, batch: str, account: str, state: str, delta: int) -> None:
    _BALANCE_ADD[conn.dialect.name][state].execute(
        conn, {"p_account": account, "p_batch": batch, "p_delta": delta})


def _move(conn: Connection, e: Any, position: int, ranges: list[list[int]],
          source: tuple[str, str, str], target: tuple[str, str, str]) -> None:
    """Move the serial ranges of event ``e`` from lot (state, ref, holder) to another, and
    the balances (and the supply by state, unless the state stays the same); record the
    moves."""
    batch = batch_of(e)
    record_moves(conn, e, position, ranges, source, target)
    src_state, src_ref, src_holder = source
    dst_state, dst_ref, dst_holder = target
    for start, end in ranges:
        _remove_range(conn, batch, start, end, src_state, src_ref, src_holder)
        _insert_merged(conn, batch, start, end, dst_state, dst_ref, dst_holder)
    quantity = sum(end - start for start, end in ranges)
    if src_state == dst_state:
        _add_balance(conn, batch, src_holder, src_state, -quantity)
        _add_balance(conn, batch, dst_holder, dst_state, quantity)
    else:
        _adjust(conn, batch, src_holder, src_state, -quantity)
        _adjust(conn, batch, dst_holder, dst_state, quantity)


def _remove_range(conn: Connection, batch: str, start: int, end: int, state: str, ref: str,
                  holder: str) -> None:
    """Take ``[start, end)`` out of the lot's range that holds it: that range shrinks from
    one end, or is split in two, or goes."""
    found = _RANGE_HOLDING.execute(conn, {"p_batch": batch, "p_state": state, "p_ref": ref,
                                          "p_start": start, "p_end": end})
    if len(found) != 1:
        raise LookupError(f"{len(found)} ranges of lot {state}/{ref} in batch {batch} hold "
                          f"[{start}, {end})")
    row_start, row_end = found[0]
    at = {"p_batch": batch, "p_at": row_start}
    if row_start == start and end < row_end:
        _RANGE_SET_START.execute(conn, {**at, "p_new_start": end})
    elif row_start < start:
        _RANGE_SET_END.execute(conn, {**at, "p_new_end": start})
        if end < row_end:
            _RANGE_INSERT.execute(conn, dict(batch=batch, start=end, end=row_end, state=state,
                                             ref=ref, holder=holder))
    else:
        _RANGE_DELETE.execute(conn, at)


def _insert_merged(conn: Connection, batch: str, start: int, end: int, state: str, ref: str,
                   holder: str) -> None:
    """Insert ``[start, end)`` into a lot, merged with adjacent ranges of the same lot, so
    the table holds each lot as the same normalised ranges as the aggregate."""
    before = after = None
    for row_start, row_end in _RANGE_NEIGHBOURS.execute(
            conn, {"p_batch": batch, "p_state": state, "p_ref": ref, "p_start": start,
                   "p_end": end}):
        if row_end == start:
            before = row_start
        else:
            after = row_end
    if before is not None:
        if after is not None:
            _RANGE_DELETE.execute(conn, {"p_batch": batch, "p_at": end})
        _RANGE_SET_END.execute(conn, {"p_batch": batch, "p_at": before,
                                      "p_new_end": after if after is not None else end})
    elif after is not None:  # the range after starts earlier now
        _RANGE_SET_START.execute(conn, {"p_batch": batch, "p_at": end, "p_new_start": start})
    else:
        _RANGE_INSERT.execute(conn, dict(batch=batch, start=start, end=end, state=state,
                                         ref=ref, holder=holder))


@handles("CreditBatch.Transferred", "Holding.Transferred")
def _transferred(conn: Connection, e: Any, position: int) -> None:
    _move(conn, e, position, e.ranges, ("available", e.sender, e.sender),
          ("available", e.recipient, e.recipient))


@handles("CreditBatch.Escrowed", "Holding.Escrowed")
def _escrowed(conn: Connection, e: Any, position: int) -> None:
    batch = batch_of(e)
    conn.execute(insert(t.listings), dict(
        id=e.listing_id, batch=batch, exchange=e.exchange, listing_ref=e.listing_ref,
        seller=e.seller, listed=e.quantity, sold=0, status="open"))
    _move(conn, e, position, e.ranges, ("available", e.seller, e.seller),
          ("escrowed", e.listing_id, e.seller))


@handles("CreditBatch.ListingCancelled", "Holding.ListingCancelled")
def _listing_cancelled(conn: Connection, e: Any, position: int) -> None:
    lc = t.listings.c
    conn.execute(update(t.listings).where(lc.id == e.listing_id, lc.batch == batch_of(e))
                 .values(status="cancelled"))
    if e.ranges:
        _move(conn, e, position, e.ranges, ("escrowed", e.listing_id, e.seller),
              ("available", e.seller, e.seller))


@handles("CreditBatch.TradeSettled", "Holding.TradeSettled")
def _trade_settled(conn: Connection, e: Any, position: int) -> None:
    batch = batch_of(e)
    conn.execute(insert(t.trades), dict(
        id=e.trade_id, exchange=e.exchange, trade_ref=e.trade_ref, batch=batch,
        listing=e.listing_id, seller=e.seller, buyer=e.buyer, quantity=e.quantity,
        price_per_tonne=e.price_per_tonne, currency=e.currency, ranges=_dumps(e.ranges),
        retirement_id=e.retirement_id, settled_at=stamp(e.timestamp), position=position))
    lc = t.listings.c
    conn.execute(update(t.listings).where(lc.id == e.listing_id, lc.batch == batch)
                 .values(sold=lc.sold + e.quantity))
    if e.retirement_id is None:
        target = ("available", e.buyer, e.buyer)
    else:
        target = ("retired", e.retirement_id, e.buyer)
        _record_retirement(conn, e, position, e.retirement_id, e.buyer, e.quantity, e.ranges,
                           e.retirement, trade_ref=e.trade_ref)
    _move(conn, e, position, e.ranges, ("escrowed", e.listing_id, e.seller), target)


@handles("CreditBatch.Pledged", "Holding.Pledged")
def _pledged(conn: Connection, e: Any, position: int) -> None:
    batch = batch_of(e)
    conn.execute(insert(t.pledges), dict(
        id=e.pledge_id, batch=batch, holder=e.holder, bank=e.bank,
        loan_reference=e.loan_reference, quantity=e.quantity, ranges=_dumps(e.ranges),
        status="active", pledged_at=stamp(e.timestamp), position=position))
    _move(conn, e, position, e.ranges, ("available", e.holder, e.holder),
          ("pledged", e.pledge_id, e.holder))


@handles("CreditBatch.PledgeReleased", "Holding.PledgeReleased")
def _pledge_released(conn: Connection, e: Any, position: int) -> None:
    conn.execute(update(t.pledges).where(t.pledges.c.id == e.pledge_id)
                 .values(status="released", closed_at=stamp(e.timestamp)))
    _move(conn, e, position, e.ranges, ("pledged", e.pledge_id, e.holder),
          ("available", e.holder, e.holder))


@handles("CreditBatch.PledgeEnforced", "Holding.PledgeEnforced")
def _pledge_enforced(conn: Connection, e: Any, position: int) -> None:
    conn.execute(update(t.pledges).where(t.pledges.c.id == e.pledge_id)
                 .values(status="enforced", closed_at=stamp(e.timestamp)))
    _move(conn, e, position, e.ranges, ("pledged", e.pledge_id, e.holder),
          ("available", e.bank, e.bank))


def _record_retirement(conn: Connection, e: Any, position: int, retirement_id: str,
                       holder: str, quantity: int, ranges: list[list[int]],
                       details: dict[str, Any], trade_ref: str | None = None) -> None:
    extra = {k: v for k, v in details.items()
             if k not in {"beneficiary", "purpose", "jurisdiction", "consumption_period"}}
    conn.execute(insert(t.retirements), dict(
        id=retirement_id, batch=batch_of(e), holder=holder, quantity=quantity,
        ranges=_dumps(ranges), beneficiary=details["beneficiary"], purpose=details["purpose"],
        jurisdiction=details["jurisdiction"], consumption_period=details["consumption_period"],
        details=_dumps(extra), trade_ref=trade_ref, retired_at=stamp(e.timestamp),
        position=position, event_id=str(e.originator_id), event_version=e.originator_version))


@handles("CreditBatch.Retired", "Holding.Retired")
def _retired(conn: Connection, e: Any, position: int) -> None:
    _record_retirement(conn, e, position, e.retirement_id, e.holder, e.quantity, e.ranges,
                       e.details)
    _move(conn, e, position, e.ranges, ("available", e.holder, e.holder),
          ("retired", e.retirement_id, e.holder))


@handles("CreditBatch.LockedForTokens")
def _locked(conn: Connection, e: Any, position: int) -> None:
    batch = str(e.originator_id)
    conn.execute(insert(t.token_locks), dict(id=e.lock_id, batch=batch, holder=e.holder,
                                              chain_address=e.chain_address,
                                              locked=e.quantity, unlocked=0))
    message = getattr(e, "bridge_message", None)
    if message:
        target = decode_bridge_lock_message(message)
        conn.execute(insert(t.bridge_locks), dict(
            id=e.lock_id, batch=batch, position=position, chain_id=str(target.chain_id),
            token_contract=target.token_contract, recipient=target.recipient,
            quantity=e.quantity, bridge_message=message,
            pool=str(token_pool_id(batch, target.chain_id, target.token_contract))))
    _move(conn, e, position, e.ranges, ("available", e.holder, e.holder),
          ("tokenised", e.lock_id, e.holder))


def _lock_holder(conn: Connection, lock_id: str) -> str:
    lc = t.token_locks.c
    return str(conn.execute(select(lc.holder).where(lc.id == lock_id)).scalar_one())


@handles("CreditBatch.TokensMinted")
def _tokens_minted(conn: Connection, e: Any, position: int) -> None:
    """A bridged lock was minted: its credits join the batch's token pool, a ``token_locks``
    row held by the bridge whose ``locked`` is everything minted into it."""
    batch = str(e.originator_id)
    lc = t.token_locks.c
    if conn.execute(select(lc.id).where(lc.id == e.pool_id)).first() is None:
        conn.execute(insert(t.token_locks), dict(id=e.pool_id, batch=batch, holder=e.actor,
                                                  chain_address=e.token_contract, locked=0,
                                                  unlocked=0))
    conn.execute(update(t.token_locks).where(lc.id == e.pool_id)
                 .values(locked=lc.locked + e.quantity))
    conn.execute(update(t.bridge_locks).where(t.bridge_locks.c.id == e.lock_id)
                 .values(minted_tx=e.chain_reference, minted_position=position))
    _move(conn, e, position, e.ranges, ("tokenised", e.lock_id, _lock_holder(conn, e.lock_id)),
          ("tokenised", e.pool_id, _lock_holder(conn, e.pool_id)))


@handles("CreditBatch.TokensUnlocked")
def _unlocked(conn: Connection, e: Any, position: int) -> None:
    lc = t.token_locks.c
    holder = _lock_holder(conn, e.lock_id)
    conn.execute(update(t.token_locks).where(lc.id == e.lock_id)
                 .values(unlocked=lc.unlocked + e.quantity))
    _move(conn, e, position, e.ranges, ("tokenised", e.lock_id, holder),
          ("available", e.recipient, e.recipient))


@handles("CreditBatch.TokensRetired")
def _tokens_retired(conn: Connection, e: Any, position: int) -> None:
    """Tokens burned on chain for a retirement: a retirement record (its details name the chain
    transaction, burn and burning address) and the move from the token pool."""
    chain = {"transaction": e.chain_reference, "burn_id": e.burn_id, "account": e.chain_account}
    _record_retirement(conn, e, position, e.retirement_id, e.holder, e.quantity, e.ranges,
                       {**e.details, "chain": chain})
    _move(conn, e, position, e.ranges,
          ("tokenised", e.lock_id, _lock_holder(conn, e.lock_id)),
          ("retired", e.retirement_id, e.holder))


@handles("CreditBatch.Exported")
def _exported(conn: Connection, e: Any, position: int) -> None:
    batch = str(e.originator_id)
    conn.execute(insert(t.exports), dict(id=e.export_id, batch=batch, holder=e.holder,
                                          destination=e.destination, quantity=e.quantity,
                                          exported_at=stamp(e.timestamp)))
    _move(conn, e, position, e.ranges, ("available", e.holder, e.holder),
          ("exported", e.export_id, e.holder))


@handles("CreditBatch.Cancelled")
def _cancelled(conn: Connection, e: Any, position: int) -> None:
    batch = str(e.originator_id)
    conn.execute(insert(t.cancellations), dict(id=e.cancellation_id, batch=batch,
                                                holder=e.holder, quantity=e.quantity,
                                                reason=e.reason,
                                                cancelled_at=stamp(e.timestamp)))
    _move(conn, e, position, e.ranges, ("available", e.holder, e.holder),
          ("cancelled", e.cancellation_id, e.holder))


@handles("CreditBatch.HoldingsSplit", "CreditBatch.MovedFromHolding",
         "CreditBatch.MovedToHolding", "Holding.Opened", "Holding.Received",
         "Holding.ReceivedRetired",
         "Holding.MovedToBatch", "Holding.MovedFromBatch")
def _between_batch_and_holdings(conn: Connection, e: Any, position: int) -> None:
    """Credits moved between a batch and its holdings (issue #17) stay where the read models
    have them: an account's available credits of the batch, wherever the write side keeps
    them. Nothing to write."""


@handles("CreditBatch.Corrected")
def _corrected(conn: Connection, e: Any, position: int) -> None:
    batch = str(e.originator_id)
    conn.execute(insert(t.corrections), dict(
        position=position, batch=batch, field=e.field,
        previous=None if e.previous is None else str(e.previous), value=str(e.value),
        reason=e.reason, at=stamp(e.timestamp)))
    if e.field in ("region", "vintage"):
        conn.execute(update(t.batches).where(t.batches.c.id == batch)
                     .values({e.field: e.value}))


# ---------------------------------------------------------------- neutrality claims


@handles("NeutralityClaim.Registered")
def _claim_registered(conn: Connection, e: Any, _: int) -> None:
    conn.execute(insert(t.claims), dict(
        id=str(e.originator_id), organiser=e.organiser, event_name=e.event_name,
        scope=e.scope, footprint_g=e.footprint_g, retired_g=0, donated_points=0,
        retirements=0, met=False, registered_at=stamp(e.timestamp)))


@handles("NeutralityClaim.RetirementCounted")
def _claim_counted(conn: Connection, e: Any, _: int) -> None:
    c = t.claims.c
    conn.execute(update(t.claims).where(c.id == str(e.originator_id)).values(
        retired_g=c.retired_g + e.quantity, retirements=c.retirements + 1,
        met=c.retired_g + e.quantity >= c.footprint_g))


@handles("NeutralityClaim.DonationReceived")
def _claim_donation(conn: Connection, e: Any, _: int) -> None:
    c = t.claims.c
    conn.execute(update(t.claims).where(c.id == str(e.originator_id))
                 .values(donated_points=c.donated_points + e.points))
