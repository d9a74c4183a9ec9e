"""The due date of a processing clock as views store it, worked out once per clock.

Counting working days walks the calendar day by day; the inbox, the audit trail and the
statistics each need the date for every event that carries a clock, and many cases share
the same clock (same start day, period and waiting days), so the text is remembered.
"""

from __future__ import annotations

from functools import lru_cache

from domain.processing_clock import ProcessingClock


@lru_cache(maxsize=4096)
def due_on_text(clock: ProcessingClock) -> str | None:
    """The last day of the clock's period as ISO text, or None while it has not started."""
    due = clock.due_on
    return due.isoformat() if due else None
