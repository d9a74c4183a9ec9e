"""The payment watch goes round every waiting request, however many never stop waiting."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

import pytest

from infrastructure import payment_watch

NAMESPACE = UUID("5f0d6a2e-1c3b-4e8a-9d7f-2b6c1a0e9f34")
WAITING = [
    {"id": uuid5(NAMESPACE, str(n)), "last_event_at": f"2026-12-06T10:{n:02d}:00Z"}
    for n in range(7)
]


def fake_query(
    views: Any, *, started_before: datetime, limit: int, after: tuple[str, str] | None = None
) -> list[dict[str, Any]]:
    """The view's order and keyset continuation, over a fixed list."""
    rows = sorted(WAITING, key=lambda r: (r["last_event_at"], str(r["id"])))
    if after is not None:
        rows = [r for r in rows if (r["last_event_at"], str(r["id"])) > after]
    return rows[:limit]


def test_rounds_continue_behind_the_last_and_start_over_at_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(payment_watch, "waiting_requests", fake_query)
    waiting = payment_watch.waiting_in_view(views=None, limit=3)  # type: ignore[arg-type]
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    ids = [row["id"] for row in WAITING]
    rounds = [waiting(now) for _ in range(4)]
    assert rounds[0] == ids[0:3]
    assert rounds[1] == ids[3:6]
    assert rounds[2] == [ids[6], ids[0], ids[1]]  # the end reached: round again
    seen = {request for one in rounds for request in one}
    assert seen == set(ids)  # nobody is left out, though the oldest never stop waiting
