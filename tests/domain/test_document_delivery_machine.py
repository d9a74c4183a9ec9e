"""Any sequence of issuing, sending and delivery reports keeps a case's documents consistent.

One decided case (online, or on paper without a postbox), a clock that only moves forward,
and a clerk, the applicant, the system and a clerk of another town issuing decisions (and
kinds the case cannot issue), sending them by every channel, reporting every outcome on any
day, notifying by hand, lodging an objection remedied by a new decision, and withdrawing
(then nothing is issued or sent; outcomes are still recorded and notify nothing). A small
model of the dispatches predicts each refusal (and the field it names) and the Bekanntgabe:
set by the first completed delivery of the decision in force, on the day the rule gives, or
by hand; never by a failed sending or by the letter of a decision since replaced. Replaying
the events, in memory and through the store, gives the same documents and Bekanntgabe.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import CanMutateAggregate
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from application.store import VorgangStore
from domain.actor import Actor
from domain.case import Case
from domain.decision import DecisionOutcome
from domain.documents import Channel, DocumentKind, IssuedDocument, Outcome, luhn_digit
from domain.errors import DomainError, InvalidCommand, InvalidTransition, WrongTenant
from domain.lifecycle import CaseStatus
from domain.personal_data import PersonalData, Subjects
from domain.rules import notification
from domain.timers import SCHEDULER_ID, scheduler_actor
from domain.working_days import berlin_date
from persistence.transcodings import PersonalDataInClear
from tests.domain.case_fixtures import (
    APPLICANT,
    CLERK,
    FOREIGN_CLERK,
    START,
    decided,
)
from tests.domain.service_machine import SETTINGS

SHA = "cd" * 32
SYSTEM = scheduler_actor("usingen")
# The channel's outcome that completes a delivery (and sets the Bekanntgabe of a decision).
COMPLETING = {
    Channel.POSTBOX: Outcome.RETRIEVED,
    Channel.LETTER: Outcome.POSTED,
    Channel.PORTAL: Outcome.RETRIEVED,
    Channel.COUNTER: Outcome.HANDED_OVER,
}
# What each channel may report, written out here rather than read from the domain.
REPORTS = {
    Channel.POSTBOX: {Outcome.ACCEPTED, Outcome.RETRIEVED, Outcome.FAILED},
    Channel.LETTER: {Outcome.POSTED, Outcome.FAILED},
    Channel.PORTAL: {Outcome.RETRIEVED},
    Channel.COUNTER: {Outcome.HANDED_OVER},
}

staff_or_not = st.sampled_from([CLERK, CLERK, SYSTEM, APPLICANT, FOREIGN_CLERK])
# Notifying by hand ends the search for the delivery's own Bekanntgabe: mostly refused here.
notifiers = st.sampled_from([CLERK, APPLICANT, FOREIGN_CLERK, APPLICANT])
reporters = st.sampled_from([CLERK, SYSTEM, SYSTEM, APPLICANT, APPLICANT, FOREIGN_CLERK])
# Mostly a document the case has; sometimes none (0) or one not yet issued.
numbers = st.sampled_from([0, 1, 1, 1, 1, 2, 2, 3, 4])
kinds = st.sampled_from([*[DocumentKind.DECISION] * 4, *DocumentKind])
cash_choices = st.sampled_from(["right", "right", "right", "none", "wrong"])
references = st.sampled_from(["batch-7/item-3", "msg-4711", "  "])
failures = st.sampled_from([None, "Postfach nicht eingerichtet", "Empfänger unbekannt", " "])
# Days from today an outcome is reported for: mostly the past, sometimes the future.
report_days = st.sampled_from([0, 0, 0, -1, -3, -12, 1])
fees = st.sampled_from([None, None, "0", "120.00"])
hours = st.sampled_from([1, 5, 24, 24 * 3, 24 * 9])


@dataclass
class SendingModel:
    """The model of one sending: what the machine expects the case to record."""

    channel: Channel
    sent_on: date
    outcome: Outcome | None = None
    outcome_on: date | None = None

    @property
    def open(self) -> bool:
        return self.outcome not in (COMPLETING[self.channel], Outcome.FAILED)


@dataclass
class DocumentModel:
    """The model of one issued document: its kind, the decision it sets out, its sendings."""

    kind: DocumentKind
    refers_to: int | None
    sendings: list[SendingModel] = field(default_factory=list)


def refused(field_name: str | type[DomainError], act: Callable[[], object]) -> None:
    """The command is refused: an ``InvalidCommand`` naming the field, or that error class."""
    if isinstance(field_name, str):
        with pytest.raises(InvalidCommand) as error:
            act()
        assert error.value.field == field_name, error.value
    else:
        with pytest.raises(field_name):
            act()


def on_paper(fee: Decimal | None) -> Case:
    """A paper application (no account, so no postbox), approved on the second day."""
    case_id = uuid4()
    case = Case.submit(
        case_id=case_id,
        actor=CLERK,
        at=START,
        tenant="usingen",
        service="general",
        reference="USI-2026-000007",
        applicant={"name": PersonalData(case_id, Subjects.APPLICANT, "Erika Weber")},
        data={"purpose": "test"},
        request_fingerprint="e" * 64,
        channel="counter",
    )
    case.confirm_complete(actor=CLERK, at=START + timedelta(hours=1))
    case.claim(actor=CLERK, at=START + timedelta(hours=2))
    case.decide(
        actor=CLERK,
        at=START + timedelta(days=1),
        outcome=DecisionOutcome.APPROVED,
        justification="Die Voraussetzungen liegen vor.",
        legal_basis="§ 16 HStrG",
        fee=fee,
    )
    return case


def luhn_is_right(reference: str) -> bool:
    """The Kassenzeichen's last digit is the Luhn digit of the digits before it."""
    *parts, check = reference.split("-")
    return check.isdigit() and luhn_digit("".join(parts)) == int(check)


