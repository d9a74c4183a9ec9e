"""The composition root: build the store and the use cases once, from the settings."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from eventsourcing.persistence import PersistenceError, Transcoding
from psycopg import Error as PsycopgError
from psycopg_pool import PoolTimeout

from application.cases import CaseService
from application.clock import Clock, SystemClock
from application.identities import CaseIdentities
from application.store import VorgangStore
from application.transcodings import PersonalDataInClear
from infrastructure.database import DatabaseTarget, parse_database_url
from infrastructure.settings import Settings

log = structlog.get_logger(__name__)


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or used; the message is one line for an operator."""


@dataclass
class Vorgang:
    """Everything a process needs, built once: the store and the use cases over it."""

    settings: Settings
    target: DatabaseTarget
    store: VorgangStore
    cases: CaseService

    def close(self) -> None:
        """Release database connections."""
        self.store.close()


def open_store(target: DatabaseTarget, personal_data: Transcoding) -> VorgangStore:
    """Open the event store, creating its tables; an unreachable database is one clear line."""
    try:
        return VorgangStore(env=target.env, personal_data=personal_data)
    except (PersistenceError, PsycopgError, PoolTimeout, OSError) as error:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise DatabaseUnavailable(f"cannot open {target.display}: {first_line}") from None


def build(settings: Settings, *, clock: Clock | None = None) -> Vorgang:
    """Wire a Vorgang from settings (the personal-data transcoding is pass-through here)."""
    target = parse_database_url(
        settings.database_url, connect_timeout=settings.connect_timeout_seconds
    )
    store = open_store(target, PersonalDataInClear())
    identities = CaseIdentities(settings.id_secret.get_secret_value().encode())
    cases = CaseService(store, clock or SystemClock(), identities)
    log.info("store opened", database=target.display, dialect=target.dialect)
    return Vorgang(settings=settings, target=target, store=store, cases=cases)
