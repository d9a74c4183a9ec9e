"""Reads of the call board: one office's board of a day, the offices seen, what changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from projections.call_board import WAITING, CallBoard
from projections.view_store import ViewDatabase

QUEUES = ("appointment", "walk_in")  # always shown, even while nobody waits in one
LAST_CALLS = 8


@dataclass(frozen=True, slots=True)
class Call:
    """A ticket called to a counter (the n-th call of that ticket), and when."""

    ticket: str
    counter: str
    call: int
    at: str
    position: int


@dataclass(frozen=True, slots=True)
class Board:
    """What a waiting-room screen shows: the last calls, newest first, and who waits."""

    tenant: str
    office: str
    day: str
    sequence: int  # the log position of the last change (0: nothing happened that day)
    calls: list[Call] = field(default_factory=list)
    waiting: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The board as the screen's script receives it: numbers and counters, no person."""
        return {
            "tenant": self.tenant,
            "office": self.office,
            "day": self.day,
            "sequence": self.sequence,
            "calls": [
                {
                    "ticket": c.ticket,
                    "counter": c.counter,
                    "call": c.call,
                    "at": c.at,
                    "position": c.position,
                }
                for c in self.calls
            ],
            "waiting": self.waiting,
        }


@dataclass(frozen=True, slots=True)
class Changed:
    """A board that changed at a log position."""

    position: int
    tenant: str
    office: str
    day: str


class CallBoardQuery:
    """Boards read from the call_board view."""

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views
        projection = CallBoard()
        self.boards = projection.table
        self.tickets = projection.tickets_table
        self.calls = projection.calls_table

    def board(self, tenant: str, office: str, day: str, *, last: int = LAST_CALLS) -> Board:
        """The office's board of the day (empty before its first ticket)."""
        found = self.views.query(
            f"SELECT office_day, position FROM {self.boards} "
            "WHERE tenant = ? AND office = ? AND day = ?",
            (tenant, office, day),
        )
        waiting = dict.fromkeys(QUEUES, 0)
        if not found:
            return Board(tenant, office, day, 0, [], waiting)
        office_day, position = str(found[0][0]), int(found[0][1])
        calls = [
            Call(str(r[0]), str(r[1]), int(r[2]), str(r[3]), int(r[4]))
            for r in self.views.query(
                f"SELECT ticket, counter, call, at, position FROM {self.calls} "
                "WHERE office_day = ? ORDER BY position DESC LIMIT ?",
                (office_day, last),
            )
        ]
        for queue, count in self.views.query(
            f"SELECT queue, COUNT(*) FROM {self.tickets} WHERE office_day = ? AND state = ? "
            "GROUP BY queue",
            (office_day, WAITING),
        ):
            waiting[str(queue)] = int(count)
        return Board(tenant, office, day, position, calls, waiting)

    def offices(self, tenant: str) -> list[str]:
        """The offices of a tenant that ever drew a ticket."""
        rows = self.views.query(
            f"SELECT DISTINCT office FROM {self.boards} WHERE tenant = ? ORDER BY office",
            (tenant,),
        )
        return [str(r[0]) for r in rows]

    def changed_after(self, position: int, limit: int = 500) -> list[Changed]:
        """Boards whose last change lies after ``position``, in log order."""
        rows = self.views.query(
            f"SELECT position, tenant, office, day FROM {self.boards} WHERE position > ? "
            "ORDER BY position LIMIT ?",
            (position, limit),
        )
        return [Changed(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]

    def head(self) -> int:
        """The highest position of any board (0 without one)."""
        rows = self.views.query(f"SELECT MAX(position) FROM {self.boards}")
        return int(rows[0][0] or 0) if rows else 0
