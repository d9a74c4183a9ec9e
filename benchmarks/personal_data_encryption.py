"""Cost of encrypting personal data: write path and history reads, encrypted vs in clear.

Both runs use the same code path and database; only the ``PersonalData`` transcoding
differs (pass-through vs AES-GCM with per-case keys from the key table). Printed as ratios
(encrypted / in clear) so the figure means the same on any machine.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from application.cases import CaseService
from application.clock import FixedClock
from application.commands import CommandHandler
from application.identities import CaseIdentities
from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.case_steps import ADD_NOTE, Note
from infrastructure.database import DatabaseTarget, parse_database_url
from infrastructure.privacy.key_encryption import KeyRing, parse_kek
from infrastructure.privacy.key_store import open_keys
from infrastructure.privacy.transcoding import EncryptedPersonalData
from infrastructure.settings import DEVELOPMENT_KEY_ENCRYPTION_KEY
from persistence.transcodings import PersonalDataInClear

CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen")
APPLICANT = Actor("portal:1", "Max Mustermann", Role.APPLICANT, "usingen")


@dataclass
class Timing:
    """Seconds per operation over several rounds."""

    write: float
    read: float


def workload(cases: CaseService, n_cases: int) -> Timing:
    """Submit cases with 4 personal fields, add 3 notes each; then read every history."""
    handler = CommandHandler(cases)
    started = time.perf_counter()
    ids = []
    for i in range(n_cases):
        case_id = cases.submit(
            actor=APPLICANT,
            tenant="usingen",
            service="general",
            applicant={
                "name": f"Person {i}",
                "street": "Hauptstraße 1",
                "email": f"p{i}@example.org",
                "phone": "06081 1234",
            },
            data={"subject": f"Anfrage {i}"},
        ).case_id
        for j in range(3):
            handler.handle(case_id, ADD_NOTE(Note(text=f"Vermerk {j}")), CLERK, None)
        ids.append(case_id)
    written = time.perf_counter()
    for case_id in ids:
        cases.history(case_id, actor=CLERK)
    read = time.perf_counter()
    commands = n_cases * 4
    return Timing(write=(written - started) / commands, read=(read - written) / n_cases)


def run(
    target_for: Callable[[], DatabaseTarget],
    encrypted: bool,
    n_cases: int,
    cache_seconds: float = 0,
) -> Timing:
    """One measured run on a fresh database."""
    target = target_for()
    keys = None
    if encrypted:
        ring = KeyRing(parse_kek(DEVELOPMENT_KEY_ENCRYPTION_KEY))
        keys = open_keys(target, ring, cache_seconds=cache_seconds)
        transcoding = EncryptedPersonalData(keys)
    store = VorgangStore(
        env=target.env, personal_data=transcoding if keys else PersonalDataInClear()
    )
    clock = FixedClock(datetime(2026, 3, 2, 8, tzinfo=UTC))
    try:
        return workload(
            CaseService(store, clock, CaseIdentities(b"bench-secret-0123456789")), n_cases
        )
    finally:
        store.close()
        if keys:
            keys.close()


def main(argv: list[str]) -> None:
    """Print write and read ratios, encrypted / in clear, on SQLite."""
    parser = argparse.ArgumentParser(prog="bench personal-data")
    parser.add_argument("--cases", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="vorgang-bench-"))
    counter = iter(range(10_000))

    def sqlite() -> DatabaseTarget:
        return parse_database_url(f"sqlite:///{folder}/bench-{next(counter)}.db")

    variants = {
        "in clear": (False, 0.0),
        "encrypted, no key cache": (True, 0.0),
        "encrypted, 30 s key cache": (True, 30.0),
    }
    timings: dict[str, list[Timing]] = {name: [] for name in variants}
    try:
        for _ in range(args.rounds):  # interleaved, so drift hits every variant alike
            for name, (encrypted, cache) in variants.items():
                timings[name].append(run(sqlite, encrypted, args.cases, cache))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    base_w = statistics.median(t.write for t in timings["in clear"])
    base_r = statistics.median(t.read for t in timings["in clear"])
    print(
        f"personal-data encryption: SQLite, {args.cases} cases x 4 commands, "
        f"median of {args.rounds} rounds; ratio = variant / in clear"
    )
    print(f"  {'variant':<28}{'write ms/cmd':>13}{'ratio':>7}{'history ms/case':>17}{'ratio':>7}")
    for name, runs in timings.items():
        w = statistics.median(t.write for t in runs)
        r = statistics.median(t.read for t in runs)
        print(f"  {name:<28}{w * 1e3:>13.2f}{w / base_w:>7.2f}{r * 1e3:>17.2f}{r / base_r:>7.2f}")
