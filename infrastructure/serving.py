"""``vorgang serve --workers N``: several API processes and one projection process.

One process (the default) serves the API and keeps the read models up to date in the same
process. With ``--workers N`` (N > 1), uvicorn runs N API processes that share the port, and
this module starts one more process that keeps the read models (not one per API process:
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
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings
from infrastructure.wiring import build

log = structlog.get_logger(__name__)

STOP_SECONDS = 10.0
ORPHAN_CHECK_SECONDS = 1.0


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
    stop_when_orphaned(os.getppid(), lambda: os.kill(os.getpid(), signal.SIGTERM))
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings, run_projections=False)


def keep_read_models(stop: threading.Event) -> None:
    """Keep every read model up to date until ``stop`` is set (a process's main loop)."""
    settings = Settings()
    configure_logging(settings.log_format, settings.log_level)
    vorgang = build(settings)
    try:
        vorgang.projections.start()
        log.info("projections running", projections=sorted(vorgang.projections.runners))
        stop.wait()
    finally:
        vorgang.close()


def _projection_process() -> None:
    """The projection process: stops on SIGTERM or SIGINT, or when its parent is gone."""
    stop = threading.Event()
    stop_when_orphaned(os.getppid(), stop.set)

    def stopping(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stopping)
    keep_read_models(stop)


def serve_processes(*, host: str, port: int, workers: int, projections: bool) -> None:
    """N API processes on one port, and (unless ``projections`` is off) one projection process."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited pools
    keeper = (
        context.Process(target=_projection_process, name="vorgang-projections", daemon=False)
        if projections
        else None
    )
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
        )
    finally:
        if keeper is not None:
            keeper.terminate()
            keeper.join(STOP_SECONDS)
            if keeper.is_alive():
                keeper.kill()
                keeper.join()
