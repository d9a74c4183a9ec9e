"""The PostgreSQL recorder saves in one round trip and keeps commit order = log order.

docs/architecture.md, decision 4. A reader that follows the log from its last position must
never pass an id that a later commit fills: ``follow_the_log_while_writing`` runs many
writers against one reader, and ``test_a_reader_never_passes_a_save_that_commits_later``
pauses a save between taking its ids and committing, by observed database state, and shows
that the library's lock-free database function lets the reader skip it where ours does not.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, OperationalError, ProgrammingError
from psycopg.errors import DuplicateTable
from psycopg.pq import Trace
from psycopg.sql import SQL, Composable, Identifier

import infrastructure.postgres_recorder as recorder_module
from infrastructure.database import DatabaseTarget
from infrastructure.log_position import LogPositions
from infrastructure.postgres_recorder import PostgresOneRoundTripRecorder, _created_meanwhile
from infrastructure.wiring import open_store
from persistence.transcodings import PersonalDataInClear
from tests.api.tcp_proxy import TcpProxy
from tests.conftest import admin_connection, drop_postgres_schema, fresh_postgres_target

pytestmark = pytest.mark.postgres

FUNCTION = f"vorgang_events_save_v{PostgresOneRoundTripRecorder.FUNCTION_VERSION}"


class Counter(Aggregate):
    """A minimal aggregate: one small event per increment."""

    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


class Store(Application[UUID]):
    """The library's application on the recorder the env selects; tables named as ours."""

    name = "vorgang"


# The three ways of saving that the ordering tests compare.
OURS: dict[str, str] = {}
STOCK_PIPELINE = {"APPLICATION_RECORDER_TOPIC": ""}  # library's locked multi-statement path
LIBRARY_FUNCTION = {"APPLICATION_RECORDER_TOPIC": "", "POSTGRES_ENABLE_DB_FUNCTIONS": "y"}


@pytest.fixture
def pg() -> Iterator[DatabaseTarget]:
    target = fresh_postgres_target()
    try:
        yield target
    finally:
        drop_postgres_schema(target)


@pytest.fixture
def open_app(pg: DatabaseTarget) -> Iterator[Callable[..., Store]]:
    """Opens stores on the test's schema (closed at the end), with env overrides.

    Without an override of ``APPLICATION_RECORDER_TOPIC`` the store must be on our recorder.
    """
    opened: list[Store] = []

    def open_(**overrides: str) -> Store:
        env = dict(pg.env)
        for key, value in overrides.items():
            if value:
                env[key] = value
            else:  # "" removes a setting
                env.pop(key, None)
        app = Store(env=env)
        opened.append(app)
        if "APPLICATION_RECORDER_TOPIC" not in overrides:
            ours(app)  # the URL's environment selects our recorder
        return app

    yield open_
    for app in opened:
        app.close()


def ours(app: Application[UUID]) -> PostgresOneRoundTripRecorder:
    recorder = app.recorder
    assert isinstance(recorder, PostgresOneRoundTripRecorder)
    return recorder


def stored(app: Store) -> list[tuple[int, UUID, int]]:
    """(notification id, originator id, version) of everything in the log."""
    return [
        (n.id, UUID(str(n.originator_id)), n.originator_version)
        for n in app.recorder.select_notifications(start=1, limit=10_000)
    ]


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll the database's state until the condition holds (a guard, not a time window)."""
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never observed: {what}")
        time.sleep(0.01)


def waiting_for_lock(
    pg: DatabaseTarget, locktype: str, detail: str, params: tuple[Any, ...]
) -> bool:
    with admin_connection(pg) as conn:
        row = conn.execute(
            f"SELECT count(*) FROM pg_locks WHERE locktype = %s AND NOT granted AND {detail}",  # noqa: S608
            (locktype, *params),
        ).fetchone()
    return bool(row and row[0])


def events_table_lock_awaited(pg: DatabaseTarget) -> bool:
    table = f'"{pg.env["POSTGRES_SCHEMA"]}".vorgang_events'
    return waiting_for_lock(pg, "relation", "relation = %s::regclass", (table,))


# ------------------------------------------------------------------ one round trip


