"""Storage by one URL into the library's environment (docs/architecture.md, decision 3)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

# The PostgreSQL recorder (docs/architecture.md, decision 4), by the topic the library resolves.
RECORDER_TOPIC = "infrastructure.postgres_recorder:PostgresOneRoundTripRecorder"


class DatabaseUrlError(ValueError):
    """A database URL Vorgang cannot use; the message says what is wrong in one line."""


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    """A parsed database URL: the dialect and the library environment that selects it."""

    dialect: str  # "sqlite" or "postgresql"
    env: dict[str, str]
    display: str  # the URL without its password, safe to log

    @property
    def is_postgres(self) -> bool:
        """True for PostgreSQL."""
        return self.dialect == "postgresql"


def parse_database_url(url: str, *, connect_timeout: int = 5) -> DatabaseTarget:
    """``sqlite:///path`` or ``postgresql://user@host:port/db[?schema=s]`` → library env."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return _sqlite(url, parts.netloc, parts.path)
    if parts.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return _postgres(url, connect_timeout)
    raise DatabaseUrlError(
        f"VORGANG_DATABASE_URL must start with sqlite:/// or postgresql://, got {parts.scheme!r}"
    )


def _sqlite(url: str, netloc: str, path: str) -> DatabaseTarget:
    if netloc:
        raise DatabaseUrlError("a SQLite URL has three slashes: sqlite:///relative/or/absolute")
    if path in ("", "/"):
        raise DatabaseUrlError("a SQLite URL needs a file: sqlite:///./var/vorgang.db")
    if path == "/:memory:":
        dbname = "file::memory:?mode=memory&cache=shared"
    else:
        file = Path(path[1:])  # sqlite:///./var/x.db → ./var/x.db; sqlite:////abs → /abs
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseUrlError(f"cannot create the folder for {file}: {error}") from None
        dbname = str(file)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": dbname,
        "SQLITE_LOCK_TIMEOUT": "10",
        "CREATE_TABLE": "y",
    }
    return DatabaseTarget("sqlite", env, url)


def _postgres(url: str, connect_timeout: int) -> DatabaseTarget:
    parts = urlsplit(url)
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise DatabaseUrlError("a PostgreSQL URL needs a database name: postgresql://host/db")
    if not parts.hostname:
        raise DatabaseUrlError("a PostgreSQL URL needs a host: postgresql://user@host:5432/db")
    try:
        port = parts.port or 5432
    except ValueError:
        raise DatabaseUrlError("the port of the PostgreSQL URL is not a number") from None
    query = parse_qs(parts.query)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(port),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_CONNECT_TIMEOUT": str(connect_timeout),
        "POSTGRES_POOL_SIZE": "5",
        "POSTGRES_MAX_OVERFLOW": "10",
        # No ping per pool checkout (a round trip before every statement): a connection the
        # server ended while idle fails its first statement, and the recorder's reads and
        # saves retry on another one (docs/architecture.md, decision 4).
        "POSTGRES_PRE_PING": "n",
        "POSTGRES_LOCK_TIMEOUT": "5",
        # docs/architecture.md, decision 4: every save is one call of our own function that
        # takes the stock path's table lock, so commit order = log order in one round trip.
        # The library's own function (no lock) stays off.
        "APPLICATION_RECORDER_TOPIC": RECORDER_TOPIC,
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "CREATE_TABLE": "y",
    }
    schema = query.get("schema", [""])[0]
    if schema:
        env["POSTGRES_SCHEMA"] = schema
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    user = f"{parts.username}@" if parts.username else ""
    display = f"postgresql://{user}{netloc}/{dbname}" + (f"?schema={schema}" if schema else "")
    return DatabaseTarget("postgresql", env, display)
