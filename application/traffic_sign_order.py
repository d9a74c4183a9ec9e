"""Use cases of the traffic sign order after it was issued: signs up, signs removed."""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from uuid import UUID

from application.service_commands import ServiceCommands
from application.views import CommandResult
from domain.actor import Actor
from domain.case import Case
from domain.services.traffic_sign_order import TrafficSignOrder


class TrafficSignOrderCommands(ServiceCommands[TrafficSignOrder]):
    """The order's own steps, over the shared case use cases."""

    case_type: ClassVar[type[Case]] = TrafficSignOrder

    def report_signs_up(
        self,
        case_id: UUID,
        *,
        actor: Actor,
        signs_up_on: date,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Record that the signs stand."""
        return self.run(
            case_id,
            actor=actor,
            expected_version=expected_version,
            name="report_signs_up",
            step=lambda c, at: c.report_signs_up(actor=actor, at=at, signs_up_on=signs_up_on),
        )

    def report_signs_removed(
        self,
        case_id: UUID,
        *,
        actor: Actor,
        removed_on: date,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Record that the measure is over and the signs are gone."""
        return self.run(
            case_id,
            actor=actor,
            expected_version=expected_version,
            name="report_signs_removed",
            step=lambda c, at: c.report_signs_removed(actor=actor, at=at, removed_on=removed_on),
        )
