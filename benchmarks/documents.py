"""What issuing a Bescheid as a document costs, against recording its notification by hand.

Each round takes a decided general case (SQLite file, the real wiring: encrypted personal
data, the seal made for the run) and issues its decision as a letter into the postbox:
compose, render (WeasyPrint, PDF/A-3b), seal (pyHanko, PAdES), encrypt and store, record,
hand to the postbox simulator, save. The baseline, on the same database in the same run, is
the plain command that records a Bekanntgabe by hand (``notify``): load, check, one event,
save. The stages of an issue are timed apart on the same letters. Printed as medians and
as ratios to the baseline, so the figures mean the same on any machine.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from application.letters import compose
from benchmarks.support import quiet_logging, table
from domain.actor import Actor, Role
from domain.case import Case
from domain.case_steps import CLAIM, CONFIRM_COMPLETE, DECIDE, NOTIFY, Decide, Notify
from domain.documents import Channel, DocumentKind
from domain.working_days import berlin_date
from infrastructure.documents.seal import make_seal
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build

CLERK = Actor("anna.schmidt", "Anna Schmidt", Role.CLERK, "usingen")
DECISION = Decide(
    outcome="approved",
    justification="Die Voraussetzungen der Sondernutzung liegen vor.",
    legal_basis="§ 16 Hessisches Straßengesetz",
)


def decided_case(vorgang: Vorgang, index: int) -> UUID:
    """A general application of Usingen, claimed, complete and approved."""
    applicant = Actor(f"portal:bench-{index}", "Erika Weber", Role.APPLICANT, "usingen")
    submitted = vorgang.cases.submit(
        actor=applicant,
        tenant="usingen",
        service="general",
        applicant={
            "name": "Erika Weber",
            "street": "Wilhelmjstraße",
            "house_number": str(index + 1),
            "postal_code": "61250",
            "city": "Usingen",
        },
        data={"subject": "Sondernutzung"},
    )
    handler: CommandHandler = vorgang.commands
    for step in (CLAIM(), CONFIRM_COMPLETE(), DECIDE(DECISION)):
        handler.handle(submitted.case_id, step, CLERK, None)
    return submitted.case_id


def since(start: float) -> float:
    """Milliseconds since ``start`` (``time.perf_counter``)."""
    return (time.perf_counter() - start) * 1000


def main(argv: list[str] | None = None) -> int:
    """Issue ``--letters`` documents and notify as many cases by hand; print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks documents")
    parser.add_argument("--letters", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="8 letters")
    args = parser.parse_args(argv)
    letters = 8 if args.quick else args.letters
    quiet_logging()
    with tempfile.TemporaryDirectory(prefix="vorgang-bench-documents-") as tmp:
        root = Path(tmp)
        key, certificate = make_seal(root / "seal", "Vorgang Benchmark")
        settings = Settings(
            database_url=f"sqlite:///{root / 'v.db'}",
            documents_dir=str(root / "documents"),
            postbox_dir=str(root / "postbox"),
            print_dir=str(root / "print"),
            seal_key_file=str(key),
            seal_certificate_file=str(certificate),
        )
        clock = FixedClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # a Monday morning
        vorgang = build(settings, clock=clock)
        try:
            stages = measure(vorgang, letters)
        finally:
            vorgang.close()
    baseline = statistics.median(stages["notify (baseline)"])
    rows = [
        [
            name,
            f"{statistics.median(ms):.1f}",
            f"{sorted(ms)[max(0, int(len(ms) * 0.9) - 1)]:.1f}",
            f"{statistics.median(ms) / baseline:.1f}x",
        ]
        for name, ms in stages.items()
    ]
    print(f"Issuing a Bescheid as a sealed PDF/A letter ({letters} letters, SQLite)")
    print(table(["", "median ms", "p90 ms", "÷ notify"], rows))
    return 0


def measure(vorgang: Vorgang, letters: int) -> dict[str, list[float]]:
    """Time the stages of issuing, a whole issue, and the notification baseline."""
    ports = vorgang.documents.ports
    stages: dict[str, list[float]] = {
        "notify (baseline)": [],
        "compose": [],
        "render (PDF/A)": [],
        "seal (PAdES)": [],
        "encrypt + store": [],
        "issue + postbox, whole": [],
    }
    for index in range(letters):
        by_hand = decided_case(vorgang, 2 * index)
        start = time.perf_counter()
        vorgang.commands.handle(by_hand, NOTIFY(Notify(delivery="counter")), CLERK, None)
        stages["notify (baseline)"].append(since(start))
        case_id = decided_case(vorgang, 2 * index + 1)
        case: Case = vorgang.store.repository.get(case_id)
        issued_on = berlin_date(vorgang.documents.clock.now())
        start = time.perf_counter()
        letter = compose(
            case,
            DocumentKind.DECISION,
            number=1,
            issued_on=issued_on,
            issued_by=CLERK.recorded_in(case_id),
            automatic=False,
            cash_reference=None,
        )
        stages["compose"].append(since(start))
        start = time.perf_counter()
        pdf = ports.renderer.render(letter)
        stages["render (PDF/A)"].append(since(start))
        start = time.perf_counter()
        sealed = ports.seal.seal(pdf, reason=letter.title, location=letter.town)
        stages["seal (PAdES)"].append(since(start))
        start = time.perf_counter()
        ports.vault.put(case_id, 99, hashlib.sha256(sealed).hexdigest(), sealed, letter.subjects)
        stages["encrypt + store"].append(since(start))
        start = time.perf_counter()
        vorgang.documents.issue(
            case_id, actor=CLERK, kind=DocumentKind.DECISION, channel=Channel.POSTBOX
        )
        stages["issue + postbox, whole"].append(since(start))
    return stages


if __name__ == "__main__":
    raise SystemExit(main())
