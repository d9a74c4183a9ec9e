"""``vorgang serve --workers N``: several API processes and one projection process.

One process (the default) serves the API and keeps the read models up to date in the same
process, and runs the scheduler of due timers beside them. With ``--workers N`` (N > 1),
uvicorn runs N API processes that share the port, and this module starts one more process
that keeps the read models and runs the scheduler (not one per API process:
each read model has one holder anyway, and the others would only stand by). The API
processes then answer ``?min_position=N`` from the views' tracking rows, which the
projection process writes.

On PostgreSQL the projection process is woken by the store's NOTIFY within milliseconds.
On SQLite it finds new events by polling (every second), so a read model lags a save by up
to a second; a SQLite deployment should stay at one process unless that lag is acceptable
(writes to one SQLite file are serialised anyway, so more API processes add little there).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

import structlog
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from application.facade import DatabaseUnavailable
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings
from infrastructure.wiring import build

log = structlog.get_logger(__name__)

STOP_SECONDS = 10.0
ORPHAN_CHECK_SECONDS = 1.0
SUPERVISE_SECONDS = 1.0
FIRST_RETRY_SECONDS = 1.0
LONGEST_RETRY_SECONDS = 30.0
# uvicorn kills and replaces an API process that misses a health ping for this long: the
# default (5 s) kills a process that is merely slow to start on a busy machine.
WORKER_HEALTHCHECK_SECONDS = 60
PARENT_VARIABLE = "VORGANG_SERVING_PROCESS"  # set for the API processes: the serving pid


def stop_when_orphaned(parent: int, stop: Callable[[], None]) -> threading.Thread:
    """Call ``stop`` once this process's parent is gone (killed without passing it on)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_SECONDS)
        log.warning("the serving process is gone: stopping", parent=parent)
        stop()

    watcher = threading.Thread(target=watch, name="orphan-watch", daemon=True)
    watcher.start()
    return watcher


def api_process_app() -> FastAPI:
    """The app of one API process among several: settings from the environment, no views.

    uvicorn calls this in each worker process (``factory=True``). If the serving process is
    killed outright (it cannot stop its children then), the worker stops by itself.
    """
    parent = int(os.environ.get(PARENT_VARIABLE, os.getppid()))
    stop_when_orphaned(parent, lambda: os.kill(os.getpid(), signal.SIGTERM))
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings, run_projections=False)


def keep_read_models(stop: threading.Event) -> None:
    """Keep every read model up to date, and fire due timers beside them (the scheduler),
    until ``stop`` is set (a process's main loop).

    A database that cannot be reached at start is tried again (1 s, doubling to 30 s), as
    the API processes do, rather than ending the process.
    """
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    pause = FIRST_RETRY_SECONDS
    while True:
        try:
            vorgang = build(settings)
        except DatabaseUnavailable as error:
            log.warning("database unavailable; projections wait", detail=str(error), retry_in=pause)
            if stop.wait(pause):
                return
            pause = min(pause * 2, LONGEST_RETRY_SECONDS)
            continue
        break
    try:
        vorgang.projections.start()
        log.info(
            "projections running",
            projections=sorted(vorgang.projections.runners),
            timer_kinds=vorgang.scheduler.kinds.names(),
            pid=os.getpid(),
        )
        stop.wait()
    finally:
        vorgang.close()


def _projection_process(parent: int) -> None:
    """The projection process: stops on SIGTERM or SIGINT, or when its parent is gone."""
    stop = threading.Event()
    stop_when_orphaned(parent, stop.set)

    def stopping(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stopping)
    keep_read_models(stop)


class ProjectionKeeper:
    """The one projection process of ``serve --workers``, started again if it ends."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")  # fresh: no inherited pools
        self._stopping = threading.Event()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._supervisor = threading.Thread(target=self._supervise, name="keeper", daemon=True)

    def start(self) -> None:
        """Start the process, and a thread that starts it again whenever it ends."""
        self._process = self._spawn()
        self._supervisor.start()

    def _spawn(self) -> multiprocessing.process.BaseProcess:
        process = self._context.Process(
            target=_projection_process, args=(os.getpid(),), name="vorgang-projections"
        )
        process.start()
        return process

    def _supervise(self) -> None:
        while not self._stopping.wait(SUPERVISE_SECONDS):
            process = self._process
            if process is not None and not process.is_alive() and not self._stopping.is_set():
                log.warning("projection process ended; starting another", code=process.exitcode)
                self._process = self._spawn()

    def stop(self) -> None:
        """Stop the process (terminate, then kill after ``STOP_SECONDS``)."""
        self._stopping.set()
        process = self._process
        if process is None:
            return
        process.terminate()
        process.join(STOP_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()


def serve_processes(*, host: str, port: int, workers: int, projections: bool) -> None:
    """N API processes on one port, and (unless ``projections`` is off) one projection process."""
    os.environ[PARENT_VARIABLE] = str(os.getpid())  # API processes inherit it
    keeper = ProjectionKeeper() if projections else None
    if keeper is not None:
        keeper.start()
    try:
        uvicorn.run(
            "infrastructure.serving:api_process_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
        )
    finally:
        if keeper is not None:
            keeper.stop()
