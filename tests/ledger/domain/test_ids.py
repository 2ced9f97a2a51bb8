"""Deterministic ids: the fast name-based UUID is the standard one."""

from __future__ import annotations

import pickle
import uuid
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain import ids


@given(namespace=st.uuids(), name=st.text())
def test_uuid5_is_the_standard_name_based_uuid(namespace: UUID, name: str) -> None:
    derived = ids.uuid5(namespace, name)
    expected = uuid.uuid5(namespace, name)
    assert derived == expected
    assert str(derived) == str(expected)
    assert hash(derived) == hash(expected)
    assert derived.version == 5
    assert derived.variant == uuid.RFC_4122
    assert derived.is_safe is uuid.SafeUUID.unknown


def test_a_derived_id_is_an_ordinary_immutable_uuid() -> None:
    derived = ids.behaviour_id("metro", "ride:1")
    assert isinstance(derived, UUID)
    assert pickle.loads(pickle.dumps(derived)) == derived
    assert UUID(str(derived)) == derived
    with pytest.raises(TypeError):
        derived.int = 0  # type: ignore[misc]
    assert ids.behaviour_id("metro", "ride:1") == derived
    assert ids.behaviour_id("metro", "ride:2") != derived
