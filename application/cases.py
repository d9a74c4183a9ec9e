"""Use cases of the shared case lifecycle: submit, and the queries.

Every other command of a case runs through the one command pipeline
(``application/commands.py``). Queries return plain data.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime
from typing import Any, Final
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.persistence import IntegrityError, Recording
from pydantic import ValidationError

from application.applicant_view import (
    THIRD_PARTIES,
    applicant_version,
    case_as_seen_by,
    case_version_of,
    sees_applicant_view,
)
from application.clock import Clock
from application.errors import (
    CaseNotFound,
    ConcurrentUpdate,
    IdempotencyConflict,
    InvalidApplicationData,
    UnknownService,
)
from application.identities import CaseIdentities
from application.shared_aggregates import SharedInStore
from application.store import VorgangStore
from application.views import CaseState, HistoryEntry, SubmissionResult, plain
from domain.actor import Actor, Role
from domain.case import Case, check_acts_for
from domain.commands import Acting
from domain.errors import WrongTenant
from domain.personal_data import PersonalData, PersonalValue, Subjects
from domain.personal_fields import personal_data_of
from domain.reference import ReferenceCounter, format_reference
from domain.services.catalogue import SERVICES, ServiceDefinition
from domain.services.forms import birth_date_problem
from domain.teams import check_serves
from domain.tenants import tenant as tenant_by_id
from domain.working_days import BERLIN, berlin_date

SUBMIT_ATTEMPTS: Final = 3  # a lost race can only be the same key's case: the next look finds it
SHARED_ATTEMPTS: Final = 30  # a service that records on shared aggregates at submission
RETRY_PAUSE_SECONDS: Final = 0.002
# Submissions meeting at one shared aggregate are decided in turn within the process: a
# fixed set of locks, each serving the names that hash to it (the set never grows).
_MEETING_LOCKS: Final = tuple(threading.Lock() for _ in range(64))
_HISTORY_FIELDS_HIDDEN: Final = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "actor", "at"}
)


class CaseService:
    """The lifecycle use cases over one injected store, clock and identity scheme."""

    def __init__(
        self,
        store: VorgangStore,
        clock: Clock,
        identities: CaseIdentities,
        services: Mapping[str, ServiceDefinition] = SERVICES,
    ) -> None:
        self.store = store
        self.clock = clock
        self.identities = identities
        self.services = services

    # ------------------------------------------------------------------ submit

    def submit(
        self,
        *,
        actor: Actor,
        tenant: str,
        service: str,
        applicant: Mapping[str, str],
        data: Mapping[str, Any],
        idempotency_key: str | None = None,
        channel: str = "online",
    ) -> SubmissionResult:
        """Submit a new application; a retry with the same key returns the same case."""
        tenant_by_id(tenant)
        definition = self._service(service)
        check_acts_for(actor, tenant)
        check_serves(actor, tenant, service)  # staff enter paper applications for their team
        with _in_turn(definition, tenant, data):
            return self._submit_attempts(
                definition, actor, tenant, service, applicant, data, idempotency_key, channel
            )

    def _submit_attempts(
        self,
        definition: ServiceDefinition,
        actor: Actor,
        tenant: str,
        service: str,
        applicant: Mapping[str, str],
        data: Mapping[str, Any],
        idempotency_key: str | None,
        channel: str,
    ) -> SubmissionResult:
        """Decide the submission, again after a lost race (a shared aggregate saved meanwhile)."""
        case_id = self.identities.case_id(
            aggregate_type=definition.case_class.__name__,
            tenant=tenant,
            subject=actor.id,
            idempotency_key=idempotency_key,
        )
        fingerprint = self.identities.fingerprint(
            {"tenant": tenant, "service": service, "applicant": dict(applicant), "data": data}
        )
        attempts = SHARED_ATTEMPTS if definition.on_submission else SUBMIT_ATTEMPTS
        for attempt in range(attempts):
            if attempt and definition.on_submission:
                # A shared aggregate was saved meanwhile: back off with jitter, decide again.
                time.sleep(random.uniform(0, RETRY_PAUSE_SECONDS * 2 ** min(attempt, 6)))  # noqa: S311
            existing = self._stored_for_key(definition, case_id, tenant, actor, idempotency_key)
            if existing is not None:
                if existing.request_fingerprint != fingerprint:
                    raise IdempotencyConflict(case_id)
                return SubmissionResult(
                    case_id,
                    existing.reference,
                    existing.version,
                    created=False,
                    position=None,
                    state=self.view(case_id, actor=actor),
                )
            at = self.clock.now()
            check_applicant(applicant, berlin_date(at))
            event_data = self._application_data(definition, data, case_id, berlin_date(at))
            personal: dict[str, PersonalValue] = {
                name: PersonalData(case_id=case_id, subject=Subjects.APPLICANT, value=value)
                for name, value in applicant.items()
            }
            case = definition.case_class.submit(
                case_id=case_id,
                actor=actor,
                at=at,
                tenant=tenant,
                service=service,
                reference=self._next_reference(tenant, at.astimezone(BERLIN).year),
                applicant=personal,
                data=event_data,
                request_fingerprint=fingerprint,
                channel=channel,
            )
            shared = self._on_submission(definition, case, actor, at)
            try:
                recordings = self.store.save(case, *shared)
            except IntegrityError:
                continue  # the same key's case, or a shared aggregate, was saved meanwhile
            entries = [history_entry(r.domain_event) for r in recordings]
            return SubmissionResult(
                case_id,
                case.reference,
                case.version,
                created=True,
                position=_position(recordings),
                state=case_as_seen_by(actor, self._state(case, reader=actor), entries),
            )
        raise ConcurrentUpdate(case_id)

    def _on_submission(
        self, definition: ServiceDefinition, case: Case, actor: Actor, at: datetime
    ) -> Sequence[Aggregate]:
        """The service's step at submission, on the shared aggregates it changes."""
        if definition.on_submission is None:
            return ()
        acting = Acting(actor, at, SharedInStore(self.store, self.identities))
        changed = definition.on_submission(case, acting)
        return [a for a in changed if a.pending_events]

    def _stored_for_key(
        self,
        definition: ServiceDefinition,
        case_id: UUID,
        tenant: str,
        actor: Actor,
        key: str | None,
    ) -> Case | None:
        """The case this Idempotency-Key already made, if any; one lookup for all case types.

        The same key for another service is a reused key, not a new application. A case's id
        is derived with its case type, and stored ids must stay as they are, so the ids the
        key gives for the other case types are asked for in the same lookup.
        """
        if not key:
            return None  # a random id: nothing can exist under it
        others = {d.case_class.__name__ for d in self.services.values()}
        others.discard(definition.case_class.__name__)
        other_ids = [
            self.identities.case_id(
                aggregate_type=aggregate_type, tenant=tenant, subject=actor.id, idempotency_key=key
            )
            for aggregate_type in sorted(others)
        ]
        stored = self.store.index.stored_ids([case_id, *other_ids])
        if case_id in stored:
            return self._find(case_id)
        for other_id in other_ids:
            if other_id in stored:
                raise IdempotencyConflict(other_id)
        return None

    def _next_reference(self, tenant: str, year: int) -> str:
        """The town's next reference of the year (decision 18): never issued before."""
        number = self.store.index.next_reference_number(
            tenant, year, seed=lambda: self._numbers_issued_by_counter(tenant, year)
        )
        return format_reference(tenant, year, number)

    def _numbers_issued_by_counter(self, tenant: str, year: int) -> int:
        """The counter of earlier releases hands over: its last number (0 for a new year).

        Recorded on the counter (created if the year has none), so a process of an earlier
        release still running fails to load it rather than issue a number twice.
        """
        for _attempt in range(SUBMIT_ATTEMPTS):
            try:
                counter: ReferenceCounter = self.store.repository.get(
                    ReferenceCounter.id_for(tenant, year)
                )
            except AggregateNotFoundError:
                counter = ReferenceCounter.start(tenant, year)
            if counter.handed_over:
                return counter.last_number
            last = counter.hand_over()
            try:
                self.store.save(counter)
            except IntegrityError:
                continue  # an earlier release issued a number meanwhile, or another handed over
            return last
        raise ConcurrentUpdate(ReferenceCounter.id_for(tenant, year))

    def _service(self, service: str) -> ServiceDefinition:
        try:
            return self.services[service]
        except KeyError:
            raise UnknownService(service, list(self.services)) from None

    @staticmethod
    def _application_data(
        definition: ServiceDefinition, data: Mapping[str, Any], case_id: UUID, on: date
    ) -> dict[str, Any]:
        """Validated by the service's model; personal fields become PersonalData at once."""
        try:
            model = definition.validate(data, on)
        except ValidationError as error:
            raise InvalidApplicationData.of(error, prefix="data") from None
        return personal_data_of(model, case_id=case_id, subject=Subjects.APPLICANT)

    def _find(self, case_id: UUID) -> Case | None:
        try:
            case: Case = self.store.repository.get(case_id)
        except AggregateNotFoundError:
            return None
        return case

    # ------------------------------------------------------------------ queries

    def get(self, case_id: UUID, *, actor: Actor, version: int | None = None) -> CaseState:
        """The case as of now, or as of a version (past the head: ``CaseNotFound``)."""
        case = self._load(case_id, actor, version)
        return self._state(case, current=version is None, reader=actor)

    def view(self, case_id: UUID, *, actor: Actor, version: int | None = None) -> CaseState:
        """The case as the actor may see it; an applicant's ``version`` is their view's."""
        if not sees_applicant_view(actor):
            return case_as_seen_by(actor, self.get(case_id, actor=actor, version=version))
        case = self._load(case_id, actor)
        entries = self._entries(case)
        if version is not None:
            at = case_version_of(entries, version)
            if at is None:
                raise CaseNotFound(case_id, version)
            case = self._load(case_id, actor, at)
        state = self._state(case, current=version is None, reader=actor)
        return case_as_seen_by(actor, state, entries)

    def seen_by(self, actor: Actor, case: Case) -> CaseState:
        """A case already loaded (e.g. just saved) as the actor may see it."""
        if not sees_applicant_view(actor):
            return self._state(case, reader=actor)
        return case_as_seen_by(actor, self._state(case, reader=actor), self._entries(case))

    def _state(self, case: Case, *, current: bool = True, reader: Actor | None = None) -> CaseState:
        """The case's state; whether it is overdue is read on today's business day.

        An earlier version's state says nothing about today: its ``overdue`` stays None
        (the version that followed may have decided the case). An applicant reading it is
        not shown third parties' personal data, nor is anyone the data a service withholds
        from them (a child's health notes from staff who are not the offering's).
        """
        today = berlin_date(self.clock.now()) if current else None
        return CaseState.of(case, today=today, withheld=self.withheld_from(reader, case))

    def version_seen_by(self, actor: Actor, case: Case) -> int:
        """The version the actor's ETag names: the case's, or the applicant view's."""
        if not sees_applicant_view(actor):
            return case.version
        return applicant_version(self._entries(case))

    def _entries(self, case: Case) -> list[HistoryEntry]:
        return [history_entry(e) for e in self.store.events.get(case.id, lte=case.version)]

    def history(self, case_id: UUID, *, actor: Actor) -> list[HistoryEntry]:
        """Every stored event of the case, in order, with who, when and why."""
        withheld = self.withheld_from(actor, self._load(case_id, actor))
        return [history_entry(e, withheld) for e in self.store.events.get(case_id)]

    def _load(self, case_id: UUID, actor: Actor, version: int | None = None) -> Case:
        return load_visible(self.store, case_id, actor, version)

    def withheld_from(self, reader: Actor | None, case: Case) -> frozenset[str]:
        """The data subjects of this case whose personal data the reader is not shown."""
        shared = SharedInStore(self.store, self.identities)
        return withheld_from(reader, case, shared, self.services)


