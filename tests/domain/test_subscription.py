"""The webhook subscription: who may subscribe to what, and its lifecycle as events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain.actor import Actor, Role, Scope
from domain.errors import InvalidCommand, InvalidTransition
from domain.personal_data import PersonalData
from domain.webhooks import (
    SECRET_SUBJECT,
    DisableReason,
    Subscription,
    SubscriptionFilter,
    SubscriptionStatus,
    check_secret,
    check_url,
)

AT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OWNER = Actor(
    "archiv", "archiv", Role.INTEGRATOR, "usingen", scopes=frozenset({Scope.WEBHOOKS_MANAGE})
)
ADMIN = Actor("admin.usi", "Admin", Role.ADMIN, "usingen")
FOREIGN_ADMIN = Actor("admin.sch", "Admin", Role.ADMIN, "schmitten")
STRANGER = Actor("statistik", "statistik", Role.INTEGRATOR, "usingen")


def subscribed(actor: Actor = OWNER, **changes: Any) -> Subscription:
    options: dict[str, Any] = {
        "id": uuid4(),
        "actor": actor,
        "at": AT,
        "url": "https://archiv.example/hooks",
        "filter": SubscriptionFilter(("usingen",), ("road-opening",)),
        "personal_data": False,
        "secret": SECRET,
        "starts_after": 0,
    }
    return Subscription.subscribe(**{**options, **changes})


def replayed(subscription: Subscription) -> Subscription:
    """The aggregate as its stored events give it back."""
    events = subscription.collect_events()
    copy: Any = None
    for stored in events:
        copy = stored.mutate(copy)
    assert isinstance(copy, Subscription)
    return copy


def test_the_secret_is_sealed_under_the_subscriptions_own_key() -> None:
    subscription = subscribed()
    [created] = subscription.pending_events
    secret = created.secret  # type: ignore[attr-defined]
    assert isinstance(secret, PersonalData)
    assert (secret.case_id, secret.subject) == (subscription.id, SECRET_SUBJECT)
    assert SECRET not in repr(created)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://archiv.example/",
        "archiv.example/hooks",
        "https://user:pw@archiv.example/",
        "https://archiv.example/#frag",
        "https://archiv.example:0/",
        "https://" + "a" * 2000 + ".example/",
        "https://[::1/",
    ],
)
def test_a_url_that_cannot_be_posted_to_is_refused_naming_the_field(url: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        check_url(url)
    assert refused.value.field == "url"


@pytest.mark.parametrize(
    "secret",
    ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2hvcnQ=", "whsec_!!!", "whsec_" + "A" * 120],
)
def test_a_secret_outside_the_specification_is_refused(secret: str) -> None:
    with pytest.raises(InvalidCommand) as refused:
        check_secret(secret)
    assert refused.value.field == "secret"


def test_only_a_service_account_subscribes_and_only_to_towns_it_acts_for() -> None:
    with pytest.raises(InvalidCommand):
        subscribed(ADMIN)
    with pytest.raises(InvalidCommand) as refused:
        subscribed(filter=SubscriptionFilter(("usingen", "schmitten")))
    assert refused.value.field == "tenants"
    delegated = Actor("archiv", "archiv", Role.INTEGRATOR, "usingen", on_behalf_of="schmitten")
    both = subscribed(delegated, filter=SubscriptionFilter(("usingen", "schmitten")))
    assert both.filter.tenants == ("schmitten", "usingen")


def test_the_filter_matches_town_service_and_type() -> None:
    f = SubscriptionFilter(("usingen",), ("road-opening",), ("de.vorgang.case.decided.v1",))
    assert f.matches("usingen", "road-opening", "de.vorgang.case.decided.v1")
    assert not f.matches("schmitten", "road-opening", "de.vorgang.case.decided.v1")
    assert not f.matches("usingen", "burial", "de.vorgang.case.decided.v1")
    assert not f.matches("usingen", "road-opening", "de.vorgang.case.notified.v1")
    assert SubscriptionFilter(("usingen",)).matches("usingen", "burial", "anything")


def test_the_owner_and_the_towns_admins_manage_it_nobody_else() -> None:
    subscription = subscribed()
    assert subscription.may_be_managed_by(OWNER)
    assert subscription.may_be_managed_by(ADMIN)
    assert not subscription.may_be_managed_by(FOREIGN_ADMIN)
    assert not subscription.may_be_managed_by(STRANGER)
    with pytest.raises(InvalidCommand):
        subscription.delete(actor=STRANGER, at=AT, reason="weg")


def test_every_change_names_who_when_and_why() -> None:
    subscription = subscribed()
    subscription.disable(at=AT, reason=DisableReason.GONE, detail="410")
    subscription.enable(actor=ADMIN, at=AT + timedelta(hours=1), reason="wieder da")
    subscription.record_dead_letter(
        at=AT, sequence=7, event_id="e7", type="t", attempts=8, last_error="HTTP 500"
    )
    subscription.request_redelivery(7, actor=OWNER, at=AT, reason="repariert")
    subscription.record_redelivered(7, at=AT)
    subscription.delete(actor=OWNER, at=AT, reason="abgelöst")
    for stored in subscription.collect_events():
        assert stored.actor.id  # type: ignore[attr-defined]
        assert stored.at.tzinfo is not None  # type: ignore[attr-defined]
    assert subscription.status is SubscriptionStatus.DELETED


def test_a_dead_letter_is_recorded_once_unless_its_redelivery_failed() -> None:
    subscription = subscribed()
    letter = {"at": AT, "sequence": 7, "event_id": "e7", "type": "t", "attempts": 8}
    assert subscription.record_dead_letter(**letter, last_error="HTTP 500")
    assert not subscription.record_dead_letter(**letter, last_error="HTTP 500")
    subscription.request_redelivery(7, actor=ADMIN, at=AT, reason="noch einmal")
    with pytest.raises(InvalidCommand):
        subscription.request_redelivery(7, actor=ADMIN, at=AT, reason="noch einmal")
    assert subscription.record_dead_letter(**letter, last_error="HTTP 503")
    assert not subscription.dead_letters[7].redelivery_requested
    with pytest.raises(InvalidCommand) as refused:
        subscription.request_redelivery(8, actor=ADMIN, at=AT, reason="x")
    assert refused.value.field == "sequence"


def test_a_deleted_subscription_changes_no_more() -> None:
    subscription = subscribed()
    subscription.delete(actor=ADMIN, at=AT, reason="weg")
    with pytest.raises(InvalidTransition):
        subscription.enable(actor=ADMIN, at=AT, reason="x")
    with pytest.raises(InvalidTransition):
        subscription.disable(at=AT, reason=DisableReason.FAILING, detail="x")
    with pytest.raises(InvalidTransition):
        subscription.record_dead_letter(
            at=AT, sequence=1, event_id="e", type="t", attempts=1, last_error="x"
        )


class SubscriptionLifecycle(RuleBasedStateMachine):
    """Any sequence of commands keeps the invariants, and the events replay to the same state."""

    def __init__(self) -> None:
        super().__init__()
        self.subscription = subscribed()
        self.stored: list[Any] = list(self.subscription.collect_events())
        self.dead: set[int] = set()
        self.requested: set[int] = set()

    def _collect(self) -> None:
        self.stored += self.subscription.collect_events()

    @rule(who=st.sampled_from([OWNER, ADMIN]))
    def delete(self, who: Actor) -> None:
        try:
            self.subscription.delete(actor=who, at=AT, reason="weg")
        except InvalidTransition:
            assert self.subscription.status is SubscriptionStatus.DELETED
        self._collect()

    @rule(reason=st.sampled_from(list(DisableReason)))
    def disable(self, reason: DisableReason) -> None:
        before = self.subscription.status
        try:
            self.subscription.disable(at=AT, reason=reason, detail="x")
        except InvalidTransition:
            assert before is not SubscriptionStatus.ACTIVE
        self._collect()

    @rule()
    def enable(self) -> None:
        before = self.subscription.status
        try:
            self.subscription.enable(actor=ADMIN, at=AT, reason="wieder")
        except InvalidTransition:
            assert before is not SubscriptionStatus.DISABLED
        self._collect()

    @precondition(lambda self: self.subscription.status is not SubscriptionStatus.DELETED)
    @rule(sequence=st.integers(1, 6))
    def dead_letter(self, sequence: int) -> None:
        recorded = self.subscription.record_dead_letter(
            at=AT, sequence=sequence, event_id=f"e{sequence}", type="t", attempts=8, last_error="x"
        )
        assert recorded == (sequence not in self.dead or sequence in self.requested)
        self.dead.add(sequence)
        self.requested.discard(sequence)
        self._collect()

    @precondition(lambda self: self.subscription.status is not SubscriptionStatus.DELETED)
    @rule(sequence=st.integers(1, 6))
    def request_redelivery(self, sequence: int) -> None:
        try:
            self.subscription.request_redelivery(sequence, actor=OWNER, at=AT, reason="nochmal")
            self.requested.add(sequence)
        except InvalidCommand:
            assert sequence not in self.dead or sequence in self.requested
        self._collect()

    @rule(sequence=st.integers(1, 6))
    def redelivered(self, sequence: int) -> None:
        done = self.subscription.record_redelivered(sequence, at=AT)
        assert done == (sequence in self.requested)
        if done:
            self.dead.discard(sequence)
            self.requested.discard(sequence)
        self._collect()

    @invariant()
    def dead_letters_are_what_was_recorded(self) -> None:
        assert set(self.subscription.dead_letters) == self.dead
        assert {d.sequence for d in self.subscription.pending_redeliveries} == self.requested

    @invariant()
    def replay_gives_the_same_state(self) -> None:
        copy: Any = None
        for stored in self.stored:
            copy = stored.mutate(copy)
        assert copy.status is self.subscription.status
        assert copy.dead_letters == self.subscription.dead_letters
        assert copy.version == self.subscription.version


TestSubscriptionLifecycle = SubscriptionLifecycle.TestCase
TestSubscriptionLifecycle.settings = settings(
    max_examples=60, stateful_step_count=25, deadline=None
)


def test_replay_keeps_url_filter_and_owner() -> None:
    subscription = subscribed(starts_after=42)
    copy = replayed(subscription)
    assert (copy.url, copy.filter, copy.owner, copy.starts_after) == (
        subscription.url,
        subscription.filter,
        "archiv",
        42,
    )
    assert isinstance(copy.id, UUID)
