"""The webhook worker's parts over a real database: the feed as a subscription reads it, the
delivery states, the index of subscriptions followed from the log, and the sender's timeout."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from uuid import uuid4

import pytest

from application.clock import FixedClock
from application.webhooks import (
    DeliveryState,
    Retry,
    RetrySchedule,
    WebhookDelivery,
    WebhookRequest,
    WebhookResponse,
)
from domain.actor import Actor, Role, Scope
from domain.webhooks import SubscriptionFilter
from infrastructure.ssrf import SsrfGuard
from infrastructure.webhook_delivery import (
    DeliveryStatesInTheViews,
    FeedViewEvents,
    PinnedSender,
    SubscriptionsInTheLog,
    WebhookWorker,
)
from infrastructure.wiring import Vorgang
from tests.steps import submitted

OWNER = Actor(
    "archiv",
    "archiv",
    Role.INTEGRATOR,
    "usingen",
    scopes=frozenset({Scope.WEBHOOKS_MANAGE, Scope.PERSONAL_DATA}),
)
SCHMITTEN = Actor("portal:s", "S", Role.APPLICANT, "schmitten")


def test_the_feed_reads_a_subscriptions_events_in_order_personal_data_only_when_granted(
    vorgang: Vorgang,
) -> None:
    first = submitted(vorgang.cases, applicant={"name": "Erika Mustermann"})
    submitted(vorgang.cases, tenant="schmitten", actor=SCHMITTEN)
    second = submitted(vorgang.cases, applicant={"name": "Max Muster"})
    vorgang.projections.catch_up()
    feed = FeedViewEvents(vorgang.views, vorgang.projections.open_sealed)
    usingen = SubscriptionFilter(("usingen",))

    plain = feed.after(usingen, 0, 10, personal=False)
    personal = feed.after(usingen, 0, 10, personal=True)

    assert [json.loads(e.body)["subject"] for e in plain] == [str(first), str(second)]
    assert [e.sequence for e in plain] == sorted(e.sequence for e in plain)
    assert b"Erika" not in plain[0].body
    assert json.loads(personal[0].body)["data"]["personal"]["applicant"]["name"] == (
        "Erika Mustermann"
    )
    assert feed.pending(usingen, plain[0].sequence) == 1
    assert feed.after(usingen, plain[-1].sequence, 10, personal=False) == []
    assert feed.at(plain[1].sequence, personal=False) == plain[1]
    assert feed.after(SubscriptionFilter(("usingen",), ("burial",)), 0, 10, personal=False) == []
    typed = SubscriptionFilter(("usingen",), (), ("de.vorgang.case.submitted.v1",))
    assert len(feed.after(typed, 0, 10, personal=False)) == 2
    assert feed.head() >= plain[-1].sequence


def test_delivery_states_are_kept_and_read_back_whole(vorgang: Vorgang) -> None:
    states = DeliveryStatesInTheViews(vorgang.views)
    at = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    state = DeliveryState(
        uuid4(),
        cursor=42,
        retry=Retry(3, at + timedelta(minutes=30)),
        last_status=503,
        last_error="HTTP 503",
        last_attempt_at=at,
        last_delivered_at=at - timedelta(hours=1),
        dead_in_a_row=1,
        redeliveries={7: Retry(1, at), 9: Retry()},
    )

    states.put(DeliveryState(state.subscription_id, cursor=0))
    states.put(state)

    assert states.get(state.subscription_id) == state
    assert states.all() == {state.subscription_id: state}
    assert states.get(uuid4()) is None


def test_the_index_follows_subscriptions_from_the_log_and_leaves_deleted_ones_out(
    vorgang: Vorgang,
) -> None:
    kept = vorgang.webhooks.subscribe(
        OWNER, url="https://a.example/", filter=SubscriptionFilter(("usingen",))
    ).subscription.id
    gone = vorgang.webhooks.subscribe(
        OWNER, url="https://b.example/", filter=SubscriptionFilter(("usingen",))
    ).subscription.id
    vorgang.webhooks.delete(OWNER, gone, reason="abgelöst")
    index = SubscriptionsInTheLog(vorgang.store, vorgang.views)
    other = SubscriptionsInTheLog(vorgang.store, vorgang.views)  # another process's

    threads = [threading.Thread(target=i.catch_up) for i in (index, other, index)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert index.ids() == [kept]
    assert index.ids(owner_tenant="usingen") == [kept]
    assert index.ids(owner_tenant="schmitten") == []
    assert dict(index.versions())[kept] == 1
    assert index.position() == vorgang.store.recorder.max_notification_id()


class Holding(BaseHTTPRequestHandler):
    release = threading.Event()

    def do_POST(self) -> None:
        Holding.release.wait(30)  # answers only after the sender gave up

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def holding_receiver() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Holding)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    Holding.release.set()
    server.shutdown()
    server.server_close()


def test_a_receiver_that_does_not_answer_in_time_is_a_failed_attempt(
    holding_receiver: int,
) -> None:
    sender = PinnedSender(SsrfGuard(development=True), FixedClock(datetime.now(UTC)))
    url = f"http://127.0.0.1:{holding_receiver}/hooks"

    response = sender.send(WebhookRequest(url, {}, b"{}", timeout=0.2))

    assert response.status is None
    assert response.error == "no answer within 0.2 s"


class Accepting:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def send(self, request: WebhookRequest) -> WebhookResponse:
        self.ids.append(request.headers["webhook-id"])
        return WebhookResponse(204)


def test_the_worker_starts_a_delivery_only_when_there_is_something_to_deliver(
    vorgang: Vorgang,
) -> None:
    sender = Accepting()
    states = DeliveryStatesInTheViews(vorgang.views)
    feed = FeedViewEvents(vorgang.views, vorgang.projections.open_sealed)
    index = SubscriptionsInTheLog(vorgang.store, vorgang.views)
    delivery = WebhookDelivery(
        vorgang.store,
        vorgang.webhooks.clock,
        feed=feed,
        states=states,
        sender=sender,
        schedule=RetrySchedule((1.0,)),
    )
    worker = WebhookWorker(
        delivery, index, states, feed, vorgang.webhooks.clock, try_lock=lambda: None
    )
    worker._pool = ThreadPoolExecutor(2)  # as start() makes it, without the loop's thread
    try:
        vorgang.webhooks.subscribe(
            OWNER, url="https://a.example/", filter=SubscriptionFilter(("usingen",)), after=0
        )
        submitted(vorgang.cases)
        vorgang.projections.catch_up()

        assert worker.round() == 1
        worker._pool.shutdown(wait=True)
        worker._pool = ThreadPoolExecutor(2)
        assert len(sender.ids) == 1
        assert worker.round() == 0  # the delivery's end is looked at: nothing left
        assert worker.round() == 0  # nothing moved: a quiet look

        submitted(vorgang.cases)
        vorgang.projections.catch_up()
        assert worker.round() == 1
    finally:
        worker._pool.shutdown(wait=True)
    assert len(sender.ids) == 2


def test_the_worker_stops_waiting_when_the_feed_view_moves_in_its_process(
    vorgang: Vorgang,
) -> None:
    position = [7]
    states = DeliveryStatesInTheViews(vorgang.views)
    feed = FeedViewEvents(vorgang.views, vorgang.projections.open_sealed)
    worker = WebhookWorker(
        WebhookDelivery(
            vorgang.store,
            vorgang.webhooks.clock,
            feed=feed,
            states=states,
            sender=Accepting(),
            schedule=RetrySchedule((1.0,)),
        ),
        SubscriptionsInTheLog(vorgang.store, vorgang.views),
        states,
        feed,
        vorgang.webhooks.clock,
        try_lock=lambda: None,
        feed_position=lambda: position[0],
    )
    waiting = threading.Thread(target=worker._pause, args=(3600.0, True), daemon=True)
    waiting.start()

    position[0] = 8  # the feed runner applied a batch
    waiting.join(timeout=60)  # a hang guard: without the look at the position, an hour

    assert not waiting.is_alive()
