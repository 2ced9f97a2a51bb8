"""Serial ranges: half-open [start, end) lists, lowest serials taken first, never mutated."""

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain.errors import InsufficientBalanceError
from ledger.domain.serials import (
    add_ranges,
    format_range,
    normalise,
    ranges_total,
    remove_ranges,
    take_lowest,
)


def test_ranges_total_counts_serials_of_half_open_ranges():
    assert ranges_total([[1, 11], [20, 25]]) == 15
    assert ranges_total([]) == 0


def test_normalise_sorts_and_merges_adjacent_ranges():
    assert normalise([[20, 25], [1, 11], [11, 20]]) == [[1, 25]]
    assert normalise([[5, 6], [1, 2]]) == [[1, 2], [5, 6]]


@pytest.mark.parametrize("bad", [[[1, 1]], [[5, 2]], [[1, 10], [9, 12]]])
def test_normalise_refuses_empty_inverted_or_overlapping_ranges(bad):
    with pytest.raises(ValueError):
        normalise(bad)


def test_take_lowest_picks_the_lowest_serials_first_splitting_the_last_range():
    held = [[1, 101], [201, 301], [401, 501]]
    assert take_lowest(held, 150) == [[1, 101], [201, 251]]
    assert take_lowest(held, 100) == [[1, 101]]
    assert take_lowest(held, 1) == [[1, 2]]
    assert take_lowest(held, 300) == held


def test_take_lowest_refuses_more_than_held_and_reports_both_figures():
    with pytest.raises(InsufficientBalanceError) as raised:
        take_lowest([[1, 101], [201, 251]], 151)
    assert raised.value.code == "insufficient-balance"
    assert raised.value.details == {"requested": 151, "available": 150}


def test_remove_ranges_splits_a_held_range_around_the_removed_part():
    assert remove_ranges([[1, 101]], [[40, 60]]) == [[1, 40], [60, 101]]
    assert remove_ranges([[1, 101]], [[1, 101]]) == []
    assert remove_ranges([[1, 51], [51, 101]], [[1, 30]]) == [[30, 101]]


def test_remove_ranges_refuses_serials_that_are_not_held():
    with pytest.raises(ValueError):
        remove_ranges([[1, 101]], [[90, 110]])
    with pytest.raises(ValueError):
        remove_ranges([[1, 10], [20, 30]], [[5, 25]])


def test_range_functions_never_mutate_their_arguments():
    held = [[1, 101], [201, 301]]
    snapshot = copy.deepcopy(held)
    take_lowest(held, 150)
    remove_ranges(held, [[1, 50]])
    add_ranges(held, [[101, 201]])
    normalise(held)
    assert held == snapshot


def test_format_range_labels_both_ends_inclusively():
    assert format_range("CDCER-2024-000001", 1, 2_000_001) == "CDCER-2024-000001:1-2000000"


@st.composite
def held_ranges(draw):
    cuts = sorted(draw(st.sets(st.integers(0, 10_000), min_size=2, max_size=12)))
    pairs = [[a, b] for a, b in zip(cuts[::2], cuts[1::2], strict=False)]
    return [p for p in pairs if p[0] < p[1]] or [[0, 1]]


@given(held=held_ranges(), data=st.data())
def test_taking_then_removing_partitions_the_holding(held, data):
    total = ranges_total(held)
    quantity = data.draw(st.integers(1, total))
    taken = take_lowest(held, quantity)
    rest = remove_ranges(held, taken)
    assert ranges_total(taken) == quantity
    assert ranges_total(rest) == total - quantity
    assert add_ranges(rest, taken) == normalise(held)
    if rest:
        # lowest first: every serial taken is below every serial left
        assert max(end for _, end in taken) <= min(start for start, _ in rest)


@given(held=held_ranges(), data=st.data())
def test_adding_to_a_holding_is_the_normalised_union(held, data):
    """add_ranges places each range by binary search; the result must be exactly what
    sorting and merging everything gives, and overlaps must be refused as normalise does."""
    free = remove_ranges([[0, 10_001]], held)
    pieces = [r for r in free if data.draw(st.booleans())]
    cuts = [[s, m, e] for s, e in pieces for m in [data.draw(st.integers(s, e))]]
    added = [r for s, m, e in cuts for r in ([s, m], [m, e]) if r[0] < r[1]]
    shuffled = data.draw(st.permutations(added))
    assert add_ranges(held, shuffled) == normalise([*held, *added])
    if held:
        start, end = held[data.draw(st.integers(0, len(held) - 1))]
        clash = data.draw(st.integers(start, end - 1))
        with pytest.raises(ValueError):
            add_ranges(held, [*shuffled, [clash, clash + 1]])
