"""The ``vorgang`` command line."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from api.app import create_app
from api.auth import DevelopmentTokens
from api.oidc import ClaimPathError
from application.clock import Clock, FixedClock
from application.errors import ApplicationError
from application.facade import DatabaseUnavailable
from application.reconciliation import Reconciler, ReconciliationResult
from domain.actor import Actor, Role, Scope
from domain.errors import DomainError
from domain.tenants import TENANTS
from domain.working_days import BERLIN
from infrastructure.database import DatabaseUrlError
from infrastructure.demo import demo_case_for, seed_demo
from infrastructure.demo_payments import PAYER_INDEX, contractor, demo_account_id
from infrastructure.documents import cli as documents_cli
from infrastructure.documents.assembly import renderer as letter_renderer
from infrastructure.documents.letterheads import LetterheadProblem
from infrastructure.documents.rendering import TemplateProblem
from infrastructure.logging import configure_logging
from infrastructure.payments.simulator_process import running_simulator
from infrastructure.privacy.key_encryption import KeyEncryptionError, new_kek_text
from infrastructure.projection_rebuild import (
    NotRebuildable,
    prune,
    rebuild_together,
    rebuildable,
    superseded_views,
)
from infrastructure.scheduler import firings
from infrastructure.serving import keep_read_models, serve_processes
from infrastructure.settings import Environment, Settings, UnsafeSettings
from infrastructure.wiring import Vorgang, build
from projections.audit_query import AuditQuery

app = typer.Typer(help="Vorgang: event-sourced case management for municipalities.")


def fail(message: str) -> typer.Exit:
    """Print one line to stderr and return the exit to raise."""
    typer.echo(f"vorgang: {message}", err=True)
    return typer.Exit(code=2)


def load_settings() -> Settings:
    """Settings from the environment, or one line saying what is wrong."""
    try:
        return Settings()
    except ValidationError as error:
        raise fail(describe_settings_error(error)) from None


def describe_settings_error(error: ValidationError) -> str:
    """``VORGANG_X: what is wrong`` for each bad variable, on one line."""
    parts = []
    for problem in error.errors():
        message = str(problem["msg"]).removeprefix("Value error, ")
        variable = "_".join(str(p) for p in problem["loc"]).upper()
        parts.append(f"VORGANG_{variable}: {message}" if variable else message)
    return "; ".join(parts)


def open_vorgang(settings: Settings, clock: Clock | None = None) -> Vorgang:
    """Build the application, or one line saying why the database cannot be used."""
    try:
        return build(settings, clock=clock, run_scheduler=False if clock else None)
    except (DatabaseUrlError, DatabaseUnavailable) as error:
        raise fail(str(error)) from None


@app.command()
def check() -> None:
    """Open the database (creating tables if needed) and report where it is."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    vorgang = open_vorgang(settings)
    try:
        position = vorgang.store.recorder.max_notification_id() or 0
        typer.echo(f"ok: {vorgang.target.display} (log position {position})")
    finally:
        vorgang.close()


@app.command()
def tenants() -> None:
    """List the municipalities served, with their reference prefixes."""
    for tenant in TENANTS.values():
        typer.echo(f"{tenant.id:<12} {tenant.reference_prefix}  {tenant.display_name}")


