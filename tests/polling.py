"""Waiting for observed state in tests that drive other processes or threads.

A verdict is the state observed, never a time window: the guard only ends a test that hangs,
so a busy machine changes how long a test takes, not whether it passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def until(what: str, condition: Callable[[], Any], hang_guard: float) -> Any:
    """Poll ``condition`` until it is truthy and return it; fail naming ``what`` on a hang."""
    deadline = time.monotonic() + hang_guard
    while True:
        found = condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"never reached: {what}"
        time.sleep(0.05)
