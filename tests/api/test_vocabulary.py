"""Every domain value shown to people has a Chinese and an English name (api/vocabulary.py)."""

from __future__ import annotations

import inspect

import pytest

from api.vocabulary import MOVES, PARTICIPANT_KINDS, PURPOSE_FIELDS, PURPOSES, STATES
from ledger.domain.credit_batch import LotState
from ledger.domain.participant import ParticipantKind
from ledger.domain.retirement import RetirementPurpose, validate_retirement_details
from ledger.projections.moves import KINDS


@pytest.mark.parametrize(("catalog", "enum"), [
    (PURPOSES, RetirementPurpose), (STATES, LotState), (PARTICIPANT_KINDS, ParticipantKind),
])
def test_every_value_of_the_domain_is_named_in_both_languages(catalog, enum):
    assert set(catalog) == set(enum)
    for text in catalog.values():
        assert text("en").strip() and text("zh").strip()
        assert text("en") != text("zh")


def test_every_field_a_retirement_may_carry_is_named():
    accepted = set(inspect.signature(validate_retirement_details).parameters) - {"details"}
    from ledger.domain import retirement

    accepted |= {name for fields in retirement._REQUIRED.values() for name in fields}
    accepted |= set(retirement._OPTIONAL)
    assert accepted <= set(PURPOSE_FIELDS), accepted - set(PURPOSE_FIELDS)


def test_every_kind_of_move_is_named_in_both_languages():
    assert set(MOVES) == set(KINDS.values())
    for text in MOVES.values():
        assert text("en").strip() and text("zh").strip() and text("en") != text("zh")
