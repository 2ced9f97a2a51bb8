"""Registries: gap-free batch numbering; imported serial ranges never overlap."""

from uuid import uuid4

import pytest

from ledger.domain.errors import OverlappingImportError, ValidationError
from ledger.domain.registry import ExternalRegistry, Registry, validate_prefix

OPERATOR = uuid4()


@pytest.mark.parametrize("prefix", ["CCER", "PHCER", "CDCER", "SHCER", "NCER", "HB2"])
def test_real_registry_prefixes_are_valid(prefix):
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["", "C", "phcer", "PH-CER", "1CER", "ABCDEFGHIJKLM", None])
def test_malformed_prefix_is_rejected(prefix):
    with pytest.raises(ValidationError) as raised:
        validate_prefix(prefix)
    assert raised.value.details["field"] == "registry"


def test_batches_are_numbered_in_sequence_without_gaps():
    registry = Registry.open(uuid4(), "HBCER")
    first, second = uuid4(), uuid4()
    assert registry.assign_block(batch_id=first, vintage=2024, actor=OPERATOR) == (
        "HBCER-2024-000001")
    assert registry.assign_block(batch_id=second, vintage=2024, actor=OPERATOR) == (
        "HBCER-2024-000002")
    # the number runs per prefix, whatever the vintage
    assert registry.assign_block(batch_id=uuid4(), vintage=2025, actor=OPERATOR) == (
        "HBCER-2025-000003")
    assert registry.batches[:2] == [str(first), str(second)]


def test_registry_with_malformed_prefix_is_not_opened():
    with pytest.raises(ValidationError):
        Registry.open(uuid4(), "hb")


def external() -> ExternalRegistry:
    return ExternalRegistry.recognise(uuid4(), " CDCER ")


def test_external_registry_name_is_trimmed_and_must_not_be_blank():
    assert external().name == "CDCER"
    with pytest.raises(ValidationError):
        ExternalRegistry.recognise(uuid4(), "  ")


@pytest.mark.parametrize(
    ("start", "end"),
    [(1000, 2000), (1500, 1600), (500, 1001), (1999, 2500), (0, 5000)],
)
def test_overlapping_import_is_rejected_naming_the_first_batch(start, end):
    registry = external()
    first = uuid4()
    registry.record_import(block="CDCER-2024-000007", start=1000, end=2000, batch_id=first,
                           actor=OPERATOR)
    with pytest.raises(OverlappingImportError) as raised:
        registry.record_import(block="CDCER-2024-000007", start=start, end=end,
                               batch_id=uuid4(), actor=OPERATOR)
    assert raised.value.code == "overlapping-import"
    assert raised.value.details == {"registry": "CDCER", "block": "CDCER-2024-000007",
                                    "batch": str(first)}
    assert registry.imported == {"CDCER-2024-000007": [[1000, 2000, str(first)]]}


def test_adjacent_ranges_and_other_blocks_are_accepted():
    registry = external()
    registry.record_import(block="B1", start=1000, end=2000, batch_id=uuid4(), actor=OPERATOR)
    registry.record_import(block="B1", start=2000, end=3000, batch_id=uuid4(), actor=OPERATOR)
    registry.record_import(block="B1", start=0, end=1000, batch_id=uuid4(), actor=OPERATOR)
    registry.record_import(block="B2", start=1000, end=2000, batch_id=uuid4(), actor=OPERATOR)
    assert [r[:2] for r in registry.imported["B1"]] == [[1000, 2000], [2000, 3000], [0, 1000]]
    assert len(registry.imported["B2"]) == 1


@pytest.mark.parametrize(
    ("block", "start", "end", "field"),
    [
        (" ", 0, 10, "block"),
        ("B1", -1, 10, "serial_start"),
        ("B1", 0, -1, "serial_end"),
        ("B1", 1.0, 10, "serial_start"),
        ("B1", True, 10, "serial_start"),
        ("B1", 10, 10, "serial_end"),
        ("B1", 10, 5, "serial_end"),
    ],
)
def test_malformed_import_range_is_rejected(block, start, end, field):
    registry = external()
    with pytest.raises(ValidationError) as raised:
        registry.record_import(block=block, start=start, end=end, batch_id=uuid4(),
                               actor=OPERATOR)
    assert raised.value.details["field"] == field
    assert registry.imported == {}
