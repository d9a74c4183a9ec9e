"""The console's inbox watcher: one reader per process; a town's pages hear only their town."""

from __future__ import annotations

import asyncio

from api.console.watch import InboxSource, InboxWatch, Signature


class FakeInbox:
    """Each town's inbox signature, and the runner's position, as the watcher reads them."""

    def __init__(self) -> None:
        self.position = 0
        self.towns: dict[str, Signature] = {"usingen": (1, 1), "schmitten": (1, 1)}
        self.reads = 0

    def change(self, tenant: str) -> None:
        self.position += 1
        rows, _ = self.towns.get(tenant, (0, 0))
        self.towns[tenant] = (rows + 1, self.position)

    def signatures(self) -> dict[str, Signature]:
        self.reads += 1
        return dict(self.towns)

    def source(self) -> InboxSource:
        return InboxSource(signatures=self.signatures, moved=lambda: self.position)


def test_a_change_signals_the_pages_of_its_town_and_no_other() -> None:
    async def scenario() -> tuple[list[int], list[int], int]:
        inbox = FakeInbox()
        watch = InboxWatch(inbox.source, tick_seconds=0.001)
        usingen = [await watch.subscribe("usingen") for _ in range(5)]
        schmitten = [await watch.subscribe("schmitten") for _ in range(2)]
        assert watch.listening == 7
        inbox.change("usingen")
        for _ in range(10_000):  # a hang guard only: ends once every Usingen page heard it
            if all(not q.empty() for q in usingen):
                break
            await asyncio.sleep(0.001)
        heard = [await q.get() for q in usingen]
        waiting = [q.qsize() for q in schmitten]
        for q in usingen:
            watch.unsubscribe("usingen", q)
        for q in schmitten:
            watch.unsubscribe("schmitten", q)
        assert watch.listening == 0
        await watch.stop()
        return heard, waiting, inbox.reads

    heard, waiting, reads = asyncio.run(scenario())
    assert heard == [1] * 5
    assert waiting == [0, 0]  # Schmitten's pages were not told
    assert reads >= 2  # at the first subscription, then once per move (not once per page)
    assert reads < 7
