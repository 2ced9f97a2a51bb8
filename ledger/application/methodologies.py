"""Commands on methodologies: publish, supersede."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ledger.application.core import LedgerCore
from ledger.domain import ids
from ledger.domain.errors import DuplicateRecordError
from ledger.domain.methodology import Methodology
from ledger.domain.participant import Role
from ledger.domain.timeutil import parse_time


class MethodologyCommands(LedgerCore):
    """Publishing and superseding methodologies."""

    def publish_methodology(self, *, actor: UUID, code: str, version: str, region: str,
                            scene: str, activity_unit: str, factor_g_per_unit: str | int,
                            valid_from: str | datetime,
                            valid_until: str | datetime | None = None,
                            max_activity: str | int | Decimal | None = None) -> UUID:
        """Publish a methodology version; ``max_activity`` is the most activity one
        behaviour may report (in ``activity_unit``; default
        :data:`~ledger.domain.methodology.DEFAULT_MAX_ACTIVITY`)."""
        self._actor(actor, Role.ISSUER)
        methodology_id = ids.methodology_id(code, version)
        methodology = Methodology.publish(
            methodology_id, code=code, version=version, region=region, scene=scene,
            activity_unit=activity_unit, factor_g_per_unit=factor_g_per_unit,
            valid_from=parse_time(valid_from, "valid_from"),
            valid_until=parse_time(valid_until, "valid_until") if valid_until else None,
            actor=actor, max_activity=max_activity,
        )
        try:
            self.save(methodology)
        except IntegrityError:
            raise DuplicateRecordError(f"methodology {code} v{version} is already published",
                                       id=str(methodology_id)) from None
        return methodology_id

    def supersede_methodology(self, *, actor: UUID, methodology_id: UUID,
                              successor_id: UUID) -> None:
        self._actor(actor, Role.ISSUER)

        def command() -> None:
            old = self.methodology(methodology_id)
            old.supersede(self.methodology(successor_id), actor=actor)
            self.save(old)

        self._retrying(command)

