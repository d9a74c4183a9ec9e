"""Watches the database so requests fail fast (503) during an outage, and recover by themselves.

The event-sourcing library retries a failed statement ten times and waits for a pooled
connection each time, so a request that meets an outage can take many seconds before it
fails. This watch probes PostgreSQL on a connection of its own every ``interval`` seconds;
while it is unhealthy, requests are answered 503 at once instead of queueing behind the
library's retries, and the first successful probe lets them through again.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import psycopg
import structlog

from infrastructure.database import DatabaseTarget

log = structlog.get_logger(__name__)


class DatabaseWatch:
    """Health of the database, as last probed; SQLite is always healthy (it is a file)."""

    def __init__(self, target: DatabaseTarget, *, interval: float = 2.0, timeout: int = 1):
        self._target = target
        self._interval = interval
        self._timeout = timeout
        self._healthy = True
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: psycopg.Connection[Any] | None = None
        self._probing = threading.Lock()

    @property
    def healthy(self) -> bool:
        """False from a failed probe (or a reported failure) until a probe succeeds."""
        return self._healthy

    def start(self) -> None:
        """Begin probing in a daemon thread (PostgreSQL only)."""
        if not self._target.is_postgres or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="database-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop probing and close the probe connection."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close()

    def report_failure(self) -> None:
        """A request met a database error: treat the database as down until a probe passes."""
        if self._target.is_postgres:
            self._healthy = False
            self._wake.set()

    def check_now(self) -> bool:
        """Probe at once and record the result (for readiness checks)."""
        if not self._target.is_postgres:
            return True
        self._healthy = self.probe()
        return self._healthy

    def probe(self) -> bool:
        """One probe: ``SELECT 1`` on the watch's own connection (reconnecting if needed)."""
        with self._probing:
            return self._probe()

    def _probe(self) -> bool:
        try:
            if self._conn is None or self._conn.closed:
                env = self._target.env
                self._conn = psycopg.connect(
                    host=env["POSTGRES_HOST"],
                    port=int(env["POSTGRES_PORT"]),
                    user=env["POSTGRES_USER"],
                    password=env.get("POSTGRES_PASSWORD") or None,
                    dbname=env["POSTGRES_DBNAME"],
                    connect_timeout=self._timeout,
                    autocommit=True,
                )
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            self._close()
            return False
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            healthy = self.probe()
            if healthy != self._healthy:
                log.warning("database reachable again" if healthy else "database unreachable")
            self._healthy = healthy
            self._wake.wait(self._interval if healthy else min(self._interval, 0.5))
            self._wake.clear()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()
