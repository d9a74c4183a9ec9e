"""Fixtures the application tests share."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import pytest

import application.cases as cases_module
from application.store import VorgangStore


@pytest.fixture
def collide(store: VorgangStore, monkeypatch: pytest.MonkeyPatch) -> Callable[[int], Any]:
    """Make the first save of each of ``n`` threads wait until all of them got there.

    The threads race as separate processes would: submissions meeting at one shared
    aggregate are not decided in turn (that holds within a process only).
    """
    monkeypatch.setattr(cases_module, "_in_turn", lambda *_args: nullcontext())
    original = store.save
    state: dict[str, Any] = {"barrier": None, "saves": 0}
    local = threading.local()
    lock = threading.Lock()

    def save(*aggregates: Any, **kwargs: Any) -> Any:
        with lock:
            state["saves"] += 1
        barrier: threading.Barrier | None = state["barrier"]
        if barrier is not None and not getattr(local, "waited", False):
            local.waited = True
            barrier.wait(timeout=60)  # everyone loaded and decided before anyone saves
        return original(*aggregates, **kwargs)

    monkeypatch.setattr(store, "save", save)

    def arm(parties: int) -> dict[str, Any]:
        state["barrier"] = threading.Barrier(parties)
        state["saves"] = 0
        return state

    return arm