def test_the_url_selects_the_recorder_and_a_save_is_one_round_trip(
    pg: DatabaseTarget, open_app: Callable[..., Store]
) -> None:
    app = open_app(POSTGRES_POOL_SIZE="1", POSTGRES_MAX_OVERFLOW="0")
    counter = Counter()
    app.save(counter)
    counter.increment()
    app.save(counter)  # the statement is prepared on the connection by now
    counter.increment()
    counter.increment()
    with tempfile.TemporaryFile("w+") as trace:
        with ours(app).datastore.get_connection() as conn:  # the pool's only connection
            conn.pgconn.trace(trace.fileno())
            conn.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
        app.save(counter)
        with ours(app).datastore.get_connection() as conn:
            conn.pgconn.untrace()
        trace.seek(0)
        sent = [line.split("\t")[2].split()[0] for line in trace if line.startswith("F\t")]
    # One Sync and nothing else that waits for an answer (a ping or a COMMIT is a Query).
    assert sent == ["Bind", "Describe", "Execute", "Sync"]


def test_ids_come_back_in_the_order_of_the_events_and_follow_the_log(
    open_app: Callable[..., Store],
) -> None:
    app = open_app()
    first, second = Counter(), Counter()
    for _ in range(3):
        first.increment()
    second.increment()
    recordings = app.save(first, second)
    ids = [r.notification.id for r in recordings]
    assert ids == sorted(ids)
    assert ids == list(range(ids[0], ids[0] + 6))
    assert [
        (r.notification.originator_id, r.notification.originator_version) for r in recordings
    ] == [
        (first.id, 1),
        (first.id, 2),
        (first.id, 3),
        (first.id, 4),
        (second.id, 1),
        (second.id, 2),
    ]
    assert stored(app) == [
        (i, r.notification.originator_id, r.notification.originator_version)
        for i, r in zip(ids, recordings, strict=True)
    ]
    assert app.repository.get(first.id).count == 3


def test_a_duplicate_version_is_an_integrity_error_and_stores_nothing_of_that_save(
    open_app: Callable[..., Store],
) -> None:
    app = open_app()
    counter = Counter()
    app.save(counter)
    stale = app.repository.get(counter.id)
    counter.increment()
    app.save(counter)  # version 2
    before = stored(app)

    bystander = Counter()
    bystander.increment()
    stale.increment()  # version 2 again
    with pytest.raises(IntegrityError):
        app.save(bystander, stale)

    assert stored(app) == before  # not the bystander's two events either
    assert app.repository.get(counter.id).version == 2
    assert bystander.id not in app.repository


def test_the_function_lives_in_the_configured_schema_and_each_schema_has_its_own_log(
    pg: DatabaseTarget, open_app: Callable[..., Store]
) -> None:
    other = fresh_postgres_target()
    try:
        app = open_app()
        neighbour = Store(env=other.env)
        try:
            app.save(Counter())
            assert len(stored(app)) == 1
            assert neighbour.recorder.max_notification_id() is None
            neighbour.save(Counter(), Counter())
            assert [n for n, _, _ in stored(neighbour)] == [1, 2]
            assert len(stored(app)) == 1
        finally:
            neighbour.close()
        with admin_connection(pg) as conn:
            schemas = conn.execute(
                "SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE p.proname = %s AND n.nspname = ANY(%s) ORDER BY 1",
                (FUNCTION, [pg.env["POSTGRES_SCHEMA"], other.env["POSTGRES_SCHEMA"]]),
            ).fetchall()
        assert sorted(s for (s,) in schemas) == sorted(
            [pg.env["POSTGRES_SCHEMA"], other.env["POSTGRES_SCHEMA"]]
        )
    finally:
        drop_postgres_schema(other)


