"""The webhook worker: the ports of ``application/webhooks.py`` over the view database and
HTTP, and the loop that runs in ``vorgang worker`` and in-process under ``vorgang serve``.

- ``FeedViewEvents`` reads the feed view (never the event log) in sequence order, filtered
  in SQL by a subscription's towns, services and types, and renders each row as the
  CloudEvent the pull feed gives (personal data only for a subscription granted it).
- ``DeliveryStatesInTheViews`` keeps each subscription's cursor and retries in
  ``webhook_delivery_states``: one short transaction after every attempt, so a worker
  killed at any point repeats at most the attempt in flight, under the same ``webhook-id``.
- ``SubscriptionsInTheLog`` is the index of subscriptions: it follows the log's
  subscription events (by topic) into ``webhook_subscriptions``; idempotent upserts, so
  any number of processes may catch it up at once.
- ``PinnedSender`` posts through the SSRF guard: one lookup, the checked address
  connected to with the URL's name as Host header and TLS server name; no redirects, no
  proxies from the environment, the timeout of the schedule.
- ``WebhookWorker`` holds the one lock of the delivery (a second worker stands by and takes
  over when the first one's session ends, e.g. on SIGKILL) and delivers the subscriptions
  that have work in parallel threads: a slow receiver holds back only its own.
"""

# ruff: noqa: S608 - table names are module constants; every value is a bound parameter

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final
from uuid import UUID

import httpx
import structlog
from eventsourcing.utils import get_topic

from application.clock import Clock
from application.privacy import KeyDestroyer
from application.store import VorgangStore
from application.webhooks import (
    DeliveryState,
    FeedEvent,
    Retry,
    RetrySchedule,
    SubscriptionService,
    UnsafeUrl,
    WebhookDelivery,
    WebhookRequest,
    WebhookResponse,
)
from domain.webhooks import Subscription, SubscriptionFilter
from infrastructure.ssrf import SsrfGuard
from infrastructure.view_database import ProjectionLock
from projections.feed import Feed
from projections.feed_query import FeedRow, OpenSealed, cloud_event
from projections.view_store import ViewDatabase
from projections.where import Where

log = structlog.get_logger(__name__)

STATES: Final = "webhook_delivery_states"
INDEX: Final = "webhook_subscriptions"
INDEX_POSITION: Final = "webhook_subscriptions_position"
LOCK_NAME: Final = "webhook_delivery"
INDEX_BATCH: Final = 500
STANDBY: Final = 1.0  # seconds between a standby worker's looks for the delivery's lock
MOVED_CHECK: Final = 0.01  # seconds between looks at the feed runner's position (memory)
INDEXED_EVENTS = (
    Subscription.Created,
    Subscription.Deleted,
    Subscription.Disabled,
    Subscription.Enabled,
    Subscription.DeadLettered,
    Subscription.RedeliveryRequested,
    Subscription.Redelivered,
)


