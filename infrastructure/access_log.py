"""The access log of staff reads: chained at write time, queried by auditors, pruned by age.

Tables (beside the views, not projection tables: a rebuild never touches them):

- ``vorgang_access_log``: one line per read (position, at, actor_id, role, tenant,
  on_behalf_of, route, what, case_id, query, hits, link);
- ``vorgang_access_log_cases``: the cases a hit list showed (position, case_id), so "who saw
  case X" includes search hits;
- ``vorgang_access_log_anchors``: where the chain continues after pruning (position, link,
  when, how many lines), signed like a checkpoint.

A line's link is ``next_link(previous, encode_fields(ACCESS_LOG_ENCODING, every column in a
fixed order and the hit case ids))`` (persistence/chain.py). Lines are written one at a time
under a lock that every process honours (PostgreSQL: ``pg_advisory_xact_lock`` in the
insert's transaction; SQLite: the write transaction), so positions have no gaps and each
link follows the one before. The free text of a search may name a person: it is stored
sealed, as ``PersonalData`` of a fixed access-log case under a subject per month, through
the store's transcoder (encrypted in production), so pruning a month shreds its key while
the chain over the stored bytes still verifies.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from application.access_log import (
    AccessLine,
    AccessLogFilter,
    AccessLogUnavailable,
    is_recorded,
    utc_text,
)
from domain.actor import Actor
from domain.personal_data import Erased, PersonalData
from infrastructure.privacy.key_encryption import WrappedKey
from infrastructure.privacy.key_store import PersonalDataKeys
from infrastructure.view_database import ViewDatabase, ViewTransaction, lock_key
from persistence.chain import (
    ACCESS_LOG_CHAIN,
    ACCESS_LOG_ENCODING,
    ALTERED,
    BAD_SIGNATURE,
    CHAIN_REWRITTEN,
    DELETED,
    GENESIS,
    ChainReport,
    Checkpoint,
    Disagreement,
    encode_fields,
    next_link,
)

log = structlog.get_logger(__name__)

TABLE = "vorgang_access_log"
CASES = "vorgang_access_log_cases"
ANCHORS = "vorgang_access_log_anchors"
COLUMNS = (
    "position",
    "at",
    "actor_id",
    "role",
    "tenant",
    "on_behalf_of",
    "route",
    "what",
    "case_id",
    "query",
    "hits",
    "link",
)
# The free text of searches is sealed under this case id (no real case has it).
ACCESS_LOG_CASE = UUID("00000000-0000-4000-8000-0000000ac10e")
ERASED_TEXT = "[gelöscht]"
_NONE = b"\x00"  # a column without a value (no stored text holds a NUL)


def subject_of_month(at: datetime) -> str:
    """The data subject a search's free text is sealed under: one per month, shredded whole."""
    return f"access-log-{at:%Y-%m}"


def create_access_log_tables(views: ViewDatabase) -> None:
    """Create the access log's tables (idempotent)."""
    big = "BIGINT" if views.dialect == "postgresql" else "INTEGER"
    statements = (
        f"CREATE TABLE IF NOT EXISTS {TABLE} (position {big} PRIMARY KEY, at TEXT NOT NULL, "
        "actor_id TEXT NOT NULL, role TEXT NOT NULL, tenant TEXT NOT NULL, on_behalf_of TEXT, "
        "route TEXT NOT NULL, what TEXT NOT NULL, case_id TEXT, query TEXT, hits INTEGER, "
        "link TEXT NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {TABLE}_case ON {TABLE} (case_id, position)",
        f"CREATE INDEX IF NOT EXISTS {TABLE}_actor ON {TABLE} (actor_id, position)",
        f"CREATE INDEX IF NOT EXISTS {TABLE}_at ON {TABLE} (at)",
        f"CREATE TABLE IF NOT EXISTS {CASES} (position {big} NOT NULL, case_id TEXT NOT NULL, "
        "PRIMARY KEY (position, case_id))",
        f"CREATE INDEX IF NOT EXISTS {CASES}_case ON {CASES} (case_id, position)",
        f"CREATE TABLE IF NOT EXISTS {ANCHORS} (position {big} PRIMARY KEY, link TEXT NOT NULL, "
        "pruned_at TEXT NOT NULL, lines INTEGER NOT NULL, before TEXT NOT NULL, "
        "signed_at TEXT, key_id TEXT, signature TEXT)",
    )
    with views.transaction() as tx:
        for statement in statements:
            tx.execute(statement)


# ---------------------------------------------------------------- the chain of a line


