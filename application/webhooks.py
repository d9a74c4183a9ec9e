"""Webhook subscriptions and their delivery, per the Standard Webhooks specification.

``SubscriptionService`` is what people and service accounts do: subscribe (the secret is
shown once), read, delete, enable, read the status and the dead letters, ask for a dead
letter's redelivery. ``WebhookDelivery`` is what the worker does for one subscription: post
the feed's events after the subscription's cursor, in sequence order, each signed
(``webhook-id`` the event id, stable across retries, so a receiver dedupes by it); a failed
attempt waits for the next step of the retry schedule (with jitter, or the receiver's
``Retry-After`` on 429 and 503); 410 Gone disables the subscription; an event that failed
every step goes to the dead letters and delivery moves on. The cursor moves only after the
receiver answered 2xx, so a crash repeats at most the attempt in flight, with the same id.

The ports (the feed, the delivery state, the sender, the URL guard, the index of
subscriptions) belong here; infrastructure fills them (``infrastructure/webhook_delivery.py``).
"""

from __future__ import annotations

import base64
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from standardwebhooks.webhooks import Webhook

from application.clock import Clock
from application.errors import ApplicationError, ConcurrentUpdate
from application.privacy import KeyDestroyer
from application.retries import ATTEMPTS, decided_and_saved, pause
from application.store import VorgangStore
from domain.actor import Actor, Role, Scope
from domain.errors import InvalidCommand
from domain.webhooks import (
    SECRET_PREFIX,
    SECRET_SUBJECT,
    DeadLetter,
    DisableReason,
    Subscription,
    SubscriptionFilter,
    SubscriptionStatus,
)

CONTENT_TYPE = "application/cloudevents+json"  # structured mode: the body is the CloudEvent
USER_AGENT = "Vorgang-Webhooks/1"
MAX_RETRY_AFTER = 24 * 3600.0  # a receiver's Retry-After is honoured up to a day

Outcome = Literal["delivered", "dead", "waiting", "gone"]  # what one attempt came to


class SubscriptionNotFound(ApplicationError):
    """No such subscription, or none the actor may see (indistinguishable on purpose)."""

    def __init__(self, subscription_id: UUID) -> None:
        super().__init__(f"subscription {subscription_id} not found")
        self.subscription_id = subscription_id


class UnsafeUrl(Exception):
    """The URL resolves to an address webhooks may not reach (the SSRF guard)."""


# ----------------------------------------------------------------------------- ports


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """One event of the feed as a webhook carries it: the CloudEvent's JSON bytes."""

    sequence: int
    id: str
    type: str
    body: bytes


class FeedEvents(Protocol):
    """The feed view, read in sequence order (never the event log)."""

    def after(
        self, filter: SubscriptionFilter, after: int, limit: int, *, personal: bool
    ) -> list[FeedEvent]:
        """Up to ``limit`` events of the filter with a sequence greater than ``after``."""
        ...

    def at(self, sequence: int, *, personal: bool) -> FeedEvent | None:
        """The event at ``sequence`` (a dead letter's), if the feed holds it."""
        ...

    def pending(self, filter: SubscriptionFilter, after: int) -> int:
        """How many events of the filter lie after ``after`` (the lag)."""
        ...

    def head(self) -> int:
        """The highest published sequence."""
        ...


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One attempt: POST ``body`` to ``url`` with ``headers``, answered within ``timeout``."""

    url: str
    headers: dict[str, str]
    body: bytes
    timeout: float


@dataclass(frozen=True, slots=True)
class WebhookResponse:
    """What came back: a status, or ``error`` when none did (timeout, refused, guard)."""

    status: int | None
    retry_after: float | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        """2xx only: a redirect is a failure (redirects are never followed)."""
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        """The failure in a few words (never a body: it may quote anything)."""
        if self.status is None:
            return self.error or "no answer"
        return f"HTTP {self.status}"


class Sender(Protocol):
    """Posts one attempt; never raises for what the receiver or the network did."""

    def send(self, request: WebhookRequest) -> WebhookResponse:
        """The receiver's answer, or the reason there was none."""
        ...


