"""The record of signed-out console sessions, in the database of the views (decision 38).

One row per session signed out before its expiry: its id (the primary key) and when it would
have expired. Opening a session cookie looks its id up (one primary-key lookup); a sign-out
inserts its row and, in the same transaction, deletes the rows whose sessions have expired
since (indexed by expiry), so the table holds only sessions that could still be presented.
Not a projection: nothing of it is in the event log, and a rebuild of the views keeps it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from projections.view_store import ViewDatabase

TABLE = "console_signed_out"
PRUNE = f"DELETE FROM {TABLE} WHERE expires <= ?"  # noqa: S608 (a constant name)
INSERT = (
    f"INSERT INTO {TABLE} (sid, expires) VALUES (?, ?) "  # noqa: S608 (a constant name)
    "ON CONFLICT (sid) DO NOTHING"
)
LOOKUP = f"SELECT 1 FROM {TABLE} WHERE sid = ?"  # noqa: S608 (a constant name)


def create_signed_out_sessions(views: ViewDatabase) -> None:
    """The table of signed-out sessions (idempotent)."""
    big = "BIGINT" if views.dialect == "postgresql" else "INTEGER"
    with views.transaction() as tx:
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (sid TEXT PRIMARY KEY, expires {big} NOT NULL)"
        )
        tx.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_expires ON {TABLE} (expires)")


class SignedOutInTheViews:
    """``application.console_sessions.SignedOutSessions`` in the database of the views."""

    def __init__(self, views: ViewDatabase, now: Callable[[], float] = time.time) -> None:
        self.views = views
        self.now = now  # Unix seconds, as the session cookie's expiry

    def sign_out(self, sid: str, expires: int) -> None:
        """Record ``sid`` until ``expires``; the rows of sessions expired since go."""
        with self.views.transaction() as tx:
            tx.execute(PRUNE, (int(self.now()),))
            if expires > self.now():
                tx.execute(INSERT, (sid, int(expires)))

    def signed_out(self, sid: str) -> bool:
        """Whether ``sid`` was signed out (a primary-key lookup)."""
        return bool(self.views.query(LOOKUP, (sid,)))