def _in_turn(
    definition: ServiceDefinition, tenant: str, data: Mapping[str, Any]
) -> AbstractContextManager[object]:
    """The lock of the shared aggregate the submission meets others at, if its service names
    one (``ServiceDefinition.meets_at``); otherwise nothing to wait for."""
    meeting = None if definition.meets_at is None else definition.meets_at(tenant, data)
    if meeting is None:
        return nullcontext()
    return _MEETING_LOCKS[hash(meeting) % len(_MEETING_LOCKS)]


def check_applicant(applicant: Mapping[str, str], today: date) -> None:
    """The applicant's birth date is a day that has been, not before 1900."""
    born = applicant.get("birth_date")
    if born is None:
        return
    try:
        problem = birth_date_problem(date.fromisoformat(born), today)
    except ValueError:
        problem = "must be a date like 1980-04-21"
    if problem:
        raise InvalidApplicationData([("applicant.birth_date", problem)])


def load_visible(
    store: VorgangStore, case_id: UUID, actor: Actor, version: int | None = None
) -> Case:
    """The case (at a version) if the actor may see it; otherwise, as if absent, CaseNotFound."""
    try:
        case: Case = store.repository.get(case_id, version=version)
    except AggregateNotFoundError:
        raise CaseNotFound(case_id, version) from None
    if not isinstance(case, Case):
        raise CaseNotFound(case_id, version)
    if version is not None and case.version != version:
        raise CaseNotFound(case_id, version)
    if not may_see(actor, case):
        raise CaseNotFound(case_id, version)
    return case