@app.command()
def token(
    sub: Annotated[str, typer.Option(help="Account id, e.g. anna.schmidt.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[
        Role, typer.Option(help="applicant, clerk, supervisor, auditor, admin, integrator.")
    ],
    tenant: Annotated[str, typer.Option(help="usingen, neu-anspach, schmitten, glashuetten.")],
    on_behalf_of: Annotated[str | None, typer.Option(help="Tenant served by delegation.")] = None,
    scope: Annotated[
        list[Scope] | None,
        typer.Option(help="A service account's grant (integrator), repeatable: feed:read, ..."),
    ] = None,
    team: Annotated[
        list[str] | None,
        typer.Option(help="Staff's team, repeatable (none: the whole town), e.g. bauamt."),
    ] = None,
    hours: Annotated[int, typer.Option(min=1, max=24 * 30, help="Validity in hours.")] = 8,
) -> None:
    """Print a development token the server accepts (refused in production)."""
    settings = load_settings()
    if settings.environment is Environment.PRODUCTION:
        raise fail("the development token issuer is off in production")
    if tenant not in TENANTS or (on_behalf_of is not None and on_behalf_of not in TENANTS):
        raise fail(f"--tenant/--on-behalf-of must be one of {', '.join(TENANTS)}")
    typer.echo(
        development_tokens(settings).issue(
            subject=sub,
            name=name,
            role=role,
            tenant=tenant,
            on_behalf_of=on_behalf_of,
            scopes=scope or (),
            teams=team or (),
            lifetime=timedelta(hours=hours),
        )
    )


@app.command()
def demo() -> None:
    """Create the demo cases in all four towns (again: nothing new is created)."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    vorgang = open_vorgang(settings)
    try:
        ids = seed_demo(vorgang)
    finally:
        vorgang.close()
    typer.echo(f"{len(ids)} demo cases in {len(TENANTS)} towns")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    with_demo: Annotated[bool, typer.Option("--demo", help="Create demo data first.")] = False,
    projections: Annotated[
        bool,
        typer.Option(
            "--projections/--no-projections",
            help="Keep the read models up to date (in this process; with --workers in one "
            "process of their own). Off when `vorgang worker` processes keep them.",
        ),
    ] = True,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="API processes. 1 (default) serves and projects in one process; on "
            "PostgreSQL with 2 cores, 2 (plus the projection process) serves most. On SQLite "
            "keep 1: the projection process would poll, lagging up to a second.",
        ),
    ] = 1,
    dev: Annotated[
        bool,
        typer.Option(
            "--dev",
            help="Accept development tokens (`vorgang token`; their secret is public). "
            "Needed unless VORGANG_OIDC_ISSUER is set; `make run` passes it.",
        ),
    ] = False,
) -> None:
    """Serve the HTTP API (starts even while the database is down: 503 until it is up)."""
    settings = load_settings()
    if not settings.oidc_issuer and not dev:
        raise fail(
            "not serving with the development token issuer, whose public secret mints admin "
            "tokens for every town: set VORGANG_OIDC_ISSUER, or pass --dev on your own machine"
        )
    configure_logging(settings.log_format, settings.log_level)
    # The API opens the database lazily; the letters are checked now, so a broken template
    # refuses the start instead of failing the first Bescheid.
    try:
        letter_renderer(settings.letter_templates_dir)
    except (TemplateProblem, LetterheadProblem) as error:
        raise fail(str(error)) from None
    with ExitStack() as running:
        if with_demo and not settings.payment_provider_url:
            settings = running.enter_context(demo_payment_provider(settings, host, port))
        _serve(settings, host, port, with_demo, projections, workers)


@contextmanager
def demo_payment_provider(settings: Settings, host: str, port: int) -> Iterator[Settings]:
    """The demo's payment provider: the simulator as a process of its own, calling back here.

    Only in development; the API processes (and workers started with ``--workers``) find it
    through ``VORGANG_PAYMENT_PROVIDER_URL``.
    """
    if settings.environment is not Environment.DEVELOPMENT:
        yield settings
        return
    name = settings.payment_provider_name
    callback_url = f"http://{host}:{port}/api/v1/payments/providers/{name}/callbacks"
    with running_simulator(settings.payment_secrets()[0], callback_url) as base_url:
        os.environ["VORGANG_PAYMENT_PROVIDER_URL"] = base_url
        typer.echo(f"vorgang: payment provider simulator at {base_url}", err=True)
        yield settings.model_copy(update={"payment_provider_url": base_url})


def _serve(
    settings: Settings, host: str, port: int, with_demo: bool, projections: bool, workers: int
) -> None:
    """Create the demo data if asked, then serve (in this process or ``workers`` of them)."""
    if with_demo:
        try:
            vorgang = build(settings)
        except (DatabaseUrlError, DatabaseUnavailable) as error:
            typer.echo(f"vorgang: demo data skipped: {error}", err=True)
        else:
            try:
                seed_demo(vorgang)
                print_quickstart(settings, host, port, demo_case_for(vorgang, "usingen"))
            finally:
                vorgang.close()
    try:
        api = create_app(settings, run_projections=projections and workers == 1)
    except (DatabaseUrlError, ClaimPathError, UnsafeSettings) as error:
        raise fail(str(error)) from None
    if workers > 1:  # the app above only checked the settings; each process builds its own
        serve_processes(host=host, port=port, workers=workers, projections=projections)
        return
    uvicorn.run(api, host=host, port=port, log_config=None, access_log=False)


def development_tokens(settings: Settings) -> DevelopmentTokens:
    """The development issuer configured like the server."""
    return DevelopmentTokens(
        settings.token_secret.get_secret_value(),
        issuer=settings.token_issuer,
        audience=settings.token_audience,
    )


def print_quickstart(settings: Settings, host: str, port: int, case_id: UUID) -> None:
    """A clerk token and a curl command that works against the demo data."""
    clerk = development_tokens(settings).issue(
        subject="anna.schmidt", name="Anna Schmidt", role=Role.CLERK, tenant="usingen"
    )
    base = f"http://{host}:{port}"
    typer.echo(
        "\nVorgang is starting with demo data.\n"
        f"\n  Clerk token (Anna Schmidt, Usingen, 8 h):\n  TOKEN={clerk}\n"
        f"\n  Read a demo case:\n"
        f'  curl -s -H "Authorization: Bearer $TOKEN" {base}/api/v1/cases/{case_id}\n'
        f"\n  Its history:\n"
        f'  curl -s -H "Authorization: Bearer $TOKEN" {base}/api/v1/cases/{case_id}/history\n'
        f"\n  Clerk console (sign in with the token above): {base}/console/\n"
        f"\n  API documentation: {base}/docs\n",
        err=True,
    )
    if settings.payment_provider_url:
        payer = contractor("usingen", PAYER_INDEX)
        token = development_tokens(settings).issue(
            subject=payer.id, name=payer.display_name, role=Role.APPLICANT, tenant="usingen"
        )
        account = demo_account_id("usingen")
        typer.echo(
            f"  A contractor pays online (Sabine Adler, Tiefbau Hochtaunus GmbH):\n"
            f"  PAYER={token}\n"
            f'  curl -s -H "Authorization: Bearer $PAYER" '
            f"{base}/api/v1/business-customers/{account}/receivables\n"
            f"  then POST {base}/api/v1/payment-requests and open its checkout_url "
            f"(docs/payments.md)\n",
            err=True,
        )


@app.command()
def worker() -> None:
    """Keep the read models up to date and fire due timers (run any number; each projection
    has one holder, each timer fires once)."""
    load_settings()  # a bad setting is one line, before anything starts
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        keep_read_models(stop)
    except (DatabaseUrlError, DatabaseUnavailable) as error:
        raise fail(str(error)) from None


projections_app = typer.Typer(help="Read models: status, rebuild, prune.")
app.add_typer(projections_app, name="projections")


@projections_app.command("status")
def projections_status() -> None:
    """Position, head, lag and state of every read model."""
    settings = load_settings()
    configure_logging(settings.log_format, "WARNING")
    vorgang = open_vorgang(settings)
    try:
        statuses = vorgang.projections.statuses()
    finally:
        vorgang.close()
    typer.echo(f"{'projection':<16}{'position':>10}{'head':>10}{'lag':>8}{'lag s':>9}  state")
    for s in statuses:
        typer.echo(
            f"{s.name:<16}{s.position:>10}{s.head:>10}{s.lag_events:>8}{s.lag_seconds:>9.1f}  "
            f"{s.state}" + (f"  last error: {s.last_error}" if s.last_error else "")
        )


timers_app = typer.Typer(help="Deadlines that act: the scheduler's timers and firings.")
app.add_typer(timers_app, name="timers")


def business_morning(day: date) -> FixedClock:
    """A clock standing at 08:00 in Germany on ``day`` (the scheduler's business day)."""
    return FixedClock(datetime.combine(day, dt_time(8), tzinfo=BERLIN).astimezone(UTC))


@timers_app.command("tick")
def timers_tick(
    on: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"],
            help="Fire as of this business day (YYYY-MM-DD) on a fixed clock, so a demo sees "
            "timers fire; refused in production.",
        ),
    ] = None,
) -> None:
    """Catch the read models up and fire every timer due today, once (as the workers do)."""
    settings = load_settings()
    configure_logging(settings.log_format, "WARNING")
    if on is not None and settings.environment is Environment.PRODUCTION:
        raise fail("--on moves time: only for development and demos, never in production")
    vorgang = open_vorgang(settings, business_morning(on.date()) if on is not None else None)
    try:
        vorgang.projections.catch_up()
        report = vorgang.scheduler.tick()
    finally:
        vorgang.close()
    for key, outcome in report.fired:
        typer.echo(f"{key.due_on}  {key.kind:<28}{key.case_id}  {outcome}")
    typer.echo(
        f"{report.today}: {len(report.fired)} fired, {report.retried} taken up again, "
        f"{report.not_yet} not yet due by their case"
    )