def test_start_up_creates_or_replaces_the_function_idempotently(
    pg: DatabaseTarget, open_app: Callable[..., Store]
) -> None:
    schema = pg.env["POSTGRES_SCHEMA"]
    # Several processes starting at once (threads here) each create the tables and function.
    errors: list[BaseException] = []

    def start() -> None:
        try:
            open_app(POSTGRES_POOL_SIZE="1", POSTGRES_MAX_OVERFLOW="1")
        except BaseException as error:  # reported by the test
            errors.append(error)

    starters = [threading.Thread(target=start) for _ in range(8)]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join()
    assert errors == []
    app = open_app()
    app.save(Counter())
    with admin_connection(pg) as conn:
        # A body that is not ours (an older or tampered one) is replaced at the next start.
        conn.execute(
            SQL(
                "CREATE OR REPLACE FUNCTION {}.{}(events {}.stored_event_uuid[]) "
                "RETURNS SETOF bigint LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'not the save function'; END; $$"
            ).format(Identifier(schema), Identifier(FUNCTION), Identifier(schema))
        )
    restarted = open_app()
    restarted.save(Counter())
    with admin_connection(pg) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.proname = %s AND n.nspname = %s",
            (FUNCTION, schema),
        ).fetchone()
    assert row == (1,)
    assert len(stored(restarted)) == 2


# ------------------------------------------------------------------ the log order


def test_a_reader_never_passes_a_save_that_commits_later(
    pg: DatabaseTarget, open_app: Callable[..., Store]
) -> None:
    """B from another process waits for the table lock that A holds until it commits."""
    assert reader_passing_a_paused_save(pg, open_app, OURS) == set()


def test_a_save_of_the_same_process_waits_for_the_batch_ahead_of_it(
    pg: DatabaseTarget, open_app: Callable[..., Store]
) -> None:
    """B from A's process queues for the next batch (group commit) until A's commits."""
    assert reader_passing_a_paused_save(pg, open_app, OURS, same_process=True) == set()


def test_the_stock_pipeline_keeps_the_order_too(
    pg: DatabaseTarget, open_app: Callable[..., Store]
) -> None:
    assert reader_passing_a_paused_save(pg, open_app, STOCK_PIPELINE) == set()


def test_without_the_lock_the_reader_skips_the_late_commit(
    pg: DatabaseTarget, open_app: Callable[..., Store]
) -> None:
    """The scenario has teeth: the library's lock-free function lets the reader skip."""
    assert len(reader_passing_a_paused_save(pg, open_app, LIBRARY_FUNCTION)) == 1


def queued_saves(app: Application[UUID]) -> int:
    """Saves waiting in the app's process for the batch ahead of them (0 without our recorder)."""
    recorder = app.recorder
    return recorder.saves_waiting() if isinstance(recorder, PostgresOneRoundTripRecorder) else 0


def reader_passing_a_paused_save(
    pg: DatabaseTarget,
    open_app: Callable[..., Store],
    variant: Mapping[str, str],
    *,
    same_process: bool = False,
) -> set[int]:
    """Pause save A after it took its id, run save B, read, let A commit, read on: skipped ids.

    A test-only trigger holds A's transaction after its insert (ids taken, not committed)
    until the test releases an advisory lock. B (a store of its own, as another process
    has, unless ``same_process``) then waits for the table lock (observed in ``pg_locks``),
    queues behind A's batch, or, without the lock, commits the next id first.
    """
    app = open_app(POSTGRES_LOCK_TIMEOUT="60", **variant)
    other_app = app if same_process else open_app(POSTGRES_LOCK_TIMEOUT="60", **variant)
    schema = Identifier(pg.env["POSTGRES_SCHEMA"])
    held, other = Counter(), Counter()
    gate = (random.randrange(1, 1 << 30), random.randrange(1, 1 << 30))
    with admin_connection(pg) as conn:
        conn.execute(
            SQL(
                "CREATE FUNCTION {schema}.hold_save() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN PERFORM pg_advisory_xact_lock_shared({a}, {b}); RETURN NULL; END; $$"
            ).format(schema=schema, a=gate[0], b=gate[1])
        )
        conn.execute(
            SQL(
                "CREATE TRIGGER hold_save AFTER INSERT ON {schema}.vorgang_events "
                "FOR EACH ROW WHEN (NEW.originator_id = {id}) "
                "EXECUTE FUNCTION {schema}.hold_save()"
            ).format(schema=schema, id=str(held.id))
        )
    errors: list[BaseException] = []

    def save(by: Store, aggregate: Counter) -> Callable[[], None]:
        def run() -> None:
            try:
                by.save(aggregate)
            except BaseException as error:  # reported by the test
                errors.append(error)

        return run

    with admin_connection(pg) as gatekeeper:
        gatekeeper.execute("SELECT pg_advisory_lock(%s, %s)", gate)
        saving_held = threading.Thread(target=save(app, held))
        saving_held.start()
        wait_for(
            lambda: waiting_for_lock(pg, "advisory", "classid = %s::oid AND objid = %s::oid", gate),
            "save A paused after taking its id",
        )
        saving_other = threading.Thread(target=save(other_app, other))
        saving_other.start()
        wait_for(
            lambda: (
                not saving_other.is_alive()
                or events_table_lock_awaited(pg)
                or queued_saves(other_app) == 1
            ),
            "save B committed, waiting for the table lock or queued",
        )
        seen = [n.id for n in app.recorder.select_notifications(start=1, limit=100)]
        position = max(seen, default=0)
        gatekeeper.execute("SELECT pg_advisory_unlock(%s, %s)", gate)
    saving_held.join()
    saving_other.join()
    assert errors == []
    seen += [n.id for n in app.recorder.select_notifications(start=position + 1, limit=100)]
    everything = {n for n, _, _ in stored(app)}
    assert len(everything) == 2
    return everything - set(seen)


