"""Runs the provider simulator as its own process, for tests and ``make run``'s demo.

The parent binds a listening socket on a free port and hands it to the child (``--fd``): the
port is never free for someone else between choosing and serving, and a request sent before
the child accepts waits in the socket's backlog instead of failing. ``running_simulator``
waits until ``GET /healthz`` answers (a bounded number of attempts) and stops the process
afterwards.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Final

import httpx

ROOT: Final = Path(__file__).resolve().parents[2]
HEALTH_ATTEMPTS: Final = 100
HEALTH_TIMEOUT_SECONDS: Final = 0.5


class SimulatorDidNotStart(RuntimeError):
    """The simulator process exited or never answered its health check."""


@contextmanager
def running_simulator(
    secret: str, callback_url: str, *, options: Sequence[str] = ()
) -> Iterator[str]:
    """The simulator running as a subprocess on a free local port; yields its base URL.

    ``options`` are further command-line options (``--retry-seconds 0.01``, ``--api-key``).
    """
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind(("127.0.0.1", 0))
    listening.listen(64)
    port = listening.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "infrastructure.payments.simulator",
        "--fd",
        str(listening.fileno()),
        "--secret",
        secret,
        "--callback-url",
        callback_url,
        "--public-url",
        base_url,
        *options,
    ]
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    }
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(  # noqa: S603 (our own module, no shell)
            command,
            cwd=ROOT,
            env=env,
            pass_fds=[listening.fileno()],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        listening.close()  # the child holds it now
        try:
            _wait_until_healthy(process, base_url, output)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, output: IO[bytes]) -> None:
    with httpx.Client(timeout=HEALTH_TIMEOUT_SECONDS) as client:
        for _ in range(HEALTH_ATTEMPTS):
            if process.poll() is not None:
                break
            try:
                if client.get(f"{base_url}/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass  # not serving yet (the request waited in the backlog, or was cut off)
            try:
                process.wait(timeout=0.05)  # a pause that notices an early exit at once
            except subprocess.TimeoutExpired:
                continue
    process.kill()
    process.wait()
    raise SimulatorDidNotStart(f"the payment simulator did not start:\n{_tail(output)}")


def _tail(output: IO[bytes]) -> str:
    output.seek(0)
    return output.read().decode("utf-8", "replace")[-2000:]
