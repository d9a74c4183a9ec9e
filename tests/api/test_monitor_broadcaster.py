"""Forty screens, one reader: a changed board is read once and reaches every screen showing it."""

from __future__ import annotations

import asyncio
from collections import Counter

from api.monitor_broadcaster import BoardSource, MonitorBroadcaster
from projections.call_board_query import Board, Changed

USINGEN = ("usingen", "buergerbuero", "2026-03-02")
SCHMITTEN = ("schmitten", "buergerbuero", "2026-03-02")
QUIET = ("glashuetten", "buergerbuero", "2026-03-02")


class FakeView:
    """The call board view as the broadcaster reads it, counting every read."""

    def __init__(self) -> None:
        self.position = 0
        self.changes: list[Changed] = []
        self.reads: Counter[tuple[str, str, str]] = Counter()

    def change(self, key: tuple[str, str, str]) -> None:
        self.position += 1
        self.changes.append(Changed(self.position, *key))

    def source(self) -> BoardSource:
        return BoardSource(
            changed_after=lambda after, limit: [c for c in self.changes if c.position > after][
                :limit
            ],
            board=self.board,
            head=lambda: self.position,
            moved=lambda: self.position,
        )

    def board(self, tenant: str, office: str, day: str) -> Board:
        self.reads[(tenant, office, day)] += 1
        return Board(tenant, office, day, self.position)


def test_a_changed_board_is_read_once_for_all_its_screens_and_only_for_them() -> None:
    async def scenario() -> tuple[list[int], list[int], FakeView]:
        view = FakeView()
        broadcaster = MonitorBroadcaster(view.source, tick_seconds=0.001)
        usingen = [await broadcaster.subscribe(USINGEN) for _ in range(40)]
        schmitten = [await broadcaster.subscribe(SCHMITTEN) for _ in range(3)]
        assert broadcaster.listening == 43
        view.change(USINGEN)
        view.change(QUIET)  # nobody watches it: never read
        for _ in range(10_000):  # a hang guard only: ends once every screen has its board
            if all(not s.queue.empty() for s in usingen):
                break
            await asyncio.sleep(0.001)
        got = [(await s.queue.get()).sequence for s in usingen]
        waiting = [s.queue.qsize() for s in schmitten]
        for screen in [*usingen, *schmitten]:
            broadcaster.unsubscribe(screen)
        await broadcaster.stop()
        assert broadcaster.listening == 0
        return got, waiting, view

    got, waiting, view = asyncio.run(scenario())
    assert got == [2] * 40
    assert waiting == [0, 0, 0]  # their board did not change
    assert view.reads == {USINGEN: 1}