def follow_the_log_while_writing(
    app: Application[UUID], *, writers: int = 8, saves_each: int = 60
) -> set[int]:
    """Writers save concurrently; a reader follows the log. Ids the reader passed unseen.

    Each writer saves its own counters, every third save with three events. The reader
    reads from its last position on until the writers are done and it has read the rest.
    """
    done = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def write(index: int) -> None:
        try:
            counters = [Counter() for _ in range(4)]
            app.save(*counters)
            for turn in range(saves_each):
                counter = counters[turn % len(counters)]
                for _ in range(3 if turn % 3 == 0 else 1):
                    counter.increment()
                app.save(counter)
        except BaseException as error:  # reported by the test
            errors.append(error)

    def read() -> None:
        position = 0
        try:
            while True:
                finished = done.is_set()  # before the read: nothing is written after it
                batch = app.recorder.select_notifications(start=position + 1, limit=50)
                seen.extend(n.id for n in batch)
                position = batch[-1].id if batch else position
                if finished and not batch:
                    return
        except BaseException as error:  # reported by the test
            errors.append(error)

    reader = threading.Thread(target=read)
    reader.start()
    with ExitStack() as stack:
        threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
        for thread in threads:
            thread.start()
            stack.callback(thread.join)
    done.set()
    reader.join()
    assert errors == []
    assert seen == sorted(seen), "the reader got ids out of order"
    everything = {n.id for n in app.recorder.select_notifications(start=1, limit=100_000)}
    assert len(everything) == writers * (4 + saves_each + 2 * len(range(0, saves_each, 3)))
    return everything - set(seen)


def test_many_writers_and_a_reader_following_the_log_it_sees_every_notification(
    open_app: Callable[..., Store],
) -> None:
    app = open_app(POSTGRES_POOL_SIZE="10", POSTGRES_LOCK_TIMEOUT="60")
    assert follow_the_log_while_writing(app) == set()


# ------------------------------------------------------------------ group commit


def saved_in_one_batch(
    pg: DatabaseTarget, app: Store, first: Callable[[], object], later: list[Callable[[], object]]
) -> tuple[object, list[object]]:
    """Run ``first`` while the table is locked, queue ``later`` behind it, then unlock.

    ``first`` leads a batch of its own and waits for the lock; the ``later`` saves queue
    in the process (observed: ``saves_waiting``) and are written together after it.
    Returns each call's result or error.
    """
    outcomes: dict[int, object] = {}

    def run(index: int, call: Callable[[], object]) -> threading.Thread:
        def target() -> None:
            try:
                outcomes[index] = call()
            except Exception as error:  # the outcome under test
                outcomes[index] = error

        thread = threading.Thread(target=target)
        thread.start()
        return thread

    table = SQL("{}.vorgang_events").format(Identifier(pg.env["POSTGRES_SCHEMA"]))
    with admin_connection(pg) as locker:
        with locker.transaction():
            locker.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table))
            threads = [run(0, first)]
            wait_for(lambda: events_table_lock_awaited(pg), "the first save waiting for the lock")
            threads += [run(i + 1, call) for i, call in enumerate(later)]
            wait_for(lambda: ours(app).saves_waiting() == len(later), "the later saves queued")
        for thread in threads:
            thread.join()
    return outcomes[0], [outcomes[i + 1] for i in range(len(later))]


