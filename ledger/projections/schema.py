"""Read-model tables (SQLAlchemy Core). Every table is derived from the event log and can be
dropped and rebuilt from it; ``projection_tracking`` holds the log position the tables reflect,
written in the same transaction as the rows."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = ["TABLES", "metadata"]

metadata = MetaData()

ID = String(36)
# Grams can exceed 2**31 (4,544.76 t = 4.5e9 g): always 64-bit.
GRAMS = BigInteger

STATES = ("available", "escrowed", "pledged", "retired", "tokenised", "exported", "cancelled")


def _state_columns() -> list[Column[int]]:
    """One grams column per lot state (see ledger.domain.credit_batch.LotState)."""
    return [Column(state, GRAMS, nullable=False) for state in STATES]


def _integers(*names: str) -> list[CheckConstraint]:
    """Columns kept as running sums (``x = x + delta``) stay integers. SQLite makes a sum
    that overflows 64 bits a float, silently; with this check it is refused, as PostgreSQL
    refuses it, and the projector stops before the event, naming it. (The domain keeps every
    sum within 64 bits: ledger.domain.limits.)"""
    return [CheckConstraint(f"typeof({name}) = 'integer'").ddl_if(dialect="sqlite")
            for name in names]


tracking = Table(
    "projection_tracking", metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

participants = Table(
    "participants", metadata,
    Column("id", ID, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("name", Text, nullable=False),
    Column("roles", Text, nullable=False),  # comma separated
    Column("suspended", Boolean, nullable=False),
    Column("public_key", Text),
    Column("registered_at", String(40), nullable=False),
)

api_keys = Table(
    "api_keys", metadata,
    Column("key_id", String(32), primary_key=True),
    Column("participant", ID, nullable=False),
    Column("secret_sha256", String(64), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("issued_at", String(40), nullable=False),
)

command_records = Table(
    "command_records", metadata,
    Column("id", ID, primary_key=True),
    Column("participant", ID, nullable=False),
    Column("command", Text, nullable=False),
    Column("request_sha256", String(64), nullable=False),
    Column("authentication", Text, nullable=False),  # JSON
    Column("idempotency_key", Text),
    Column("events", Text, nullable=False),  # JSON [[originator id, version], ...]
    Column("position", BigInteger, nullable=False),
    Column("recorded_at", String(40), nullable=False),
)

methodologies = Table(
    "methodologies", metadata,
    Column("id", ID, primary_key=True),
    Column("code", String(64), nullable=False),
    # Text, not a bounded string, where a value was once unbounded in the domain: an old log
    # may hold a longer one (today's bounds: ledger.domain.limits).
    Column("version", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("scene", Text, nullable=False),
    Column("activity_unit", Text, nullable=False),
    Column("factor_g_per_unit", Text, nullable=False),
    Column("max_activity", Text, nullable=False),  # per behaviour, in the activity unit
    Column("valid_from", String(40), nullable=False),
    Column("valid_until", String(40)),
    Column("superseded_by", ID),
)

behaviours = Table(
    "behaviours", metadata,
    # Keyed by log position: rows arrive in that order, so inserts append to the B-tree.
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("id", ID, nullable=False),
    Column("platform", ID, nullable=False),
    Column("platform_ref", Text, nullable=False),
    Column("account", ID, nullable=False),
    Column("methodology", ID, nullable=False),
    Column("act_identity", Text, nullable=False),
    Column("occurred_at", String(40), nullable=False),  # fixed-width UTC, sorts as time
    Column("reduction_g", GRAMS, nullable=False),
    Column("request_id", ID),
    Column("reported_at", String(40), nullable=False),
    Index("ix_behaviours_id", "id", unique=True),
    Index("ix_behaviours_selection", "platform", "methodology", "occurred_at"),
    Index("ix_behaviours_account", "account"),
    Index("ix_behaviours_request", "request_id"),
)

carbon_accounts = Table(
    "carbon_accounts", metadata,
    Column("account", ID, primary_key=True),
    Column("earned", GRAMS, nullable=False),
    Column("redeemed", GRAMS, nullable=False),
    Column("donated", GRAMS, nullable=False),
    Column("behaviours", BigInteger, nullable=False),
    *_integers("earned", "redeemed", "donated", "behaviours"),
    # Every page of behaviours adds to most accounts' totals: pages half empty let PostgreSQL
    # update a row in place (a HOT update, no new primary-key entry; measured ~40% cheaper).
    postgresql_with={"fillfactor": 50},
)

point_spends = Table(
    "point_spends", metadata,
    Column("position", BigInteger, primary_key=True),
    Column("account", ID, nullable=False),
    Column("kind", String(16), nullable=False),  # redeemed | donated
    Column("points", GRAMS, nullable=False),
    Column("reference", Text, nullable=False),
    Column("at", String(40), nullable=False),
    Index("ix_point_spends_account", "account"),
)

issuance_requests = Table(
    "issuance_requests", metadata,
    Column("id", ID, primary_key=True),
    Column("platform", ID, nullable=False),
    Column("methodology", ID, nullable=False),
    Column("source", String(32), nullable=False),
    Column("period_start", String(40), nullable=False),
    Column("period_end", String(40), nullable=False),
    Column("quantity", GRAMS, nullable=False),
    Column("status", String(16), nullable=False),
    Column("evidence", Text, nullable=False),  # JSON
    Column("verifier", ID),
    Column("batch", ID),
    Column("requested_at", String(40), nullable=False),
)

batches = Table(
    "batches", metadata,
    Column("id", ID, primary_key=True),
    # Unique by the domain's rules (ledger.domain.unique_keys); not a constraint here, because
    # an old log may hold two batches of the same label (imports before the rule).
    Column("block", Text, nullable=False),
    Column("registry", Text, nullable=False),
    Column("vintage", Integer, nullable=False),
    Column("methodology", ID, nullable=False),
    Column("methodology_label", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("project_type", Text, nullable=False),
    Column("quantity", GRAMS, nullable=False),
    Column("serial_start", GRAMS, nullable=False),
    Column("behaviours_root", String(64)),
    Column("source", Text, nullable=False),  # JSON
    Column("origin", String(16), nullable=False),  # issued | imported
    Column("issued_at", String(40), nullable=False),
    Column("position", BigInteger, nullable=False),
    Index("ix_batches_block", "block"),
)

supply = Table(
    "supply", metadata,
    Column("batch", ID, primary_key=True),
    Column("issued", GRAMS, nullable=False),
    *_state_columns(),
    *_integers(*STATES),
)

balances = Table(
    "balances", metadata,
    Column("account", ID, primary_key=True),
    Column("batch", ID, primary_key=True),
    *_state_columns(),
    *_integers(*STATES),
    Index("ix_balances_batch", "batch"),
)

serials = Table(
    "serials", metadata,
    Column("batch", ID, primary_key=True),
    Column("start", GRAMS, primary_key=True),
    Column("end", GRAMS, nullable=False),
    Column("state", String(16), nullable=False),
    Column("ref", String(36), nullable=False),
    Column("holder", ID, nullable=False),
    Index("ix_serials_lot", "batch", "state", "ref"),
)

moves = Table(
    # One row per serial range moved by a batch event (issuance and import move a range
    # from nowhere): the history of a batch, and the chain of custody of a serial. Replaying
    # a batch's moves in position order gives its ``serials`` table.
    "moves", metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),  # of the event
    Column("start", GRAMS, primary_key=True, autoincrement=False),
    Column("end", GRAMS, nullable=False),
    Column("batch", ID, nullable=False),
    Column("kind", String(24), nullable=False),  # ledger.projections.moves.KINDS
    Column("from_state", String(16)),  # null for issuance and import
    Column("from_ref", String(36)),
    Column("from_holder", ID),
    Column("to_state", String(16), nullable=False),
    Column("to_ref", String(36), nullable=False),
    Column("to_holder", ID, nullable=False),
    Column("quantity", GRAMS, nullable=False),
    Column("at", String(40), nullable=False),
    # The range's bin (ledger.projections.moves.serial_bin): the smallest aligned block of
    # 2**bin_level serials that holds it. A serial lies in one block per level, so the moves
    # holding it are found by one index lookup per level, not by a scan of the batch.
    Column("bin_level", Integer, nullable=False),
    Column("bin", GRAMS, nullable=False),
    Index("ix_moves_batch", "batch", "position"),
    Index("ix_moves_bin", "batch", "bin_level", "bin"),
    Index("ix_moves_from_holder", "from_holder", "position"),
    Index("ix_moves_to_holder", "to_holder", "position"),
)

listings = Table(
    # Keyed by batch and listing: a listing ref is unique per exchange by the domain's rules
    # (ledger.domain.unique_keys), but an old log may hold one reused on two batches.
    "listings", metadata,
    Column("id", ID, primary_key=True),
    Column("batch", ID, primary_key=True),
    Column("exchange", ID, nullable=False),
    Column("listing_ref", Text, nullable=False),
    Column("seller", ID, nullable=False),
    Column("listed", GRAMS, nullable=False),
    Column("sold", GRAMS, nullable=False),
    Column("status", String(16), nullable=False),  # open | cancelled
    *_integers("sold"),
)

trades = Table(
    "trades", metadata,
    Column("id", ID, primary_key=True),
    Column("exchange", ID, nullable=False),
    Column("trade_ref", Text, nullable=False),
    Column("batch", ID, nullable=False),
    Column("listing", ID, nullable=False),
    Column("seller", ID, nullable=False),
    Column("buyer", ID, nullable=False),
    Column("quantity", GRAMS, nullable=False),
    Column("price_per_tonne", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("ranges", Text, nullable=False),  # JSON
    Column("retirement_id", ID),
    Column("settled_at", String(40), nullable=False),
    Column("position", BigInteger, nullable=False),
    Index("ix_trades_exchange_ref", "exchange", "trade_ref", unique=True),
)

pledges = Table(
    "pledges", metadata,
    Column("id", ID, primary_key=True),
    Column("batch", ID, nullable=False),
    Column("holder", ID, nullable=False),
    Column("bank", ID, nullable=False),
    Column("loan_reference", Text, nullable=False),
    Column("quantity", GRAMS, nullable=False),
    Column("ranges", Text, nullable=False),  # JSON
    Column("status", String(16), nullable=False),  # active | released | enforced
    Column("pledged_at", String(40), nullable=False),
    Column("closed_at", String(40)),
    Column("position", BigInteger, nullable=False),
    Index("ix_pledges_bank", "bank"),
)

mandates = Table(
    "mandates", metadata,
    Column("id", ID, primary_key=True),
    Column("holder", ID, nullable=False),  # the grantor, whose credits the agent may use
    Column("agent", ID, nullable=False),
    Column("scope", String(16), nullable=False),  # listing | pledge
    Column("expires_at", String(40)),
    Column("max_quantity", GRAMS),
    Column("used", GRAMS, nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("granted_at", String(40), nullable=False),
    Column("revoked_at", String(40)),
    Column("position", BigInteger, nullable=False),
    Index("ix_mandates_holder", "holder", "position"),
    Index("ix_mandates_agent", "agent", "position"),
)

retirements = Table(
    "retirements", metadata,
    Column("id", ID, primary_key=True),
    Column("batch", ID, nullable=False),
    Column("holder", ID, nullable=False),
    Column("quantity", GRAMS, nullable=False),
    Column("ranges", Text, nullable=False),  # JSON
    Column("beneficiary", Text, nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("jurisdiction", Text, nullable=False),
    Column("consumption_period", Text, nullable=False),
    Column("details", Text, nullable=False),  # JSON
    Column("trade_ref", Text),
    Column("retired_at", String(40), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("event_id", ID, nullable=False),  # originator (batch) id
    Column("event_version", Integer, nullable=False),
    Index("ix_retirements_batch", "batch"),
)

token_locks = Table(
    "token_locks", metadata,
    Column("id", ID, primary_key=True),
    Column("batch", ID, nullable=False),
    Column("holder", ID, nullable=False),
    Column("chain_address", Text, nullable=False),
    Column("locked", GRAMS, nullable=False),
    Column("unlocked", GRAMS, nullable=False),
    *_integers("locked", "unlocked"),
)

bridge_locks = Table(
    # Bridged token locks (issue 6): where each lock event is in the log, so that the bridge
    # can prove it on chain, and its mint once seen on chain.
    "bridge_locks", metadata,
    Column("id", ID, primary_key=True),  # lock id
    Column("batch", ID, nullable=False),
    Column("position", BigInteger, nullable=False),  # notification id of LockedForTokens
    Column("chain_id", String(78), nullable=False),
    Column("token_contract", String(42), nullable=False),
    Column("recipient", String(42), nullable=False),
    Column("quantity", GRAMS, nullable=False),
    Column("bridge_message", Text, nullable=False),
    Column("pool", ID, nullable=False),  # the token pool the lock moves to once minted
    Column("minted_tx", Text),  # chain reference of the mint, once recorded
    Column("minted_position", BigInteger),
    Index("ix_bridge_locks_batch", "batch"),
)

exports = Table(
    "exports", metadata,
    Column("id", ID, primary_key=True),
    Column("batch", ID, nullable=False),
    Column("holder", ID, nullable=False),
    Column("destination", Text, nullable=False),
    Column("quantity", GRAMS, nullable=False),
    Column("exported_at", String(40), nullable=False),
)

cancellations = Table(
    "cancellations", metadata,
    Column("id", ID, primary_key=True),
    Column("batch", ID, nullable=False),
    Column("holder", ID, nullable=False),
    Column("quantity", GRAMS, nullable=False),
    Column("reason", Text, nullable=False),
    Column("cancelled_at", String(40), nullable=False),
)

corrections = Table(
    "corrections", metadata,
    Column("position", BigInteger, primary_key=True),
    Column("batch", ID, nullable=False),
    Column("field", String(32), nullable=False),
    Column("previous", Text),
    Column("value", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", String(40), nullable=False),
)

claims = Table(
    "neutrality_claims", metadata,
    Column("id", ID, primary_key=True),
    Column("organiser", ID, nullable=False),
    Column("event_name", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("footprint_g", GRAMS, nullable=False),
    Column("retired_g", GRAMS, nullable=False),
    Column("donated_points", GRAMS, nullable=False),
    Column("retirements", Integer, nullable=False),
    Column("met", Boolean, nullable=False),
    *_integers("retired_g", "donated_points", "retirements"),
    Column("registered_at", String(40), nullable=False),
)

TABLES = [t for t in metadata.sorted_tables if t is not tracking]
