"""Every list of lot states is LotState's, in its order: the read model's grams columns, the
API's supply and balance fields, the CLI's and the demo's columns."""

from __future__ import annotations

from api.schemas.batches import STATES as API_STATES
from api.schemas.batches import BalancePublic, SupplyPublic
from ledger import cli, demo
from ledger.domain.credit_batch import LotState
from ledger.projections import queries
from ledger.projections import schema as tables

LOT_STATES = [state.value for state in LotState]


def _state_columns(names: list[str]) -> list[str]:
    return [name for name in names if name in set(LOT_STATES)]


def test_the_read_models_have_one_grams_column_per_lot_state_in_order():
    for table in (tables.supply, tables.balances):
        columns = [column.name for column in table.columns]
        assert _state_columns(columns) == LOT_STATES, table.name
        start = columns.index(LOT_STATES[0])  # one run of columns, nothing between
        assert columns[start:start + len(LOT_STATES)] == LOT_STATES, table.name
    assert list(tables.STATES) == LOT_STATES
    assert list(queries._STATES) == LOT_STATES


def test_the_api_supply_and_balance_fields_are_the_lot_states_in_order():
    assert list(API_STATES) == LOT_STATES
    for model in (SupplyPublic, BalancePublic):
        grams = [name.removesuffix("_g") for name in model.model_fields
                 if name.endswith("_g") and name != "issued_g"]
        assert grams == LOT_STATES, model.__name__


def test_the_cli_columns_are_the_lot_states_in_order():
    assert list(cli.STATES) == LOT_STATES
    row = {state: 1_000_000 * (index + 1) for index, state in enumerate(LOT_STATES)}
    shown = [part.split(" ")[0] for part in cli._grams_columns(row).split(", ")]
    assert shown == LOT_STATES


def test_the_demo_shows_held_states_named_from_lot_state():
    assert all(isinstance(state, LotState) for state in demo.HELD_STATES)
    assert [state.value for state in demo.HELD_STATES] == [
        "available", "escrowed", "pledged", "retired"]
