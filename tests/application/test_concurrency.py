"""Two writers, one case: exactly one save wins; references never repeat under load."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from eventsourcing.persistence import IntegrityError

from application.cases import CaseService
from application.store import VorgangStore
from domain.case import Case
from tests.conftest import APPLICANT, CLERK, OTHER_CLERK
from tests.steps import submitted


def test_two_writers_that_loaded_the_same_version_cannot_both_save(
    cases: CaseService, store: VorgangStore
) -> None:
    case_id = submitted(cases)
    loaded = threading.Barrier(2)
    outcomes: list[str] = []
    now = cases.clock.now()

    def writer(actor) -> None:  # type: ignore[no-untyped-def]
        case: Case = store.repository.get(case_id)
        loaded.wait(timeout=10)  # both have loaded version 1 before either saves
        case.claim(actor=actor, at=now)
        try:
            store.save(case)
            outcomes.append("saved")
        except IntegrityError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=writer, args=(a,)) for a in (CLERK, OTHER_CLERK)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["conflict", "saved"]
    history = cases.history(case_id, actor=CLERK)
    assert [h.type for h in history] == ["Submitted", "Claimed"]


def test_concurrent_submissions_never_share_a_reference(cases: CaseService) -> None:
    def submit(i: int) -> str:
        return cases.submit(
            actor=APPLICANT,
            tenant="usingen",
            service="general",
            applicant={"name": f"Person {i}"},
            data={"subject": f"Anliegen {i}"},
        ).reference

    with ThreadPoolExecutor(max_workers=4) as pool:
        references = list(pool.map(submit, range(12)))
    assert len(set(references)) == 12
