"""For auditors: every decision of a case, its replay, and a case as recorded at any moment."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from application.cases import load_visible, withheld_from
from application.clock import Clock
from application.errors import CaseNotFound
from application.store import VorgangStore
from application.views import CaseState, decision_view, plain
from domain.actor import Actor
from domain.case import Case
from domain.decision import Decision
from domain.decision_replay import Replay, replay
from domain.lifecycle import CaseStatus
from domain.working_days import berlin_date


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """A decision as made (a draft awaiting countersignature is one too)."""

    number: int
    version: int  # the case version its Decided event has
    in_force: bool
    decision: Decision


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """The replay of one decision, ready to show."""

    number: int
    version: int
    verdict: str
    reason: str | None
    differences: list[dict[str, Any]]
    today: list[dict[str, Any]]


class DecisionAudit:
    """Reads decisions back out of the log and replays them against their rules."""

    def __init__(
        self,
        store: VorgangStore,
        clock: Clock,
        withheld: Callable[[Actor, Case], frozenset[str]] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        # The data subjects a reader is not shown in a case (``CaseService.withheld_from``:
        # a child's health notes from staff who are not the offering's); by default those
        # the generic rule withholds (third parties from applicants).
        self.withheld = withheld or (lambda reader, case: withheld_from(reader, case))

    def records(self, case_id: UUID, *, actor: Actor) -> list[DecisionRecord]:
        """Every decision of the case, in order, with the version that recorded it."""
        self._visible(case_id, actor)
        found: list[DecisionRecord] = []
        for event in self.store.events.get(case_id):
            if isinstance(event, Case.Decided):
                pending = event.status == CaseStatus.PENDING_COUNTERSIGN
                found.append(
                    DecisionRecord(
                        len(found) + 1, event.originator_version, not pending, event.decision
                    )
                )
            elif isinstance(event, Case.Countersigned) and found:
                last = found[-1]
                found[-1] = DecisionRecord(last.number, last.version, True, event.decision)
        return found

    def decisions(self, case_id: UUID, *, actor: Actor) -> list[dict[str, Any]]:
        """The decision records as plain data."""
        return [
            {
                "number": r.number,
                "version": r.version,
                "in_force": r.in_force,
                **(decision_view(r.decision) or {}),
            }
            for r in self.records(case_id, actor=actor)
        ]

    def replay(self, case_id: UUID, number: int, *, actor: Actor) -> ReplayReport:
        """Rebuild the case just before decision ``number`` and run its recorded rules."""
        records = self.records(case_id, actor=actor)
        if not 1 <= number <= len(records):
            raise CaseNotFound(case_id)
        record = records[number - 1]
        before: Case = self.store.repository.get(case_id, version=record.version - 1)
        result: Replay = replay(before, record.decision, today=berlin_date(self.clock.now()))
        return ReplayReport(
            number=record.number,
            version=record.version,
            verdict=result.verdict,
            reason=result.reason,
            differences=[plain(d) for d in result.differences],
            today=[plain(d) for d in result.today],
        )

    def as_of(self, case_id: UUID, moment: datetime, *, actor: Actor) -> CaseState:
        """The case as it was recorded at that moment (recording time, not business time)."""
        self._visible(case_id, actor)
        version = None
        for event in self.store.events.get(case_id):
            if getattr(event, "timestamp") > moment:  # noqa: B009 - the protocol lacks it
                break
            version = event.originator_version
        if version is None:
            raise CaseNotFound(case_id)
        case: Case = self.store.repository.get(case_id, version=version)
        # overdue as of that moment; personal data withheld as from the case itself
        return CaseState.of(case, today=berlin_date(moment), withheld=self.withheld(actor, case))

    def _visible(self, case_id: UUID, actor: Actor) -> Case:
        return load_visible(self.store, case_id, actor)
