"""The small SQLite files the delivery channels keep (the postbox simulator, the print index).

WAL and a generous busy timeout, so several processes share a file; a write transaction takes
the write lock at once (``BEGIN IMMEDIATE``), so writers across processes go one at a time.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 30


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode, in WAL, waiting for a busy file rather than failing."""
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
    return db


@contextmanager
def write_transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """One write transaction, committed when the block ends, rolled back if it raises."""
    db = connect(path)
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    finally:
        db.close()
