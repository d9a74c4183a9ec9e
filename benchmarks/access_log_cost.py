"""The cost of the access log: a GET of a case with and without its line.

A case is submitted through the API (TestClient, in process) on SQLite (a temporary file) or
PostgreSQL (``--postgres URL``); a clerk then reads it ``--reads`` times with the access log
as wired (one chained line per read) and the same number of times with a log that records
nothing. Printed: the median and p95 of each in ms, the median's ratio with ÷ without, and
the median of ``record_read`` alone. Alternating rounds, so a busy machine weighs both alike.

    .venv/bin/python -m benchmarks.access_log_cost [--reads 400] [--postgres URL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.auth import DevelopmentTokens
from application.clock import SystemClock
from domain.actor import Actor, Role
from infrastructure.settings import Settings

SECRET = "benchmark-secret-0123456789abcdef-xyz"  # noqa: S105 (a benchmark's tokens)
CASE = {
    "tenant": "usingen",
    "service": "general",
    "applicant": {"name": "Max Mustermann", "email": "max@example.org", "postal_code": "61250"},
    "data": {"subject": "Sondernutzung"},
}


class NoLog:
    """An access log that records nothing (the baseline)."""

    def record_read(self, *_args: Any, **_kwargs: Any) -> None:
        return None


def header(tokens: DevelopmentTokens, role: Role, sub: str) -> dict[str, str]:
    token = tokens.issue(subject=sub, name="Bench", role=role, tenant="usingen")
    return {"Authorization": f"Bearer {token}"}


def millis(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reads", type=int, default=400)
    parser.add_argument("--postgres", default=None, help="postgresql://... (else SQLite)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    reads = 60 if args.quick else args.reads
    with tempfile.TemporaryDirectory() as directory:
        url = args.postgres or f"sqlite:///{Path(directory) / 'bench.db'}"
        settings = Settings(
            database_url=url,
            token_secret=SecretStr(SECRET),
            documents_dir=str(Path(directory) / "documents"),
            scheduler=False,
        )
        tokens = DevelopmentTokens(SECRET, issuer="vorgang-dev", audience="vorgang")
        with TestClient(create_app(settings, clock=SystemClock())) as client:
            vorgang = client.app.state.provider.get()  # type: ignore[attr-defined]
            applicant = header(tokens, Role.APPLICANT, f"portal:{uuid4()}")
            created = client.post("/api/v1/cases", json=CASE, headers=applicant)
            assert created.status_code == 201, created.text
            path = created.headers["Location"]
            clerk = header(tokens, Role.CLERK, "clerk.usingen")
            chained = vorgang.access_log
            timings: dict[str, list[float]] = {"with": [], "without": []}
            for _ in range(20):  # warm up both
                client.get(path, headers=clerk)
            for round_ in range(reads):
                for name in ("with", "without") if round_ % 2 else ("without", "with"):
                    vorgang.access_log = chained if name == "with" else NoLog()
                    started = time.perf_counter()
                    answer = client.get(path, headers=clerk)
                    timings[name].append(time.perf_counter() - started)
                    assert answer.status_code == 200, answer.text
            vorgang.access_log = chained
            actor = Actor("clerk.usingen", "Bench", Role.CLERK, "usingen")
            alone = []
            for _ in range(reads):
                started = time.perf_counter()
                chained.record_read(actor, route="/api/v1/cases/{case_id}", what="case")
                alone.append(time.perf_counter() - started)
    with_p50, with_p95 = millis(timings["with"])
    without_p50, without_p95 = millis(timings["without"])
    alone_p50, _ = millis(alone)
    dialect = "postgresql" if args.postgres else "sqlite"
    print(f"access log cost ({dialect}, {reads} reads each)")
    print(f"  GET case with its line:    p50 {with_p50:.2f} ms  p95 {with_p95:.2f} ms")
    print(f"  GET case without a line:   p50 {without_p50:.2f} ms  p95 {without_p95:.2f} ms")
    print(f"  ratio with / without (p50): {with_p50 / without_p50:.2f}")
    print(f"  record_read alone (p50):   {alone_p50:.2f} ms")
    return {"with_p50": with_p50, "without_p50": without_p50, "record_read_p50": alone_p50}


if __name__ == "__main__":
    main()
