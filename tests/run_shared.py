"""What the test processes of one run make once and share (pytest-xdist workers included).

`make pytest` runs the suite in two worker processes. Something expensive that tests only
copy (the demo database, seeded in seconds of CPU) is made by the first process that asks
for it, under a lock, in a directory of the run; every other process waits for it and
copies it. A run without workers keeps it in its own temporary directory.
"""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest


def run_directory(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory every process of this run sees, and no other run: the workers' common
    base (the controller's temporary directory), or this process's own."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if hasattr(config, "workerinput") else base
    directory = shared / "run-shared"
    directory.mkdir(exist_ok=True)
    return directory


def made_once(directory: Path, make: Callable[[Path], None]) -> Path:
    """``directory`` as ``make`` filled it: made by the first process that asks, while the
    others wait on the lock; an attempt that failed is thrown away and made again."""
    done = directory / ".done"
    with directory.with_name(directory.name + ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            make(directory)
            done.touch()
    return directory
