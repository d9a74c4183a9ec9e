"""The worker's round through the bookings: reminders due, contact data to erase.

It runs beside the timers (``Scheduler(beside=...)``), as the delivery watch does: timer
kinds are keyed by case and day, while a reminder falls due at a moment before an
appointment of an office day (not a case), so bookings keep a due list of their own
(``projections/appointment_due.py``). Each row is acted on through the office day, whose
guards refuse a second reminder or erasure: a row read twice (a view a moment behind, two
workers) does no harm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import structlog

from application.appointments import AppointmentService
from application.clock import Clock
from domain.errors import DomainError
from domain.timers import scheduler_actor
from projections.appointment_due import due
from projections.view_store import ViewDatabase

log = structlog.get_logger(__name__)


@dataclass
class AppointmentRound:
    """What one round did: reminders raised, contacts erased, rows already settled."""

    today: date
    reminded: int = 0
    erased: int = 0
    settled: int = 0
    failed: list[str] = field(default_factory=list)


class AppointmentWatch:
    """Raises the reminders due and erases the contacts whose retention ended."""

    def __init__(self, views: ViewDatabase, appointments: AppointmentService, clock: Clock) -> None:
        self.views = views
        self.appointments = appointments
        self.clock = clock

    def tick(self, today: date) -> AppointmentRound:
        """One round: every reminder due by now, every erasure due by today."""
        report = AppointmentRound(today)
        rows = due(self.views, self.clock.now(), today)
        for tenant, office_id, day, code in rows["reminders"]:
            if self._act("remind", tenant, office_id, day, code, report):
                report.reminded += 1
        for tenant, office_id, day, code in rows["erasures"]:
            if self._act("erase_contact", tenant, office_id, day, code, report):
                report.erased += 1
        if report.reminded or report.erased or report.failed:
            log.info(
                "bookings worked",
                day=today.isoformat(),
                reminded=report.reminded,
                erased=report.erased,
                failed=len(report.failed),
            )
        return report

    def _act(
        self, what: str, tenant: str, office_id: str, day: str, code: str, report: AppointmentRound
    ) -> bool:
        use_case = getattr(self.appointments, what)
        try:
            use_case(
                tenant, office_id, date.fromisoformat(day), code, actor=scheduler_actor(tenant)
            )
        except DomainError:
            report.settled += 1  # reminded, cancelled or erased meanwhile
            return False
        except Exception as error:  # one booking's failure never stops the round
            report.failed.append(code)
            log.warning("booking not worked", action=what, error=type(error).__name__)
            return False
        return True
