"""The one command pipeline: every step of every aggregate type runs through ``handle``.

``handle(aggregate_id, command, actor, expected_version)`` loads the aggregate the command's
step is declared for (as the actor may see it), checks the expected version (an applicant's
against the version of their own view of a case), runs the domain method the step names at
the clock's time, and saves the aggregate with every other aggregate the step changed in one
atomic save. A step that changes shared aggregates (``retry_lost_race``: the holdings of
resident parking, in time graves, offerings, meters) is decided again from a fresh load when
its save loses a race, so the loser sees what the winner saved; any other lost race is a
``ConcurrentUpdate``. A caller's stale If-Match stays a ``VersionMismatch``.

How an aggregate type is loaded and versioned is its ``AggregateKind``: cases are loaded
only when the actor may see them, and a step sent to a case of another service is refused
as an invalid transition naming what that case allows.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from application.cases import CaseService, load_visible
from application.errors import ApplicationError, CaseNotFound, ConcurrentUpdate, VersionMismatch
from application.shared_aggregates import SharedInStore
from application.store import VorgangStore
from application.views import CommandResult
from domain.actor import Actor
from domain.case import Case
from domain.case_steps import StaffDirectory
from domain.commands import Acting, Command, Step
from domain.errors import InvalidCommand, InvalidTransition

ATTEMPTS: Final = 30
LOG_BATCH: Final = 500
A = TypeVar("A", bound=Aggregate)
RETRY_PAUSE_SECONDS: Final = 0.002


class StaffNotKnownYet(ApplicationError):
    """The staff directory cannot tell yet (the view it reads is catching up): try again."""


class CaseReferences(Protocol):
    """Which case a reference (``USI-2026-000012``) names: an index the deployment wires."""

    def case_id(self, reference: str, aggregate_type: type[Aggregate]) -> UUID | None:
        """The id of the case (of this type) with this reference, or None if there is none."""


class ReferencesInTheLog:
    """Cases found by reference in the log itself, where no index is wired (demo, tests).

    It reads the submissions of one case type from the notification log (filtered by topic)
    until it meets the reference: linear in that type's cases, so a deployment wires the
    case search's index instead (``infrastructure/case_references.py``).
    """

    def __init__(self, store: VorgangStore) -> None:
        self.store = store

    def case_id(self, reference: str, aggregate_type: type[Aggregate]) -> UUID | None:
        """The id of the submitted case of this type with this reference, or None."""
        store = self.store
        created = getattr(aggregate_type, "Submitted", None) or aggregate_type.Created
        topics = [get_topic(created)]
        start = 1
        while True:
            batch = store.recorder.select_notifications(start, LOG_BATCH, topics=topics)
            for notification in batch:
                submitted = store.mapper.to_domain_event(notification)
                if getattr(submitted, "reference", None) == reference:
                    return UUID(str(submitted.originator_id))
            if len(batch) < LOG_BATCH:
                return None
            start = batch[-1].id + 1


@dataclass(frozen=True, slots=True)
class StepContext:
    """What a custom step may use besides its aggregate: shared aggregates, the town's staff,
    and cases found by their reference."""

    cases: CaseService
    staff: StaffDirectory | None = None
    references: CaseReferences | None = None

    def referenced(self, aggregate_type: type[A], reference: str) -> A:
        """The case of this type with this reference; unknown: ``InvalidCommand`` (422)."""
        wanted = reference.strip().upper()
        index = self.references or ReferencesInTheLog(self.cases.store)
        case_id = index.case_id(wanted, aggregate_type)
        found: Aggregate | None = None
        if case_id is not None:
            try:
                found = self.cases.store.repository.get(case_id)
            except AggregateNotFoundError:
                found = None
        if not isinstance(found, aggregate_type):
            raise InvalidCommand(
                "reference", f"no {aggregate_type.__name__} has the reference {wanted}"
            )
        return found

    def keyed(
        self, aggregate_type: type[A], tenant: str, key: str, start: Callable[[UUID], A]
    ) -> A:
        """The town's aggregate of this type and key (ids keyed so the key is never stored)."""
        return self.shared.keyed(aggregate_type, tenant, key, start)

    def identified(
        self, aggregate_type: type[A], aggregate_id: UUID, start: Callable[[UUID], A]
    ) -> A:
        """The aggregate of this type and id (an id derived from public facts, e.g. a grave's)."""
        return self.shared.identified(aggregate_type, aggregate_id, start)

    def key_of(self, tenant: str, kind: str, key: str) -> UUID:
        """The town's keyed id of a personal identifier of a kind (never stored itself)."""
        return self.shared.key_of(tenant, kind, key)

    @property
    def shared(self) -> SharedInStore:
        """The shared aggregates of the cases' store."""
        return SharedInStore(self.cases.store, self.cases.identities)


