"""Low-carbon behaviours (低碳行为) reported by platforms and quantified by a methodology."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event, get_topic

from ledger.domain.errors import ActivityLimitError, ValidationError
from ledger.domain.methodology import Methodology
from ledger.domain.quantities import MAX_GRAMS
from ledger.domain.text import check_text

__all__ = ["Behaviour", "behaviour_leaf"]

MAX_TEXT = 200


def _text(value: str, name: str) -> str:
    return check_text(value, name, max_length=MAX_TEXT)


def behaviour_leaf(behaviour_id: UUID | str, account: UUID | str, reduction_g: int,
                   methodology: UUID | str, occurred_at: datetime) -> bytes:
    """Canonical bytes of a behaviour as a leaf of its batch's Merkle tree.

    ``behaviour-v1|<behaviour id>|<account id>|<grams>|<methodology id>|<occurred_at UTC ISO>``
    (UUIDs in canonical hyphenated lower case). Only the pseudonymous account id appears.
    """
    return (
        f"behaviour-v1|{UUID(str(behaviour_id))}|{UUID(str(account))}|{int(reduction_g)}|"
        f"{UUID(str(methodology))}|{occurred_at.isoformat()}"
    ).encode()


class Behaviour(Aggregate):
    """One physical low-carbon act. Its id derives from the act's identity, so the same act
    reported again, by any platform, collides with this aggregate in the event store."""

    @event("Reported")
    def __init__(
        self,
        platform: str,
        platform_ref: str,
        account: str,
        methodology: str,
        scene: str,
        act_identity: str,
        activity_amount: str,
        occurred_at: datetime,
        reduction_g: int,
        exact_g: str,
    ) -> None:
        self.platform = platform
        self.platform_ref = platform_ref
        self.account = account
        self.methodology = methodology
        self.scene = scene
        self.act_identity = act_identity
        self.activity_amount = activity_amount
        self.occurred_at = occurred_at
        self.reduction_g = reduction_g
        self.exact_g = exact_g

    @classmethod
    def report(
        cls,
        behaviour_id: UUID,
        *,
        platform: UUID,
        platform_ref: str,
        account: UUID,
        methodology: Methodology,
        act_identity: str,
        activity_amount: Decimal,
        occurred_at: datetime,
    ) -> Behaviour:
        """Quantify the act with ``methodology`` (which must be valid when it occurred)."""
        return cls._create(cls.Reported, id=behaviour_id, **_reported_fields(
            platform, platform_ref, account, methodology, act_identity, activity_amount,
            occurred_at))

    @classmethod
    def reported(
        cls,
        behaviour_id: UUID,
        *,
        platform: UUID,
        platform_ref: str,
        account: UUID,
        methodology: Methodology,
        act_identity: str,
        activity_amount: Decimal,
        occurred_at: datetime,
    ) -> Behaviour.Reported:
        """The event :meth:`report` records, validated the same way, without building the
        aggregate: for bulk ingestion, where saving the fact is all a new behaviour needs
        (the aggregate is reconstructed from it when it is read)."""
        return cls.Reported(
            originator_topic=_TOPIC, originator_id=behaviour_id,
            originator_version=cls.INITIAL_VERSION,
            timestamp=cls.Reported.create_timestamp(),
            **_reported_fields(platform, platform_ref, account, methodology, act_identity,
                               activity_amount, occurred_at))

    def leaf(self) -> bytes:
        return behaviour_leaf(self.id, self.account, self.reduction_g, self.methodology,
                              self.occurred_at)


_TOPIC = get_topic(Behaviour)


def _reported_fields(platform: UUID, platform_ref: str, account: UUID, methodology: Methodology,
                     act_identity: str, activity_amount: Decimal,
                     occurred_at: datetime) -> dict[str, Any]:
    if not methodology.is_valid_at(occurred_at):
        raise ValidationError(
            f"{methodology.label} is not valid at {occurred_at.isoformat()}",
            field="occurred_at",
        )
    methodology.check_activity(activity_amount)
    quantification = methodology.quantify(activity_amount)
    if quantification.reduction_g <= 0:
        raise ValidationError(
            f"activity {activity_amount} {methodology.activity_unit} quantifies to less "
            "than one gram", field="activity_amount")
    if quantification.reduction_g > MAX_GRAMS:
        raise ActivityLimitError(
            f"activity {activity_amount} {methodology.activity_unit} quantifies to more "
            f"than {MAX_GRAMS} grams", field="activity_amount", maximum_g=MAX_GRAMS)
    return {
        "platform": str(platform),
        "platform_ref": _text(platform_ref, "platform_ref"),
        "account": str(account),
        "methodology": str(methodology.id),
        "scene": methodology.scene,
        "act_identity": _text(act_identity, "act_identity"),
        "activity_amount": str(activity_amount),
        "occurred_at": occurred_at,
        "reduction_g": quantification.reduction_g,
        "exact_g": quantification.exact_g,
    }