def transactions_of(pg: DatabaseTarget) -> dict[int, int]:
    """Notification id → the top-level transaction that inserted it (from the test trigger)."""
    with admin_connection(pg) as conn:
        rows = conn.execute(
            SQL("SELECT notification_id, xid FROM {}.inserted_by").format(
                Identifier(pg.env["POSTGRES_SCHEMA"])
            )
        ).fetchall()
    return {int(n): int(x) for n, x in rows}


def record_transactions(pg: DatabaseTarget) -> None:
    """A test-only trigger that notes the top-level transaction of every inserted event."""
    schema = Identifier(pg.env["POSTGRES_SCHEMA"])
    with admin_connection(pg) as conn:
        conn.execute(
            SQL("CREATE TABLE {}.inserted_by (notification_id bigint, xid bigint)").format(schema)
        )
        conn.execute(
            SQL(
                "CREATE FUNCTION {schema}.note_xid() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN INSERT INTO {schema}.inserted_by "
                "VALUES (NEW.notification_id, txid_current()); RETURN NULL; END; $$"
            ).format(schema=schema)
        )
        conn.execute(
            SQL(
                "CREATE TRIGGER note_xid AFTER INSERT ON {schema}.vorgang_events "
                "FOR EACH ROW EXECUTE FUNCTION {schema}.note_xid()"
            ).format(schema=schema)
        )


def test_concurrent_saves_of_a_process_commit_together_and_a_conflict_fails_only_its_own(
    pg: DatabaseTarget, open_app: Callable[..., Store]
) -> None:
    app = open_app(POSTGRES_LOCK_TIMEOUT="60")
    record_transactions(pg)
    taken = Counter()
    app.save(taken)
    stale = app.repository.get(taken.id)
    taken.increment()
    app.save(taken)  # version 2 is taken
    stale.increment()
    stale.increment()  # versions 2 and 3: the 2 conflicts
    first, before, after = Counter(), Counter(), Counter()
    after.increment()
    before_log = stored(app)

    lone, (saved_before, conflict, saved_after) = saved_in_one_batch(
        pg,
        app,
        lambda: app.save(first),
        [lambda: app.save(before), lambda: app.save(stale), lambda: app.save(after)],
    )

    assert isinstance(conflict, IntegrityError)
    assert "duplicate key" in str(conflict)
    assert app.repository.get(taken.id).version == 2  # nothing of the stale save
    new_events = [(o, v) for _, o, v in stored(app)[len(before_log) :]]
    assert new_events[0] == (first.id, 1)
    assert sorted(new_events[1:]) == sorted([(before.id, 1), (after.id, 1), (after.id, 2)])
    xids = transactions_of(pg)
    ids_before = [r.notification.id for r in saved_before]  # type: ignore[attr-defined]
    ids_after = [r.notification.id for r in saved_after]  # type: ignore[attr-defined]
    ids_lone = [r.notification.id for r in lone]  # type: ignore[attr-defined]
    assert len({xids[n] for n in ids_before + ids_after}) == 1  # one transaction
    assert {xids[n] for n in ids_lone}.isdisjoint({xids[n] for n in ids_before})
    assert ids_after == sorted(ids_after)


