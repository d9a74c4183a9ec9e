"""Webhook delivery with a fake clock, feed and receiver: order, retries, dead letters, crashes.

Every test decides by what the receiver was sent and what the subscription recorded; time
moves only when the test moves the clock.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from standardwebhooks.webhooks import Webhook

from application.clock import FixedClock
from application.store import VorgangStore
from application.webhooks import (
    DeliveryState,
    FeedEvent,
    RetrySchedule,
    SubscriptionNotFound,
    SubscriptionService,
    UnsafeUrl,
    WebhookDelivery,
    WebhookRequest,
    WebhookResponse,
)
from domain.actor import Actor, Role, Scope
from domain.errors import InvalidCommand, InvalidTransition
from domain.webhooks import SECRET_SUBJECT, Subscription, SubscriptionFilter

ARCHIVE = Actor(
    "archiv",
    "archiv",
    Role.INTEGRATOR,
    "usingen",
    scopes=frozenset({Scope.WEBHOOKS_MANAGE, Scope.FEED_READ}),
)
OTHER = Actor(
    "statistik", "statistik", Role.INTEGRATOR, "usingen", scopes=frozenset({Scope.WEBHOOKS_MANAGE})
)
ADMIN = Actor("admin.usi", "Admin", Role.ADMIN, "usingen")
SCHEDULE = RetrySchedule(delays=(5.0, 300.0, 1800.0), jitter=0.2, timeout=15.0)
URL = "https://receiver.example/hooks"


@dataclass
class Row:
    sequence: int
    tenant: str
    service: str
    type: str

    def event(self, personal: bool) -> FeedEvent:
        data = {"case_id": f"case-{self.sequence}"}
        if personal:
            data["personal"] = {"applicant": {"name": "Erika"}}
        body = {"id": f"evt-{self.sequence}", "type": self.type, "sequence": self.sequence}
        return FeedEvent(
            self.sequence,
            f"evt-{self.sequence}",
            self.type,
            json.dumps({**body, "data": data}).encode(),
        )


@dataclass
class FakeFeed:
    rows: list[Row] = field(default_factory=list)

    def publish(self, tenant: str = "usingen", service: str = "road-opening") -> int:
        sequence = (self.rows[-1].sequence if self.rows else 0) + 3  # gaps are normal
        self.rows.append(Row(sequence, tenant, service, "de.vorgang.case.submitted.v1"))
        return sequence

    def after(
        self, filter: SubscriptionFilter, after: int, limit: int, *, personal: bool
    ) -> list[FeedEvent]:
        found = [
            r
            for r in self.rows
            if r.sequence > after and filter.matches(r.tenant, r.service, r.type)
        ]
        return [r.event(personal) for r in found[:limit]]

    def at(self, sequence: int, *, personal: bool) -> FeedEvent | None:
        return next((r.event(personal) for r in self.rows if r.sequence == sequence), None)

    def pending(self, filter: SubscriptionFilter, after: int) -> int:
        return len(self.after(filter, after, 10**6, personal=False))

    def head(self) -> int:
        return self.rows[-1].sequence if self.rows else 0


@dataclass
class FakeStates:
    kept: dict[UUID, DeliveryState] = field(default_factory=dict)
    fail_next_put: bool = False

    def get(self, subscription_id: UUID) -> DeliveryState | None:
        return self.kept.get(subscription_id)

    def put(self, state: DeliveryState) -> None:
        if self.fail_next_put:
            self.fail_next_put = False
            raise Crash("killed before the state was kept")
        self.kept[state.subscription_id] = state


class Crash(BaseException):
    """The process dies here (nothing after it runs)."""


@dataclass
class Receiver:
    """Answers by a script (default 204) and keeps what it was sent."""

    answers: list[WebhookResponse] = field(default_factory=list)
    received: list[WebhookRequest] = field(default_factory=list)
    crash_after_receiving: bool = False

    def send(self, request: WebhookRequest) -> WebhookResponse:
        self.received.append(request)
        if self.crash_after_receiving:
            self.crash_after_receiving = False
            raise Crash("killed while the receiver answered")
        return self.answers.pop(0) if self.answers else WebhookResponse(204)

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]


@dataclass
class FakeIndex:
    store: VorgangStore
    created: list[UUID] = field(default_factory=list)

    def ids(self, *, owner_tenant: str | None = None) -> list[UUID]:
        return list(self.created)


@dataclass
class FakeGuard:
    refused: set[str] = field(default_factory=set)

    def check(self, url: str) -> None:
        if url in self.refused:
            raise UnsafeUrl("resolves to 10.0.0.1, a private address")


@dataclass
class FakeKeys:
    destroyed: list[tuple[UUID, list[str]]] = field(default_factory=list)

    def subjects_of(self, case_id: UUID) -> list[str]:
        return [SECRET_SUBJECT]

    def destroy(self, case_id: UUID, subjects: Collection[str] | None = None) -> list[str]:
        self.destroyed.append((case_id, list(subjects or [])))
        return ["k1"]


@dataclass
class World:
    store: VorgangStore
    clock: FixedClock
    feed: FakeFeed
    states: FakeStates
    receiver: Receiver
    service: SubscriptionService
    index: FakeIndex
    guard: FakeGuard
    keys: FakeKeys

    def delivery(self, disable_after: int = 10) -> WebhookDelivery:
        """A worker (a new one after a crash: nothing survives but the store and states)."""
        return WebhookDelivery(
            self.store,
            self.clock,
            feed=self.feed,
            states=self.states,
            sender=self.receiver,
            schedule=SCHEDULE,
            disable_after=disable_after,
            uniform=lambda: 0.5,  # the middle of the jitter: the step's own delay
        )

    def subscribe(self, actor: Actor = ARCHIVE, **options: object) -> tuple[UUID, str]:
        created = self.service.subscribe(
            actor,
            url=str(options.pop("url", URL)),
            filter=options.pop("filter", SubscriptionFilter(("usingen",))),  # type: ignore[arg-type]
            **options,  # type: ignore[arg-type]
        )
        self.index.created.append(created.subscription.id)
        return created.subscription.id, created.secret

    def subscription(self, subscription_id: UUID) -> Subscription:
        found = self.store.repository.get(subscription_id)
        assert isinstance(found, Subscription)
        return found


@pytest.fixture
def world(store: VorgangStore) -> World:
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))  # signatures check the time
    feed, states, receiver = FakeFeed(), FakeStates(), Receiver()
    index, guard, keys = FakeIndex(store), FakeGuard(), FakeKeys()
    service = SubscriptionService(
        store, clock, feed=feed, states=states, index=index, guard=guard, keys=keys
    )
    return World(store, clock, feed, states, receiver, service, index, guard, keys)


def test_events_are_posted_in_sequence_order_signed_with_the_secret_shown_once(
    world: World,
) -> None:
    world.feed.publish()
    subscription_id, secret = world.subscribe(after=0)
    first, second = world.feed.publish(), world.feed.publish(tenant="schmitten")
    third = world.feed.publish()

    outcome = world.delivery().deliver(subscription_id)

    assert outcome.delivered == 3
    assert world.receiver.ids() == ["evt-3", f"evt-{first}", f"evt-{third}"]
    assert second not in [json.loads(r.body)["sequence"] for r in world.receiver.received]
    for request in world.receiver.received:
        assert request.headers["content-type"] == "application/cloudevents+json"
        assert request.timeout == 15.0
        Webhook(secret).verify(request.body, request.headers)  # raises if it does not verify
    assert secret.startswith("whsec_")
    assert secret not in repr(world.service.get(ARCHIVE, subscription_id))
    assert world.states.kept[subscription_id].cursor == third


def test_a_subscription_starts_after_the_head_unless_told_where(world: World) -> None:
    world.feed.publish()
    subscription_id, _ = world.subscribe()
    later = world.feed.publish()

    world.delivery().deliver(subscription_id)

    assert world.receiver.ids() == [f"evt-{later}"]


def test_a_failed_event_waits_for_its_retry_and_holds_the_later_ones_back(world: World) -> None:
    subscription_id, secret = world.subscribe(after=0)
    first, second = world.feed.publish(), world.feed.publish()
    world.receiver.answers = [WebhookResponse(500)]
    delivery = world.delivery()

    waiting = delivery.deliver(subscription_id)
    assert waiting.next_at == world.clock.now() + timedelta(seconds=5)
    assert delivery.deliver(subscription_id).delivered == 0  # not before its time
    assert world.receiver.ids() == [f"evt-{first}"]

    world.clock.advance(timedelta(seconds=5))
    assert delivery.deliver(subscription_id).delivered == 2

    assert world.receiver.ids() == [f"evt-{first}", f"evt-{first}", f"evt-{second}"]
    retry = world.receiver.received[1]
    assert (
        retry.headers["webhook-timestamp"]
        != world.receiver.received[0].headers["webhook-timestamp"]
    )  # signed anew at each attempt, under the same id
    Webhook(secret).verify(retry.body, retry.headers)


def test_the_jitter_spreads_a_retry_within_its_fraction(world: World) -> None:
    assert SCHEDULE.delay(2, retry_after=None, uniform=lambda: 0.0) == pytest.approx(240.0)
    assert SCHEDULE.delay(2, retry_after=None, uniform=lambda: 0.999999) == pytest.approx(360.0)
    assert SCHEDULE.delay(4, retry_after=None, uniform=lambda: 0.5) is None  # exhausted


def test_retry_after_is_honoured_on_429_and_503_but_not_on_500(world: World) -> None:
    subscription_id, _ = world.subscribe(after=0)
    world.feed.publish()
    world.receiver.answers = [
        WebhookResponse(429, retry_after=42.0),
        WebhookResponse(500, retry_after=999.0),
        WebhookResponse(503, retry_after=7.0),
    ]
    delivery = world.delivery()

    start = world.clock.now()
    assert delivery.deliver(subscription_id).next_at == start + timedelta(seconds=42)
    world.clock.advance(timedelta(seconds=42))
    assert delivery.deliver(subscription_id).next_at == world.clock.now() + timedelta(seconds=300)
    world.clock.advance(timedelta(seconds=300))
    assert delivery.deliver(subscription_id).next_at == world.clock.now() + timedelta(seconds=7)


def test_an_event_that_fails_every_retry_is_a_dead_letter_and_delivery_moves_on(
    world: World,
) -> None:
    subscription_id, _ = world.subscribe(after=0)
    doomed, after = world.feed.publish(), world.feed.publish()
    world.receiver.answers = [WebhookResponse(500)] * 3 + [WebhookResponse(302)]  # 4 attempts
    delivery = world.delivery()

    delivery.deliver(subscription_id)
    for delay in SCHEDULE.delays:
        world.clock.advance(timedelta(seconds=delay))
        delivery.deliver(subscription_id)

    assert world.receiver.ids() == [f"evt-{doomed}"] * 4 + [f"evt-{after}"]
    [letter] = world.service.dead_letters(ARCHIVE, subscription_id)
    assert (letter.sequence, letter.event_id, letter.attempts) == (doomed, f"evt-{doomed}", 4)
    assert letter.last_error == "HTTP 302"  # a redirect is not followed: it failed
    assert world.states.kept[subscription_id].cursor == after


def test_410_gone_disables_the_subscription_and_enabling_resumes_at_the_same_event(
    world: World,
) -> None:
    subscription_id, _ = world.subscribe(after=0)
    gone, later = world.feed.publish(), world.feed.publish()
    world.receiver.answers = [WebhookResponse(410)]
    delivery = world.delivery()

    assert delivery.deliver(subscription_id).stopped
    assert delivery.deliver(subscription_id).stopped
    assert world.subscription(subscription_id).status.value == "disabled"
    assert world.receiver.ids() == [f"evt-{gone}"]

    world.service.enable(ADMIN, subscription_id, reason="Empfänger wieder erreichbar")
    delivery.deliver(subscription_id)

    assert world.receiver.ids() == [f"evt-{gone}", f"evt-{gone}", f"evt-{later}"]


def test_too_many_dead_letters_in_a_row_disable_a_failing_subscription(world: World) -> None:
    subscription_id, _ = world.subscribe(after=0)
    for _ in range(3):
        world.feed.publish()
    world.receiver.answers = [WebhookResponse(None, error="connection refused")] * 100
    delivery = world.delivery(disable_after=2)

    for _ in range(12):
        delivery.deliver(subscription_id)
        world.clock.advance(timedelta(hours=1))

    subscription = world.subscription(subscription_id)
    assert subscription.status.value == "disabled"
    assert subscription.disabled_reason == "failing"
    assert len(subscription.dead_letters) == 2


def test_a_worker_killed_after_the_receiver_got_an_event_repeats_it_under_the_same_id(
    world: World,
) -> None:
    subscription_id, _ = world.subscribe(after=0)
    first, second = world.feed.publish(), world.feed.publish()
    world.receiver.crash_after_receiving = True

    with pytest.raises(Crash):
        world.delivery().deliver(subscription_id)
    world.delivery().deliver(subscription_id)  # a new worker: only the states survived

    ids = world.receiver.ids()
    assert ids == [f"evt-{first}", f"evt-{first}", f"evt-{second}"]
    assert list(dict.fromkeys(ids)) == [f"evt-{first}", f"evt-{second}"]  # once after dedupe


def test_a_worker_killed_between_the_dead_letter_and_the_cursor_records_it_once(
    world: World,
) -> None:
    subscription_id, _ = world.subscribe(after=0)
    doomed, after = world.feed.publish(), world.feed.publish()
    world.receiver.answers = [WebhookResponse(500)] * 4
    delivery = world.delivery()
    delivery.deliver(subscription_id)
    for delay in SCHEDULE.delays[:-1]:
        world.clock.advance(timedelta(seconds=delay))
        delivery.deliver(subscription_id)
    world.clock.advance(timedelta(seconds=SCHEDULE.delays[-1]))
    world.states.fail_next_put = True  # the last failure: dead letter saved, cursor not kept

    with pytest.raises(Crash):
        delivery.deliver(subscription_id)
    world.receiver.answers = [WebhookResponse(500)]  # the restarted worker tries once more
    world.delivery().deliver(subscription_id)

    dead = [
        e for e in world.store.events.get(subscription_id) if type(e).__name__ == "DeadLettered"
    ]
    assert [e.sequence for e in dead] == [doomed]
    assert world.receiver.ids()[-1] == f"evt-{after}"
    assert world.states.kept[subscription_id].cursor == after


def test_a_dead_letter_is_redelivered_on_request_beside_the_cursor(world: World) -> None:
    subscription_id, _ = world.subscribe(after=0)
    doomed = world.feed.publish()
    world.receiver.answers = [WebhookResponse(500)] * 4
    delivery = world.delivery()
    delivery.deliver(subscription_id)
    for delay in SCHEDULE.delays:
        world.clock.advance(timedelta(seconds=delay))
        delivery.deliver(subscription_id)
    later = world.feed.publish()

    letter = world.service.redeliver(ADMIN, subscription_id, doomed, reason="Empfänger repariert")
    assert letter.redelivery_requested
    delivery.deliver(subscription_id)

    assert world.receiver.ids()[-2:] == [f"evt-{doomed}", f"evt-{later}"]
    assert world.service.dead_letters(ARCHIVE, subscription_id) == []
    types = [type(e).__name__ for e in world.store.events.get(subscription_id)]
    assert types[-2:] == ["RedeliveryRequested", "Redelivered"]


def test_a_redelivery_that_fails_again_goes_back_to_the_dead_letters(world: World) -> None:
    subscription_id, _ = world.subscribe(after=0)
    doomed = world.feed.publish()
    world.receiver.answers = [WebhookResponse(500)] * 8
    delivery = world.delivery()
    delivery.deliver(subscription_id)
    for delay in SCHEDULE.delays:
        world.clock.advance(timedelta(seconds=delay))
        delivery.deliver(subscription_id)
    world.service.redeliver(ARCHIVE, subscription_id, doomed, reason="noch einmal")

    delivery.deliver(subscription_id)
    for delay in SCHEDULE.delays:
        world.clock.advance(timedelta(seconds=delay))
        delivery.deliver(subscription_id)

    [letter] = world.service.dead_letters(ARCHIVE, subscription_id)
    assert not letter.redelivery_requested
    assert world.receiver.ids() == [f"evt-{doomed}"] * 8


def test_the_status_shows_cursor_lag_last_error_and_next_attempt(world: World) -> None:
    subscription_id, _ = world.subscribe(after=0)
    first = world.feed.publish()
    world.feed.publish()
    world.receiver.answers = [WebhookResponse(None, error="timed out after 15 s")]
    world.delivery().deliver(subscription_id)

    status = world.service.status(ARCHIVE, subscription_id)

    assert (status.cursor, status.lag, status.attempts) == (0, 2, 1)
    assert status.last_error == "timed out after 15 s"
    assert status.next_attempt_at == world.clock.now() + timedelta(seconds=5)
    assert status.head == first + 3


def test_personal_data_goes_only_to_a_subscription_whose_owner_holds_the_grant(
    world: World,
) -> None:
    with pytest.raises(InvalidCommand) as refused:
        world.subscribe(personal_data=True)
    assert refused.value.field == "personal_data"

    granted = Actor(
        "archiv",
        "archiv",
        Role.INTEGRATOR,
        "usingen",
        scopes=frozenset({Scope.WEBHOOKS_MANAGE, Scope.PERSONAL_DATA}),
    )
    subscription_id, _ = world.subscribe(granted, personal_data=True, after=0)
    world.feed.publish()
    world.delivery().deliver(subscription_id)

    assert "personal" in json.loads(world.receiver.received[0].body)["data"]


def test_subscribing_is_refused_for_a_guarded_url_another_town_and_without_the_scope(
    world: World,
) -> None:
    world.guard.refused.add("https://intern.example/")
    with pytest.raises(InvalidCommand) as refused:
        world.subscribe(url="https://intern.example/")
    assert refused.value.field == "url"
    with pytest.raises(InvalidCommand) as refused:
        world.subscribe(filter=SubscriptionFilter(("schmitten",)))
    assert refused.value.field == "tenants"
    without = Actor("x", "x", Role.INTEGRATOR, "usingen", scopes=frozenset({Scope.FEED_READ}))
    with pytest.raises(InvalidCommand) as refused:
        world.subscribe(without)
    assert refused.value.field == "scope"
    with pytest.raises(InvalidCommand) as refused:
        world.subscribe(secret="whsec_c2hvcnQ=")
    assert refused.value.field == "secret"


def test_the_owner_and_the_towns_admins_see_a_subscription_other_accounts_do_not(
    world: World,
) -> None:
    subscription_id, _ = world.subscribe()
    theirs, _ = world.subscribe(OTHER)

    assert [s.id for s in world.service.subscriptions(ARCHIVE)] == [subscription_id]
    assert {s.id for s in world.service.subscriptions(ADMIN)} == {subscription_id, theirs}
    with pytest.raises(SubscriptionNotFound):
        world.service.get(OTHER, subscription_id)
    foreign_admin = Actor("admin.sch", "Admin", Role.ADMIN, "schmitten")
    with pytest.raises(SubscriptionNotFound):
        world.service.dead_letters(foreign_admin, subscription_id)


def test_deleting_destroys_the_secrets_key_and_stops_delivery(world: World) -> None:
    subscription_id, _ = world.subscribe(after=0)
    world.service.delete(ARCHIVE, subscription_id, reason="Schnittstelle abgelöst")
    world.feed.publish()

    assert world.delivery().deliver(subscription_id).stopped
    assert world.receiver.received == []
    assert world.keys.destroyed == [(subscription_id, [SECRET_SUBJECT])]
    with pytest.raises(SubscriptionNotFound):
        world.service.get(ARCHIVE, subscription_id)
    with pytest.raises(InvalidTransition):
        world.subscription(subscription_id).delete(actor=ARCHIVE, at=world.clock.now(), reason="x")


def test_the_cursor_passes_events_of_other_towns_so_the_worker_need_not_look_again(
    world: World,
) -> None:
    subscription_id, _ = world.subscribe(after=0)
    mine = world.feed.publish()
    world.delivery().deliver(subscription_id)
    foreign = world.feed.publish(tenant="schmitten")

    world.delivery().deliver(subscription_id)

    assert world.receiver.ids() == [f"evt-{mine}"]
    assert world.states.kept[subscription_id].cursor == foreign
    assert world.service.status(ARCHIVE, subscription_id).lag == 0


def test_a_disabled_subscription_is_not_called_even_for_a_redelivery_until_enabled(
    world: World,
) -> None:
    subscription_id, _ = world.subscribe(after=0)
    doomed = world.feed.publish()
    world.receiver.answers = [WebhookResponse(500)] * 4 + [WebhookResponse(410)]
    delivery = world.delivery()
    delivery.deliver(subscription_id)
    for delay in SCHEDULE.delays:
        world.clock.advance(timedelta(seconds=delay))
        delivery.deliver(subscription_id)
    world.feed.publish()
    delivery.deliver(subscription_id)  # 410: disabled
    world.service.redeliver(ADMIN, subscription_id, doomed, reason="noch einmal")

    assert delivery.deliver(subscription_id).stopped
    assert len(world.receiver.received) == 5

    world.service.enable(ADMIN, subscription_id, reason="wieder da")
    delivery.deliver(subscription_id)
    assert world.service.dead_letters(ARCHIVE, subscription_id) == []


def test_a_subscription_cannot_start_after_a_sequence_never_published(world: World) -> None:
    head = world.feed.publish()
    with pytest.raises(InvalidCommand) as refused:
        world.subscribe(after=head + 1)
    assert refused.value.field == "after"