@timers_app.command("firings")
def timers_firings(
    unfinished: Annotated[
        bool, typer.Option(help="Only firings claimed and not yet finished.")
    ] = False,
) -> None:
    """Every timer fired: key, outcome, addressees of notices."""
    settings = load_settings()
    configure_logging(settings.log_format, "WARNING")
    vorgang = open_vorgang(settings)
    try:
        rows = firings(vorgang.views)
    finally:
        vorgang.close()
    for row in rows:
        if unfinished and row["finished_at"] is not None:
            continue
        addressees = ", ".join(row["addressees"] or [])
        typer.echo(
            f"{row['fired_on']}  {row['kind']:<28}{row['case_id']}  due {row['due_on']}  "
            f"{row['outcome'] or 'claimed'}" + (f"  for {addressees}" if addressees else "")
        )


audit_app = typer.Typer(help="For auditors: replay decisions against their rules.")
app.add_typer(audit_app, name="audit")


@audit_app.command("replay")
def audit_replay(
    tenant: Annotated[str, typer.Option(help="usingen, neu-anspach, schmitten, glashuetten.")],
    from_: Annotated[datetime, typer.Option("--from", help="Decisions recorded from (UTC).")],
    to: Annotated[datetime | None, typer.Option(help="... up to (exclusive).")] = None,
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
) -> None:
    """Replay every decision in the range; exit 1 if any is inconsistent."""
    if tenant not in TENANTS:
        raise fail(f"--tenant must be one of {', '.join(TENANTS)}")
    settings = load_settings()
    configure_logging(settings.log_format, "WARNING")
    vorgang = open_vorgang(settings)
    try:
        summary = replay_period(vorgang, tenant, from_, to, service)
    finally:
        vorgang.close()
    typer.echo(f"{'decisions':>10}{'consistent':>12}{'inconsistent':>14}{'not replayable':>16}")
    typer.echo(
        f"{summary['decisions']:>10}{summary['consistent']:>12}{summary['inconsistent']:>14}"
        f"{summary['not_replayable']:>16}"
    )
    for line in summary["findings"]:
        typer.echo(line)
    if summary["inconsistent"]:
        raise typer.Exit(code=1)