@dataclass(frozen=True, slots=True)
class StoredLine:
    """A line exactly as stored, with its hit case ids."""

    position: int
    at: str
    actor_id: str
    role: str
    tenant: str
    on_behalf_of: str | None
    route: str
    what: str
    case_id: str | None
    query: str | None
    hits: int | None
    link: str  # hex
    hit_case_ids: tuple[str, ...] = ()

    def encoded(self) -> bytes:
        """The canonical encoding the link covers: every stored column in a fixed order."""

        def text(value: str | None) -> bytes:
            return _NONE if value is None else value.encode()

        return encode_fields(
            ACCESS_LOG_ENCODING,
            (
                str(self.position).encode(),
                self.at.encode(),
                self.actor_id.encode(),
                self.role.encode(),
                self.tenant.encode(),
                text(self.on_behalf_of),
                self.route.encode(),
                self.what.encode(),
                text(self.case_id),
                text(self.query),
                _NONE if self.hits is None else str(self.hits).encode(),
                ",".join(self.hit_case_ids).encode(),
            ),
        )

    def link_after(self, previous: bytes) -> bytes:
        """This line's link after ``previous``."""
        return next_link(previous, self.encoded())


def _row_line(row: Sequence[Any], hit_case_ids: tuple[str, ...] = ()) -> StoredLine:
    return StoredLine(
        position=int(row[0]),
        at=row[1],
        actor_id=row[2],
        role=row[3],
        tenant=row[4],
        on_behalf_of=row[5],
        route=row[6],
        what=row[7],
        case_id=row[8],
        query=row[9],
        hits=None if row[10] is None else int(row[10]),
        link=row[11],
        hit_case_ids=hit_case_ids,
    )


