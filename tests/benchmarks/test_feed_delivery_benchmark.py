"""The feed delivery benchmark runs end to end at a tiny size, so it cannot rot unnoticed.

Figures at this size mean nothing; what is checked is that a real server process delivered
every submission to the webhook receiver and to the NATS consumer (one latency each), and
every event of the backlog to every subscription made from the first sequence.
"""

from __future__ import annotations

import asyncio

import pytest

from benchmarks import api_throughput, feed_delivery
from tests.conftest import IN_CI


def test_the_feed_delivery_benchmark_measures_every_submission_on_every_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reason = asyncio.run(feed_delivery.nats_unreachable())
    if reason is not None:
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: the feed delivery benchmark must run)")
        pytest.skip(reason)

    monkeypatch.setattr(feed_delivery, "HANG_GUARD", 90.0)  # a lost delivery fails sooner
    monkeypatch.setattr(api_throughput, "STARTUP_SECONDS", 120.0)  # a loaded machine starts late
    figures = feed_delivery.run(commands=3, pace=20.0, backlog=2, subscriptions=3)

    for path in ("round_trips", "stream", "webhook", "nats"):
        assert len(figures[path]) == 3, path
        assert all(seconds > 0 for seconds in figures[path]), path
    assert figures["deliveries"] == (1 + 3 + 2) * 3  # the warm-up, the timed and the backlog
    assert figures["seconds"] > 0
