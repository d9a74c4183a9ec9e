"""Appointment statistics: per office, service and day, the tickets served, missed, and waits.

One row per ticket drawn (its service, queue, when it was drawn, first called and how it
ended) and one per booking (its service and where it stands); the statistics are counted
from them (``stats``). A wait is from drawing the ticket to its first call. Nothing here is
personal: codes, ticket numbers, services and times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, ClassVar

from eventsourcing.utils import get_topic

from domain.appointments.office_day import OfficeDay
from projections.projection import Applied, Projection
from projections.view_store import ViewDatabase, ViewTransaction

EVENTS: tuple[type[Any], ...] = (
    OfficeDay.Opened,
    OfficeDay.BookingConfirmed,
    OfficeDay.BookingCancelled,
    OfficeDay.TicketDrawn,
    OfficeDay.TicketCalled,
    OfficeDay.TicketServed,
    OfficeDay.TicketMissed,
)


class AppointmentStats(Projection):
    """Per office day: its tickets with their waits and outcomes, and its bookings."""

    name: ClassVar[str] = "appointment_stats"
    version: ClassVar[int] = 1

    @property
    def tickets_table(self) -> str:
        """One row per ticket drawn."""
        return f"{self.key}_tickets"

    @property
    def bookings_table(self) -> str:
        """One row per booking confirmed."""
        return f"{self.key}_bookings"

    def tables(self) -> list[str]:
        """The days, their tickets and their bookings."""
        return [self.table, self.tickets_table, self.bookings_table]

    def create_tables(self, tx: ViewTransaction) -> None:
        """Days found by tenant, office and day; tickets and bookings keyed by the day."""
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (office_day TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, office TEXT NOT NULL, day TEXT NOT NULL)"
        )
        tx.execute(
            f"CREATE INDEX IF NOT EXISTS {self.table}_office ON {self.table} (tenant, day, office)"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.tickets_table} (office_day TEXT NOT NULL, "
            "ticket TEXT NOT NULL, service TEXT NOT NULL, queue TEXT NOT NULL, "
            "drawn_at TEXT NOT NULL, first_called_at TEXT, wait_seconds INTEGER, "
            "outcome TEXT NOT NULL, PRIMARY KEY (office_day, ticket))"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.bookings_table} (office_day TEXT NOT NULL, "
            "code TEXT NOT NULL, service TEXT NOT NULL, status TEXT NOT NULL, "
            "PRIMARY KEY (office_day, code))"
        )

    def topics(self) -> list[str]:
        """The day's opening, its bookings and its tickets, from their classes."""
        return sorted({get_topic(c) for c in EVENTS})

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        """Record each event in log order."""
        for applied in batch:
            self._record(tx, str(applied.event.originator_id), applied.event)

    def _record(self, tx: ViewTransaction, day: str, event: Any) -> None:
        if isinstance(event, OfficeDay.Opened):
            tx.execute(
                f"INSERT INTO {self.table} (office_day, tenant, office, day) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (office_day) DO NOTHING",
                (day, event.tenant, event.office, _day_text(event.day)),
            )
        elif isinstance(event, OfficeDay.BookingConfirmed):
            tx.execute(
                f"INSERT INTO {self.bookings_table} (office_day, code, service, status) "
                "VALUES (?, ?, ?, 'booked') ON CONFLICT (office_day, code) DO NOTHING",
                (day, event.code, event.service),
            )
        elif isinstance(event, OfficeDay.BookingCancelled):
            self._booking(tx, day, event.code, "cancelled")
        elif isinstance(event, OfficeDay.TicketDrawn):
            tx.execute(
                f"INSERT INTO {self.tickets_table} (office_day, ticket, service, queue, "
                "drawn_at, outcome) VALUES (?, ?, ?, ?, ?, 'waiting') "
                "ON CONFLICT (office_day, ticket) DO NOTHING",
                (day, event.ticket, event.service, str(event.queue), event.at.isoformat()),
            )
            if event.code:
                self._booking(tx, day, event.code, "checked_in")
        elif isinstance(event, OfficeDay.TicketCalled):
            self._first_call(tx, day, event.ticket, event.at)
        elif isinstance(event, OfficeDay.TicketServed | OfficeDay.TicketMissed):
            outcome = "served" if isinstance(event, OfficeDay.TicketServed) else "missed"
            tx.execute(
                f"UPDATE {self.tickets_table} SET outcome = ? WHERE office_day = ? AND ticket = ?",
                (outcome, day, event.ticket),
            )

    def _booking(self, tx: ViewTransaction, day: str, code: str, status: str) -> None:
        tx.execute(
            f"UPDATE {self.bookings_table} SET status = ? WHERE office_day = ? AND code = ?",
            (status, day, code),
        )

    def _first_call(self, tx: ViewTransaction, day: str, ticket: str, at: datetime) -> None:
        rows = tx.query(
            f"SELECT drawn_at, first_called_at FROM {self.tickets_table} "
            "WHERE office_day = ? AND ticket = ?",
            (day, ticket),
        )
        if not rows or rows[0][1] is not None:
            return  # a second call: the wait ended at the first
        waited = max(int((at - datetime.fromisoformat(rows[0][0])).total_seconds()), 0)
        tx.execute(
            f"UPDATE {self.tickets_table} SET first_called_at = ?, wait_seconds = ?, "
            "outcome = 'called' WHERE office_day = ? AND ticket = ?",
            (at.isoformat(), waited, day, ticket),
        )


