"""Signed checkpoints of the chains, in a table of their own that no rebuild touches.

``vorgang_integrity_checkpoints`` (chain, position, link hex, signed_at, key_id, signature
base64) keeps every checkpoint signed; ``vorgang_integrity_verifications`` records every
verification run, signed with the same key (``infrastructure/integrity/verify.py``), so the
next incremental one starts at the last checkpoint a successful, signed run reached. A
checkpoint is due by count, in the chain batch's own transaction
(``CheckpointsDue.after_batch``), and by time, in a round beside the timers
(``CheckpointsDue.tick``): the head is signed when the last checkpoint is older than the
interval and the head moved since.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from application.clock import Clock
from application.facade import DatabaseUnavailable
from infrastructure.integrity.signing import CheckpointSigner
from infrastructure.view_database import ViewDatabase, ViewTransaction
from persistence.chain import LOG_CHAIN, Checkpoint
from projections.integrity_chain import IntegrityChain

TABLE = "vorgang_integrity_checkpoints"
VERIFICATIONS = "vorgang_integrity_verifications"
CHAIN_TABLE = IntegrityChain().table  # integrity_chain_v1
_COLUMNS = "chain, position, link, signed_at, key_id, signature"


class ChainVersionChanged(DatabaseUnavailable):
    """The log's chain has a table of another version and none of this one: a new version
    would be computed from the records as they are now, laundering any tampering since the
    last checkpoint. Refused at start."""


def refuse_a_new_chain_version(tx: ViewTransaction) -> None:
    """Start no new version of the log's chain beside an old one (decision 35)."""
    if tx.dialect == "postgresql":
        rows = tx.query(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name LIKE ?",
            ("integrity_chain_v%",),
        )
    else:
        rows = tx.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'integrity_chain_v%'"
        )
    tables = {str(name) for (name,) in rows}
    old = sorted(t for t in tables if re.fullmatch(r"integrity_chain_v\d+", t) and t != CHAIN_TABLE)
    if old and CHAIN_TABLE not in tables:
        raise ChainVersionChanged(
            f"the log's hash chain is kept in {', '.join(old)}; this version of Vorgang keeps "
            f"it in {CHAIN_TABLE}, which would be computed afresh from the records as they "
            "are now and launder any change since the last signed checkpoint. Refused: start "
            "the version of Vorgang that matches the chain table (IntegrityChain.version), "
            "or carry the chain over from its last signed checkpoint first (docs/audit.md)"
        )


def create_checkpoint_tables(views: ViewDatabase) -> None:
    """The checkpoints and the record of verification runs (refused beside a chain table of
    another version: ``ChainVersionChanged``)."""
    with views.transaction() as tx:
        refuse_a_new_chain_version(tx)
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (chain TEXT NOT NULL, position BIGINT NOT NULL, "
            "link TEXT NOT NULL, signed_at TEXT NOT NULL, key_id TEXT NOT NULL, "
            "signature TEXT NOT NULL, PRIMARY KEY (chain, position))"
        )
        tx.execute(
            f"CREATE TABLE IF NOT EXISTS {VERIFICATIONS} (chain TEXT NOT NULL, "
            "verified_at TEXT NOT NULL, from_position BIGINT NOT NULL, "
            "to_position BIGINT NOT NULL, checkpoint_position BIGINT, ok BOOLEAN NOT NULL, "
            "records BIGINT NOT NULL, verified_by TEXT NOT NULL, checkpoint_link TEXT, "
            "key_id TEXT, signature TEXT)"
        )
        _add_missing(tx, VERIFICATIONS, ("checkpoint_link", "key_id", "signature"))


def _add_missing(tx: ViewTransaction, table: str, columns: Sequence[str]) -> None:
    """Columns a table made by an older version lacks (altered only where missing)."""
    if tx.dialect == "postgresql":
        held = tx.query(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?",
            (table,),
        )
    else:
        held = [(r[1],) for r in tx.query(f"PRAGMA table_info({table})")]
    names = {str(c) for (c,) in held}
    for column in columns:
        if column not in names:
            tx.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")


def record_checkpoint(tx: ViewTransaction, checkpoint: Checkpoint) -> None:
    """Keep a signed checkpoint (a second one at the same position is ignored)."""
    tx.execute(
        f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (chain, position) DO NOTHING",
        (
            checkpoint.chain,
            checkpoint.position,
            checkpoint.link.hex(),
            checkpoint.signed_at,
            checkpoint.key_id,
            base64.b64encode(checkpoint.signature).decode(),
        ),
    )