class AggregateKind(Protocol):
    """How the pipeline loads one aggregate type and which version a caller expects."""

    def load(self, aggregate_id: UUID, actor: Actor, step: Step) -> Aggregate:
        """The aggregate as the actor may change it, or a not-found error."""

    def version_seen(self, aggregate: Aggregate, actor: Actor) -> int:
        """The version the actor's If-Match names."""

    def check(self, aggregate: Aggregate, step: Step) -> None:
        """Refuse a step the loaded aggregate cannot take (after the version is checked)."""


class Cases:
    """Cases: visible to the actor, of the step's case type, versioned as the actor sees them."""

    def __init__(self, cases: CaseService) -> None:
        self.cases = cases

    def load(self, aggregate_id: UUID, actor: Actor, step: Step) -> Aggregate:
        """The case if the actor may see it."""
        return load_visible(self.cases.store, aggregate_id, actor)

    def check(self, aggregate: Aggregate, step: Step) -> None:
        """A step of another service is refused, naming what the case allows."""
        assert isinstance(aggregate, Case)
        if not isinstance(aggregate, step.aggregate or Case):
            raise InvalidTransition(
                step.command_name, aggregate.status, aggregate.allowed_commands()
            )

    def version_seen(self, aggregate: Aggregate, actor: Actor) -> int:
        """The case's version, or the version of the applicant's view of it."""
        assert isinstance(aggregate, Case)
        return self.cases.version_seen_by(actor, aggregate)


class Stored:
    """Any other aggregate: as stored, of the step's type, at its own version."""

    def __init__(self, cases: CaseService) -> None:
        self.cases = cases

    def load(self, aggregate_id: UUID, actor: Actor, step: Step) -> Aggregate:
        """The stored aggregate; absent: not found."""
        try:
            found: Aggregate = self.cases.store.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise CaseNotFound(aggregate_id) from None
        return found

    def check(self, aggregate: Aggregate, step: Step) -> None:
        """An aggregate of another type is not the one the step is for: not found."""
        if step.aggregate is not None and not isinstance(aggregate, step.aggregate):
            raise CaseNotFound(aggregate.id)

    def version_seen(self, aggregate: Aggregate, actor: Actor) -> int:
        """The aggregate's own version."""
        return aggregate.version


def only_created(aggregate: Aggregate) -> bool:
    """True for an aggregate made in this step whose only event is its creation."""
    return aggregate.version == len(aggregate.pending_events) == 1


class CommandHandler:
    """Runs every command of every aggregate type: load, check, run, save once."""

    def __init__(
        self,
        cases: CaseService,
        *,
        staff: StaffDirectory | None = None,
        kinds: Mapping[type[Aggregate], AggregateKind] | None = None,
        references: CaseReferences | None = None,
    ) -> None:
        self.cases = cases
        self.context = StepContext(cases, staff, references)  # what custom steps may use
        self.kinds: dict[type[Aggregate], AggregateKind] = {Case: Cases(cases)}
        self.kinds.update(kinds or {})
        self.default_kind: AggregateKind = Stored(cases)

    def kind_of(self, step: Step) -> AggregateKind:
        """The kind of aggregate the step is declared for (a case unless it says otherwise)."""
        declared = step.aggregate or Case
        for aggregate_type in declared.__mro__:
            kind = self.kinds.get(aggregate_type)
            if kind is not None:
                return kind
        return self.default_kind

    def handle(
        self,
        aggregate_id: UUID,
        command: Command,
        actor: Actor,
        expected_version: int | None,
    ) -> CommandResult:
        """Load, check the expected version, run the command's step, save every change once."""
        step = command.step
        kind = self.kind_of(step)
        at = self.cases.clock.now()
        attempts = ATTEMPTS if step.retry_lost_race else 1
        for attempt in range(attempts):
            if attempt:
                # Another command saved first: back off with jitter, then reload everything.
                time.sleep(random.uniform(0, RETRY_PAUSE_SECONDS * 2 ** min(attempt, 6)))  # noqa: S311
                at = self.cases.clock.now()
            aggregate = kind.load(aggregate_id, actor, step)
            if expected_version is not None:
                current = kind.version_seen(aggregate, actor)
                if expected_version != current:
                    raise VersionMismatch(aggregate_id, expected_version, current)
            kind.check(aggregate, step)
            shared: Sequence[Aggregate] = step.execute(
                aggregate, command.body, Acting(actor, at, self.context)
            )
            changed = [a for a in shared if a.pending_events and not only_created(a)]
            try:
                recordings = self.cases.store.save(aggregate, *changed)
            except IntegrityError:
                continue
            position = max((r.notification.id for r in recordings), default=None)
            state = self.cases.seen_by(actor, aggregate) if isinstance(aggregate, Case) else None
            return CommandResult(aggregate_id, aggregate.version, position, state)
        raise ConcurrentUpdate(aggregate_id)