def test_a_batch_writes_each_saves_rows_of_another_table_with_its_events_or_not_at_all(
    pg: DatabaseTarget, open_app: Callable[..., Store]
) -> None:
    app = open_app(
        APPLICATION_RECORDER_TOPIC=f"{__name__}:WithSideRows", POSTGRES_LOCK_TIMEOUT="60"
    )
    taken = Counter()
    app.save(taken)
    stale = app.repository.get(taken.id)
    taken.increment()
    app.save(taken)
    stale.increment()
    one, two = Counter(), Counter()

    _, outcomes = saved_in_one_batch(
        pg,
        app,
        lambda: app.save(Counter(), side_rows=["lone"]),
        [
            lambda: app.save(one, side_rows=["one-a", "one-b"]),
            lambda: app.save(stale, side_rows=["stale"]),  # conflicts: neither row nor event
            lambda: app.save(two),  # no rows of its own
            lambda: app.save(Counter(), side_rows=["one-a"]),  # its row conflicts
        ],
    )

    assert [type(o).__name__ for o in outcomes] == [
        "list",
        "IntegrityError",
        "list",
        "IntegrityError",
    ]
    with admin_connection(pg) as conn:
        rows = conn.execute(
            SQL("SELECT value FROM {}.side_rows ORDER BY value").format(
                Identifier(pg.env["POSTGRES_SCHEMA"])
            )
        ).fetchall()
    assert [v for (v,) in rows] == ["lone", "one-a", "one-b"]
    assert one.id in app.repository
    assert two.id in app.repository
    assert app.repository.get(taken.id).version == 2


def test_a_value_the_server_refuses_fails_only_its_own_save_in_a_batch(
    pg: DatabaseTarget, open_app: Callable[..., Store]
) -> None:
    """Not a constraint violation (those stay in their savepoint): the batch call fails as a
    whole, stores nothing, and every save is then written on its own."""
    app = open_app(
        APPLICATION_RECORDER_TOPIC=f"{__name__}:WithSideRows", POSTGRES_LOCK_TIMEOUT="60"
    )
    innocent, poisoned, other = Counter(), Counter(), Counter()

    _, outcomes = saved_in_one_batch(
        pg,
        app,
        lambda: app.save(Counter()),
        [
            lambda: app.save(innocent, side_rows=["fine"]),
            lambda: app.save(poisoned, side_rows=["nul \x00 byte"]),  # text cannot hold NUL
            lambda: app.save(other),
        ],
    )

    assert [type(o).__name__ for o in outcomes] == ["list", "DataError", "list"]
    assert innocent.id in app.repository
    assert other.id in app.repository
    assert poisoned.id not in app.repository


def test_many_saves_of_one_aggregate_at_once_each_succeed_or_conflict_never_both(
    open_app: Callable[..., Store],
) -> None:
    """Threads race on one aggregate: exactly one save per version wins, in any batch."""
    app = open_app(POSTGRES_LOCK_TIMEOUT="60")
    counter = Counter()
    app.save(counter)
    wins: list[int] = []
    conflicts: list[int] = []
    lock = threading.Lock()

    def race() -> None:
        for _ in range(20):
            mine = app.repository.get(counter.id)
            mine.increment()
            try:
                app.save(mine)
            except IntegrityError:
                with lock:
                    conflicts.append(mine.version)
            else:
                with lock:
                    wins.append(mine.version)

    threads = [threading.Thread(target=race) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == list(range(2, 2 + len(wins)))  # each version won exactly once
    assert len(wins) + len(conflicts) == 6 * 20
    assert app.repository.get(counter.id).version == 1 + len(wins)


# ------------------------------------------------------------------ failures and retries


def test_a_save_waits_for_the_table_lock_and_a_lock_held_too_long_is_an_operational_error(
    pg: DatabaseTarget, open_app: Callable[..., Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = open_app(POSTGRES_LOCK_TIMEOUT="1")
    app.save(Counter())
    table = SQL("{}.vorgang_events").format(Identifier(pg.env["POSTGRES_SCHEMA"]))
    monkeypatch.setattr(recorder_module, "ATTEMPTS", 2)  # the library's ten take too long

    with admin_connection(pg) as locker:
        with locker.transaction():
            locker.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table))
            with pytest.raises(OperationalError, match="lock timeout"):
                app.save(Counter())
        # Held briefly: the save waits and goes through.
        results: list[object] = []
        with locker.transaction():
            locker.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table))
            saving = threading.Thread(target=lambda: results.append(app.save(Counter())))
            saving.start()
            wait_for(lambda: events_table_lock_awaited(pg), "the save waiting for the lock")
        saving.join()
    assert len(results) == 1
    assert len(stored(app)) == 2