def _canonical_json(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


# ---------------------------------------------------------------- signing (decision 35)


class AnchorSigner(Protocol):
    """Signs a chain's head like a checkpoint (infrastructure/integrity/signing.py)."""

    @property
    def key_id(self) -> str: ...

    def sign(self, chain: str, position: int, link: bytes, signed_at: str) -> Checkpoint: ...


def signature_verifies(checkpoint: Checkpoint, public_keys: dict[str, bytes]) -> bool:
    """Whether the checkpoint's Ed25519 signature verifies with the key it names."""
    key = public_keys.get(checkpoint.key_id)
    if key is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(
            checkpoint.signature, checkpoint.signed_message()
        )
    except (InvalidSignature, ValueError):
        return False
    return True


# ---------------------------------------------------------------- writing, reading, pruning


@dataclass(frozen=True, slots=True)
class Pruned:
    """What a pruning round did."""

    lines: int
    anchor_position: int | None  # where the chain now continues from (None: nothing pruned)
    shredded_subjects: tuple[str, ...]


class ChainedAccessLog:
    """The access log: records reads (``AccessLog``), lists lines (``AccessLogReader``),
    prunes by age with a signed anchor."""

    def __init__(
        self,
        views: ViewDatabase,
        *,
        keys: PersonalDataKeys,
        seal: Callable[[PersonalData], str],
        open_sealed: Callable[[str], Any],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        schema: str = "public",
        signer: AnchorSigner | None = None,
        record_checkpoint: Callable[[ViewTransaction, Checkpoint], None] | None = None,
        checkpoint_every: int = 1000,
    ) -> None:
        self.views = views
        self._keys = keys
        self._seal = seal
        self._open = open_sealed
        self._now = now
        self._lock_key = lock_key(f"{schema}.{TABLE}")
        self._signer = signer
        self._record_checkpoint = record_checkpoint
        self._checkpoint_every = checkpoint_every
        self._sealing = threading.Lock()

    # ------------------------------------------------------------ recording

    def record_read(
        self,
        actor: Actor,
        *,
        route: str,
        what: str,
        case_id: UUID | None = None,
        query: dict[str, Any] | None = None,
        hits: Sequence[UUID] = (),
    ) -> None:
        """Write the line, chained, before the answer is given (``AccessLogUnavailable``)."""
        if not is_recorded(actor):
            return
        at = self._now()
        try:
            stored_query = self._stored_query(query, at, hits)
            self._append(
                at=utc_text(at),
                actor_id=actor.id,
                role=actor.role.value,
                tenant=actor.tenant,
                on_behalf_of=actor.on_behalf_of,
                route=route,
                what=what,
                case_id=None if case_id is None else str(case_id),
                query=stored_query,
                hits=None if query is None and not hits else len(hits),
                hit_case_ids=tuple(sorted({str(h) for h in hits})),
            )
        except Exception as error:
            log.error("access log not written", error=type(error).__name__, what=what)
            raise AccessLogUnavailable("the access log cannot be written now") from error

    def _stored_query(
        self, query: dict[str, Any] | None, at: datetime, hits: Sequence[UUID]
    ) -> str | None:
        if query is None:
            return None
        stored = {k: v for k, v in query.items() if v is not None}
        text = stored.get("q")
        if isinstance(text, str) and text:
            stored["q"] = self._sealed(text, at)
        return _canonical_json(stored)

    def _sealed(self, text: str, at: datetime) -> str:
        """The free text sealed under the month's subject; a new month's key is stored now."""
        with self._sealing:  # one thread makes a month's key; the others find it
            sealed = self._seal(PersonalData(ACCESS_LOG_CASE, subject_of_month(at), text))
            rows = self._keys.take_new_rows()
            # Outside any save: no event recorder writes the key row, so it is written here
            # (the key store's own insert), before the sealed text is stored anywhere.
            for row in rows:
                self._keys._insert(
                    row.key_id,
                    row.case_hex,
                    row.subject,
                    WrappedKey(row.kek_id, row.wrapped_key),
                    row.created_at,
                )
            if rows:
                self._keys.written(rows)
        return sealed

    def _lock(self, tx: ViewTransaction) -> None:
        if tx.dialect == "postgresql":  # every process; released at commit or rollback
            tx.query("SELECT pg_advisory_xact_lock(?)", (self._lock_key,))

    @staticmethod
    def _head(tx: ViewTransaction) -> tuple[int, bytes]:
        rows = tx.query(f"SELECT position, link FROM {TABLE} ORDER BY position DESC LIMIT 1")  # noqa: S608
        if not rows:
            rows = tx.query(
                f"SELECT position, link FROM {ANCHORS} ORDER BY position DESC LIMIT 1"  # noqa: S608
            )
        if not rows:
            return 0, GENESIS
        return int(rows[0][0]), bytes.fromhex(rows[0][1])

    def _append(self, *, hit_case_ids: tuple[str, ...], **columns: Any) -> None:
        with self.views.transaction() as tx:
            self._lock(tx)
            position, previous = self._head(tx)
            line = StoredLine(position=position + 1, link="", hit_case_ids=hit_case_ids, **columns)
            link = line.link_after(previous)
            values = [getattr(line, c) for c in COLUMNS[:-1]] + [link.hex()]
            marks = ", ".join("?" for _ in COLUMNS)
            tx.execute(
                f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({marks})",  # noqa: S608
                values,
            )
            if hit_case_ids:
                tx.execute_many(
                    f"INSERT INTO {CASES} (position, case_id) VALUES (?, ?)",  # noqa: S608
                    [(line.position, c) for c in hit_case_ids],
                )
            if (
                self._signer is not None
                and self._record_checkpoint is not None
                and line.position % self._checkpoint_every == 0
            ):
                self._record_checkpoint(tx, self._sign(line.position, link))

    def _sign(self, position: int, link: bytes) -> Checkpoint:
        assert self._signer is not None
        return self._signer.sign(ACCESS_LOG_CHAIN, position, link, utc_text(self._now()))

    def checkpoint_head(self) -> Checkpoint | None:
        """Sign the chain's head now (a round beside the timers); None without a signer."""
        if self._signer is None or self._record_checkpoint is None:
            return None
        with self.views.transaction() as tx:
            self._lock(tx)
            position, link = self._head(tx)
            if position == 0:
                return None
            checkpoint = self._sign(position, link)
            self._record_checkpoint(tx, checkpoint)
            return checkpoint

    # ------------------------------------------------------------ reading

    def lines(self, which: AccessLogFilter, *, after: int | None, limit: int) -> list[AccessLine]:
        """A town's lines, newest first, below the position ``after``."""
        where = ["(l.tenant = ? OR l.on_behalf_of = ?)"]
        params: list[Any] = [which.tenant, which.tenant]
        if which.case_id is not None:
            where.append(
                f"(l.case_id = ? OR EXISTS (SELECT 1 FROM {CASES} c "  # noqa: S608
                "WHERE c.position = l.position AND c.case_id = ?))"
            )
            params += [str(which.case_id), str(which.case_id)]
        if which.actor_id is not None:
            where.append("l.actor_id = ?")
            params.append(which.actor_id)
        if which.start is not None:
            where.append("l.at >= ?")
            params.append(which.start)
        if which.end is not None:
            where.append("l.at < ?")
            params.append(which.end)
        if which.what is not None:
            where.append("l.what = ?")
            params.append(which.what)
        if after is not None:
            where.append("l.position < ?")
            params.append(after)
        columns = ", ".join(f"l.{c}" for c in COLUMNS)
        rows = self.views.query(
            f"SELECT {columns} FROM {TABLE} l WHERE {' AND '.join(where)} "  # noqa: S608
            "ORDER BY l.position DESC LIMIT ?",
            [*params, limit],
        )
        hits = self._hits_of([int(r[0]) for r in rows])
        return [self._shown(_row_line(r, hits.get(int(r[0]), ()))) for r in rows]

    def _hits_of(self, positions: Sequence[int]) -> dict[int, tuple[str, ...]]:
        if not positions:
            return {}
        marks = ", ".join("?" for _ in positions)
        found: dict[int, list[str]] = {}
        for position, case_id in self.views.query(
            f"SELECT position, case_id FROM {CASES} WHERE position IN ({marks}) "  # noqa: S608
            "ORDER BY position, case_id",
            list(positions),
        ):
            found.setdefault(int(position), []).append(case_id)
        return {p: tuple(ids) for p, ids in found.items()}

    def _shown(self, line: StoredLine) -> AccessLine:
        query: dict[str, Any] | None = None
        if line.query is not None:
            query = json.loads(line.query)
            if isinstance(query.get("q"), str):
                query["q"] = self._opened(query["q"])
        return AccessLine(
            position=line.position,
            at=line.at,
            actor_id=line.actor_id,
            role=line.role,
            tenant=line.tenant,
            on_behalf_of=line.on_behalf_of,
            route=line.route,
            what=line.what,
            case_id=line.case_id,
            query=query,
            hits=line.hits,
            hit_case_ids=line.hit_case_ids,
        )

    def _opened(self, sealed: str) -> str:
        try:
            value = self._open(sealed)
        except Exception:  # a key lost with its month: shown as erased, never an error
            return ERASED_TEXT
        if isinstance(value, Erased) or not isinstance(value, PersonalData):
            return ERASED_TEXT
        return value.value

    # ------------------------------------------------------------ retention

    def prune(self, retention_days: int) -> Pruned:
        """Delete lines older than the retention, record a signed anchor where the chain
        continues, and shred the search texts of months wholly before the cut."""
        if retention_days < 1:
            raise ValueError("the access log keeps its lines at least one day")
        now = self._now()
        cut = now - timedelta(days=retention_days)
        with self.views.transaction() as tx:
            self._lock(tx)
            rows = tx.query(
                f"SELECT position, link FROM {TABLE} WHERE at < ? "  # noqa: S608
                "ORDER BY position DESC LIMIT 1",
                (utc_text(cut),),
            )
            anchor: int | None = None
            deleted = 0
            if rows:
                anchor, link_hex = int(rows[0][0]), rows[0][1]
                tx.execute(f"DELETE FROM {CASES} WHERE position <= ?", (anchor,))  # noqa: S608
                deleted = tx.execute(f"DELETE FROM {TABLE} WHERE position <= ?", (anchor,))  # noqa: S608
                signed_at = key_id = signature = None
                if self._signer is not None:
                    checkpoint = self._sign(anchor, bytes.fromhex(link_hex))
                    signed_at, key_id = checkpoint.signed_at, checkpoint.key_id
                    signature = checkpoint.signature.hex()
                    if self._record_checkpoint is not None:
                        self._record_checkpoint(tx, checkpoint)
                tx.execute(
                    f"INSERT INTO {ANCHORS} (position, link, pruned_at, lines, before, "  # noqa: S608
                    "signed_at, key_id, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        anchor,
                        link_hex,
                        utc_text(now),
                        deleted,
                        utc_text(cut),
                        signed_at,
                        key_id,
                        signature,
                    ),
                )
        shredded = self._shred_months_before(cut)
        log.info("access log pruned", lines=deleted, anchor=anchor, months=len(shredded))
        return Pruned(deleted, anchor, shredded)

    def _shred_months_before(self, cut: datetime) -> tuple[str, ...]:
        first_kept = subject_of_month(cut)
        old = [
            s
            for s in self._keys.subjects_of(ACCESS_LOG_CASE)
            if s.startswith("access-log-") and s < first_kept
        ]
        live = set(old) - set(self._keys.erased_subjects_of(ACCESS_LOG_CASE))
        if live:
            self._keys.destroy(ACCESS_LOG_CASE, sorted(live))
        return tuple(sorted(live))

    def daily(self, retention_days: int) -> Callable[[Any], object]:
        """A round beside the timers, once a day (the first tick of a day): prune, then sign
        the chain's head (a checkpoint beside those every N lines)."""
        last: list[Any] = [None]

        def run(today: Any) -> object:
            if last[0] == today:
                return None
            pruned = self.prune(retention_days)
            self.checkpoint_head()
            last[0] = today
            return pruned

        return run


