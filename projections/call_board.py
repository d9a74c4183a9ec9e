"""The call board (Bürgermonitor): per office and day, the tickets called and who still waits.

What a waiting-room screen shows and nothing more: ticket numbers, counters, call numbers,
times and counts. The events it reads carry no personal data, and the view keeps none.

A ticket waits from the moment it is drawn until it is first called, or until it is marked
served or missed without a call; a second call of the same ticket does not make it wait
again. The board's ``position`` is the log position of the last event that changed it: the
``id`` of the Server-Sent Event that carries the board, and the point a screen resumes from.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, ClassVar

from eventsourcing.utils import get_topic

from domain.appointments.office_day import OfficeDay
from projections.projection import Applied, Projection
from projections.view_store import ViewTransaction

WAITING = "waiting"
CALLED = "called"
SERVED = "served"
MISSED = "missed"


class CallBoard(Projection):
    """Per office and day: the calls in order, each ticket's state, the board's position."""

    name: ClassVar[str] = "call_board"
    version: ClassVar[int] = 1

    @property
    def tickets_table(self) -> str:
        """One row per ticket drawn: its queue and where it stands."""
        return f"{self.key}_tickets"

    @property
    def calls_table(self) -> str:
        """One row per call (a ticket called twice has two)."""
        return f"{self.key}_calls"

    def tables(self) -> list[str]:
        """The boards, their tickets and their calls."""
        return [self.table, self.tickets_table, self.calls_table]

    def create_tables(self, tx: ViewTransaction) -> None:
        """Boards keyed by the office day, found by tenant, office and day or by position."""
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} (office_day TEXT PRIMARY KEY, "
            "tenant TEXT NOT NULL, office TEXT NOT NULL, day TEXT NOT NULL, "
            "position BIGINT NOT NULL)"
        )
        tx.execute(
            f"CREATE INDEX IF NOT EXISTS {self.table}_office ON {self.table} (tenant, office, day)"
        )
        tx.execute(f"CREATE INDEX IF NOT EXISTS {self.table}_position ON {self.table} (position)")
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.tickets_table} (office_day TEXT NOT NULL, "
            "ticket TEXT NOT NULL, queue TEXT NOT NULL, state TEXT NOT NULL, "
            "PRIMARY KEY (office_day, ticket))"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {self.calls_table} (office_day TEXT NOT NULL, "
            "position BIGINT NOT NULL, ticket TEXT NOT NULL, counter TEXT NOT NULL, "
            "call INTEGER NOT NULL, at TEXT NOT NULL, PRIMARY KEY (office_day, position))"
        )

    def topics(self) -> list[str]:
        """The day's opening and the four ticket events, from their classes."""
        classes: list[type[Any]] = [
            OfficeDay.Opened,
            OfficeDay.TicketDrawn,
            OfficeDay.TicketCalled,
            OfficeDay.TicketServed,
            OfficeDay.TicketMissed,
        ]
        return sorted({get_topic(c) for c in classes})

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        """Record each event in order; then move every touched board to its last position."""
        moved: dict[str, int] = {}
        for applied in batch:
            office_day = str(applied.event.originator_id)
            if self._record(tx, office_day, applied):
                moved[office_day] = applied.position
        if moved:
            tx.execute_many(
                f"UPDATE {self.table} SET position = ? WHERE office_day = ?",
                [(position, office_day) for office_day, position in moved.items()],
            )

    def _record(self, tx: ViewTransaction, office_day: str, applied: Applied) -> bool:
        """Write one event's effect; True if it changed what the board shows."""
        event: Any = applied.event
        if isinstance(event, OfficeDay.Opened):
            day = event.day.isoformat() if isinstance(event.day, date) else str(event.day)
            tx.execute(
                f"INSERT INTO {self.table} (office_day, tenant, office, day, position) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (office_day) DO NOTHING",
                (office_day, event.tenant, event.office, day, applied.position),
            )
            return True
        if isinstance(event, OfficeDay.TicketDrawn):
            tx.execute(
                f"INSERT INTO {self.tickets_table} (office_day, ticket, queue, state) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (office_day, ticket) DO NOTHING",
                (office_day, event.ticket, str(event.queue), WAITING),
            )
            return True
        if isinstance(event, OfficeDay.TicketCalled):
            tx.execute(
                f"INSERT INTO {self.calls_table} (office_day, position, ticket, counter, call, "
                "at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (office_day, position) DO NOTHING",
                (
                    office_day,
                    applied.position,
                    event.ticket,
                    str(event.counter),
                    int(event.call),
                    event.at.isoformat(),
                ),
            )
            self._move(tx, office_day, event.ticket, CALLED, only_from=WAITING)
            return True
        if isinstance(event, OfficeDay.TicketServed):
            self._move(tx, office_day, event.ticket, SERVED)
            return True
        if isinstance(event, OfficeDay.TicketMissed):
            self._move(tx, office_day, event.ticket, MISSED)
            return True
        return False

    def _move(
        self, tx: ViewTransaction, office_day: str, ticket: str, state: str, only_from: str = ""
    ) -> None:
        """A ticket's new state (a repeated call leaves a called ticket as it is)."""
        where = "office_day = ? AND ticket = ?"
        params: list[Any] = [state, office_day, ticket]
        if only_from:
            where += " AND state = ?"
            params.append(only_from)
        tx.execute(f"UPDATE {self.tickets_table} SET state = ? WHERE {where}", params)