def create_webhook_tables(views: ViewDatabase) -> None:
    """The delivery's tables in the view database (created on start, never rebuilt)."""
    with views.transaction() as tx:
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {STATES} ("
            "subscription_id TEXT PRIMARY KEY, cursor BIGINT NOT NULL, "
            "attempts INTEGER NOT NULL, next_at TEXT, last_status INTEGER, last_error TEXT, "
            "last_attempt_at TEXT, last_delivered_at TEXT, dead_in_a_row INTEGER NOT NULL, "
            "redeliveries TEXT NOT NULL)"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {INDEX} ("
            "subscription_id TEXT PRIMARY KEY, owner_tenant TEXT NOT NULL, "
            "created_position BIGINT NOT NULL, version INTEGER NOT NULL, "
            "deleted INTEGER NOT NULL)"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {INDEX_POSITION} ("
            "name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
        )


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


# ----------------------------------------------------------------------------- the feed


class FeedViewEvents:
    """The feed view as the delivery reads it."""

    def __init__(self, views: ViewDatabase, open_sealed: OpenSealed) -> None:
        self.views = views
        self.open_sealed = open_sealed
        feed = Feed()
        self.table = feed.table
        self.cases_table = feed.cases_table

    def _where(self, filter: SubscriptionFilter, after: int) -> Where:
        where = Where("e.sequence > ?", after)
        where.within("e.tenant", filter.tenants)
        if filter.services:
            where.within("e.service", filter.services)
        if filter.types:
            where.within("e.type", filter.types)
        return where

    def _rows(self, where: Where, limit: int) -> list[FeedRow]:
        found = self.views.query(
            "SELECT e.sequence, e.id, e.type, e.tenant, e.service, e.case_id, e.time, e.data, "
            f"c.applicant FROM {self.table} e LEFT JOIN {self.cases_table} c "
            f"ON c.case_id = e.case_id WHERE {where.sql} ORDER BY e.sequence LIMIT ?",
            [*where.params, limit],
        )
        return [FeedRow(int(row[0]), *row[1:]) for row in found]

    def _event(self, row: FeedRow, personal: bool) -> FeedEvent:
        body = cloud_event(row, self.open_sealed if personal else None)
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return FeedEvent(row.sequence, row.id, row.type, text.encode())

    def after(
        self, filter: SubscriptionFilter, after: int, limit: int, *, personal: bool
    ) -> list[FeedEvent]:
        """Up to ``limit`` events of the filter after ``after``, in sequence order."""
        return [self._event(r, personal) for r in self._rows(self._where(filter, after), limit)]

    def at(self, sequence: int, *, personal: bool) -> FeedEvent | None:
        """The event at ``sequence``."""
        rows = self._rows(Where("e.sequence = ?", sequence), 1)
        return self._event(rows[0], personal) if rows else None

    def pending(self, filter: SubscriptionFilter, after: int) -> int:
        """Events of the filter after ``after``."""
        where = self._where(filter, after)
        found = self.views.query(
            f"SELECT COUNT(*) FROM {self.table} e WHERE {where.sql}", where.params
        )
        return int(found[0][0]) if found else 0

    def head(self) -> int:
        """The highest published sequence."""
        found = self.views.query(f"SELECT MAX(sequence) FROM {self.table}")
        return int(found[0][0] or 0) if found else 0


# ----------------------------------------------------------------------------- states


class DeliveryStatesInTheViews:
    """Each subscription's cursor and retries, one row each."""

    COLUMNS = (
        "subscription_id, cursor, attempts, next_at, last_status, last_error, "
        "last_attempt_at, last_delivered_at, dead_in_a_row, redeliveries"
    )

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views

    def get(self, subscription_id: UUID) -> DeliveryState | None:
        """The state, or None before the first round."""
        found = self.views.query(
            f"SELECT {self.COLUMNS} FROM {STATES} WHERE subscription_id = ?",
            [str(subscription_id)],
        )
        return self._state(found[0]) if found else None

    def all(self) -> dict[UUID, DeliveryState]:
        """Every subscription's state (the worker's look at who has work)."""
        return {
            (state := self._state(row)).subscription_id: state
            for row in self.views.query(f"SELECT {self.COLUMNS} FROM {STATES}")
        }

    def put(self, state: DeliveryState) -> None:
        """Keep the state (committed when this returns)."""
        redeliveries = json.dumps(
            {str(k): [r.attempts, _text(r.next_at)] for k, r in state.redeliveries.items()}
        )
        values = [
            str(state.subscription_id),
            state.cursor,
            state.retry.attempts,
            _text(state.retry.next_at),
            state.last_status,
            state.last_error,
            _text(state.last_attempt_at),
            _text(state.last_delivered_at),
            state.dead_in_a_row,
            redeliveries,
        ]
        with self.views.transaction() as tx:
            tx.execute(
                f"INSERT INTO {STATES} ({self.COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (subscription_id) DO UPDATE SET cursor = excluded.cursor, "
                "attempts = excluded.attempts, next_at = excluded.next_at, "
                "last_status = excluded.last_status, last_error = excluded.last_error, "
                "last_attempt_at = excluded.last_attempt_at, "
                "last_delivered_at = excluded.last_delivered_at, "
                "dead_in_a_row = excluded.dead_in_a_row, redeliveries = excluded.redeliveries",
                values,
            )

    @staticmethod
    def _state(row: Sequence[Any]) -> DeliveryState:
        redeliveries = {
            int(k): Retry(int(v[0]), _moment(v[1])) for k, v in json.loads(row[9]).items()
        }
        return DeliveryState(
            subscription_id=UUID(str(row[0])),
            cursor=int(row[1]),
            retry=Retry(int(row[2]), _moment(row[3])),
            last_status=None if row[4] is None else int(row[4]),
            last_error=row[5],
            last_attempt_at=_moment(row[6]),
            last_delivered_at=_moment(row[7]),
            dead_in_a_row=int(row[8]),
            redeliveries=redeliveries,
        )


# ----------------------------------------------------------------------------- the index


class SubscriptionsInTheLog:
    """Which subscriptions exist, followed from the log's subscription events by topic."""

    def __init__(self, store: VorgangStore, views: ViewDatabase) -> None:
        self.store = store
        self.views = views
        self.topics = [get_topic(cls) for cls in INDEXED_EVENTS]
        self._lock = threading.Lock()

    def position(self) -> int:
        """How far the index has followed the log."""
        found = self.views.query(
            f"SELECT position FROM {INDEX_POSITION} WHERE name = ?", [LOCK_NAME]
        )
        return int(found[0][0]) if found else 0

    def catch_up(self) -> None:
        """Follow the log to its head (a topic filter: the head is read first, decision 5)."""
        with self._lock:
            head = self.store.recorder.max_notification_id() or 0
            position = self.position()
            while position < head:
                batch = list(
                    self.store.recorder.select_notifications(
                        start=position + 1, limit=INDEX_BATCH, stop=head, topics=self.topics
                    )
                )
                reached = batch[-1].id if len(batch) == INDEX_BATCH else head
                self._record(batch, reached)
                position = reached

    def _record(self, batch: Sequence[Any], reached: int) -> None:
        with self.views.transaction() as tx:
            for notification in batch:
                event = self.store.mapper.to_domain_event(notification)
                created = isinstance(event, Subscription.Created)
                owner_tenant = event.owner_tenant if isinstance(event, Subscription.Created) else ""
                tx.execute(
                    f"INSERT INTO {INDEX} (subscription_id, owner_tenant, created_position, "
                    "version, deleted) VALUES (?, ?, ?, ?, ?) ON CONFLICT (subscription_id) "
                    f"DO UPDATE SET version = CASE WHEN excluded.version > {INDEX}.version "
                    f"THEN excluded.version ELSE {INDEX}.version END, "
                    f"deleted = CASE WHEN excluded.deleted > {INDEX}.deleted "
                    f"THEN excluded.deleted ELSE {INDEX}.deleted END, "
                    f"owner_tenant = CASE WHEN excluded.created_position > 0 "
                    f"THEN excluded.owner_tenant ELSE {INDEX}.owner_tenant END, "
                    f"created_position = CASE WHEN excluded.created_position > 0 "
                    f"THEN excluded.created_position ELSE {INDEX}.created_position END",
                    [
                        str(event.originator_id),
                        owner_tenant,
                        notification.id if created else 0,
                        event.originator_version,
                        1 if isinstance(event, Subscription.Deleted) else 0,
                    ],
                )
            tx.execute(
                f"INSERT INTO {INDEX_POSITION} (name, position) VALUES (?, ?) "
                f"ON CONFLICT (name) DO UPDATE SET position = CASE WHEN excluded.position > "
                f"{INDEX_POSITION}.position THEN excluded.position "
                f"ELSE {INDEX_POSITION}.position END",
                [LOCK_NAME, reached],
            )

    def ids(self, *, owner_tenant: str | None = None) -> list[UUID]:
        """Subscriptions not deleted, oldest first (caught up first: read-your-writes)."""
        return [subscription_id for subscription_id, _ in self.versions(owner_tenant)]

    def versions(self, owner_tenant: str | None = None) -> list[tuple[UUID, int]]:
        """Subscriptions not deleted and their versions, oldest first."""
        self.catch_up()
        where = Where("deleted = 0 AND created_position > 0")
        where.equal("owner_tenant", owner_tenant)
        found = self.views.query(
            f"SELECT subscription_id, version FROM {INDEX} WHERE {where.sql} "
            "ORDER BY created_position",
            where.params,
        )
        return [(UUID(str(row[0])), int(row[1])) for row in found]


# ----------------------------------------------------------------------------- HTTP


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds: delay-seconds or an HTTP-date (RFC 9110, 10.2.3)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - now).total_seconds(), 0.0)


