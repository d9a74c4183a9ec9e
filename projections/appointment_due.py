"""What falls due for bookings: reminders before the appointment, erasure after the day.

One row per booking with the moment its reminder falls due and the day its contact data is
erased, both as the confirmation recorded them, and whether either happened. The worker
(``infrastructure/appointment_watch.py``) reads the rows due and acts through the office
day, whose guards refuse a second reminder or erasure, so a row read twice does no harm.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from eventsourcing.utils import get_topic

from domain.appointments.office_day import OfficeDay
from projections.projection import Applied, Projection
from projections.view_store import ViewDatabase, ViewTransaction

EVENTS: tuple[type[Any], ...] = (
    OfficeDay.Opened,
    OfficeDay.BookingConfirmed,
    OfficeDay.BookingCancelled,
    OfficeDay.ReminderDue,
    OfficeDay.TicketDrawn,
    OfficeDay.ContactErased,
)


class AppointmentDue(Projection):
    """Per booking: when its reminder falls due, when its contact is erased, and if done."""

    name: ClassVar[str] = "appointment_due"
    version: ClassVar[int] = 1

    @property
    def days_table(self) -> str:
        """Office days: town, office and day."""
        return f"{self.key}_days"

    def tables(self) -> list[str]:
        """The bookings and their days."""
        return [self.table, self.days_table]

    def create_tables(self, tx: ViewTransaction) -> None:
        """Bookings indexed by reminder moment and erasure day."""
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.days_table} (office_day TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, office TEXT NOT NULL, day TEXT NOT NULL)"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (office_day TEXT NOT NULL, "
            "code TEXT NOT NULL, reminder_due TEXT NOT NULL, erase_on TEXT NOT NULL, "
            "remind INTEGER NOT NULL, erase INTEGER NOT NULL, PRIMARY KEY (office_day, code))"
        )
        tx.execute(
            f"CREATE INDEX IF NOT EXISTS {self.table}_remind ON {self.table} (remind, reminder_due)"
        )
        tx.execute(
            f"CREATE INDEX IF NOT EXISTS {self.table}_erase ON {self.table} (erase, erase_on)"
        )

    def topics(self) -> list[str]:
        """The events that set or settle a reminder or an erasure."""
        return sorted({get_topic(c) for c in EVENTS})

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        """Record each event in log order."""
        for applied in batch:
            self._record(tx, str(applied.event.originator_id), applied.event)

    def _record(self, tx: ViewTransaction, day: str, event: Any) -> None:
        if isinstance(event, OfficeDay.Opened):
            text = event.day.isoformat() if isinstance(event.day, date) else str(event.day)
            tx.execute(
                f"INSERT INTO {self.days_table} (office_day, tenant, office, day) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (office_day) DO NOTHING",
                (day, event.tenant, event.office, text),
            )
        elif isinstance(event, OfficeDay.BookingConfirmed):
            tx.execute(
                f"INSERT INTO {self.table} (office_day, code, reminder_due, erase_on, remind, "
                "erase) VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (office_day, code) DO NOTHING",
                (
                    day,
                    event.code,
                    _utc(event.reminder_due),
                    event.erase_on.isoformat(),
                    int(event.at < event.reminder_due),  # booked later: nothing to remind
                ),
            )
        elif isinstance(event, OfficeDay.BookingCancelled | OfficeDay.ReminderDue):
            self._set(tx, day, event.code, "remind", 0)  # cancelled: no reminder
        elif isinstance(event, OfficeDay.TicketDrawn) and event.code:
            self._set(tx, day, event.code, "remind", 0)  # arrived: nothing to remind of
        elif isinstance(event, OfficeDay.ContactErased):
            self._set(tx, day, event.code, "erase", 0)

    def _set(self, tx: ViewTransaction, day: str, code: str, column: str, value: int) -> None:
        tx.execute(
            f"UPDATE {self.table} SET {column} = ? WHERE office_day = ? AND code = ?",
            (value, day, code),
        )


def _utc(moment: datetime) -> str:
    """A moment as sortable UTC text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def due(views: ViewDatabase, now: datetime, today: date, limit: int = 200) -> dict[str, list[Any]]:
    """Bookings whose reminder is due by ``now`` and whose erasure is due by ``today``.

    Each as (tenant, office, day, code); a cancelled booking's contact is erased all the same.
    """
    view = AppointmentDue()
    joined = f"{view.table} b JOIN {view.days_table} d ON d.office_day = b.office_day"
    reminders = views.query(
        f"SELECT d.tenant, d.office, d.day, b.code FROM {joined} "
        "WHERE b.remind = 1 AND b.reminder_due <= ? ORDER BY b.reminder_due LIMIT ?",
        (_utc(now), limit),
    )
    erasures = views.query(
        f"SELECT d.tenant, d.office, d.day, b.code FROM {joined} "
        "WHERE b.erase = 1 AND b.erase_on <= ? ORDER BY b.erase_on LIMIT ?",
        (today.isoformat(), limit),
    )
    return {"reminders": reminders, "erasures": erasures}