def pool_backends(app: Application[UUID], count: int) -> list[int]:
    """Open ``count`` pooled connections at once; their server process ids."""
    datastore = ours(app).datastore
    with ExitStack() as stack:
        conns = [stack.enter_context(datastore.get_connection()) for _ in range(count)]
        return [conn.info.backend_pid for conn in conns]


def end_pool_connections(pg: DatabaseTarget, app: Application[UUID]) -> None:
    """The server ends every connection idle in the app's pool (as a restart would)."""
    pids = pool_backends(app, int(app.env["POSTGRES_POOL_SIZE"]))
    with admin_connection(pg) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
        wait_for(
            lambda: (
                not admin.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
                ).fetchone()
            ),
            "the pool's server processes ended",
        )


def test_connections_the_server_ended_while_idle_in_the_pool_reach_no_caller(
    pg: DatabaseTarget, open_app: Callable[..., Store]
) -> None:
    app = open_app(POSTGRES_POOL_SIZE="3", POSTGRES_MAX_OVERFLOW="0")
    assert app.env["POSTGRES_PRE_PING"] == "n"  # no ping per checkout: the retries do it
    counter = Counter()
    app.save(counter)

    end_pool_connections(pg, app)
    counter.increment()
    app.save(counter)  # insert_events meets the dead connections first
    assert [v for _, _, v in stored(app)] == [1, 2]  # and stores the save once

    end_pool_connections(pg, app)
    assert app.repository.get(counter.id).count == 1  # select_events

    end_pool_connections(pg, app)
    assert app.recorder.max_notification_id() == 2

    end_pool_connections(pg, app)
    assert len(app.recorder.select_notifications(start=1, limit=10)) == 2


def test_the_store_index_and_log_positions_also_retry_on_connections_the_server_ended(
    pg: DatabaseTarget,
) -> None:
    store = open_store(pg, PersonalDataInClear())
    try:
        counter = Counter()
        store.save(counter)
        positions = LogPositions(store)

        end_pool_connections(pg, store)
        assert positions.of(counter.id, 1) == 1

        end_pool_connections(pg, store)
        assert store.index.stored_ids([counter.id]) == {counter.id}

        end_pool_connections(pg, store)
        first = store.index.next_reference_number("usingen", 2026, lambda: 0)
        end_pool_connections(pg, store)
        assert store.index.next_reference_number("usingen", 2026, lambda: 0) > first
    finally:
        store.close()


def test_a_retry_after_a_lost_answer_returns_the_ids_of_the_save_that_committed(
    pg: DatabaseTarget, open_app: Callable[..., Store]
) -> None:
    """The connection drops while the save waits; the server commits it; the retry sees it."""
    proxy = TcpProxy(int(pg.env["POSTGRES_PORT"]))
    proxy.up()
    try:
        app = open_app(POSTGRES_PORT=str(proxy.port), POSTGRES_LOCK_TIMEOUT="60")
        app.save(Counter())
        counter = Counter()
        counter.increment()
        results: list[Any] = []
        errors: list[BaseException] = []

        def save() -> None:
            try:
                results.append(app.save(counter))
            except BaseException as error:  # reported by the test
                errors.append(error)

        table = SQL("{}.vorgang_events").format(Identifier(pg.env["POSTGRES_SCHEMA"]))
        with admin_connection(pg) as locker:
            with locker.transaction():
                locker.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table))
                saving = threading.Thread(target=save)
                saving.start()
                wait_for(lambda: events_table_lock_awaited(pg), "the save waiting for the lock")
                proxy.down()  # the client loses the connection; the server keeps the statement
            # The lock is released: the orphaned statement commits on the server.
            wait_for(
                lambda: (
                    locker.execute(
                        SQL("SELECT count(*) FROM {} WHERE originator_id = %s").format(table),
                        (counter.id,),
                    ).fetchone()
                    == (2,)
                ),
                "the orphaned save committed",
            )
        proxy.up()
        saving.join()
        assert errors == []  # no IntegrityError: the retry found its own events
        (recordings,) = results
        ids = [n for n, o, _ in stored(app) if o == counter.id]
        assert [r.notification.id for r in recordings] == ids
    finally:
        proxy.down()