# ---------------------------------------------------------------- verification


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where the chain continues after pruning."""

    position: int
    link: bytes
    checkpoint: Checkpoint | None  # its signature (None: pruned without a signer)


def anchors(views: ViewDatabase) -> list[Anchor]:
    """Every pruning's anchor, oldest first."""
    found = []
    for position, link, signed_at, key_id, signature in views.query(
        f"SELECT position, link, signed_at, key_id, signature FROM {ANCHORS} ORDER BY position"  # noqa: S608
    ):
        link_bytes = bytes.fromhex(link)
        checkpoint = (
            Checkpoint(
                ACCESS_LOG_CHAIN,
                int(position),
                link_bytes,
                signed_at,
                key_id,
                bytes.fromhex(signature),
            )
            if signature
            else None
        )
        found.append(Anchor(int(position), link_bytes, checkpoint))
    return found


def _stored_lines(views: ViewDatabase, after: int, batch: int) -> Iterable[StoredLine]:
    columns = ", ".join(COLUMNS)
    while True:
        rows = views.query(
            f"SELECT {columns} FROM {TABLE} WHERE position > ? ORDER BY position LIMIT ?",  # noqa: S608
            (after, batch),
        )
        if not rows:
            return
        first, last = int(rows[0][0]), int(rows[-1][0])
        hits: dict[int, list[str]] = {}
        for position, case_id in views.query(
            f"SELECT position, case_id FROM {CASES} WHERE position >= ? AND position <= ? "  # noqa: S608
            "ORDER BY position, case_id",
            (first, last),
        ):
            hits.setdefault(int(position), []).append(case_id)
        for row in rows:
            yield _row_line(row, tuple(hits.get(int(row[0]), ())))
        after = last