class UrlGuard(Protocol):
    """Refuses URLs that resolve to loopback, private, link-local or metadata addresses."""

    def check(self, url: str) -> None:
        """Return if the URL may be called now; ``UnsafeUrl`` naming why not."""
        ...


class SubscriptionIndex(Protocol):
    """The subscriptions that exist (not deleted), by the town of their owner."""

    def ids(self, *, owner_tenant: str | None = None) -> list[UUID]:
        """Their ids, oldest first (every town: None)."""
        ...


@dataclass(frozen=True, slots=True)
class Retry:
    """Where the retries of one event stand."""

    attempts: int = 0  # failed attempts so far
    next_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeliveryState:
    """Per subscription: the cursor (last sequence delivered or dead-lettered) and retries."""

    subscription_id: UUID
    cursor: int
    retry: Retry = Retry()
    last_status: int | None = None
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    last_delivered_at: datetime | None = None
    dead_in_a_row: int = 0
    redeliveries: dict[int, Retry] = field(default_factory=dict)


class DeliveryStates(Protocol):
    """The delivery state of each subscription, kept where the view database is."""

    def get(self, subscription_id: UUID) -> DeliveryState | None:
        """The state, or None before the first round."""
        ...

    def put(self, state: DeliveryState) -> None:
        """Keep the state (one short transaction; it must be durable when this returns)."""
        ...


# ----------------------------------------------------------------------------- schedule


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Seconds after each failed attempt before the next one; then the dead letters."""

    delays: tuple[float, ...]
    jitter: float = 0.2
    timeout: float = 15.0

    def __post_init__(self) -> None:
        if any(d < 0 for d in self.delays):
            raise ValueError("a retry delay is not negative")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction between 0 and 1")

    def delay(
        self, failed: int, *, retry_after: float | None, uniform: Callable[[], float]
    ) -> float | None:
        """Seconds to wait after the ``failed``-th failed attempt; None once exhausted.

        ``uniform`` gives a number in [0, 1): the jitter spreads receivers that failed
        together. A receiver's ``Retry-After`` replaces the step's delay (without jitter:
        it said when), capped at a day; it still counts as an attempt.
        """
        if failed > len(self.delays):
            return None
        if retry_after is not None:
            return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        base = self.delays[failed - 1]
        return base * (1 - self.jitter + 2 * self.jitter * uniform())


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_request(
    url: str, event: FeedEvent, secret: str, at: datetime, timeout: float
) -> WebhookRequest:
    """The attempt: the event's id as ``webhook-id``, signed with the timestamp of now."""
    signature = Webhook(secret).sign(msg_id=event.id, timestamp=at, data=event.body)
    headers = {
        "content-type": CONTENT_TYPE,
        "user-agent": USER_AGENT,
        "webhook-id": event.id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }
    return WebhookRequest(url=url, headers=headers, body=event.body, timeout=timeout)


# ----------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    """A subscription as its owner and the town's administrators read it (no secret)."""

    id: UUID
    url: str
    tenants: tuple[str, ...]
    services: tuple[str, ...]
    types: tuple[str, ...]
    owner: str
    owner_tenant: str
    personal_data: bool
    status: str
    disabled_reason: str | None
    created_at: datetime
    version: int
    dead_letters: int

    @classmethod
    def of(cls, subscription: Subscription) -> SubscriptionView:
        return cls(
            id=subscription.id,
            url=subscription.url,
            tenants=subscription.filter.tenants,
            services=subscription.filter.services,
            types=subscription.filter.types,
            owner=subscription.owner,
            owner_tenant=subscription.owner_tenant,
            personal_data=subscription.personal_data,
            status=subscription.status.value,
            disabled_reason=subscription.disabled_reason,
            created_at=subscription.created_at,
            version=subscription.version,
            dead_letters=len(subscription.dead_letters),
        )


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    """Where a subscription's delivery stands."""

    subscription: SubscriptionView
    cursor: int
    head: int
    lag: int  # events of its filter after the cursor
    attempts: int  # failed attempts of the event after the cursor
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    last_delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Created:
    """A new subscription and its secret, shown this once."""

    subscription: SubscriptionView
    secret: str


