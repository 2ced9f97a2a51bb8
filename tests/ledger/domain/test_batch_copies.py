"""The copy-on-write map behind a batch's tables: every fork behaves as an independent dict,
and copying a batch no longer copies its tables."""

from __future__ import annotations

import copy
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain.cow_map import SHARDS, SMALL_TABLE, CopyOnWriteMap
from ledger.domain.credit_batch import CreditBatch

KEYS = st.text(alphabet="abcdefgh", min_size=1, max_size=3)
OPS = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["set", "del", "fork"]), KEYS,
                         st.integers()), max_size=80)


@pytest.fixture(autouse=True)
def _every_backend() -> None:
    """Pure: no storage backend."""


@settings(max_examples=200, deadline=None)
@given(OPS)
def test_forks_behave_as_independent_dicts(ops: list[tuple[int, str, str, int]]) -> None:
    maps: list[CopyOnWriteMap[str, int]] = [CopyOnWriteMap()]
    models: list[dict[str, int]] = [{}]
    for which, op, key, value in ops:
        i = which % len(maps)
        if op == "set":
            maps[i][key] = value
            models[i][key] = value
        elif op == "del":
            assert maps[i].pop(key, None) == models[i].pop(key, None)
        else:
            maps.append(maps[i].fork())
            models.append(dict(models[i]))
        for made, model in zip(maps, models, strict=True):
            assert dict(made.items()) == model
            assert len(made) == len(model)
            assert all((key in made) == (key in model) for key in "abcdefgh")


def test_deleting_a_missing_key_is_a_key_error_and_changes_nothing() -> None:
    made = CopyOnWriteMap({"a": 1})
    with pytest.raises(KeyError):
        del made["b"]
    assert dict(made.items()) == {"a": 1} and len(made) == 1


def _batch(holders: int) -> CreditBatch:
    batch = CreditBatch.issue(uuid4(), block="B", registry="R", vintage=2024,
                              methodology=uuid4(), methodology_label="M", region="Wuhan",
                              project_type="ev", quantity=10 * holders, holder=uuid4(),
                              source={}, behaviours_root=None, actor=uuid4())
    issuer = batch.owner_of_lot(next(iter(batch.lots)))
    for _ in range(holders):
        batch.transfer(sender=_uuid(issuer), recipient=uuid4(), quantity=10, actor=_uuid(issuer))
    return batch


def _uuid(text: str) -> UUID:
    return UUID(text)


def test_a_copy_of_a_batch_shares_its_tables_until_one_side_moves_credits() -> None:
    batch = _batch(300)
    batch.collect_events()
    copied = copy.deepcopy(batch)
    assert dict(copied.lots.items()) == dict(batch.lots.items())
    holder = next(key.partition("/")[2] for key in copied.lots if key.startswith("available/"))
    shared_before = sum(a is b for a, b in zip(copied.lots._shards, batch.lots._shards,  # type: ignore[attr-defined]
                                               strict=True))
    assert shared_before == SHARDS
    copied.transfer(sender=_uuid(holder), recipient=uuid4(), quantity=1, actor=_uuid(holder))
    shared_after = sum(a is b for a, b in zip(copied.lots._shards, batch.lots._shards,  # type: ignore[attr-defined]
                                              strict=True))
    assert shared_after >= SHARDS - 2  # only the sender's and recipient's shards were copied
    assert len(copied.lots) == len(batch.lots) + 1
    assert copied.totals_by_state() == batch.totals_by_state()  # nothing created or destroyed


def test_a_small_table_is_copied_as_a_plain_dict_that_the_copy_owns() -> None:
    batch = _batch(SMALL_TABLE - 2)  # its holders' lots and the issuer's
    batch.collect_events()
    assert len(batch.lots) <= SMALL_TABLE
    copied = copy.deepcopy(batch)
    assert type(batch.lots) is dict and type(copied.lots) is dict
    assert copied.lots is not batch.lots and copied.lots == batch.lots
    before = dict(batch.lots)
    holder = next(key.partition("/")[2] for key in copied.lots if key.startswith("available/"))
    copied.transfer(sender=_uuid(holder), recipient=uuid4(), quantity=1, actor=_uuid(holder))
    assert batch.lots == before  # the original is untouched by the copy's move
    assert len(copied.lots) == len(batch.lots) + 1


def test_a_snapshot_stores_plain_tables_and_restores_a_batch_equal_to_the_original() -> None:
    batch = _batch(SMALL_TABLE + 10)
    copied = copy.deepcopy(batch)  # turns the tables into copy-on-write maps
    assert isinstance(batch.lots, CopyOnWriteMap)
    snapshot = CreditBatch.Snapshot.take(copied)
    assert type(snapshot.state["lots"]) is dict
    restored = snapshot.mutate(None)
    assert dict(restored.lots.items()) == dict(batch.lots.items())
    assert restored.totals_by_state() == batch.totals_by_state()


def test_a_batch_is_snapshotted_less_often_as_its_lots_grow() -> None:
    small, large = _batch(10), _batch(1_000)
    assert small.snapshot_interval(50) == 50
    interval = large.snapshot_interval(50)
    assert interval * 4 >= len(large.lots) > interval * 2  # a quarter to a half of its lots
    assert interval % 50 == 0 and (interval // 50) & (interval // 50 - 1) == 0