# ------------------------------------------------------------------ extension


class WithSideRows(PostgresOneRoundTripRecorder):
    """A recorder that also writes rows of another table, from a keyword of the save."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sql_create_statements.append(
            SQL("CREATE TABLE IF NOT EXISTS {}.side_rows (value text PRIMARY KEY)").format(
                Identifier(self.datastore.schema)
            )
        )

    def _save_parameters(self) -> list[tuple[str, Composable]]:
        return [("side_rows", SQL("text[]"))]

    def _save_statements(self) -> list[Composable]:
        return [
            SQL("INSERT INTO {}.side_rows (value) SELECT unnest(side_rows);").format(
                Identifier(self.datastore.schema)
            )
        ]

    def _save_arguments(self, **kwargs: Any) -> list[Any]:
        return [list(kwargs.get("side_rows", ()))]


def test_a_subclass_writes_rows_of_another_table_in_the_same_call_from_save_kwargs(
    pg: DatabaseTarget, open_app: Callable[..., Store]
) -> None:
    app = open_app(APPLICATION_RECORDER_TOPIC=f"{__name__}:WithSideRows")
    counter = Counter()
    app.save(counter, side_rows=["a", "b"])  # Application.save carries kwargs through
    stale = app.repository.get(counter.id)
    counter.increment()
    app.save(counter)
    stale.increment()
    with pytest.raises(IntegrityError):
        app.save(stale, side_rows=["c"])  # atomic: the side row goes with the events
    with pytest.raises(IntegrityError):
        app.save(Counter(), side_rows=["a"])  # and the events with the side row
    with admin_connection(pg) as conn:
        rows = conn.execute(
            SQL("SELECT value FROM {}.side_rows ORDER BY value").format(
                Identifier(pg.env["POSTGRES_SCHEMA"])
            )
        ).fetchall()
    assert rows == [("a",), ("b",)]
    assert len(stored(app)) == 2


def test_the_store_the_wiring_opens_saves_through_the_function(pg: DatabaseTarget) -> None:
    store = open_store(pg, PersonalDataInClear())
    try:
        assert isinstance(store.recorder, PostgresOneRoundTripRecorder)
        counter = Counter()
        counter.increment()
        assert [r.notification.id for r in store.save(counter)] == [1, 2]
    finally:
        store.close()


def test_a_save_whose_connection_keeps_breaking_waits_between_later_attempts(
    open_app: Callable[..., Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stale pooled connections are retried at once; after that the server may be
    restarting, so later attempts pause as for other connection errors."""
    app = open_app()
    recorder = ours(app)
    real = recorder._call_save_function
    broken = [5]  # the first five calls find their connection ended
    pauses: list[float] = []

    def breaking(*args: Any) -> list[int]:
        if broken[0]:
            broken[0] -= 1
            raise recorder_module.ConnectionLost("server closed the connection unexpectedly")
        return real(*args)

    monkeypatch.setattr(recorder, "_call_save_function", breaking)
    monkeypatch.setattr(recorder_module.time, "sleep", pauses.append)
    counter = Counter()
    app.save(counter)
    assert counter.id in app.repository
    assert len(pauses) == 4  # attempts 3 to 6 waited; the second went at once
    assert all(p > 0 for p in pauses)


def test_a_type_another_process_created_meanwhile_is_looked_for_again_not_fatal() -> None:
    # Two starts creating the library's composite type at once: the loser sees the type's
    # relation already there (seen in CI as 'relation "stored_event_uuid" already exists').
    relation_exists = ProgrammingError('relation "stored_event_uuid" already exists')
    relation_exists.__cause__ = DuplicateTable('relation "stored_event_uuid" already exists')
    assert _created_meanwhile(relation_exists)
    assert _created_meanwhile(IntegrityError("duplicate key value in pg_type"))
    assert not _created_meanwhile(ProgrammingError("permission denied for schema"))
