"""Builds the application on first need, so the API starts while the database is down.

Until the database answers, requests that need it get 503 with Retry-After; the provider
tries again at most once per ``retry_after`` seconds, and serves as soon as it succeeds.
Once built, a database that goes away mid-flight also gives 503 per request, and the
connection pool reconnects by itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from api.ports import DatabaseWatch, Process
from api.problems import ServiceUnavailable
from application.facade import DatabaseUnavailable

log = structlog.get_logger(__name__)


class VorgangProvider:
    """Holds the one application of this process, built lazily and retried."""

    def __init__(
        self,
        build: Callable[[], Process],
        *,
        retry_after: int,
        watch: DatabaseWatch,
        run_projections: bool = True,
    ) -> None:
        self._build = build
        self._run_projections = run_projections
        self._retry_after = retry_after
        self.watch = watch
        self._vorgang: Process | None = None
        self._lock = threading.Lock()
        self._last_attempt = float("-inf")
        self._last_error = "the database has not been reached yet"

    @property
    def ready(self) -> bool:
        """True once the application was built."""
        return self._vorgang is not None

    def get(self) -> Process:
        """The application, or ``ServiceUnavailable`` while the database cannot be reached."""
        if self._vorgang is not None:
            if not self.watch.healthy:
                raise ServiceUnavailable("the database is not reachable", self._retry_after)
            return self._vorgang
        if not self._lock.acquire(blocking=False):
            raise ServiceUnavailable(self._last_error, self._retry_after)
        try:
            if self._vorgang is not None:
                return self._vorgang
            if time.monotonic() - self._last_attempt < min(self._retry_after, 1):
                raise ServiceUnavailable(self._last_error, self._retry_after)
            self._last_attempt = time.monotonic()
            try:
                self._vorgang = self._build()
            except DatabaseUnavailable as error:
                self._last_error = str(error)
                log.warning("database unavailable", detail=self._last_error)
                raise ServiceUnavailable(self._last_error, self._retry_after) from None
            log.info("database reachable")
            self.watch.start()
            if self._run_projections:
                self._vorgang.projections.start()
            else:  # a worker process (`vorgang worker`, serve --workers) keeps the views
                self._vorgang.projections.leave_to_another_process()
            return self._vorgang
        finally:
            self._lock.release()

    def close(self) -> None:
        """Release the application's connections."""
        self.watch.stop()
        with self._lock:
            if self._vorgang is not None:
                self._vorgang.close()
                self._vorgang = None
