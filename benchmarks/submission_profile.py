"""Where a submission's time goes: the parts of ``CaseService.submit`` on PostgreSQL.

Submissions with an Idempotency-Key (the portal sends one) through the real wiring (AES-GCM
personal data, the one-round-trip recorder), profiled with cProfile; each part's time is
the cumulative time of the functions that do it, per submission, beside the whole. cProfile
slows Python code down more than waiting on the database, so read the shares, not the
absolute milliseconds; the unprofiled rate and CPU per submission are printed first.
The HTTP side (FastAPI, authentication, JSON response) is the difference to the CPU per
request that ``benchmarks/api_load.py`` measures.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from uuid import uuid4

from benchmarks.support import (
    POSTGRES_URL,
    drop_postgres_schema,
    fresh_postgres_target,
    postgres_unreachable,
    quiet_logging,
    table,
)
from domain.actor import Actor, Role
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build

APPLICANT = Actor("portal:4711", "Max Mustermann", Role.APPLICANT, "usingen")
APPLICANT_FIELDS = {"name": "Max Mustermann", "email": "max@example.org", "postal_code": "61250"}

# (part, file suffix, function name): the cumulative time of these functions is the part.
PARTS = (
    ("look up the key's earlier cases (1 query)", "application/cases.py", "_stored_for_key"),
    ("take a reference number (1 query)", "application/cases.py", "_next_reference"),
    ("validate the application data", "application/cases.py", "_application_data"),
    ("request fingerprint and id (HMAC)", "application/identities.py", "fingerprint"),
    ("build the aggregate (domain)", "domain/case.py", "submit"),
    ("encode events (JSON, AES-GCM, keys)", "eventsourcing/persistence.py", "to_stored_event"),
    ("  of which: find or make data keys", "privacy/key_store.py", "key_for_writing"),
    ("insert events + key rows (1 round trip)", "_recorder.py", "insert_events"),
    ("the answer's state (no reload)", "application/views.py", "of"),
)


def submit(vorgang: Vorgang) -> None:
    """One submission as the portal sends it."""
    vorgang.cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="general",
        applicant=APPLICANT_FIELDS,
        data={"subject": "Sondernutzung"},
        idempotency_key=uuid4().hex,
    )


def cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    """Cumulative seconds of the functions named ``name`` in files ending with ``suffix``."""
    total = 0.0
    for (filename, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        if function == name and filename.endswith(suffix):
            total += row[3]
    return total


def main(argv: list[str]) -> None:
    """Unprofiled rate and CPU per submission, then the profiled breakdown by part."""
    parser = argparse.ArgumentParser(prog="bench submission_profile")
    parser.add_argument("--quick", action="store_true", help="200 submissions, not 1,000")
    args = parser.parse_args(argv)
    count = 200 if args.quick else 1_000
    reason = postgres_unreachable()
    if reason:
        print(f"submission profile: skipped, {reason}")
        return
    quiet_logging()
    target = fresh_postgres_target()
    url = f"{POSTGRES_URL}?schema={target.env['POSTGRES_SCHEMA']}"
    vorgang = build(Settings(database_url=url))
    try:
        for _ in range(50):  # warm-up: pools, prepared statements, the year's sequence
            submit(vorgang)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            submit(vorgang)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(count):
            submit(vorgang)
        profile.disable()
    finally:
        vorgang.close()
        drop_postgres_schema(target)
    stats = pstats.Stats(profile)
    whole = cumulative(stats, "application/cases.py", "submit")
    print(
        f"submission profile: CaseService.submit on PostgreSQL, 1 thread, {count} submissions "
        f"with an Idempotency-Key; unprofiled: {count / wall:,.0f}/s, "
        f"{wall / count * 1e3:.2f} ms wall and {cpu / count * 1e3:.2f} ms CPU each"
    )
    rows = [
        [
            part,
            f"{cumulative(stats, suffix, name) / count * 1e3:.3f}",
            f"{cumulative(stats, suffix, name) / whole:.0%}",
        ]
        for part, suffix, name in PARTS
    ]
    rows.append(["whole submission (profiled)", f"{whole / count * 1e3:.3f}", "100%"])
    print(table(["part", "ms each (profiled)", "share"], rows))