def replay_period(
    vorgang: Vorgang, tenant: str, start: datetime, end: datetime | None, service: str | None
) -> dict[str, Any]:
    """Replay every decision of a tenant recorded in a period (found via the audit trail)."""
    vorgang.projections.catch_up()
    audit = vorgang.decision_audit
    auditor = Actor("cli:audit", "Prüfung (Kommandozeile)", Role.AUDITOR, tenant)
    rows = AuditQuery(vorgang.views, lambda text: text).decisions_recorded(
        tenant, aware(start), aware(end) if end else None, service
    )
    counts = {"decisions": 0, "consistent": 0, "inconsistent": 0, "not_replayable": 0}
    findings: list[str] = []
    for case_id, version, reference in rows:
        records = audit.records(UUID(case_id), actor=auditor)
        number = next(r.number for r in records if r.version == version)
        report = audit.replay(UUID(case_id), number, actor=auditor)
        counts["decisions"] += 1
        counts[report.verdict] += 1
        if report.verdict != "consistent":
            detail = report.reason or "; ".join(
                f"{d['field']}: recorded {d['recorded']}, replayed {d['replayed']}"
                for d in report.differences
            )
            findings.append(f"{reference} decision {number}: {report.verdict}: {detail}")
    return {**counts, "findings": findings}