@contextlib.contextmanager
def fresh_store(name: str) -> Iterator[VorgangStore]:
    """A store on a SQLite database in memory, of this name (its own, for one example)."""
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": f"file:{name}?mode=memory&cache=shared",
    }
    store = VorgangStore(env=env, personal_data=PersonalDataInClear())
    try:
        yield store
    finally:
        store.close()


class DocumentDeliveryMachine(RuleBasedStateMachine):
    """One decided case; documents issued, sent and reported on in any order."""

    def __init__(self) -> None:
        super().__init__()
        self.now = START + timedelta(days=1, hours=1)  # an hour after the decision
        self.documents: list[DocumentModel] = []
        self.events: list[CanMutateAggregate[UUID]] = []
        self.seen: tuple[IssuedDocument, ...] = ()
        self.expected_notified: date | None = None
        self.how_notified: str | None = None
        self.in_force: int | None = 1  # the number of the decision in force, None in review
        self.decisions = 1
        self.fee: Decimal | None = None
        self.objection_open = False
        self.online = True
        self.withdrawn = False
        self.notified_by_delivery: Channel | None = None  # in the step just taken
        self.case: Case

    # ------------------------------------------------------------------ set-up

    @initialize(
        online=st.booleans(),
        fee=fees,
        head_start=st.lists(
            st.tuples(st.sampled_from(Channel), st.none() | st.sampled_from(Outcome), hours),
            max_size=3,
        ),
        replaced=st.sampled_from([False, False, True]),
    )
    def decide_a_case(
        self,
        online: bool,
        fee: str | None,
        head_start: list[tuple[Channel, Outcome | None, int]],
        replaced: bool,
    ) -> None:
        self.online = online
        self.fee = Decimal(fee) if fee is not None else None
        self.case = decided(fee=fee) if online else on_paper(self.fee)
        self._collect()
        assert self.case.status == CaseStatus.DECIDED
        # The decision's letter is issued as a rule of its own too; issued here, every run
        # has a document to send from its first step.
        self.issue(CLERK, DocumentKind.DECISION, "right")
        assert len(self.case.issued_documents) == 1
        if replaced:  # the letter now sets out a decision replaced since: it notifies nothing
            self.notify_by_hand(CLERK, by_letter=False)
            self.lodge_objection()
            self.remedy_with_a_new_decision()
            self.decide_again(fee)
            assert self.in_force == 2
        # Hypothesis switches rules off at random (swarm testing): a head start, which always
        # runs, sends the letter and reports on it, through the rules and their model.
        for channel, outcome, later in head_start:
            self.send(CLERK, 1, channel, "batch-1/item-1")
            self.time_passes(later)
            # None: the outcome that completes the delivery, so that many runs notify by it.
            self.report(SYSTEM, 1, outcome or COMPLETING[channel], 0, "nicht zustellbar")

    def teardown(self) -> None:
        if not hasattr(self, "case"):
            return
        event(f"documents: {len(self.documents)}")
        event(f"notified: {self.how_notified}")
        event(f"decisions: {self.decisions}")
        event(f"withdrawn: {self.withdrawn}")
        sendings = [m for d in self.documents for m in d.sendings]
        event(f"sendings: {min(len(sendings), 3)}")
        for sending in sendings:
            event(f"outcome: {sending.channel.value} {sending.outcome}")
        # Once per example, through the store's transcodings: every value type round-trips.
        with fresh_store(f"delivery-{uuid4().hex}") as store:
            store.save(*self.events)
            loaded: Case = store.repository.get(self.case.id)
        assert loaded.version == self.case.version
        assert loaded.issued_documents == self.case.issued_documents
        # repr tells a channel or outcome decoded as a plain string from the enum itself.
        assert repr(loaded.issued_documents) == repr(self.case.issued_documents)
        assert loaded.notified_on == self.case.notified_on

    # ------------------------------------------------------------------ the clock

    @rule(hours=hours)
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    # ------------------------------------------------------------------ issuing

    @rule(actor=staff_or_not, kind=kinds, cash=cash_choices)
    def issue(self, actor: Actor, kind: DocumentKind, cash: str) -> None:
        number = len(self.documents) + 1
        right = self._cash_reference(kind, number)
        given = {
            "right": right,
            "none": None,
            "wrong": self._mistyped(right) if right else f"011-26-000001-{number:02d}-0",
        }[cash]

        def act() -> int:
            return self.case.issue_document(
                actor=actor,
                at=self.now,
                kind=kind,
                sha256=SHA,
                size=2048,
                template="vorgang-letters-test",
                seal="test seal",
                subjects=(Subjects.APPLICANT,),
                cash_reference=given,
            )

        if actor is FOREIGN_CLERK:
            refused(WrongTenant, act)
        elif actor is APPLICANT:
            refused("actor", act)
        elif self.withdrawn:
            refused("status", act)
        elif kind is not DocumentKind.DECISION or self.in_force is None:
            refused("kind", act)  # a decided case has no request open, no objection decided
        elif given != right:
            refused("cash_reference", act)
        else:
            assert act() == number
            self.documents.append(DocumentModel(kind, self.in_force))
            document = self.case.document(number)
            assert document.automatic == (actor is SYSTEM)
            assert (document.cash_reference is not None) == bool(self.fee)
        self._collect()

    def _cash_reference(self, kind: DocumentKind, number: int) -> str | None:
        """The Kassenzeichen a decision with a fee must carry (the case's own reference)."""
        if kind is not DocumentKind.DECISION or self.in_force is None or not self.fee:
            return None
        reference = self.case.cash_reference_for(kind, number)
        assert reference is not None
        [charge] = self.case.charges_of_decision(len(self.case.decisions))
        assert reference == charge.kassenzeichen  # the fee's, whichever document sets it out
        return reference

    @staticmethod
    def _mistyped(reference: str) -> str:
        check = int(reference[-1])
        return f"{reference[:-1]}{(check + 1) % 10}"

    # ------------------------------------------------------------------ sending

    @rule(
        actor=staff_or_not, number=numbers, channel=st.sampled_from(Channel), reference=references
    )
    def send(self, actor: Actor, number: int, channel: Channel, reference: str) -> None:
        def act() -> None:
            self.case.send_document(
                actor=actor, at=self.now, number=number, channel=channel, reference=reference
            )

        document = self._model(number)
        if actor is FOREIGN_CLERK:
            refused(WrongTenant, act)
        elif actor is APPLICANT:
            refused("actor", act)
        elif self.withdrawn:
            refused("status", act)
        elif document is None:
            refused("number", act)
        elif channel is Channel.POSTBOX and not self.online:
            refused("channel", act)  # no account, no postbox
        elif document.sendings and document.sendings[-1].open:
            refused("channel", act)  # the sending before awaits its outcome
        elif not reference.strip():
            refused("reference", act)
        else:
            act()
            today = self._today()
            document.sendings.append(SendingModel(channel, today))
            if channel is Channel.COUNTER:  # handed over as it is sent
                self._reported(document, Outcome.HANDED_OVER, today)
        self._collect()

    # ------------------------------------------------------------------ outcomes

    @rule(
        actor=reporters,
        number=numbers,
        outcome=st.sampled_from(Outcome),
        days=report_days,
        failure=failures,
    )
    def report(
        self, actor: Actor, number: int, outcome: Outcome, days: int, failure: str | None
    ) -> None:
        on = self._today() + timedelta(days=days)

        def act() -> None:
            self.case.report_delivery(
                actor=actor, at=self.now, number=number, outcome=outcome, on=on, failure=failure
            )

        document = self._model(number)
        latest = document.sendings[-1] if document and document.sendings else None
        if actor is FOREIGN_CLERK:
            refused(WrongTenant, act)
        elif document is None or latest is None:
            refused("number", act)
        elif outcome not in REPORTS[latest.channel] or not latest.open:
            refused("outcome", act)
        elif on < latest.sent_on or (latest.outcome_on is not None and on < latest.outcome_on):
            refused("on", act)  # before it was sent, or before the last report
        elif on > self._today():
            refused("on", act)  # in the future
        elif actor is APPLICANT and (
            latest.channel is not Channel.PORTAL or outcome is not Outcome.RETRIEVED
        ):
            refused("outcome", act)
        elif outcome is Outcome.FAILED and not (failure and failure.strip()):
            refused("failure", act)
        else:
            act()
            self._reported(document, outcome, on)
        self._collect()

    def _reported(self, document: DocumentModel, outcome: Outcome, on: date) -> None:
        """The model of a report: the Bekanntgabe follows from the first completed delivery of
        the decision in force, on the rule's day."""
        latest = document.sendings[-1]
        latest.outcome, latest.outcome_on = outcome, on
        if outcome is not COMPLETING[latest.channel]:
            return
        if document.kind is not DocumentKind.DECISION or document.refers_to != self.in_force:
            return
        if self.expected_notified is not None or self.withdrawn:
            return  # the first Bekanntgabe stands; a withdrawal settled the application
        if latest.channel is Channel.LETTER:
            day = notification.rule_on(on).presumed_day(on)
            assert on + timedelta(days=4) <= day <= on + timedelta(days=8)
        elif latest.channel is Channel.COUNTER:
            day = on
        else:
            day = on + timedelta(days=1)  # § 41 (2a): the day after retrieval
        self.expected_notified = day
        self.how_notified = latest.channel.value
        self.notified_by_delivery = latest.channel

    # ------------------------------------------------------------------ by hand

    @rule(actor=notifiers, by_letter=st.booleans())
    def notify_by_hand(self, actor: Actor, by_letter: bool) -> None:
        today = self._today()
        delivery = notification.Delivery.LETTER if by_letter else notification.Delivery.COUNTER

        def act() -> None:
            self.case.notify(actor=actor, at=self.now, delivery=delivery, sent_on=today)

        if self.in_force is None or self.expected_notified is not None or self.withdrawn:
            refused(InvalidTransition, act)  # in review again, or notified already
        elif actor is FOREIGN_CLERK:
            refused(WrongTenant, act)
        elif actor is APPLICANT:
            refused("actor", act)
        else:
            act()
            rule_of_day = notification.rule_on(today)
            self.expected_notified = rule_of_day.presumed_day(today) if by_letter else today
            self.how_notified = f"by hand ({delivery.value})"
        self._collect()

    # ------------------------------------------------------------------ objection, remedy

    @precondition(
        lambda self: (
            self.expected_notified is not None and not self.objection_open and not self.withdrawn
        )
    )
    @rule()
    def lodge_objection(self) -> None:
        self.case.lodge_objection(actor=CLERK, at=self.now, grounds="Die Gebühr ist zu hoch.")
        self.objection_open = True
        self._collect()

    @precondition(lambda self: self.objection_open and not self.withdrawn)
    @rule()
    def remedy_with_a_new_decision(self) -> None:
        self.case.remedy_objection(
            actor=CLERK, at=self.now, reason="Der Widerspruch ist begründet.", new_decision=True
        )
        self.objection_open = False
        self.in_force = None
        self.expected_notified = None
        self.how_notified = None
        self._collect()

    @rule(fee=fees)
    def decide_again(self, fee: str | None) -> None:
        def act() -> None:
            self.case.decide(
                actor=CLERK,
                at=self.now,
                outcome=DecisionOutcome.APPROVED,
                justification="Nach Abhilfe neu entschieden.",
                legal_basis="§ 16 HStrG",
                fee=Decimal(fee) if fee is not None else None,
            )

        if self.in_force is not None or self.withdrawn:
            refused(InvalidTransition, act)
        else:
            act()
            self.decisions += 1
            self.in_force = self.decisions
            self.fee = Decimal(fee) if fee is not None else None
        self._collect()

    @rule()
    def withdraw(self) -> None:
        def act() -> None:
            self.case.withdraw(actor=APPLICANT, at=self.now)

        if self.withdrawn:
            refused(InvalidTransition, act)
        else:
            act()
            self.withdrawn = True
        self._collect()

    # ------------------------------------------------------------------ invariants

    @invariant()
    def documents_are_numbered_one_to_n_in_order(self) -> None:
        documents = self.case.issued_documents
        assert [d.number for d in documents] == list(range(1, len(documents) + 1))
        assert [(d.kind, d.refers_to) for d in documents] == [
            (m.kind, m.refers_to) for m in self.documents
        ]

    @invariant()
    def at_most_one_sending_is_open_and_it_is_the_latest(self) -> None:
        for document in self.case.issued_documents:
            open_ones = [i for i, d in enumerate(document.dispatches) if d.open]
            assert open_ones in ([], [len(document.dispatches) - 1])

    @invariant()
    def the_dispatches_are_the_models(self) -> None:
        for document, model in zip(self.case.issued_documents, self.documents, strict=True):
            assert [
                (d.channel, d.sent_on, d.outcome, d.outcome_on) for d in document.dispatches
            ] == [(m.channel, m.sent_on, m.outcome, m.outcome_on) for m in model.sendings]
            assert document.delivered == any(
                m.outcome is COMPLETING[m.channel] for m in model.sendings
            )

    @invariant()
    def dispatches_only_grow(self) -> None:
        now = self.case.issued_documents
        assert len(now) >= len(self.seen)
        for before, after in zip(self.seen, now, strict=False):
            assert before.sha256 == after.sha256
            assert before.issued_at == after.issued_at
            count = len(before.dispatches)
            assert len(after.dispatches) >= count
            if count:
                # Sent ones stay; only the latest of before may have had its outcome since.
                assert after.dispatches[: count - 1] == before.dispatches[: count - 1]
                was, is_ = before.dispatches[-1], after.dispatches[count - 1]
                assert (was.channel, was.sent_on, was.reference) == (
                    is_.channel,
                    is_.sent_on,
                    is_.reference,
                )
                assert was == is_ or (was.open and is_.outcome is not None)
        self.seen = now

    @invariant()
    def the_bekanntgabe_is_the_first_completed_delivery_of_the_decision_in_force(self) -> None:
        assert self.case.notified_on == self.expected_notified
        if self.withdrawn:
            assert self.case.status == CaseStatus.WITHDRAWN
        else:
            assert (self.case.status == CaseStatus.NOTIFIED) == (self.expected_notified is not None)

    @invariant()
    def a_kassenzeichen_iff_the_decision_set_out_has_a_fee(self) -> None:
        for document in self.case.issued_documents:
            assert document.refers_to is not None
            costs = self.case.decisions[document.refers_to - 1].costs
            assessed = costs is not None and costs.amount > 0
            assert (document.cash_reference is not None) == assessed
            if document.cash_reference is not None:
                assert luhn_is_right(document.cash_reference)
                charged = self.case.charges_of_decision(document.refers_to)
                if charged:  # the Kassenzeichen the decision's fee was charged under
                    assert document.cash_reference == charged[0].kassenzeichen
                else:
                    sequence = 50 + (document.number - 1) % 49 + 1
                    assert document.cash_reference.split("-")[3] == f"{sequence:02d}"

    @invariant()
    def replaying_the_events_gives_the_same_documents_and_bekanntgabe(self) -> None:
        replayed = self._replayed()
        assert replayed.version == self.case.version
        assert replayed.issued_documents == self.case.issued_documents
        assert replayed.notified_on == self.case.notified_on

    # ------------------------------------------------------------------ helpers

    def _today(self) -> date:
        return berlin_date(self.now)

    def _model(self, number: int) -> DocumentModel | None:
        return self.documents[number - 1] if 1 <= number <= len(self.documents) else None

    def _collect(self) -> None:
        self.events.extend(self.case.collect_events())
        if self.notified_by_delivery is not None:
            # The Bekanntgabe a delivery sets is the law's, recorded by the system, not a clerk.
            notified = self.events[-1]
            assert isinstance(notified, Case.Notified)
            assert notified.actor.id == SCHEDULER_ID
            assert notified.delivery == self.notified_by_delivery.value
            self.notified_by_delivery = None

    def _replayed(self) -> Case:
        replayed: Any = None
        for recorded in self.events:
            replayed = recorded.mutate(replayed)
        assert isinstance(replayed, Case)
        return replayed


DocumentDeliveryMachine.TestCase.settings = settings(
    SETTINGS, max_examples=60, stateful_step_count=25
)
TestDocumentDelivery = DocumentDeliveryMachine.TestCase