def verify_access_log(
    views: ViewDatabase,
    public_keys: dict[str, bytes],
    *,
    checkpoints: Sequence[Checkpoint] = (),
    batch: int = 5000,
) -> ChainReport:
    """Recompute the access log's chain from its trusted start and report the first line
    altered, deleted or inserted.

    The start is the latest pruning anchor (its signature checked when it has one) or the
    genesis; ``checkpoints`` are the signed checkpoints of the access-log chain (the
    system's and an auditor's copies): each must lie on the recomputed chain.
    """
    chain = ACCESS_LOG_CHAIN
    found = anchors(views)
    start, previous = 0, GENESIS
    checked = 0

    def report(to: int, records: int, disagreement: Disagreement | None) -> ChainReport:
        return ChainReport(chain, start, to, records, checked, disagreement)

    if found:
        anchor = found[-1]
        if public_keys:  # with keys known, only a signed anchor is a trusted start
            checked += 1
            if anchor.checkpoint is None or not signature_verifies(anchor.checkpoint, public_keys):
                detail = f"the pruning anchor at {anchor.position} is not signed by a known key"
                return report(start, 0, Disagreement(chain, anchor.position, BAD_SIGNATURE, detail))
        start, previous = anchor.position, anchor.link
    pending = sorted((c for c in checkpoints if c.position > start), key=lambda c: c.position)
    for checkpoint in pending:
        if not signature_verifies(checkpoint, public_keys):
            detail = f"the checkpoint at {checkpoint.position} does not verify"
            return report(start, 0, Disagreement(chain, checkpoint.position, BAD_SIGNATURE, detail))
    expected = start + 1
    records = 0
    at = start
    for line in _stored_lines(views, start, batch):
        if line.position != expected:
            detail = f"lines {expected} to {line.position - 1} are missing"
            return report(at, records, Disagreement(chain, expected, DELETED, detail))
        link = line.link_after(previous)
        if link.hex() != line.link:
            detail = f"line {line.position} differs from what was chained"
            return report(at, records, Disagreement(chain, line.position, ALTERED, detail))
        while pending and pending[0].position == line.position:
            checkpoint = pending.pop(0)
            checked += 1
            if checkpoint.link != link:
                detail = (
                    f"the signed checkpoint at {checkpoint.position} does not match the lines "
                    f"after {start}: they were rewritten"
                )
                return report(
                    at, records, Disagreement(chain, checkpoint.position, CHAIN_REWRITTEN, detail)
                )
        previous, at, expected = link, line.position, line.position + 1
        records += 1
    if pending:  # a checkpoint beyond the last line: lines at the end were removed
        checkpoint = pending[0]
        detail = f"the signed checkpoint at {checkpoint.position} lies beyond the last line ({at})"
        return report(at, records, Disagreement(chain, at + 1, DELETED, detail))
    return report(at, records, None)