def _checkpoint(row: Sequence[Any]) -> Checkpoint:
    chain, position, link, signed_at, key_id, signature = row
    return Checkpoint(
        str(chain),
        int(position),
        bytes.fromhex(str(link)),
        str(signed_at),
        str(key_id),
        base64.b64decode(str(signature)),
    )


def checkpoints(
    views: ViewDatabase, chain: str, *, after: int = 0, limit: int | None = None
) -> list[Checkpoint]:
    """A chain's checkpoints after a position, in position order."""
    sql = f"SELECT {_COLUMNS} FROM {TABLE} WHERE chain = ? AND position > ? ORDER BY position"
    params: list[Any] = [chain, after]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [_checkpoint(row) for row in views.query(sql, params)]


def latest_checkpoint(views: ViewDatabase, chain: str) -> Checkpoint | None:
    """A chain's last checkpoint, if any."""
    rows = views.query(
        f"SELECT {_COLUMNS} FROM {TABLE} WHERE chain = ? ORDER BY position DESC LIMIT 1", (chain,)
    )
    return _checkpoint(rows[0]) if rows else None


def checkpoint_at(views: ViewDatabase, chain: str, position: int) -> Checkpoint | None:
    """A chain's checkpoint at a position, if any."""
    rows = views.query(
        f"SELECT {_COLUMNS} FROM {TABLE} WHERE chain = ? AND position = ?", (chain, position)
    )
    return _checkpoint(rows[0]) if rows else None


def checkpoint_json(checkpoint: Checkpoint) -> dict[str, Any]:
    """A checkpoint as the API and an auditor's copy give it."""
    return {
        "chain": checkpoint.chain,
        "position": checkpoint.position,
        "link": checkpoint.link.hex(),
        "signed_at": checkpoint.signed_at,
        "key_id": checkpoint.key_id,
        "signature": base64.b64encode(checkpoint.signature).decode(),
    }


def checkpoint_from_json(data: Mapping[str, Any]) -> Checkpoint:
    """A checkpoint from its JSON (``ValueError``/``KeyError`` when malformed)."""
    link = bytes.fromhex(str(data["link"]))
    if len(link) != 32:
        raise ValueError("a checkpoint's link is 64 hex digits")
    return Checkpoint(
        chain=str(data["chain"]),
        position=int(data["position"]),
        link=link,
        signed_at=str(data["signed_at"]),
        key_id=str(data["key_id"]),
        signature=base64.b64decode(str(data["signature"]), validate=True),
    )


def moment_text(moment: datetime) -> str:
    """A checkpoint's time as signed: ISO 8601 in UTC."""
    return moment.astimezone(UTC).isoformat()


@dataclass
class CheckpointsDue:
    """When the log chain's head is signed: by count in the batch, by time beside the timers."""

    views: ViewDatabase
    signer: CheckpointSigner
    clock: Clock
    every_events: int
    every_minutes: float
    chain: str = LOG_CHAIN
    chain_table: str = CHAIN_TABLE

    def after_batch(self, tx: ViewTransaction, position: int, link: bytes) -> None:
        """In the chain batch's transaction: sign the head once enough records were chained."""
        rows = tx.query(
            f"SELECT COUNT(*) FROM {self.chain_table} WHERE position > "
            f"COALESCE((SELECT MAX(position) FROM {TABLE} WHERE chain = ?), 0)",
            (self.chain,),
        )
        if int(rows[0][0]) >= self.every_events:
            now = moment_text(self.clock.now())
            record_checkpoint(tx, self.signer.sign(self.chain, position, link, now))

    def tick(self, today: date) -> Checkpoint | None:
        """Beside the timers: sign the head if the last checkpoint is old and the head moved."""
        del today  # the moment comes from the clock
        head = self.views.query(
            f"SELECT position, link FROM {self.chain_table} ORDER BY position DESC LIMIT 1"
        )
        if not head:
            return None
        position, link = int(head[0][0]), bytes.fromhex(str(head[0][1]))
        latest = latest_checkpoint(self.views, self.chain)
        now = self.clock.now()
        if latest is not None:
            if latest.position >= position:
                return None  # the head has not moved
            age = now - datetime.fromisoformat(latest.signed_at)
            if age < timedelta(minutes=self.every_minutes):
                return None
        checkpoint = self.signer.sign(self.chain, position, link, moment_text(now))
        with self.views.transaction() as tx:
            record_checkpoint(tx, checkpoint)
        return checkpoint