def aware(moment: datetime) -> datetime:
    """A naive moment from the command line is read as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@audit_app.command("verify")
def audit_verify(
    checkpoints_file: Annotated[
        Path | None,
        typer.Option(
            "--checkpoints",
            help="An auditor's saved copy: the JSON of GET /api/v1/integrity/checkpoints.",
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="From the first record (else from the last checkpoint a successful run reached).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The reports as JSON.")] = False,
    case_file: Annotated[
        Path | None,
        typer.Option("--case-file", help="Check a case file's (Akte's) integrity proof instead."),
    ] = None,
) -> None:
    """Recompute the log's hash chain (and the access log's) from the stored records, compare
    it with the chain table, the signed checkpoints and an auditor's copies; exit 1 on the
    first disagreement, 0 when nothing was altered, deleted or inserted."""
    from infrastructure.integrity.checks import audit_lines, load_copies, verify_case_file

    settings = load_settings()
    configure_logging(settings.log_format, "WARNING")
    try:
        copies = load_copies(checkpoints_file) if checkpoints_file else []
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise fail(f"--checkpoints: {error}") from None
    vorgang = open_vorgang(settings)
    try:
        vorgang.projections.catch_up()
        if case_file is not None:
            try:
                reports = [verify_case_file(vorgang, case_file)]
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise fail(f"--case-file: {error}") from None
        else:
            reports = vorgang.integrity.verify(full=full, by="cli", auditor_copies=copies)
        lines = audit_lines(vorgang, reports, as_json=as_json)
    finally:
        vorgang.close()
    for line in lines:
        typer.echo(line)
    if not all(report.ok for report in reports):
        raise typer.Exit(code=1)


@audit_app.command("new-signing-key")
def audit_new_signing_key() -> None:
    """Print a new checkpoint signing key (VORGANG_INTEGRITY_SIGNING_KEY) and its public key."""
    from infrastructure.integrity.signing import new_signing_key

    seed, public = new_signing_key()
    typer.echo(f"VORGANG_INTEGRITY_SIGNING_KEY={seed}")
    typer.echo(f"public key (Ed25519, base64): {public}")


@audit_app.command("prune-access-log")
def audit_prune_access_log(
    days: Annotated[
        int | None,
        typer.Option(help="Keep this many days (default VORGANG_ACCESS_LOG_RETENTION_DAYS)."),
    ] = None,
) -> None:
    """Delete lines of the access log older than the retention; the chain continues from a
    signed anchor, so verification stays green and a line deleted later is still found."""
    settings = load_settings()
    configure_logging(settings.log_format, "WARNING")
    retention = settings.access_log_retention_days
    if days is not None and days < retention:  # shorter only by the setting, never ad hoc
        raise fail(f"--days must be at least VORGANG_ACCESS_LOG_RETENTION_DAYS ({retention})")
    vorgang = open_vorgang(settings)
    try:
        pruned = vorgang.access_log.prune(days or retention)
    finally:
        vorgang.close()
    if pruned.anchor_position is None:
        typer.echo("nothing older than the retention")
        return
    typer.echo(
        f"pruned {pruned.lines} lines; the chain continues after position "
        f"{pruned.anchor_position}; search words of {len(pruned.shredded_subjects)} "
        "months shredded"
    )


@projections_app.command("rebuild")
def projections_rebuild(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Read models to rebuild, e.g. inbox audit_trail (none: all)."),
    ] = None,
) -> None:
    """Rebuild read models side by side from one read of the log; switch each without downtime."""
    settings = load_settings()
    configure_logging(settings.log_format, "WARNING")
    vorgang = open_vorgang(settings)
    try:
        runners = vorgang.projections.runners
        chosen = list(dict.fromkeys(names)) if names else list(runners)
        unknown = [name for name in chosen if name not in runners]
        if unknown:
            raise fail(
                f"unknown projection {', '.join(map(repr, unknown))}; known: {', '.join(runners)}"
            )
        kept = [name for name in chosen if not rebuildable(runners[name].projection)]
        if kept and names:
            raise fail(str(NotRebuildable(kept[0])))
        for name in kept:  # all of them: every one but the hash chain
            typer.echo(f"not rebuilt: {name} (never recomputed; `vorgang audit verify` checks it)")
        chosen = [name for name in chosen if name not in kept]
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} events/s"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            disable=not sys.stderr.isatty(),
        ) as bar:
            task = bar.add_task(f"rebuilding {', '.join(chosen)}", total=None, rate="-")
            started = time.monotonic()

            def advance(position: int, head: int) -> None:
                elapsed = max(time.monotonic() - started, 1e-6)
                bar.update(task, completed=position, total=head, rate=f"{position / elapsed:,.0f}")

            rebuilt = rebuild_together(
                vorgang.store,
                vorgang.views,
                [runners[name].projection for name in chosen],
                progress=advance,
            )
    finally:
        vorgang.close()
    for done in rebuilt:
        typer.echo(
            f"rebuilt {done.name} up to position {done.position}: {done.events} events "
            f"in {done.seconds:.1f} s ({done.events / max(done.seconds, 1e-6):,.0f} events/s)"
        )


@projections_app.command("prune")
def projections_prune(
    yes: Annotated[bool, typer.Option("--yes", help="Drop them (else only list them).")] = False,
) -> None:
    """Drop read models of versions this release superseded (after a rolling deployment)."""
    settings = load_settings()
    configure_logging(settings.log_format, "WARNING")
    vorgang = open_vorgang(settings)
    try:
        current = [runner.projection for runner in vorgang.projections.runners.values()]
        superseded = superseded_views(vorgang.views, current)
        if not superseded:
            typer.echo("no superseded read models")
            return
        if not yes:
            typer.echo(f"superseded (drop with --yes): {', '.join(superseded)}")
            return
        for key, tables in prune(vorgang.views, superseded).items():
            typer.echo(f"dropped {key}: {', '.join(tables) or 'no tables'}")
    finally:
        vorgang.close()


privacy = typer.Typer(help="Personal data: erasure by destroying keys, KEK rotation.")
app.add_typer(privacy, name="privacy")
app.add_typer(documents_cli.app, name="documents")

payments_app = typer.Typer(help="The town's cash office: reconcile the provider's settlements.")
app.add_typer(payments_app, name="payments")


@payments_app.command("reconcile")
def payments_reconcile(
    day: Annotated[
        datetime,
        typer.Option("--date", formats=["%Y-%m-%d"], help="The settlement day (YYYY-MM-DD)."),
    ],
    town: Annotated[
        list[str] | None,
        typer.Option(help="Only this town (repeatable); none: every town served."),
    ] = None,
    provider: Annotated[
        str | None, typer.Option(help="The provider's name (none: the one configured).")
    ] = None,
) -> None:
    """Compare the provider's settlement report of a day with the payments recorded, per
    town, and record the run. Exit 0: every town balanced; 1: something missing or
    unexpected; 2: could not reconcile (provider unreachable, bad option)."""
    for name in town or ():
        if name not in TENANTS:
            raise fail(f"--town must be one of {', '.join(TENANTS)}")
    settings = load_settings()
    configure_logging(settings.log_format, "WARNING")
    vorgang = open_vorgang(settings)
    try:
        results = reconcile_payments(vorgang, day.date(), town or list(TENANTS), provider)
    except (ApplicationError, DomainError) as error:
        raise fail(str(error)) from None
    finally:
        vorgang.close()
    for result in results:
        for line in reconciliation_lines(result):
            typer.echo(line)
    if not all(result.balanced for result in results):
        raise typer.Exit(code=1)


def reconcile_payments(
    vorgang: Vorgang, day: date, towns: list[str], provider: str | None
) -> list[ReconciliationResult]:
    """Reconcile the day for each town, acting as that town's cash office."""
    gateway = vorgang.payments.provider(provider)
    actors = {
        name: Actor("cli:reconcile", "Abgleich (Kommandozeile)", Role.CASH_OFFICE, name)
        for name in towns
    }
    reconciler = Reconciler(vorgang.payments.store, vorgang.payments.clock)
    return reconciler.reconcile_each(day, gateway, actors)