def may_see(actor: Actor, case: Case) -> bool:
    """Staff see their tenant's cases (and delegated ones); applicants only their own."""
    if actor.role is Role.APPLICANT:
        return case.submitted_by == actor.id and actor.tenant == case.tenant
    try:
        check_acts_for(actor, case.tenant)
    except WrongTenant:
        return False
    return True


def withheld_from(
    reader: Actor | None,
    case: Case | None = None,
    shared: Any = None,  # ``SharedAggregates`` the hook loads from (``SharedInStore``)
    services: Mapping[str, ServiceDefinition] = SERVICES,
) -> frozenset[str]:
    """The data subjects this reader is not shown personal data of: applicants not third
    parties', and anyone not what the case's service withholds from them
    (``ServiceDefinition.withheld_from``: a child's health notes from staff who are not the
    offering's)."""
    if reader is None:
        return frozenset()
    withheld = THIRD_PARTIES if sees_applicant_view(reader) else frozenset()
    definition = services.get(case.service) if case is not None else None
    if case is not None and shared is not None and definition and definition.withheld_from:
        withheld |= definition.withheld_from(case, reader, shared)
    return withheld


def history_entry(stored: Any, withheld: frozenset[str] = frozenset()) -> HistoryEntry:
    """A domain event of a case as a history line: type, version, who, when, why, data."""
    event: CanMutateAggregate[UUID] = stored
    attributes = vars(event)
    actor = attributes.get("actor")
    reason = attributes.get("reason")
    return HistoryEntry(
        version=event.originator_version,
        type=type(event).__name__,
        at=attributes.get("at"),
        recorded_at=event.timestamp,
        actor=plain(actor) if actor is not None else None,
        reason=plain(reason) if reason is not None else None,
        data={
            k: plain(v, withheld)
            for k, v in attributes.items()
            if k not in _HISTORY_FIELDS_HIDDEN and k != "reason"
        },
    )


def _position(recordings: list[Recording[UUID]]) -> int | None:
    return max((r.notification.id for r in recordings), default=None)