def _day_text(day: Any) -> str:
    return day.isoformat() if isinstance(day, date) else str(day)


def percentile(values: Sequence[int], share: float) -> int | None:
    """The nearest-rank percentile (p90: the wait 90 % of tickets did not exceed)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def stats(
    views: ViewDatabase,
    tenant: str,
    *,
    since: date,
    until: date,
    office: str | None = None,
    service: str | None = None,
) -> list[dict[str, Any]]:
    """Per office, service and day: booked, cancelled, tickets, served, missed, waits."""
    view = AppointmentStats()
    where = "d.tenant = ? AND d.day >= ? AND d.day <= ?"
    params: list[Any] = [tenant, since.isoformat(), until.isoformat()]
    if office:
        where += " AND d.office = ?"
        params.append(office)
    tickets = views.query(
        f"SELECT d.office, d.day, t.service, t.outcome, t.wait_seconds "
        f"FROM {view.tickets_table} t JOIN {view.table} d ON d.office_day = t.office_day "
        f"WHERE {where}",
        params,
    )
    bookings = views.query(
        f"SELECT d.office, d.day, b.service, b.status "
        f"FROM {view.bookings_table} b JOIN {view.table} d ON d.office_day = b.office_day "
        f"WHERE {where}",
        params,
    )
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}

    def row(key: tuple[str, str, str]) -> dict[str, Any]:
        return rows.setdefault(
            key,
            {
                "office": key[0],
                "day": key[1],
                "service": key[2],
                "booked": 0,
                "cancelled": 0,
                "tickets": 0,
                "served": 0,
                "no_shows": 0,
                "waits": [],
            },
        )

    for office_id, day, svc, status in bookings:
        if service and svc != service:
            continue
        counted = row((office_id, day, svc))
        counted["booked"] += 1
        counted["cancelled"] += int(status == "cancelled")
    for office_id, day, svc, outcome, wait in tickets:
        if service and svc != service:
            continue
        counted = row((office_id, day, svc))
        counted["tickets"] += 1
        counted["served"] += int(outcome == "served")
        counted["no_shows"] += int(outcome == "missed")
        if wait is not None:
            counted["waits"].append(int(wait))
    result = []
    for key in sorted(rows):
        counted = rows[key]
        waits: list[int] = counted.pop("waits")
        counted["average_wait_minutes"] = round(sum(waits) / len(waits) / 60, 1) if waits else None
        p90 = percentile(waits, 0.9)
        counted["p90_wait_minutes"] = None if p90 is None else round(p90 / 60, 1)
        result.append(counted)
    return result