# ----------------------------------------------------------------------------- use cases


class SubscriptionService:
    """Subscribe, read, delete, enable; status and dead letters."""

    def __init__(
        self,
        store: VorgangStore,
        clock: Clock,
        *,
        feed: FeedEvents,
        states: DeliveryStates,
        index: SubscriptionIndex,
        guard: UrlGuard,
        keys: KeyDestroyer,  # destroys the secret's key on deletion
    ) -> None:
        self.store = store
        self.clock = clock
        self.feed = feed
        self.states = states
        self.index = index
        self.guard = guard
        self.keys = keys

    def subscribe(
        self,
        actor: Actor,
        *,
        url: str,
        filter: SubscriptionFilter,
        personal_data: bool = False,
        secret: str | None = None,
        after: int | None = None,
    ) -> Created:
        """A service account with ``webhooks:manage`` subscribes; the secret is shown once.

        Delivery starts after ``after`` (0: from the first event), by default after the
        feed's head now. The URL passes the SSRF guard now and again at every delivery.
        """
        self._check_manager(actor)
        try:
            self.guard.check(url)
        except UnsafeUrl as error:
            raise InvalidCommand("url", str(error)) from None
        if after is not None and after > self.feed.head():
            raise InvalidCommand("after", "lies beyond the last published sequence")
        chosen = secret if secret is not None else new_secret()
        subscription = Subscription.subscribe(
            id=uuid4(),
            actor=actor,
            at=self.clock.now(),
            url=url,
            filter=filter,
            personal_data=personal_data,
            secret=chosen,
            starts_after=self.feed.head() if after is None else after,
        )
        self.store.save(subscription)
        return Created(SubscriptionView.of(subscription), chosen)

    def get(self, actor: Actor, subscription_id: UUID) -> SubscriptionView:
        """One subscription the actor may manage."""
        return SubscriptionView.of(self._visible(actor, subscription_id))

    def subscriptions(self, actor: Actor) -> list[SubscriptionView]:
        """An integrator's own subscriptions; an administrator's: all of the town's."""
        self._check_manager(actor)
        found = []
        for subscription_id in self.index.ids(owner_tenant=actor.tenant):
            subscription = self._load(subscription_id)
            if (
                subscription is not None
                and subscription.may_be_managed_by(actor)
                and subscription.status is not SubscriptionStatus.DELETED
            ):
                found.append(SubscriptionView.of(subscription))
        return found

    def delete(self, actor: Actor, subscription_id: UUID, *, reason: str) -> SubscriptionView:
        """Unsubscribe; the secret's key is destroyed (the stored secret unreadable for good)."""

        def decide() -> tuple[Subscription, list[Subscription]]:
            subscription = self._visible(actor, subscription_id)
            subscription.delete(actor=actor, at=self.clock.now(), reason=reason)
            return subscription, [subscription]

        deleted = decided_and_saved(self.store, subscription_id, decide)
        self.keys.destroy(subscription_id, [SECRET_SUBJECT])
        return SubscriptionView.of(deleted)

    def enable(self, actor: Actor, subscription_id: UUID, *, reason: str) -> SubscriptionView:
        """Deliver again to a disabled subscription, from where it stopped."""

        def decide() -> tuple[Subscription, list[Subscription]]:
            subscription = self._visible(actor, subscription_id)
            subscription.enable(actor=actor, at=self.clock.now(), reason=reason)
            return subscription, [subscription]

        return SubscriptionView.of(decided_and_saved(self.store, subscription_id, decide))

    def status(self, actor: Actor, subscription_id: UUID) -> DeliveryStatus:
        """Cursor, lag, last error and next attempt."""
        subscription = self._visible(actor, subscription_id)
        state = self.states.get(subscription_id) or DeliveryState(
            subscription_id, subscription.starts_after
        )
        return DeliveryStatus(
            subscription=SubscriptionView.of(subscription),
            cursor=state.cursor,
            head=self.feed.head(),
            lag=self.feed.pending(subscription.filter, state.cursor),
            attempts=state.retry.attempts,
            next_attempt_at=state.retry.next_at,
            last_status=state.last_status,
            last_error=state.last_error,
            last_attempt_at=state.last_attempt_at,
            last_delivered_at=state.last_delivered_at,
        )

    def dead_letters(self, actor: Actor, subscription_id: UUID) -> list[DeadLetter]:
        """The events that exhausted their retries, in sequence order."""
        subscription = self._visible(actor, subscription_id)
        return sorted(subscription.dead_letters.values(), key=lambda d: d.sequence)

    def redeliver(
        self, actor: Actor, subscription_id: UUID, sequence: int, *, reason: str
    ) -> DeadLetter:
        """Ask for a dead letter to be delivered again (the worker does, beside the cursor)."""

        def decide() -> tuple[DeadLetter, list[Subscription]]:
            subscription = self._visible(actor, subscription_id)
            subscription.request_redelivery(
                sequence, actor=actor, at=self.clock.now(), reason=reason
            )
            return subscription.dead_letters[sequence], [subscription]

        return decided_and_saved(self.store, subscription_id, decide)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _check_manager(actor: Actor) -> None:
        if actor.acts_as(Role.ADMIN):
            return
        if actor.acts_as(Role.INTEGRATOR) and actor.holds(Scope.WEBHOOKS_MANAGE):
            return
        raise InvalidCommand("scope", "webhooks are managed with the scope webhooks:manage")

    def _load(self, subscription_id: UUID) -> Subscription | None:
        try:
            found: Any = self.store.repository.get(subscription_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, Subscription) else None

    def _visible(self, actor: Actor, subscription_id: UUID) -> Subscription:
        self._check_manager(actor)
        subscription = self._load(subscription_id)
        if (
            subscription is None
            or subscription.status is SubscriptionStatus.DELETED
            or not subscription.may_be_managed_by(actor)
        ):
            raise SubscriptionNotFound(subscription_id)
        return subscription


