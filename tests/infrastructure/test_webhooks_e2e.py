"""Webhooks end to end: `vorgang worker` processes post to a real local receiver.

The receiver answers each subscription its own way: one always at once, one slowly (its
first request held until the fast one has everything: a slow receiver holds back only its
own), one with 500s and a 429 with Retry-After before it takes the events, one that is
down and comes up, one that answers 410 (disabled), one that refuses an event until it is
a dead letter (then redelivered on request), and one whose request is held while the
worker is SIGKILLed (a new worker resends it under the same webhook-id). Every event
arrives exactly once after dedupe by webhook-id, in order except for dead letters, each
signature verified with the receiver's own ``standardwebhooks`` check.

Retries run on a shortened schedule (a setting); every wait is for a state the test
observes, with a hang guard only.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from domain.actor import Actor, Role, Scope
from domain.webhooks import SubscriptionFilter
from infrastructure.database import DatabaseTarget
from infrastructure.settings import Settings
from infrastructure.webhook_delivery import FeedViewEvents
from infrastructure.wiring import Vorgang, build
from tests import polling
from tests.conftest import document_places, drop_postgres_schema, fresh_postgres_target
from tests.infrastructure import webhook_worker
from tests.steps import submitted

pytestmark = pytest.mark.postgres

HANG_GUARD = 90.0  # seconds: only against a hang; every verdict is a state observed
OWNER = Actor(
    "archiv", "archiv", Role.INTEGRATOR, "usingen", scopes=frozenset({Scope.WEBHOOKS_MANAGE})
)
ADMIN = Actor("admin.usingen", "Admin", Role.ADMIN, "usingen")
SCHMITTEN = Actor("portal:schmitten", "Antragsteller", Role.APPLICANT, "schmitten")
SCHEDULE = "0.2,0.2,0.4,0.8,1.6,3.2"  # seven attempts in about 6 s, then the dead letters


@dataclass
class Arrival:
    webhook_id: str
    sequence: int
    answered: int
    verified: bool


@dataclass
class Inbox:
    """What the receiver was sent, per path, and how it answers."""

    secrets: dict[str, str] = field(default_factory=dict)
    arrivals: dict[str, list[Arrival]] = field(default_factory=dict)
    attempts: dict[tuple[str, str], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    slow_release: threading.Event = field(default_factory=threading.Event)
    slow_held: threading.Event = field(default_factory=threading.Event)
    kill_after: int | None = None  # hold /kill's first request for a sequence above this
    kill_held: threading.Event = field(default_factory=threading.Event)
    kill_release: threading.Event = field(default_factory=threading.Event)
    dead_sequence: int | None = None  # /dead refuses this event until repaired
    repaired: bool = False
    flaky: str | None = None

    def answer(self, path: str, webhook_id: str, sequence: int) -> tuple[int, dict[str, str]]:
        with self.lock:
            key = (path, webhook_id)
            self.attempts[key] = attempt = self.attempts.get(key, 0) + 1
            first_slow = path == "/slow" and not self.slow_held.is_set()
            if first_slow:
                self.slow_held.set()
            hold_kill = (
                path == "/kill"
                and self.kill_after is not None
                and sequence > self.kill_after
                and not self.kill_held.is_set()
            )
            if hold_kill:
                self.kill_held.set()
            if path == "/dead" and self.dead_sequence is None:
                self.dead_sequence = sequence
        if first_slow:
            self.slow_release.wait(HANG_GUARD)
        if hold_kill:
            self.kill_release.wait(HANG_GUARD)
        if path == "/flaky" and self.flaky in (None, webhook_id):
            self.flaky = webhook_id  # its first event: 500, 500, 429 with Retry-After, 204
            script = {1: 500, 2: 500, 3: 429}
            if attempt in script:
                return script[attempt], {"retry-after": "1"} if attempt == 3 else {}
        if path == "/gone":
            return 410, {}
        if path == "/dead" and sequence == self.dead_sequence and not self.repaired:
            return 500, {}
        return 204, {}

    def record(self, path: str, arrival: Arrival) -> None:
        with self.lock:
            self.arrivals.setdefault(path, []).append(arrival)

    def delivered(self, path: str) -> list[int]:
        """Sequences answered 2xx, first arrival of each webhook-id, in order of arrival."""
        with self.lock:
            seen: dict[str, int] = {}
            for a in self.arrivals.get(path, []):
                if 200 <= a.answered < 300 and a.webhook_id not in seen:
                    seen[a.webhook_id] = a.sequence
            return list(seen.values())

    def tries(self, path: str) -> int:
        """Requests received at ``path`` (answered or still held)."""
        with self.lock:
            return sum(n for (p, _), n in self.attempts.items() if p == path)

    def requests(self, path: str) -> list[Arrival]:
        with self.lock:
            return list(self.arrivals.get(path, []))


def handler_for(inbox: Inbox) -> type[BaseHTTPRequestHandler]:
    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                event = Webhook(inbox.secrets[self.path]).verify(body, headers)
                verified = True
            except (WebhookVerificationError, KeyError):
                event, verified = {}, False
            sequence = int(event.get("sequence", "0"))
            status, extra = inbox.answer(self.path, headers.get("webhook-id", ""), sequence)
            inbox.record(
                self.path, Arrival(headers.get("webhook-id", ""), sequence, status, verified)
            )
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Receiver


def serve(inbox: Inbox, port: int = 0) -> ThreadingHTTPServer:
    ThreadingHTTPServer.allow_reuse_address = True
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_for(inbox))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def until(what: str, condition: Callable[[], Any]) -> Any:
    return polling.until(what, condition, HANG_GUARD)


@pytest.fixture
def pg() -> Iterator[DatabaseTarget]:
    target = fresh_postgres_target()
    try:
        yield target
    finally:
        drop_postgres_schema(target)


FORKS = multiprocessing.get_context("fork")  # see webhook_worker: forked before anything opens


@dataclass
class Deployment:
    """Two workers: the first delivers at once, the second is started as its standby."""

    env: dict[str, str]
    directory: Path
    workers: list[Any] = field(default_factory=list)
    go: list[Any] = field(default_factory=list)

    def fork_workers(self, count: int) -> None:
        for n in range(count):
            go = FORKS.Event()
            worker = FORKS.Process(
                target=webhook_worker.run,
                args=(self.env, str(self.directory / f"worker{n}.log"), go),
                daemon=True,
            )
            worker.start()
            self.workers.append(worker)
            self.go.append(go)

    def start(self, n: int) -> None:
        self.go[n].set()

    def kill(self, n: int) -> None:
        worker = self.workers[n]
        assert worker.pid is not None
        os.kill(worker.pid, signal.SIGKILL)
        worker.join(30)

    def stop(self) -> None:
        for n, worker in enumerate(self.workers):
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signal.SIGTERM)
                self.go[n].set()
        for worker in self.workers:
            worker.join(20)
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signal.SIGKILL)
                worker.join(5)


@pytest.fixture
def deployment(
    pg: DatabaseTarget, tmp_path: Path, seal_files: tuple[Path, Path]
) -> Iterator[Deployment]:
    places = document_places(tmp_path, seal_files)
    env = {
        **{f"VORGANG_{name.upper()}": value for name, value in places.items()},
        "VORGANG_DATABASE_URL": pg.display,
        "VORGANG_WEBHOOK_RETRY_SCHEDULE": SCHEDULE,
        "VORGANG_WEBHOOK_JITTER": "0.1",
        "VORGANG_WEBHOOK_POLL_SECONDS": "0.05",
        "VORGANG_LOG_FORMAT": "json",
    }
    found = Deployment(env, tmp_path)
    found.fork_workers(2)
    try:
        yield found
    finally:
        found.stop()


def test_every_event_arrives_once_after_dedupe_through_failures_and_a_sigkill(
    deployment: Deployment, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=deployment.env["VORGANG_DATABASE_URL"],
        **{k[len("VORGANG_") :].lower(): v for k, v in deployment.env.items() if "_DIR" in k},
    )
    vorgang: Vorgang = build(settings, run_scheduler=False)  # writes; the workers deliver
    inbox = Inbox()
    receiver = serve(inbox)
    down_port = free_port()
    base = f"http://127.0.0.1:{receiver.server_address[1]}"
    urls = {
        "/fast": base,
        "/slow": base,
        "/flaky": base,
        "/gone": base,
        "/dead": base,
        "/kill": base,
        "/down": f"http://127.0.0.1:{down_port}",
    }
    later_server: ThreadingHTTPServer | None = None
    try:
        for _ in range(4):
            submitted(vorgang.cases)
        submitted(vorgang.cases, tenant="schmitten", actor=SCHMITTEN)  # never delivered
        ids: dict[str, UUID] = {}
        for path, where in urls.items():
            created = vorgang.webhooks.subscribe(
                OWNER, url=f"{where}{path}", filter=SubscriptionFilter(("usingen",)), after=0
            )
            ids[path] = created.subscription.id
            inbox.secrets[path] = created.secret
        deployment.start(0)

        # A slow receiver holds back only its own subscription.
        until("/slow held", inbox.slow_held.is_set)
        deployment.start(1)  # a standby: it takes over when the first one is killed
        until("/fast has the first four", lambda: len(inbox.delivered("/fast")) == 4)
        assert inbox.tries("/slow") == 1  # still held while the others went on
        inbox.slow_release.set()

        # A receiver that is down: failed attempts, then it comes up and takes them.
        until(
            "/down failing",
            lambda: vorgang.webhooks.status(OWNER, ids["/down"]).attempts >= 2,
        )
        later_server = serve(inbox, down_port)

        # 410 disables; the dead letter is listed and redelivered on request.
        until(
            "/gone disabled",
            lambda: vorgang.webhooks.get(OWNER, ids["/gone"]).status == "disabled",
        )
        letter = until("a dead letter", lambda: vorgang.webhooks.dead_letters(OWNER, ids["/dead"]))
        assert letter[0].attempts == 7
        inbox.repaired = True
        vorgang.webhooks.redeliver(ADMIN, ids["/dead"], letter[0].sequence, reason="repariert")
        until("redelivered", lambda: not vorgang.webhooks.dead_letters(OWNER, ids["/dead"]))
        # Arrived, not only asked for, before a worker is killed below: a redelivery queued
        # on the worker that is killed is a case of its own (not this test's).
        until("the dead letter at /dead", lambda: letter[0].sequence in inbox.delivered("/dead"))

        # The worker is killed while a receiver holds a request; writers go on meanwhile.
        until("/kill has the first four", lambda: len(inbox.delivered("/kill")) == 4)
        inbox.kill_after = max(inbox.delivered("/kill"))
        for _ in range(2):
            submitted(vorgang.cases)
        until("a request held at /kill", inbox.kill_held.is_set)
        deployment.kill(0)  # the first holds the delivery: the second could not start it
        inbox.kill_release.set()
        for _ in range(2):
            submitted(vorgang.cases)
        submitted(vorgang.cases)

        # Everything published for Usingen arrives, once after dedupe, signed.
        feed = FeedViewEvents(vorgang.views, vorgang.projections.open_sealed)
        head = vorgang.store.recorder.max_notification_id() or 0
        until("the feed caught up", lambda: _feed_position(vorgang) >= head)
        expected = [
            e.sequence
            for e in feed.after(SubscriptionFilter(("usingen",)), 0, 1000, personal=False)
        ]
        assert len(expected) >= 9  # nine cases of Usingen submitted
        for path in ("/fast", "/slow", "/flaky", "/down", "/dead", "/kill"):
            until(
                f"{path} has every event",
                lambda p=path: sorted(inbox.delivered(p)) == expected,
            )
            dead = {letter[0].sequence} if path == "/dead" else set()
            in_order = [s for s in inbox.delivered(path) if s not in dead]
            assert in_order == sorted(in_order), path  # in order except for dead letters
            assert all(a.verified for a in inbox.requests(path)), path
        assert len(inbox.requests("/gone")) == 1  # disabled at the first 410
        kill_ids = [a.webhook_id for a in inbox.requests("/kill")]
        assert len(kill_ids) > len(set(kill_ids))  # the held one came again, same id
        assert inbox.attempts[("/flaky", inbox.requests("/flaky")[0].webhook_id)] == 4
        # The receiver has the last event before the worker stores its cursor past it.
        until(
            "/kill's cursor passed the last event",
            lambda: vorgang.webhooks.status(OWNER, ids["/kill"]).cursor == expected[-1],
        )
        assert vorgang.webhooks.status(OWNER, ids["/kill"]).lag == 0
    finally:
        inbox.slow_release.set()
        inbox.kill_release.set()
        deployment.stop()
        receiver.shutdown()
        if later_server is not None:
            later_server.shutdown()
        vorgang.close()


def _feed_position(vorgang: Vorgang) -> int:
    statuses = vorgang.projections.statuses()
    return next(s.position for s in statuses if s.name.startswith("feed"))
