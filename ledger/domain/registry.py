"""Registries: batch numbering for this registry's prefixes, and the record of serial ranges
imported from other registries (mutual recognition, 跨区域互认)."""

from __future__ import annotations

import re
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain.errors import OverlappingImportError, ValidationError
from ledger.domain.limits import MAX_BLOCK_LABEL, MAX_SERIAL
from ledger.domain.text import check_text

__all__ = ["ExternalRegistry", "Registry", "validate_prefix"]

_PREFIX = re.compile(r"^[A-Z][A-Z0-9]{1,11}$")


def validate_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise ValidationError(
            f"registry prefix {prefix!r} must be 2-12 upper-case letters or digits "
            "(e.g. CCER, PHCER, CDCER, SHCER)", field="registry")
    return prefix


class Registry(Aggregate):
    """Numbers the batches issued under one registry prefix, without gaps or reuse."""

    @event("Opened")
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.batches: list[str] = []

    @classmethod
    def open(cls, registry_id: UUID, prefix: str) -> Registry:
        return cls._create(cls.Opened, id=registry_id, prefix=validate_prefix(prefix))

    def assign_block(self, *, batch_id: UUID, vintage: int, actor: UUID) -> str:
        """Assign the next batch number; returns the serial block label."""
        number = len(self.batches) + 1
        block = f"{self.prefix}-{vintage}-{number:06d}"
        self._block_assigned(batch=str(batch_id), number=number, block=block, actor=str(actor))
        return block

    @event("BlockAssigned")
    def _block_assigned(self, batch: str, number: int, block: str, actor: str) -> None:
        self.batches.append(batch)


class ExternalRegistry(Aggregate):
    """Serial ranges imported from one external registry, per external serial block."""

    @event("Recognised")
    def __init__(self, name: str) -> None:
        self.name = name
        self.imported: dict[str, list[list[str | int]]] = {}  # block -> [[start, end, batch]]

    @classmethod
    def recognise(cls, registry_id: UUID, name: str) -> ExternalRegistry:
        name = check_text(name, "registry")
        return cls._create(cls.Recognised, id=registry_id, name=name)

    def label_for(self, block: str) -> str:
        """The block label of the batch that imports the next range of external ``block``:
        ``<registry>:<block>``, and ``<registry>:<block>#<n>`` for its n-th range. Always
        qualified, so never the label of a batch this ledger issues (``HBCER-2024-000001``);
        other coincidences (registry ``X`` with block ``Y:Z`` and registry ``X:Y`` with block
        ``Z``) are refused when the label is claimed (see
        :class:`~ledger.domain.unique_keys.UniqueKey`)."""
        block = block.strip().upper()
        if not block:
            raise ValidationError("external serial block must not be empty",
                                  field="external_block")
        earlier = len(self.imported.get(block, []))
        label = f"{self.name}:{block}" + (f"#{earlier + 1}" if earlier else "")
        if len(label) > MAX_BLOCK_LABEL:
            raise ValidationError(
                f"the batch label {label[:40]}... would be longer than {MAX_BLOCK_LABEL} "
                "characters: use a shorter registry name or block", field="external_block",
                limit=MAX_BLOCK_LABEL, length=len(label))
        return label

    def record_import(self, *, block: str, start: int, end: int, batch_id: UUID,
                      actor: UUID) -> None:
        """Record ``[start, end)`` of external ``block``; any overlap is refused."""
        block = block.strip().upper()
        if not block:
            raise ValidationError("external serial block must not be empty", field="block")
        for name, value in (("serial_start", start), ("serial_end", end)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(f"{name} must be a non-negative integer", field=name)
            if value > MAX_SERIAL:
                raise ValidationError(f"{name} must be at most {MAX_SERIAL}", field=name,
                                      value=str(value))
        if end <= start:
            raise ValidationError("serial_end must be greater than serial_start",
                                  field="serial_end")
        for other_start, other_end, other_batch in self.imported.get(block, []):
            if start < int(other_end) and int(other_start) < end:
                raise OverlappingImportError(
                    f"{self.name} {block} serials {start}-{end - 1} overlap serials "
                    f"{other_start}-{int(other_end) - 1} imported as batch {other_batch}",
                    registry=self.name, block=block, batch=str(other_batch),
                )
        self._imported(block=block, start=start, end=end, batch=str(batch_id), actor=str(actor))

    @event("RangeImported")
    def _imported(self, block: str, start: int, end: int, batch: str, actor: str) -> None:
        self.imported.setdefault(block, []).append([start, end, batch])