# ----------------------------------------------------------------------------- delivery


@dataclass(frozen=True, slots=True)
class DeliveryRound:
    """What one round did for a subscription, and when it wants the next one."""

    delivered: int = 0
    dead_lettered: int = 0
    next_at: datetime | None = None  # a retry waits until then
    more: bool = False  # stopped at the round's limit: more events are waiting
    stopped: bool = False  # deleted or disabled: no delivery until it changes


class WebhookDelivery:
    """Delivers one subscription's events in sequence order, with retries and dead letters."""

    def __init__(
        self,
        store: VorgangStore,
        clock: Clock,
        *,
        feed: FeedEvents,
        states: DeliveryStates,
        sender: Sender,
        schedule: RetrySchedule,
        disable_after: int = 10,
        uniform: Callable[[], float] = random.random,
        batch: int = 20,
    ) -> None:
        self.store = store
        self.clock = clock
        self.feed = feed
        self.states = states
        self.sender = sender
        self.schedule = schedule
        self.disable_after = disable_after
        self.uniform = uniform
        self.batch = batch

    def deliver(self, subscription_id: UUID, *, limit: int = 100) -> DeliveryRound:
        """One round: pending redeliveries, then up to ``limit`` events after the cursor."""
        subscription = self._load(subscription_id)
        if subscription is None or subscription.status is SubscriptionStatus.DELETED:
            return DeliveryRound(stopped=True)
        stored = self.states.get(subscription_id)
        state = stored or DeliveryState(subscription_id, subscription.starts_after)
        if stored is None:
            self.states.put(state)  # the cursor starts where the subscription said
        if subscription.status is not SubscriptionStatus.ACTIVE:
            return DeliveryRound(stopped=True)  # redeliveries too wait until it is enabled
        state, subscription = self._redeliver(subscription, state)
        if subscription.status is not SubscriptionStatus.ACTIVE:
            return DeliveryRound(stopped=True)
        delivered = dead = 0
        while delivered + dead < limit:
            now = self.clock.now()
            if state.retry.next_at is not None and state.retry.next_at > now:
                return DeliveryRound(delivered, dead, next_at=state.retry.next_at)
            head = self.feed.head()  # every event up to it is in the view already
            events = self.feed.after(
                subscription.filter,
                state.cursor,
                min(self.batch, limit - delivered - dead),
                personal=subscription.personal_data,
            )
            if not events:
                if head > state.cursor and state.retry.attempts == 0:
                    # none of the events up to the head is for this subscription: the
                    # cursor passes them, so the worker need not look again until it moves
                    state = replace(state, cursor=head)
                    self.states.put(state)
                return DeliveryRound(delivered, dead)
            for event in events:
                state, subscription, outcome = self._attempt(subscription, state, event)
                if outcome == "delivered":
                    delivered += 1
                elif outcome == "dead":
                    dead += 1
                else:
                    stopped = subscription.status is not SubscriptionStatus.ACTIVE
                    return DeliveryRound(
                        delivered, dead, next_at=state.retry.next_at, stopped=stopped
                    )
                if subscription.status is not SubscriptionStatus.ACTIVE:
                    return DeliveryRound(delivered, dead, stopped=True)
        return DeliveryRound(delivered, dead, more=True)

    # ------------------------------------------------------------------ one attempt

    def _attempt(
        self, subscription: Subscription, state: DeliveryState, event: FeedEvent
    ) -> tuple[DeliveryState, Subscription, Outcome]:
        """Post the event after the cursor; the state is kept before this returns."""
        at = self.clock.now()
        response = self._send(subscription, event, at)
        if response.delivered:
            state = replace(
                state,
                cursor=event.sequence,
                retry=Retry(),
                last_status=response.status,
                last_error=None,
                last_attempt_at=at,
                last_delivered_at=at,
                dead_in_a_row=0,
            )
            self.states.put(state)
            return state, subscription, "delivered"
        state = replace(
            state, last_status=response.status, last_error=response.describe(), last_attempt_at=at
        )
        if response.status == 410:
            subscription = self._disable(
                subscription, DisableReason.GONE, "the receiver answered 410 Gone"
            )
            self.states.put(state)
            return state, subscription, "gone"
        failed = state.retry.attempts + 1
        delay = self._delay(failed, response)
        if delay is not None:
            state = replace(state, retry=Retry(failed, at + timedelta(seconds=delay)))
            self.states.put(state)
            return state, subscription, "waiting"
        subscription = self._dead_letter(subscription, event, failed, response.describe())
        state = replace(
            state, cursor=event.sequence, retry=Retry(), dead_in_a_row=state.dead_in_a_row + 1
        )
        if state.dead_in_a_row >= self.disable_after:
            subscription = self._disable(
                subscription,
                DisableReason.FAILING,
                f"{state.dead_in_a_row} events in a row went to the dead letters",
            )
        self.states.put(state)
        return state, subscription, "dead"

    def _redeliver(
        self, subscription: Subscription, state: DeliveryState
    ) -> tuple[DeliveryState, Subscription]:
        """Dead letters a person asked for again: each on its own retries, beside the cursor."""
        pending = subscription.pending_redeliveries
        kept = {s: r for s, r in state.redeliveries.items() if s in {d.sequence for d in pending}}
        if kept != state.redeliveries:
            state = replace(state, redeliveries=kept)
            self.states.put(state)
        for letter in pending:
            if subscription.status is SubscriptionStatus.DELETED:
                break
            retry = state.redeliveries.get(letter.sequence, Retry())
            at = self.clock.now()
            if retry.next_at is not None and retry.next_at > at:
                continue
            event = self.feed.at(letter.sequence, personal=subscription.personal_data)
            response = (
                self._send(subscription, event, at)
                if event is not None
                else WebhookResponse(None, error="the event is no longer in the feed")
            )
            others = {s: r for s, r in state.redeliveries.items() if s != letter.sequence}
            if response.delivered:
                subscription = self._save(subscription.id, redelivered(letter.sequence, at))
                state = replace(state, redeliveries=others, last_status=response.status)
            elif response.status == 410:
                subscription = self._disable(
                    subscription, DisableReason.GONE, "the receiver answered 410 Gone"
                )
                break
            else:
                failed = retry.attempts + 1
                delay = self._delay(failed, response) if event is not None else None
                if delay is None:
                    subscription = self._dead_letter(
                        subscription, letter, failed, response.describe()
                    )
                    state = replace(state, redeliveries=others)
                else:
                    state = replace(
                        state,
                        redeliveries={
                            **others,
                            letter.sequence: Retry(failed, at + timedelta(seconds=delay)),
                        },
                    )
            self.states.put(state)
        return state, subscription

    def _send(self, subscription: Subscription, event: FeedEvent, at: datetime) -> WebhookResponse:
        secret = subscription.secret
        if secret.is_erased:  # deleted meanwhile: the key is gone, nothing is sent
            return WebhookResponse(None, error="the subscription's secret is destroyed")
        request = signed_request(
            subscription.url, event, secret.reveal(), at, self.schedule.timeout
        )
        return self.sender.send(request)

    def _delay(self, failed: int, response: WebhookResponse) -> float | None:
        retry_after = response.retry_after if response.status in (429, 503) else None
        return self.schedule.delay(failed, retry_after=retry_after, uniform=self.uniform)

    # ------------------------------------------------------------------ recording

    def _dead_letter(
        self, subscription: Subscription, event: FeedEvent | DeadLetter, attempts: int, error: str
    ) -> Subscription:
        sequence = event.sequence
        event_id = event.id if isinstance(event, FeedEvent) else event.event_id
        at = self.clock.now()
        return self._save(
            subscription.id,
            lambda s: s.record_dead_letter(
                at=at,
                sequence=sequence,
                event_id=event_id,
                type=event.type,
                attempts=attempts,
                last_error=error,
            ),
        )

    def _disable(
        self, subscription: Subscription, reason: DisableReason, detail: str
    ) -> Subscription:
        at = self.clock.now()

        def change(s: Subscription) -> bool:
            if s.status is not SubscriptionStatus.ACTIVE:
                return False
            s.disable(at=at, reason=reason, detail=detail)
            return True

        return self._save(subscription.id, change)

    def _save(self, subscription_id: UUID, change: Callable[[Subscription], bool]) -> Subscription:
        """Change a fresh load and save it (again after a lost race with a person's command)."""

        for attempt in range(ATTEMPTS):
            pause(attempt)
            subscription = self._load(subscription_id)
            if subscription is None:
                raise SubscriptionNotFound(subscription_id)
            if not change(subscription):
                return subscription
            try:
                self.store.save(subscription)
            except IntegrityError:
                continue  # a person's command came first: change a fresh load
            return subscription
        raise ConcurrentUpdate(subscription_id)

    def _load(self, subscription_id: UUID) -> Subscription | None:
        try:
            found: Any = self.store.repository.get(subscription_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, Subscription) else None


def redelivered(sequence: int, at: datetime) -> Callable[[Subscription], bool]:
    """The change that records a dead letter's arrival after all."""
    return lambda subscription: subscription.record_redelivered(sequence, at=at)