class PinnedSender:
    """Posts an attempt to the address the SSRF guard checked, never following redirects."""

    def __init__(self, guard: SsrfGuard, clock: Clock) -> None:
        self.guard = guard
        self.clock = clock
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()  # deliveries run in parallel

    @property
    def client(self) -> httpx.Client:
        """The HTTP client, made at the first delivery: making one loads the CA bundle
        (about 36 ms of CPU), and most starts of the application deliver nothing."""
        with self._client_lock:
            if self._client is None:
                # no keep-alive: a connection opened for one name is never reused for
                # another name on the same address (TLS was negotiated for the first)
                self._client = httpx.Client(
                    follow_redirects=False,
                    trust_env=False,
                    limits=httpx.Limits(max_keepalive_connections=0),
                )
            return self._client

    def send(self, request: WebhookRequest) -> WebhookResponse:
        """The receiver's answer, or why there was none (only the error's kind)."""
        try:
            target = self.guard.target(request.url)
        except UnsafeUrl as refused:
            return WebhookResponse(None, error=f"refused by the SSRF guard: {refused}")
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        try:
            with self.client.stream(
                "POST",
                target.pinned_url(request.url),
                content=request.body,
                headers={**request.headers, "host": target.host_header},
                timeout=httpx.Timeout(request.timeout),
                extensions=extensions,
            ) as response:
                status = response.status_code
                retry_after = retry_after_seconds(
                    response.headers.get("retry-after"), self.clock.now()
                )
        except httpx.TimeoutException:
            return WebhookResponse(None, error=f"no answer within {request.timeout:g} s")
        except httpx.ConnectError:
            return WebhookResponse(None, error="connection failed")
        except httpx.HTTPError as error:
            return WebhookResponse(None, error=f"transport error ({type(error).__name__})")
        return WebhookResponse(status, retry_after=retry_after)

    def close(self) -> None:
        """Close the connections (if a delivery ever opened any)."""
        with self._client_lock:
            if self._client is not None:
                self._client.close()


