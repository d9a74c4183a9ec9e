"""An erasure on SQLite never deadlocks with a projection batch that holds the write lock."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from application.clock import FixedClock
from domain.actor import Actor, Role
from infrastructure.projection_host import case_search
from infrastructure.projection_runner import ProjectionRunner
from infrastructure.settings import Settings
from infrastructure.wiring import build
from projections.view_store import ViewTransaction
from tests.steps import submitted

ADMIN = Actor("admin.usingen", "Verwaltung", Role.ADMIN, "usingen")


class PausingViews:
    """The view database, pausing once right after a write transaction has begun."""

    def __init__(self, views: Any) -> None:
        self.inner = views
        self.armed = False
        self.paused = threading.Event()
        self.go = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @contextmanager
    def transaction(self) -> Iterator[ViewTransaction]:
        with self.inner.transaction() as tx:
            if self.armed:
                self.armed = False
                self.paused.set()
                assert self.go.wait(120), "the test never let the batch go on"
            yield tx


def test_an_erasure_waits_for_a_batch_holding_the_write_lock_instead_of_deadlocking(
    tmp_path: Path, clock: FixedClock
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/v.db", key_cache_seconds=0)
    vorgang = build(settings, clock=clock)
    try:
        case_id = submitted(vorgang.cases, applicant={"name": "Erika Muster"})
        views = PausingViews(vorgang.views)
        # The search opens the applicant's sealed name inside its batch (for its blind index).
        search = case_search(vorgang.store, views.dialect, b"search-key-0123456789abcdef")
        search.version = 97  # tables of its own beside the live view
        runner = ProjectionRunner(vorgang.store, views, search)
        destroying = threading.Event()
        destroy = vorgang.keys._destroy

        def spied_destroy(*args: Any) -> Any:
            destroying.set()
            return destroy(*args)

        vorgang.keys._destroy = spied_destroy  # type: ignore[method-assign]
        views.armed = True
        errors: list[BaseException] = []

        def guarded(work: Any) -> threading.Thread:
            def run() -> None:
                try:
                    work()
                except BaseException as error:
                    errors.append(error)

            thread = threading.Thread(target=run)
            thread.start()
            return thread

        applying = guarded(runner.catch_up)
        assert views.paused.wait(60), "the batch did not begin"
        erasing = guarded(
            lambda: vorgang.privacy.erase(
                case_id,
                actor=ADMIN,
                reason="Antrag auf Löschung",
                legal_basis="Art. 17 DSGVO",
                subjects=["applicant"],
            )
        )
        assert destroying.wait(60), "the erasure never reached the key store"
        # Give the erasure a moment to queue for the write lock the batch holds; the verdict
        # does not depend on it (a batch let go earlier only makes the test weaker).
        time.sleep(0.3)
        views.go.set()
        for thread in (applying, erasing):
            thread.join(timeout=120)
        assert errors == []
        assert vorgang.keys.erased_subjects_of(case_id) == ["applicant"]
    finally:
        vorgang.close()
