"""The composition root: build the store and the use cases once, from the settings."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg
import structlog
from eventsourcing.persistence import PersistenceError, Transcoding
from psycopg import Error as PsycopgError
from psycopg_pool import PoolTimeout

from application.appointments import AppointmentService
from application.case_file import CaseFiles
from application.cases import CaseService
from application.clock import Clock, SystemClock
from application.commands import CommandHandler
from application.decision_audit import DecisionAudit
from application.documents import DocumentService
from application.facade import DatabaseUnavailable
from application.holiday import HolidayService, HolidayWatch
from application.identities import CaseIdentities
from application.markets import MarketService
from application.payment_ports import PaymentProvider
from application.payments import PaymentService
from application.privacy import PrivacyService
from application.store import VorgangStore
from application.teams import TeamDirectory
from application.water_meters import WaterCampaignWatch, WaterMeterService
from application.webhooks import SubscriptionService
from infrastructure.access_log import ChainedAccessLog, create_access_log_tables
from infrastructure.appointment_watch import AppointmentWatch
from infrastructure.case_files import build_case_files
from infrastructure.case_references import ReferencesInTheSearchView
from infrastructure.console_sessions import SignedOutInTheViews, create_signed_out_sessions
from infrastructure.database import DatabaseTarget, parse_database_url
from infrastructure.documents.assembly import document_ports, renderer
from infrastructure.documents.case_file_printer import WeasyPrintCaseFiles
from infrastructure.documents.delivery_watch import DeliveryWatch
from infrastructure.holiday_offering_directory import OfferingsInTheView
from infrastructure.integrity.checkpoints import (
    CheckpointsDue,
    create_checkpoint_tables,
    record_checkpoint,
)
from infrastructure.integrity.proofs import ProofsFromTheChain
from infrastructure.integrity.service import Integrity
from infrastructure.integrity.signing import (
    SigningKeyError,
    public_keys_from,
    signer_from,
)
from infrastructure.log_position import LogPositions
from infrastructure.market_directory import MarketsInTheView
from infrastructure.nats_relay import build_relay, create_relay_tables
from infrastructure.payment_watch import PaymentWatch
from infrastructure.privacy.key_encryption import KeyEncryptionError, KeyRing, parse_kek
from infrastructure.privacy.key_store import PersonalDataKeys, WritesKeyRows, open_keys
from infrastructure.privacy.transcoding import EncryptedPersonalData
from infrastructure.projection_host import ProjectionHost
from infrastructure.scheduler import Scheduler, create_firings
from infrastructure.settings import Settings
from infrastructure.staff_directory import StaffSeenInTheAuditTrail
from infrastructure.view_database import ViewDatabase, open_views
from infrastructure.water_meter_directory import MetersInTheView
from infrastructure.webhook_delivery import build_webhooks, create_webhook_tables
from projections.search_terms import derive_search_key

log = structlog.get_logger(__name__)

RECORDERS_WITH_KEYS = {
    "sqlite": "infrastructure.sqlite_recorder:SQLiteRecorderWithKeys",
    "postgresql": "infrastructure.postgres_recorder_keys:PostgresRecorderWithKeys",
}


DATABASE_ERRORS = (PersistenceError, PsycopgError, PoolTimeout, OSError, sqlite3.Error)


@dataclass
class Vorgang:
    """Everything a process needs, built once: the store, the keys and the use cases."""

    settings: Settings
    target: DatabaseTarget
    keys: PersonalDataKeys
    store: VorgangStore
    cases: CaseService
    privacy: PrivacyService
    decision_audit: DecisionAudit
    case_files: CaseFiles  # a case's file (Akte) as JSON, HTML and PDF (decision 37)
    documents: DocumentService  # letters: issued, sealed, stored, delivered
    delivery_watch: DeliveryWatch  # brings the postbox's and print service's reports in
    appointment_watch: AppointmentWatch  # raises bookings' reminders, erases their contacts
    commands: CommandHandler  # every step of every aggregate type (the one pipeline)
    positions: LogPositions
    views: ViewDatabase
    projections: ProjectionHost
    teams: TeamDirectory
    scheduler: Scheduler  # fires due timers; runs beside the projections
    payments: PaymentService  # business customers, payment requests, receipts, refunds
    water_meters: WaterMeterService  # meters and reading campaigns of the towns
    holiday: HolidayService  # the towns' holiday programmes: offerings, draws, health notes
    markets: MarketService  # the towns' markets: publication, selection, pitches
    webhooks: SubscriptionService  # webhook subscriptions, their status and dead letters
    integrity: Integrity  # the log's hash chain: verification, checkpoints, keys (decision 35)
    integrity_proofs: ProofsFromTheChain  # a case's records in the chain, for its file
    access_log: ChainedAccessLog  # who read what (decision 36): recorded, listed, pruned
    signed_out: SignedOutInTheViews  # console sessions signed out before expiry (decision 38)

    @property
    def access_lines(self) -> ChainedAccessLog:
        """The access log as auditors read it."""
        return self.access_log

    def close(self) -> None:
        """Stop projections and release database connections."""
        self.projections.stop()
        self.views.close()
        self.store.close()
        self.keys.close()


def _one_line(target: DatabaseTarget, error: BaseException) -> DatabaseUnavailable:
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return DatabaseUnavailable(f"cannot open {target.display}: {first_line}")


def open_store(
    target: DatabaseTarget, personal_data: Transcoding, keys: PersonalDataKeys | None = None
) -> VorgangStore:
    """Open the event store, creating its tables; an unreachable database is one clear line.

    With ``keys``, the recorder writes new key rows in the transaction of the events that
    use them (docs/architecture.md, decision 14).
    """
    env = dict(target.env)
    if keys is not None:
        env["APPLICATION_RECORDER_TOPIC"] = RECORDERS_WITH_KEYS[target.dialect]
    try:
        store = VorgangStore(env=env, personal_data=personal_data)
    except DATABASE_ERRORS as error:
        raise _one_line(target, error) from None
    if keys is not None and isinstance(store.recorder, WritesKeyRows):
        store.recorder.write_keys_of(keys)
    return store


def key_ring(settings: Settings) -> KeyRing:
    """The KEK ring from the settings; a malformed KEK is one clear line."""
    try:
        return KeyRing(
            parse_kek(settings.key_encryption_key_text()),
            [parse_kek(text) for text in settings.previous_key_encryption_key_texts()],
        )
    except KeyEncryptionError as error:
        raise DatabaseUnavailable(f"VORGANG_KEY_ENCRYPTION_KEY: {error}") from None


def open_personal_data_keys(settings: Settings, target: DatabaseTarget) -> PersonalDataKeys:
    """The key store beside the events."""
    try:
        return open_keys(target, key_ring(settings), cache_seconds=settings.key_cache_seconds)
    except DATABASE_ERRORS as error:
        raise _one_line(target, error) from None


# With the schema's hash, the advisory lock of table creation (any constant all agree on).
CREATING_TABLES_LOCK = 0x766F7267  # "vorg"


@contextmanager
def one_process_creates_tables(target: DatabaseTarget) -> Iterator[None]:
    """Processes starting together on one PostgreSQL schema create its tables one at a time.

    ``CREATE ... IF NOT EXISTS`` is not safe against itself: two processes creating the same
    table or type at once fail with a unique violation on the catalogue (seen with
    ``serve --workers``). An advisory lock per database serialises the start-ups; SQLite
    serialises its schema changes by its file lock already.
    """
    if not target.is_postgres:
        yield
        return
    env = target.env
    try:
        conn = psycopg.connect(
            host=env["POSTGRES_HOST"],
            port=int(env["POSTGRES_PORT"]),
            user=env["POSTGRES_USER"],
            password=env.get("POSTGRES_PASSWORD") or None,
            dbname=env["POSTGRES_DBNAME"],
            connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT", "5")),
            autocommit=True,
        )
    except DATABASE_ERRORS as error:
        raise _one_line(target, error) from None
    try:
        schema = env.get("POSTGRES_SCHEMA") or "public"  # one creator per schema
        conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (CREATING_TABLES_LOCK, schema))
        yield
    finally:
        conn.close()  # ends the session, and with it the lock


def rounds_beside_the_timers(*rounds: Callable[[date], object]) -> Callable[[date], object]:
    """Work each scheduler tick does beside the timers; one round failing never stops the
    others (each is logged and tried again on the next tick)."""

    def run(today: date) -> list[object]:
        done: list[object] = []
        for work in rounds:
            try:
                done.append(work(today))
            except Exception as error:
                log.warning("round beside the timers failed", error=type(error).__name__)
                done.append(None)
        return done

    return run


def payment_providers(settings: Settings) -> dict[str, PaymentProvider]:
    """The configured payment provider by its name (none when no URL is set)."""
    if not settings.payment_provider_url:
        return {}
    from infrastructure.payments.simulator_provider import SimulatorProvider

    api_key = settings.payment_provider_api_key
    provider = SimulatorProvider(
        settings.payment_provider_url,
        settings.payment_secrets(),
        settings.payment_provider_name,
        api_key=api_key.get_secret_value() if api_key else None,
    )
    return {provider.name: provider}


def build(
    settings: Settings, *, clock: Clock | None = None, run_scheduler: bool | None = None
) -> Vorgang:
    """Wire a Vorgang from settings: keys, encrypted store, use cases.

    The scheduler runs beside the projections (``run_scheduler``) when the settings enable
    it and the process reads the system clock. With an injected clock (tests, demos) time
    moves only when told to, so whoever moves it ticks the scheduler
    (``vorgang.scheduler.tick()``) unless ``run_scheduler`` says otherwise.
    """
    # A broken letter template stops the start before anything is opened; the document
    # ports below reuse this checked renderer (cached per templates directory).
    renderer(settings.letter_templates_dir)
    target = parse_database_url(
        settings.database_url, connect_timeout=settings.connect_timeout_seconds
    )
    try:
        signer = signer_from(settings)
        public_keys = public_keys_from(settings)
    except SigningKeyError as error:
        raise DatabaseUnavailable(f"VORGANG_INTEGRITY_SIGNING_KEY: {error}") from None
    injected = clock
    clock = clock or SystemClock()
    with one_process_creates_tables(target):
        keys = open_personal_data_keys(settings, target)
        try:
            store = open_store(target, EncryptedPersonalData(keys), keys)
        except DatabaseUnavailable:
            keys.close()
            raise
        log.info("store opened", database=target.display, dialect=target.dialect)
        try:
            views = open_views(target)
            search_key = derive_search_key(settings.id_secret.get_secret_value().encode())
            create_checkpoint_tables(views)  # signed checkpoints survive any rebuild
            due = CheckpointsDue(
                views,
                signer,
                clock,
                every_events=settings.integrity_checkpoint_every_events,
                every_minutes=settings.integrity_checkpoint_every_minutes,
            )
            projections = ProjectionHost(  # creates views
                store, views, search_key=search_key, chain_checkpoints=due.after_batch
            )
            create_firings(views)  # the scheduler's record of timers fired
            create_webhook_tables(views)  # webhook cursors, retries, the subscriptions' index
            create_relay_tables(views)  # the NATS relay's cursors
            create_access_log_tables(views)  # who read what, chained
            create_signed_out_sessions(views)  # console sessions signed out before expiry
        except DATABASE_ERRORS as error:
            store.close()
            keys.close()
            raise _one_line(target, error) from None
    identities = CaseIdentities(settings.id_secret.get_secret_value().encode())
    cases = CaseService(store, clock, identities)
    privacy = PrivacyService(store, keys, clock)
    commands = CommandHandler(
        cases,
        staff=StaffSeenInTheAuditTrail(store, views, projections),
        references=ReferencesInTheSearchView(store, views, projections),
    )
    teams = TeamDirectory(store, clock)
    payments = PaymentService(
        store,
        clock,
        payment_providers(settings),
        request_lifetime=timedelta(minutes=settings.payment_request_minutes),
        receipt_key=settings.id_secret.get_secret_value().encode(),
        provider_name=settings.payment_provider_name,
    )
    ports = document_ports(settings, keys)
    documents = DocumentService(store, clock, ports)
    delivery_watch = DeliveryWatch(
        views, ports.postbox, ports.print_service, documents.record_report
    )
    appointment_watch = AppointmentWatch(
        views, AppointmentService(store, clock, identities, keys=keys), clock
    )
    water_meters = WaterMeterService(store, clock, MetersInTheView(store, views, projections))
    # Requests whose callback never came are polled, and expired at their end, beside the timers;
    # a reading campaign's estimates are made the day after its deadline; a holiday offering
    # whose window closed is drawn, and its children's health notes erased after it ended.
    holiday = HolidayService(store, clock, keys, OfferingsInTheView(store, views, projections))
    access_log = ChainedAccessLog(
        views,
        keys=keys,
        seal=lambda value: store.mapper.transcoder.encode(value).decode(),
        open_sealed=projections.open_sealed,
        now=clock.now,
        schema=target.env.get("POSTGRES_SCHEMA") or "public",
        signer=signer,  # anchors and checkpoints of the access log's chain, as the log's
        record_checkpoint=record_checkpoint,
        checkpoint_every=settings.integrity_checkpoint_every_events,
    )
    rounds = [
        due.tick,  # signs the chain's head when the last checkpoint is old and it moved
        access_log.daily(settings.access_log_retention_days),  # prunes once a day
        delivery_watch.tick,
        appointment_watch.tick,
        WaterCampaignWatch(water_meters).tick,
        HolidayWatch(holiday).tick,
    ]
    if payments.providers:
        rounds.append(PaymentWatch(views, payments, clock).tick)
    scheduler = Scheduler(
        views=views,
        commands=commands,
        teams=teams,
        clock=clock,
        reminder_working_days=settings.reminder_working_days,
        tick_seconds=settings.scheduler_tick_seconds,
        beside=rounds_beside_the_timers(*rounds),
    )
    if run_scheduler is None:
        run_scheduler = settings.scheduler and injected is None
    if run_scheduler:
        projections.run_beside(scheduler)
    # Webhooks are delivered where the read models are kept, like the timers (real time only).
    feed_runner = projections.runners["feed"]
    webhooks, webhook_worker = build_webhooks(
        settings,
        store,
        views,
        keys,
        projections.open_sealed,
        clock,
        feed_position=lambda: feed_runner.known_position,  # moves as the feed view does
    )
    if run_scheduler and settings.webhook_delivery:
        projections.run_beside(webhook_worker)
    # The feed is relayed to NATS JetStream where the read models are kept, when configured.
    if run_scheduler and settings.nats_url:
        projections.run_beside(build_relay(settings, views))
    decision_audit = DecisionAudit(store, clock, cases.withheld_from)
    integrity_proofs = ProofsFromTheChain(store, views)
    case_files = build_case_files(
        store,
        cases,
        decision_audit,
        LogPositions(store),
        proofs=integrity_proofs,
        printer=WeasyPrintCaseFiles(),
    )
    return Vorgang(
        settings=settings,
        target=target,
        keys=keys,
        store=store,
        cases=cases,
        privacy=privacy,
        decision_audit=decision_audit,
        case_files=case_files,
        documents=documents,
        delivery_watch=delivery_watch,
        appointment_watch=appointment_watch,
        commands=commands,
        positions=LogPositions(store),
        views=views,
        projections=projections,
        teams=teams,
        scheduler=scheduler,
        payments=payments,
        water_meters=water_meters,
        holiday=holiday,
        markets=MarketService(store, clock, MarketsInTheView(store, views, projections)),
        webhooks=webhooks,
        integrity=Integrity(
            store, views, signer, public_keys, settings.integrity_checkpoint_every_events
        ),
        integrity_proofs=integrity_proofs,
        access_log=access_log,
        signed_out=SignedOutInTheViews(views),
    )
