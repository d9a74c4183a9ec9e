"""The ``vorgang`` command line."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from domain.tenants import TENANTS
from infrastructure.database import DatabaseUrlError
from infrastructure.logging import configure_logging
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


def main() -> None:
    """Entry point of the console script."""
    app(prog_name="vorgang")


if __name__ == "__main__":
    main()
