"""What the API needs of the process it runs in, as ports the API owns and infrastructure fills.

The routes use the application through its facade (``application/facade.py``); besides
that they read views, wait for them (read-your-writes), report on them, and learn whether
the database answers. Each of these is a Protocol here; ``infrastructure/wiring.py`` builds
objects that satisfy them and ``api/app.py``, the composition root, hands them over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from application.facade import Facade
from persistence.chain import ChainReport, Checkpoint
from projections.projection import Projection
from projections.view_store import ViewDatabase


class BeyondTheHead(ValueError):
    """A position the log has not reached: no command returned it, so no wait can help."""

    def __init__(self, position: int, head: int) -> None:
        super().__init__(f"position {position} lies beyond the head of the log ({head})")
        self.position = position
        self.head = head


class StillCatchingUp(TimeoutError):
    """A view that had not reached a position when the bounded wait ended."""

    def __init__(self, name: str, position: int, wanted: int) -> None:
        super().__init__(f"the {name} view is at position {position}, not yet at {wanted}")
        self.name = name
        self.position = position
        self.wanted = wanted


class ApiSettings(Protocol):
    """The settings the routes read (the process's settings have more)."""

    @property
    def retry_after_seconds(self) -> int:
        """Retry-After of a 503."""
        ...

    @property
    def read_your_writes_seconds(self) -> float:
        """How long a read waits for a view to reach a position."""
        ...

    @property
    def feed_heartbeat_seconds(self) -> float:
        """Seconds between heartbeats of an idle feed stream."""
        ...

    @property
    def feed_stream_seconds(self) -> float:
        """How long a feed stream lasts before the client reconnects."""
        ...


class DatabaseWatch(Protocol):
    """Whether the database answers, as last probed; requests fail fast while it does not."""

    @property
    def healthy(self) -> bool:
        """False from a failed probe or a reported failure until a probe succeeds."""
        ...

    def start(self) -> None:
        """Begin probing."""
        ...

    def stop(self) -> None:
        """Stop probing."""
        ...

    def report_failure(self) -> None:
        """A request met a database error."""
        ...

    def check_now(self) -> bool:
        """Probe at once and record the result."""
        ...


class ViewRunner(Protocol):
    """One projection kept caught up with the log."""

    @property
    def projection(self) -> Projection:
        """The projection it runs."""
        ...

    @property
    def known_position(self) -> int:
        """The last position this process saw applied (no query)."""
        ...

    def position(self) -> int:
        """The last log position applied to the view (a query)."""
        ...


class ViewStatus(Protocol):
    """Where a projection stands, for operators."""

    @property
    def name(self) -> str: ...

    @property
    def position(self) -> int: ...

    @property
    def head(self) -> int: ...

    @property
    def lag_events(self) -> int: ...

    @property
    def lag_seconds(self) -> float: ...

    @property
    def applied_at(self) -> str | None: ...

    @property
    def heartbeat_at(self) -> str | None: ...

    @property
    def last_error(self) -> str | None: ...

    @property
    def state(self) -> str: ...


class ReadSide(Protocol):
    """The views and the projections that keep them, as routes read them."""

    @property
    def views(self) -> ViewDatabase:
        """The views' database."""
        ...

    @property
    def runners(self) -> Mapping[str, ViewRunner]:
        """Each projection's runner by name."""
        ...

    @property
    def running(self) -> bool:
        """True while this process keeps the views caught up itself."""
        ...

    def open_sealed(self, text: str) -> Any:
        """A sealed value of a view, opened with the store's keys (``Erased`` once erased)."""
        ...

    async def reach(self, name: str, position: int, timeout: float) -> int:
        """The view's position once it includes ``position`` (``BeyondTheHead``,
        ``StillCatchingUp`` otherwise)."""
        ...

    def being_built(self) -> dict[str, tuple[int, int]]:
        """Views of this version not built yet: name → (position, head)."""
        ...

    def statuses(self) -> Sequence[ViewStatus]:
        """Every projection's status."""
        ...


class Projections(ReadSide, Protocol):
    """The read side as the process holding it starts it."""

    def start(self) -> None:
        """Keep every projection caught up in the background."""
        ...

    def leave_to_another_process(self) -> None:
        """Another process keeps the views: only read their positions here, never apply."""
        ...


@dataclass(frozen=True, slots=True)
class PublishedKey:
    """A public key that signs (or signed) the checkpoints."""

    key_id: str
    algorithm: str  # "Ed25519"
    public_key: bytes  # raw, 32 bytes
    pem: str
    current: bool


@dataclass(frozen=True)
class FullRun:
    """A verification run from the first record, signed when it was recorded (decision 35)."""

    verified_at: str
    verified_to: int
    records: int
    ok: bool
    verified_by: str


class IntegrityPort(Protocol):
    """The tamper-evident logs: verification, signed checkpoints, public keys (decision 35)."""

    def verify(
        self, *, full: bool, by: str, auditor_copies: Sequence[Checkpoint] = ()
    ) -> list[ChainReport]:
        """Each chain verified from its trusted start (``full``: from genesis)."""
        ...

    def head(self) -> int:
        """The log's last position."""
        ...

    def checkpoints(self, chain: str, *, after: int = 0, limit: int = 100) -> list[Checkpoint]:
        """A chain's signed checkpoints after a position."""
        ...

    def latest_checkpoint(self, chain: str) -> Checkpoint | None:
        """A chain's last checkpoint."""
        ...

    def published_keys(self) -> list[PublishedKey]:
        """The current public key first, then retired ones."""
        ...

    def last_full_run(self, chain: str) -> FullRun | None:
        """The last signed verification run of a chain that walked from its first record."""
        ...


class Process(Facade, Protocol):
    """The application of this process, built once: its facade, its read side."""

    @property
    def projections(self) -> Projections:
        """The projections and their views."""
        ...

    @property
    def integrity(self) -> IntegrityPort:
        """The tamper-evident logs."""
        ...

    def close(self) -> None:
        """Stop projections and release connections."""
        ...
