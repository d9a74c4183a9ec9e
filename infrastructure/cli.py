"""The ``vorgang`` command line."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import typer
from pydantic import ValidationError

from application.errors import ApplicationError
from domain.actor import Actor, Role
from domain.errors import DomainError
from domain.tenants import TENANTS
from infrastructure.database import DatabaseUrlError
from infrastructure.logging import configure_logging
from infrastructure.privacy.key_encryption import KeyEncryptionError, new_kek_text
from infrastructure.settings import Settings
from infrastructure.wiring import DatabaseUnavailable, Vorgang, build

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


def open_vorgang(settings: Settings) -> Vorgang:
    """Build the application, or one line saying why the database cannot be used."""
    try:
        return build(settings)
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


privacy = typer.Typer(help="Personal data: erasure by destroying keys, KEK rotation.")
app.add_typer(privacy, name="privacy")


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


def main() -> None:
    """Entry point of the console script."""
    app(prog_name="vorgang")


if __name__ == "__main__":
    main()
