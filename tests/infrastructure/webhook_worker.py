"""A ``vorgang worker`` process for the webhook end-to-end test.

Forked from the test process before the test opens anything (no import of its own: a start
costs seconds, not the half minute an import takes on a loaded machine); it runs what
``vorgang worker`` runs (``keep_read_models``: projections, timers, webhook delivery) until
SIGTERM, and a SIGKILL ends it as it would end the command. CPython re-creates the import and
logging locks in a forked child, and the child opens connections of its own.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from infrastructure.serving import keep_read_models


def run(env: dict[str, str], log_path: str, go: Any) -> None:
    """Wait for ``go``, then keep the read models and deliver webhooks until SIGTERM."""
    os.environ.update(env)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    go.wait()
    if not stop.is_set():
        keep_read_models(stop)
