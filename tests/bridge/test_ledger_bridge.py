"""The ledger's side of the bridge, without a chain: bridged locks, mints, burns and on-chain
retirements as commands and events, who may record them, and each applied exactly once."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest

from ledger.application import Ledger
from ledger.checks import check_ledger
from ledger.domain.credit_batch import (
    UNITS_PER_GRAM,
    decode_bridge_lock_message,
    token_pool_id,
    token_retirement_id,
)
from ledger.domain.errors import (
    DuplicateRecordError,
    InsufficientBalanceError,
    InvalidStateError,
    PermissionDeniedError,
    RecordNotFoundError,
    ValidationError,
)
from ledger.domain.participant import Role
from ledger.projections import schema
from ledger.projections.queries import dump_tables
from ledger.runtime import LedgerRuntime, Settings
from tests.ledger.projections.scenario import Cast, issue_batch, make_cast

CHAIN_ID = 31337
TOKEN = "0x" + "7e" * 20
ALICE = "0x" + "a1" * 20
TX = "0x" + "ab" * 32
BURNER = "0x" + "b0" * 20
RETIRE = {"beneficiary": "World Gas Conference 2025", "purpose": "event_neutrality",
          "jurisdiction": "Beijing", "consumption_period": "2025-05",
          "details": {"event": "World Gas Conference 2025"}}


@dataclass
class W:
    runtime: LedgerRuntime
    ledger: Ledger
    cast: Cast
    batch: UUID
    bridge: UUID
    lock: UUID


@pytest.fixture
def w(tmp_path):
    runtime = LedgerRuntime(Settings(data_dir=tmp_path / "ledger"))
    ledger = runtime.ledger
    cast = make_cast(ledger)
    batch = issue_batch(ledger, cast, count=40)
    bridge = ledger.register_participant(kind="registry_operator", name="Bridge",
                                         registered_by=cast.operator, roles=["bridge"])
    lock = ledger.lock_for_tokens(actor=cast.platform, batch_id=batch, quantity=10_000,
                                  chain_address=ALICE, chain_id=CHAIN_ID, token_contract=TOKEN)
    yield W(runtime, ledger, cast, batch, bridge, lock)
    runtime.close()


def mint(w):
    w.ledger.record_token_mint(actor=w.bridge, batch_id=w.batch, lock_id=w.lock,
                               chain_reference=TX)
    return token_pool_id(w.batch, CHAIN_ID, TOKEN)


def test_a_bridged_lock_carries_its_bridge_message(w):
    message = w.ledger.batch_view(w.batch).locks[str(w.lock)]["bridge_message"]
    assert tuple(decode_bridge_lock_message(message)) == (
        CHAIN_ID, TOKEN, w.batch, w.lock, ALICE, 10_000 * UNITS_PER_GRAM)
    w.runtime.sync()
    with w.runtime.engine.connect() as conn:
        row = conn.execute(schema.bridge_locks.select()).one()
    assert (row.id, row.quantity, row.recipient, row.minted_tx) == (str(w.lock), 10_000, ALICE,
                                                                    None)
    assert w.runtime.views.balance(w.cast.platform, w.batch)["tokenised"] == 10_000


@pytest.mark.parametrize(("changes", "field"), [
    ({"chain_address": "0xabc"}, "chain_address"),
    ({"token_contract": None}, "token_contract"),
    ({"chain_id": None}, "chain_id"),
    ({"token_contract": "not an address"}, "token_contract"),
])
def test_a_bridged_lock_needs_evm_addresses_and_both_chain_and_contract(w, changes, field):
    arguments = {"actor": w.cast.platform, "batch_id": w.batch, "quantity": 5,
                 "chain_address": ALICE, "chain_id": CHAIN_ID, "token_contract": TOKEN,
                 **changes}
    before = w.ledger.batch_view(w.batch).available(w.cast.platform)
    with pytest.raises(ValidationError) as raised:
        w.ledger.lock_for_tokens(**arguments)
    assert raised.value.details["field"] == field
    assert w.ledger.batch_view(w.batch).available(w.cast.platform) == before


def test_a_bridged_lock_is_never_unlocked_directly(w):
    with pytest.raises(InvalidStateError):
        w.ledger.unlock_tokens(actor=w.bridge, batch_id=w.batch, lock_id=w.lock,
                               recipient=w.cast.platform, quantity=1, chain_reference=TX,
                               burn_id="b-0")


def test_only_the_bridge_records_mints_and_burns(w):
    with pytest.raises(PermissionDeniedError):
        w.ledger.record_token_mint(actor=w.cast.operator, batch_id=w.batch, lock_id=w.lock,
                                   chain_reference=TX)
    pool = mint(w)
    with pytest.raises(PermissionDeniedError):
        w.ledger.unlock_tokens(actor=w.cast.platform, batch_id=w.batch, lock_id=pool,
                               recipient=w.cast.platform, quantity=1, chain_reference=TX,
                               burn_id="b-0")
    with pytest.raises(PermissionDeniedError):
        w.ledger.retire_tokenised(actor=w.cast.platform, batch_id=w.batch, pool_id=pool, quantity=1,
                                  chain_reference=TX, burn_id="b-0", chain_account=BURNER,
                                  **RETIRE)


def test_a_mint_is_recorded_once_and_moves_the_lock_to_the_token_pool(w):
    pool = mint(w)
    with pytest.raises(DuplicateRecordError):
        mint(w)
    loaded = w.ledger.batch_view(w.batch)
    assert loaded.lots == {**{k: v for k, v in loaded.lots.items()
                              if not k.startswith("tokenised/")},
                           f"tokenised/{pool}": [[1, 10_001]]}
    assert loaded.tokenised_totals() == {"locked": 0, "minted": 10_000}
    assert loaded.owner_of_lot(f"tokenised/{pool}") == str(w.bridge)
    w.runtime.sync()
    assert w.runtime.views.balance(w.bridge, w.batch)["tokenised"] == 10_000
    assert w.runtime.views.balance(w.cast.platform, w.batch)["tokenised"] == 0
    with w.runtime.engine.connect() as conn:
        assert conn.execute(schema.bridge_locks.select()).one().minted_tx == TX
    assert check_ledger(w.runtime).ok


def test_a_lock_made_without_a_bridge_cannot_be_recorded_as_minted(w):
    plain = w.ledger.lock_for_tokens(actor=w.cast.platform, batch_id=w.batch, quantity=5,
                                     chain_address="0xpool")
    with pytest.raises(InvalidStateError):
        w.ledger.record_token_mint(actor=w.bridge, batch_id=w.batch, lock_id=plain,
                                   chain_reference=TX)
    with pytest.raises(RecordNotFoundError):
        w.ledger.record_token_mint(actor=w.bridge, batch_id=w.batch, lock_id=uuid4(),
                                   chain_reference=TX)


def test_each_burn_unlocks_once_from_the_pool_to_a_holder(w):
    pool = mint(w)
    holder = w.cast.holders[0]
    ranges = w.ledger.unlock_tokens(actor=w.bridge, batch_id=w.batch, lock_id=pool,
                                    recipient=holder, quantity=4_000, chain_reference=TX,
                                    burn_id="burn/0")
    assert ranges == [[1, 4_001]]
    with pytest.raises(DuplicateRecordError):
        w.ledger.unlock_tokens(actor=w.bridge, batch_id=w.batch, lock_id=pool, recipient=holder,
                               quantity=4_000, chain_reference=TX, burn_id="burn/0")
    with pytest.raises(ValidationError):  # a pool is only ever unlocked by a burn
        w.ledger.unlock_tokens(actor=w.bridge, batch_id=w.batch, lock_id=pool, recipient=holder,
                               quantity=1, chain_reference=TX)
    with pytest.raises(InsufficientBalanceError):
        w.ledger.unlock_tokens(actor=w.bridge, batch_id=w.batch, lock_id=pool, recipient=holder,
                               quantity=6_001, chain_reference=TX, burn_id="burn/1")
    with pytest.raises(PermissionDeniedError):  # the verifier cannot hold credits
        w.ledger.unlock_tokens(actor=w.bridge, batch_id=w.batch, lock_id=pool,
                               recipient=w.cast.verifier, quantity=1, chain_reference=TX,
                               burn_id="burn/1")
    w.runtime.sync()
    assert w.runtime.views.balance(holder, w.batch)["available"] == 4_000
    assert check_ledger(w.runtime).ok


def test_each_burn_for_a_retirement_retires_once_from_the_pool(w):
    pool = mint(w)
    retirement = w.ledger.retire_tokenised(actor=w.bridge, batch_id=w.batch, pool_id=pool,
                                           quantity=2_500, chain_reference=TX, burn_id="burn/7",
                                           chain_account=BURNER, **RETIRE)
    assert retirement == token_retirement_id("burn/7")
    with pytest.raises(DuplicateRecordError):
        w.ledger.retire_tokenised(actor=w.bridge, batch_id=w.batch, pool_id=pool, quantity=2_500,
                                  chain_reference=TX, burn_id="burn/7", chain_account=BURNER,
                                  **RETIRE)
    with pytest.raises(ValidationError):
        w.ledger.retire_tokenised(actor=w.bridge, batch_id=w.batch, pool_id=pool, quantity=1,
                                  chain_reference=TX, burn_id="burn/8", chain_account=BURNER,
                                  **{**RETIRE, "details": {}})  # event neutrality names its event
    with pytest.raises(RecordNotFoundError):  # only from a token pool
        w.ledger.retire_tokenised(actor=w.bridge, batch_id=w.batch, pool_id=w.lock, quantity=1,
                                  chain_reference=TX, burn_id="burn/8", chain_account=BURNER,
                                  **RETIRE)
    w.runtime.sync()
    record = w.runtime.views.retirement(retirement)
    assert (record["quantity"], record["holder"], record["ranges"]) == (2_500, str(w.bridge),
                                                                        [[1, 2_501]])
    assert record["details"] == {"event": "World Gas Conference 2025",
                                 "chain": {"transaction": TX, "burn_id": "burn/7",
                                           "account": BURNER}}
    assert check_ledger(w.runtime).ok


def test_read_models_rebuilt_from_the_log_are_identical(w):
    pool = mint(w)
    w.ledger.unlock_tokens(actor=w.bridge, batch_id=w.batch, lock_id=pool,
                           recipient=w.cast.holders[1], quantity=1_000, chain_reference=TX,
                           burn_id="burn/0")
    w.ledger.retire_tokenised(actor=w.bridge, batch_id=w.batch, pool_id=pool, quantity=1_000,
                              chain_reference=TX, burn_id="burn/1", chain_account=BURNER,
                              **RETIRE)
    w.runtime.sync()
    before = dump_tables(w.runtime.engine)
    w.runtime.projector.rebuild()
    assert dump_tables(w.runtime.engine) == before


def test_the_bridge_role_is_granted_by_the_registry_operator(w):
    w.ledger.grant_role(actor=w.cast.operator, participant_id=w.cast.exchange, role="bridge")
    assert w.ledger.participant(w.cast.exchange).has_role(Role.BRIDGE)
