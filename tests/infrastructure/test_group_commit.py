"""Group commit: saves arriving during a write go together in the next, each with its outcome."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import pytest

from infrastructure.group_commit import GroupCommit, PendingSave


class Writer:
    """A write function that records its batches and can be held inside a write."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.hold = threading.Event()
        self.holding = threading.Event()
        self.release = threading.Event()
        self.fail_with: dict[str, Exception] = {}
        self.break_batch_with: Exception | None = None

    def __call__(self, batch: Sequence[PendingSave]) -> None:
        names = [p.args for p in batch]
        self.batches.append(names)
        if self.hold.is_set():
            self.hold.clear()
            self.holding.set()
            assert self.release.wait(30)
        if self.break_batch_with is not None and len(batch) > 1:
            raise self.break_batch_with
        for number, pending in enumerate(batch):
            if pending.args in self.fail_with:
                pending.failed(self.fail_with[pending.args])
            else:
                pending.done([len(self.batches) * 100 + number])


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll observed state (a guard against hanging, not a time window)."""
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never observed: {what}")
        time.sleep(0.005)


def in_thread(group: GroupCommit, name: str, outcomes: dict[str, object]) -> threading.Thread:
    def run() -> None:
        try:
            outcomes[name] = group.save(name)
        except Exception as error:  # the outcome under test
            outcomes[name] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def held_first_then(writer: Writer, group: GroupCommit, later: list[str]) -> dict[str, object]:
    """Save "first" and hold its write until ``later`` are all queued; then let all finish."""
    outcomes: dict[str, object] = {}
    writer.hold.set()
    threads = [in_thread(group, "first", outcomes)]
    wait_for(writer.holding.is_set, "the first write under way")
    threads += [in_thread(group, name, outcomes) for name in later]
    wait_for(lambda: group.queued() == len(later), "the later saves queued")
    writer.release.set()
    for thread in threads:
        thread.join()
    return outcomes


def test_a_lone_save_is_written_alone_in_its_own_thread() -> None:
    writer = Writer()
    group = GroupCommit(writer)
    assert group.save("only") == [100]
    assert group.save("next") == [200]
    assert writer.batches == [["only"], ["next"]]


def test_saves_arriving_during_a_write_go_together_in_the_next() -> None:
    writer = Writer()
    group = GroupCommit(writer)
    outcomes = held_first_then(writer, group, ["b", "c", "d"])
    assert writer.batches[0] == ["first"]
    assert sorted(writer.batches[1]) == ["b", "c", "d"]
    assert len(writer.batches) == 2
    assert outcomes["first"] == [100]
    assert sorted(outcomes[n][0] for n in "bcd") == [200, 201, 202]  # type: ignore[index]


def test_a_save_that_fails_fails_alone_and_raises_in_its_own_thread() -> None:
    writer = Writer()
    writer.fail_with["c"] = KeyError("c")
    group = GroupCommit(writer)
    outcomes = held_first_then(writer, group, ["b", "c", "d"])
    assert isinstance(outcomes["c"], KeyError)
    assert isinstance(outcomes["b"], list)
    assert isinstance(outcomes["d"], list)


def test_a_write_that_breaks_fails_every_save_of_its_batch_and_only_those() -> None:
    writer = Writer()
    writer.break_batch_with = ConnectionError("gone")
    group = GroupCommit(writer)
    outcomes = held_first_then(writer, group, ["b", "c"])
    assert outcomes["first"] == [100]
    assert all(isinstance(outcomes[n], ConnectionError) for n in "bc")
    assert outcomes["b"] is not outcomes["c"]  # each thread raises an instance of its own
    writer.break_batch_with = None
    assert group.save("after") == [300]
