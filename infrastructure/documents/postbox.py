"""The electronic postbox simulator: stands in for BundID / Mein Unternehmenskonto.

It behaves as the real postbox does towards Vorgang (the ``Postbox`` port of
``application/document_ports.py``): only an account of the portal (``portal:…``) has a
postbox, anything else is refused; sending the same key again returns the same message id
and delivers nothing more. A message is **accepted** when sent, **retrieved** when the
account holder opened it (``retrieve``: what the simulator's user or a test does), and
**failed** when it bounced (``bounce``) or was not retrieved within ten days after sending
(``expire``: § 41 (2a) sentence 4 VwVfG). ``status`` reports retrieved and failed messages
with their day; accepted ones have nothing new to report and are left out.

Messages are kept in one SQLite file in the directory (WAL, one connection per call, writes
in ``BEGIN IMMEDIATE``), so any number of threads and processes share it safely. The PDF is
kept as delivered, in clear: it is the citizen's postbox, outside Vorgang and outside its
encryption of personal data (the real postbox holds it the same way); erasing a case's
personal data does not reach into it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Final

from application.document_ports import ChannelRefused, Report
from domain.case_documents import POSTBOX_ACCOUNT_PREFIX
from domain.documents import Outcome
from infrastructure.documents.sqlite_file import connect, write_transaction

RETRIEVAL_DAYS: Final = 10  # § 41 (2a) sentence 4 VwVfG: retrieved within ten days, or failed
NOT_RETRIEVED: Final = "nicht innerhalb von 10 Tagen abgerufen (§ 41 Abs. 2a Satz 4 VwVfG)"
DATABASE: Final = "postbox.sqlite"
CHUNK: Final = 400  # message ids per query, well below SQLite's limit of bound variables


class MessageState(StrEnum):
    """Where a message in the postbox stands."""

    ACCEPTED = "accepted"  # delivered into the postbox, not yet opened
    RETRIEVED = "retrieved"  # the account holder opened it
    FAILED = "failed"  # bounced, or not retrieved in time


REPORTED: Final = {MessageState.RETRIEVED: Outcome.RETRIEVED, MessageState.FAILED: Outcome.FAILED}


class MessageNotAccepted(ValueError):
    """The message was retrieved or failed already: it cannot change again."""


@dataclass(frozen=True, slots=True)
class PostboxMessage:
    """A message as the account holder sees it in their postbox."""

    message_id: str
    account: str
    subject: str
    sent_on: date
    state: MessageState
    state_on: date  # the day of the latest state (sending, retrieval, failure)
    reason: str | None
    sha256: str
    pdf: bytes


class PostboxSimulator:
    """An electronic postbox with the real one's behaviour, kept in a directory."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / DATABASE
        self._created = False  # the directory and table are made on first use
        self._creating = threading.Lock()

    def _create(self) -> None:
        """The directory and the message table, once per instance (idempotent across them)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with write_transaction(self.path) as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS messages ("
                "message_id TEXT PRIMARY KEY, key TEXT NOT NULL UNIQUE, account TEXT NOT NULL, "
                "subject TEXT NOT NULL, sent_on TEXT NOT NULL, state TEXT NOT NULL, "
                "state_on TEXT NOT NULL, reason TEXT, sha256 TEXT NOT NULL, pdf BLOB NOT NULL)"
            )
            db.execute("CREATE INDEX IF NOT EXISTS messages_account ON messages (account)")
            db.execute("CREATE INDEX IF NOT EXISTS messages_open ON messages (state, sent_on)")

    # ------------------------------------------------------------------ the port

    def send(self, *, key: str, account: str, subject: str, pdf: bytes, on: date) -> str:
        """Deliver into the account's postbox; the message id (the same for the same key)."""
        if not account.startswith(POSTBOX_ACCOUNT_PREFIX):
            raise ChannelRefused("no postbox for this account")
        with self._write() as db:
            found = db.execute("SELECT message_id FROM messages WHERE key = ?", (key,)).fetchone()
            if found is not None:
                return str(found[0])
            message_id = str(uuid.uuid4())
            db.execute(
                "INSERT INTO messages (message_id, key, account, subject, sent_on, state, "
                "state_on, reason, sha256, pdf) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                (
                    message_id,
                    key,
                    account,
                    subject,
                    on.isoformat(),
                    MessageState.ACCEPTED.value,
                    on.isoformat(),
                    hashlib.sha256(pdf).hexdigest(),
                    pdf,
                ),
            )
        return message_id

    def status(self, references: Iterable[str]) -> list[Report]:
        """Retrieved and failed messages among these, with the day; accepted ones left out."""
        wanted = list(dict.fromkeys(references))
        reports: list[Report] = []
        with self._read() as db:
            for start in range(0, len(wanted), CHUNK):
                part = wanted[start : start + CHUNK]
                rows = db.execute(
                    "SELECT message_id, state, state_on, reason FROM messages "  # noqa: S608
                    f"WHERE state != ? AND message_id IN ({', '.join('?' for _ in part)}) "
                    "ORDER BY state_on, message_id",
                    (MessageState.ACCEPTED.value, *part),
                ).fetchall()
                reports += [
                    Report(
                        reference=message_id,
                        outcome=REPORTED[MessageState(state)],
                        on=date.fromisoformat(state_on),
                        failure=reason,
                    )
                    for message_id, state, state_on, reason in rows
                ]
        return reports

    # ------------------------------------------------------- what happens to a message

    def retrieve(self, message_id: str, on: date) -> None:
        """The account holder opened the message on this day (the first opening counts)."""
        with self._write() as db:
            state, sent_on = self._state(db, message_id)
            if state is MessageState.RETRIEVED:
                return
            if state is MessageState.FAILED:
                raise MessageNotAccepted("the message failed: it can no longer be retrieved")
            if on < sent_on:
                raise ValueError("a message is not retrieved before it was sent")
            self._change(db, message_id, MessageState.RETRIEVED, on, None)

    def bounce(self, message_id: str, on: date, reason: str) -> None:
        """The postbox gave the message up (the account was closed, the postbox is full)."""
        with self._write() as db:
            state, sent_on = self._state(db, message_id)
            if state is not MessageState.ACCEPTED:
                raise MessageNotAccepted(f"the message was {state.value} already")
            self._change(db, message_id, MessageState.FAILED, max(on, sent_on), reason)

    def expire(self, today: date) -> int:
        """Fail the messages not retrieved within ten days after sending; how many.

        Each fails on the first day after its ten days, whatever day this runs.
        """
        last_sent = today - timedelta(days=RETRIEVAL_DAYS + 1)
        with self._write() as db:
            overdue = db.execute(
                "SELECT message_id, sent_on FROM messages WHERE state = ? AND sent_on <= ?",
                (MessageState.ACCEPTED.value, last_sent.isoformat()),
            ).fetchall()
            for message_id, sent_on in overdue:
                failed_on = date.fromisoformat(sent_on) + timedelta(days=RETRIEVAL_DAYS + 1)
                self._change(db, message_id, MessageState.FAILED, failed_on, NOT_RETRIEVED)
        return len(overdue)

    def messages(self, account: str) -> list[PostboxMessage]:
        """The account's postbox, oldest first (the demo, tests)."""
        with self._read() as db:
            rows = db.execute(
                "SELECT message_id, account, subject, sent_on, state, state_on, reason, sha256, "
                "pdf FROM messages WHERE account = ? ORDER BY sent_on, rowid",
                (account,),
            ).fetchall()
        return [
            PostboxMessage(
                message_id=row[0],
                account=row[1],
                subject=row[2],
                sent_on=date.fromisoformat(row[3]),
                state=MessageState(row[4]),
                state_on=date.fromisoformat(row[5]),
                reason=row[6],
                sha256=row[7],
                pdf=bytes(row[8]),
            )
            for row in rows
        ]

    # ------------------------------------------------------------------ storage

    @staticmethod
    def _state(db: sqlite3.Connection, message_id: str) -> tuple[MessageState, date]:
        row = db.execute(
            "SELECT state, sent_on FROM messages WHERE message_id = ?", (message_id,)
        ).fetchone()
        if row is None:
            raise LookupError("no such message in the postbox")
        return MessageState(row[0]), date.fromisoformat(row[1])

    @staticmethod
    def _change(
        db: sqlite3.Connection, message_id: str, state: MessageState, on: date, reason: str | None
    ) -> None:
        db.execute(
            "UPDATE messages SET state = ?, state_on = ?, reason = ? WHERE message_id = ?",
            (state.value, on.isoformat(), reason, message_id),
        )

    def _ready(self) -> None:
        if not self._created:
            with self._creating:
                if not self._created:
                    self._create()
                    self._created = True

    def _connect(self) -> sqlite3.Connection:
        self._ready()
        return connect(self.path)

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction, taking the write lock at once (BEGIN IMMEDIATE)."""
        self._ready()
        return write_transaction(self.path)

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        db = self._connect()
        try:
            yield db
        finally:
            db.close()