def reconciliation_lines(result: ReconciliationResult) -> list[str]:
    """A town's run as a readable table: the matched count and sum, every other row."""
    verdict = "balanced" if result.balanced else "NOT BALANCED"
    lines = [
        f"{result.tenant} {result.day} {result.provider} (run {result.run}): {verdict}",
        f"  matched     {len(result.matched):>4} rows  {result.matched_sum:>12} EUR",
    ]
    for label, rows in (("missing", result.missing), ("unexpected", result.unexpected)):
        for row in rows:
            lines.append(
                f"  {label:<11} {row['provider_reference']:<28} {row['kassenzeichen']}  "
                f"{row['amount']:>12} EUR"
            )
    return lines


@privacy.command("erase")
def privacy_erase(
    case: Annotated[str, typer.Option("--case", help="The case id (UUID).")],
    reason: Annotated[str, typer.Option(help="Why, e.g. 'Aufbewahrungsfrist abgelaufen'.")],
    legal_basis: Annotated[str, typer.Option(help="e.g. 'Art. 17 Abs. 1 lit. a DSGVO'.")],
    operator: Annotated[str, typer.Option(help="Who erases (account id), recorded.")],
    operator_name: Annotated[str, typer.Option(help="Their name, recorded.")],
    subject: Annotated[
        list[str] | None, typer.Option(help="A data subject; repeat; all if omitted.")
    ] = None,
) -> None:
    """Destroy the keys of a case's data subjects, then record the erasure in the case."""
    try:
        case_id = UUID(case)
    except ValueError:
        raise fail(f"--case: {case!r} is not a case id (UUID)") from None
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    vorgang = open_vorgang(settings)
    actor = Actor(operator, operator_name, Role.SYSTEM, tenant="system")
    try:
        result = vorgang.privacy.erase(
            case_id, actor=actor, reason=reason, legal_basis=legal_basis, subjects=subject
        )
    except (ApplicationError, DomainError) as error:
        raise fail(str(error)) from None
    finally:
        vorgang.close()
    typer.echo(
        f"erased {', '.join(result.subjects)} in case {result.case_id}: "
        f"{result.destroyed_keys} key(s) destroyed, recorded as version {result.version}"
    )