# ----------------------------------------------------------------------------- the worker


class WebhookWorker:
    """Delivers every subscription with work, several at once, while it holds the lock."""

    def __init__(
        self,
        delivery: WebhookDelivery,
        index: SubscriptionsInTheLog,
        states: DeliveryStatesInTheViews,
        feed: FeedViewEvents,
        clock: Clock,
        *,
        try_lock: Callable[[], ProjectionLock | None],
        parallel: int = 8,
        poll_seconds: float = 0.25,
        feed_position: Callable[[], int] | None = None,
    ) -> None:
        self.delivery = delivery
        self.index = index
        self.states = states
        self.feed = feed
        self.clock = clock
        self.try_lock = try_lock
        self.parallel = parallel
        self.poll_seconds = poll_seconds
        self.feed_position = feed_position  # the feed runner's position in this process
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._in_flight: dict[UUID, Future[Any]] = {}
        self._seen_versions: dict[UUID, int] = {}
        self._stopped: dict[UUID, int] = {}
        self._heads: tuple[int, int] | None = None  # the feed's and the log's, last looked at
        self._next_due: datetime | None = None  # the earliest retry waiting
        self._ended = threading.Event()  # a delivery ended since the last full look
        self._lock: ProjectionLock | None = None

    def start(self) -> None:
        """Start in a background thread."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._pool = ThreadPoolExecutor(self.parallel, thread_name_prefix="webhook")
        self._thread = threading.Thread(target=self.run, name="webhook-delivery", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask it to stop, without waiting."""
        self._stop.set()
        self._wake.set()

    def stop(self) -> None:
        """Stop, let the attempts in flight end (each at most the timeout), release the lock."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._release()

    def wake(self) -> None:
        """Something was saved in this process: look now."""
        self._wake.set()

    def run(self) -> None:
        """The loop: hold the lock, find the subscriptions with work, deliver them."""
        while not self._stop.is_set():
            holding = False
            try:
                holding = self._holding()
                if holding:
                    self.round()
            except Exception as error:  # the database away: try again on the next round
                log.warning("webhook round failed", error=type(error).__name__)
                self._release()
            # a standby looks for the lock now and then, not at every poll (each look
            # that finds it taken may cost a connection)
            self._pause(self.poll_seconds if holding else max(self.poll_seconds, STANDBY), holding)
            self._wake.clear()

    def _pause(self, seconds: float, holding: bool) -> None:
        """Until woken, or the feed view moved in this process, or ``seconds`` passed.

        Where this process keeps the feed view, its runner's position (in memory) says at
        once that new events are in the view, as the feed's broadcaster learns it; a view
        kept by another process is seen at the next look.
        """
        if not holding or self.feed_position is None:
            self._wake.wait(seconds)
            return
        deadline = time.monotonic() + seconds
        seen = self.feed_position()
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self._wake.wait(min(left, MOVED_CHECK)):
                return
            if self.feed_position() != seen:
                return

    def round(self) -> int:
        """Start the deliveries that have work; returns how many were started.

        A look that finds the feed's head and the log's head where they were, no delivery
        ended since and no retry due costs two short queries and starts nothing.
        """
        self._in_flight = {k: f for k, f in self._in_flight.items() if not f.done()}
        head = self.feed.head()
        log_head = self.index.store.recorder.max_notification_id() or 0
        now = self.clock.now()
        quiet = (head, log_head) == self._heads and not self._ended.is_set()
        if quiet and (self._next_due is None or now < self._next_due):
            return 0
        self._ended.clear()
        self._heads = (head, log_head)
        states = self.states.all()
        self._next_due = min(
            (
                moment
                for state in states.values()
                for moment in (
                    state.retry.next_at,
                    *(r.next_at for r in state.redeliveries.values()),
                )
                if moment is not None
            ),
            default=None,
        )
        started = 0
        for subscription_id, version in self.index.versions():
            if subscription_id in self._in_flight:
                continue
            if self._stopped.get(subscription_id) == version:
                continue  # disabled: nothing to do until it changes (enabled, deleted)
            if not self._has_work(subscription_id, version, states.get(subscription_id), head, now):
                continue
            self._seen_versions[subscription_id] = version
            self._in_flight[subscription_id] = self._submit(subscription_id, version)
            started += 1
        return started

    def _has_work(
        self,
        subscription_id: UUID,
        version: int,
        state: DeliveryState | None,
        head: int,
        now: datetime,
    ) -> bool:
        if state is None or self._seen_versions.get(subscription_id) != version:
            return True  # new, or changed (enabled, a redelivery asked for)
        if any(r.next_at is None or r.next_at <= now for r in state.redeliveries.values()):
            return True
        if state.retry.next_at is not None:
            return state.retry.next_at <= now
        return head > state.cursor

    def _submit(self, subscription_id: UUID, version: int) -> Future[Any]:
        assert self._pool is not None
        return self._pool.submit(self._deliver, subscription_id, version)

    def _deliver(self, subscription_id: UUID, version: int) -> None:
        try:
            outcome = self.delivery.deliver(subscription_id)
        except Exception as error:  # one subscription's failure never stops the others
            self._ended.set()
            log.warning(
                "webhook delivery failed",
                subscription=str(subscription_id),
                error=type(error).__name__,
            )
            return
        if outcome.stopped:
            self._stopped[subscription_id] = version
        self._ended.set()  # its state changed: the next look is a full one
        if outcome.more:
            self._wake.set()
        if outcome.delivered or outcome.dead_lettered:
            log.info(
                "webhooks delivered",
                subscription=str(subscription_id),
                delivered=outcome.delivered,
                dead_lettered=outcome.dead_lettered,
            )

    def _holding(self) -> bool:
        if self._lock is not None and self._lock.alive():
            return True
        self._lock = None
        self._lock = self.try_lock()
        return self._lock is not None

    def _release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            try:
                lock.release()
            except Exception as error:
                log.warning("webhook lock not released", error=type(error).__name__)


# ----------------------------------------------------------------------------- wiring


def build_webhooks(
    settings: Any,
    store: VorgangStore,
    views: ViewDatabase,
    keys: KeyDestroyer,
    open_sealed: OpenSealed,
    clock: Clock,
    *,
    feed_position: Callable[[], int] | None = None,
) -> tuple[SubscriptionService, WebhookWorker]:
    """The subscriptions' use cases and the worker, from the settings (tables exist)."""
    guard = SsrfGuard(
        allow=settings.webhook_allowed(),
        development=settings.environment == "development",
    )
    feed = FeedViewEvents(views, open_sealed)
    states = DeliveryStatesInTheViews(views)
    index = SubscriptionsInTheLog(store, views)
    service = SubscriptionService(
        store, clock, feed=feed, states=states, index=index, guard=guard, keys=keys
    )
    delivery = WebhookDelivery(
        store,
        clock,
        feed=feed,
        states=states,
        sender=PinnedSender(guard, clock),
        schedule=RetrySchedule(
            settings.webhook_retry_delays(),
            jitter=settings.webhook_jitter,
            timeout=settings.webhook_timeout_seconds,
        ),
        disable_after=settings.webhook_disable_after,
    )
    worker = WebhookWorker(
        delivery,
        index,
        states,
        feed,
        clock,
        try_lock=lambda: views.try_lock(LOCK_NAME),  # type: ignore[attr-defined]
        parallel=settings.webhook_parallel,
        poll_seconds=settings.webhook_poll_seconds,
        feed_position=feed_position,
    )
    return service, worker