@privacy.command("rotate-kek")
def privacy_rotate_kek() -> None:
    """Rewrap every data key under VORGANG_KEY_ENCRYPTION_KEY (old ones in ..._PREVIOUS_...)."""
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    vorgang = open_vorgang(settings)
    try:
        changed = vorgang.keys.rewrap_all()
    except KeyEncryptionError as error:
        raise fail(str(error)) from None
    finally:
        vorgang.close()
    typer.echo(f"rewrapped {changed} key(s) under KEK {vorgang.keys.ring.current_id}")


@privacy.command("new-kek")
def privacy_new_kek() -> None:
    """Print a new random key-encryption key (base64) for VORGANG_KEY_ENCRYPTION_KEY."""
    typer.echo(new_kek_text())


webhooks_app = typer.Typer(help="Webhook subscriptions: their dead letters.")
app.add_typer(webhooks_app, name="webhooks")


@webhooks_app.command("dead-letters")
def webhooks_dead_letters(
    subscription: Annotated[
        str | None, typer.Option("--subscription", help="Only this subscription (its id).")
    ] = None,
    redeliver: Annotated[
        int | None,
        typer.Option("--redeliver", help="Deliver this dead letter (its sequence) again."),
    ] = None,
    reason: Annotated[str, typer.Option(help="Why, recorded with a redelivery.")] = (
        "Neuzustellung durch den Betrieb"
    ),
    operator: Annotated[str, typer.Option(help="Who, recorded (account id).")] = "cli:webhooks",
) -> None:
    """List dead letters (every subscription's, or one's), or ask for one's redelivery."""
    from infrastructure.webhook_cli import dead_letter_lines, request_redelivery

    try:
        chosen = UUID(subscription) if subscription else None
    except ValueError:
        raise fail(f"--subscription: {subscription!r} is not a subscription id (UUID)") from None
    if redeliver is not None and chosen is None:
        raise fail("--redeliver needs --subscription")
    settings = load_settings()
    configure_logging(settings.log_format, "WARNING")
    vorgang = open_vorgang(settings)
    try:
        if redeliver is not None and chosen is not None:
            lines = [request_redelivery(vorgang.webhooks, operator, chosen, redeliver, reason)]
        else:
            lines = dead_letter_lines(vorgang.webhooks, operator, chosen) or ["no dead letters"]
    except (ApplicationError, DomainError, LookupError) as error:
        raise fail(str(error)) from None
    finally:
        vorgang.close()
    for line in lines:
        typer.echo(line)


relay_app = typer.Typer(help="Relays of the integration feed to message brokers.")
app.add_typer(relay_app, name="relay")


@relay_app.command("nats")
def relay_nats(
    url: Annotated[
        str | None,
        typer.Option("--url", help="NATS server, e.g. nats://127.0.0.1:4222 (VORGANG_NATS_URL)."),
    ] = None,
) -> None:
    """Publish the feed to NATS JetStream without personal data, from the relay's cursor, until
    SIGTERM or SIGINT (`vorgang worker` or `serve` keep the feed view it reads)."""
    from infrastructure.nats_relay import build_relay

    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    vorgang = open_vorgang(settings)
    try:
        try:
            relay = build_relay(settings, vorgang.views, url)
        except ValueError as error:
            raise fail(str(error)) from None
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: relay.request_stop())
        relay.run()
    finally:
        vorgang.close()


def main() -> None:
    """Entry point of the console script."""
    app(prog_name="vorgang")


if __name__ == "__main__":
    main()
