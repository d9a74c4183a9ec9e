"""Verifying the log's chain: recompute every link from a trusted one and report where it breaks.

The stored records are read straight from the recorder (every topic, in position order) and
merge-walked against the chain table, links recomputed from a trusted start: genesis for a
full run, else the last signed checkpoint a successful run reached (its signature checked
first). The first disagreement is reported (``persistence/chain.py``): a record whose link
differs (altered), a chain row without its record (deleted), a record the chain never held
(inserted), a signed checkpoint the recomputed chain does not pass through (the chain table
rewritten to match), a signature that does not verify, an auditor's copy the system does
not hold. Records beyond the chain's head are not chained yet, not an error. Each run is
recorded in ``vorgang_integrity_verifications``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from application.store import VorgangStore
from infrastructure.access_log import verify_access_log
from infrastructure.integrity.checkpoints import (
    CHAIN_TABLE,
    VERIFICATIONS,
    checkpoint_at,
    checkpoints,
)
from infrastructure.integrity.signing import CheckpointSigner, verify_message, verify_signature
from infrastructure.projection_runner import TRACKING, stored_records
from infrastructure.view_database import ViewDatabase
from persistence.chain import (
    ACCESS_LOG_CHAIN,
    ALTERED,
    BAD_SIGNATURE,
    CHAIN_REWRITTEN,
    DELETED,
    GENESIS,
    INSERTED,
    LOG_CHAIN,
    UNKNOWN_CHECKPOINT,
    CaseProof,
    ChainReport,
    Checkpoint,
    Disagreement,
    StoredRecord,
    encode_fields,
    link_of,
)
from projections.integrity_chain import IntegrityChain

READ_BATCH = 5000  # records (and chain rows) read per query
CHAIN_BATCH = 500  # the most records the chain's runner applies in one batch (its default)


def log_head(store: VorgangStore) -> int:
    """The last position of the log."""
    return store.recorder.max_notification_id() or 0


def chain_head(views: ViewDatabase) -> int:
    """The last position the chain holds."""
    rows = views.query(f"SELECT MAX(position) FROM {CHAIN_TABLE}")
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def records_after(
    store: VorgangStore, position: int, stop: int, batch: int = READ_BATCH
) -> Iterator[StoredRecord]:
    """Stored records after ``position`` up to ``stop``, as stored, in position order."""
    while position < stop:
        found = store.recorder.select_notifications(start=position + 1, limit=batch, stop=stop)
        if not found:
            return
        yield from stored_records(found)
        position = found[-1].id


def chain_rows_after(
    views: ViewDatabase, position: int, stop: int, batch: int = READ_BATCH
) -> Iterator[tuple[int, bytes]]:
    """The chain's (position, link) after ``position`` up to ``stop``, in position order
    (the chain may move on meanwhile: what it adds beyond ``stop`` is not looked at)."""
    while True:
        rows = views.query(
            f"SELECT position, link FROM {CHAIN_TABLE} WHERE position > ? AND position <= ? "
            "ORDER BY position LIMIT ?",
            (position, stop, batch),
        )
        for row in rows:
            yield int(row[0]), bytes.fromhex(str(row[1]))
        if len(rows) < batch:
            return
        position = int(rows[-1][0])


RUN_ENCODING = b"vorgang.verification.v1"


@dataclass(frozen=True, slots=True)
class VerifiedRun:
    """A successful verification run, signed: the checkpoint it reached."""

    verified_at: str
    checkpoint_position: int
    checkpoint_link: bytes


def run_message(
    chain: str,
    verified_at: str,
    from_position: int,
    to_position: int,
    checkpoint: Checkpoint | None,
    ok: bool,
    records: int,
    by: str,
    key_id: str,
) -> bytes:
    """The canonical bytes of a verification run, as signed and as verified."""
    fields = (
        chain,
        verified_at,
        str(from_position),
        str(to_position),
        "" if checkpoint is None else str(checkpoint.position),
        "" if checkpoint is None else checkpoint.link.hex(),
        "ok" if ok else "failed",
        str(records),
        by,
        key_id,
    )
    return encode_fields(RUN_ENCODING, (f.encode() for f in fields))


def signed_runs(
    views: ViewDatabase, chain: str, public_keys: Mapping[str, bytes]
) -> list[VerifiedRun]:
    """The successful runs whose signature verifies, by the checkpoint they reached (a row
    written by hand, unsigned or with a signature no key of ours gives, is ignored)."""
    rows = views.query(
        "SELECT verified_at, from_position, to_position, checkpoint_position, records, "
        f"verified_by, checkpoint_link, key_id, signature FROM {VERIFICATIONS} "
        "WHERE chain = ? AND ok = ? AND checkpoint_position IS NOT NULL "
        "AND signature IS NOT NULL ORDER BY checkpoint_position",
        (chain, True),
    )
    runs = []
    for at, start, to, position, records, by, link, key_id, signature in rows:
        try:
            reached = Checkpoint(chain, int(position), bytes.fromhex(str(link)), "", "", b"")
            signed = base64.b64decode(str(signature), validate=True)
        except ValueError:
            continue
        message = run_message(
            chain, str(at), int(start), int(to), reached, True, int(records), str(by), str(key_id)
        )
        if verify_message(str(key_id), message, signed, public_keys):
            runs.append(VerifiedRun(str(at), reached.position, reached.link))
    return runs


def last_full_run(
    views: ViewDatabase, chain: str, public_keys: Mapping[str, bytes]
) -> tuple[str, int, int, bool, str] | None:
    """The last run from the first record whose signature verifies: (verified_at,
    verified_to, records, ok, verified_by); the API answers ``full=true`` with it."""
    rows = views.query(
        "SELECT verified_at, to_position, checkpoint_position, ok, records, verified_by, "
        f"checkpoint_link, key_id, signature FROM {VERIFICATIONS} WHERE chain = ? "
        "AND from_position = 0 AND signature IS NOT NULL ORDER BY verified_at DESC LIMIT 100",
        (chain,),
    )
    for at, to, position, ok, records, by, link, key_id, signature in rows:
        try:
            reached = (
                None
                if position is None
                else Checkpoint(chain, int(position), bytes.fromhex(str(link)), "", "", b"")
            )
            signed = base64.b64decode(str(signature), validate=True)
        except ValueError:
            continue
        message = run_message(
            chain, str(at), 0, int(to), reached, bool(ok), int(records), str(by), str(key_id)
        )
        if verify_message(str(key_id), message, signed, public_keys):
            return str(at), int(to), int(records), bool(ok), str(by)
    return None


def record_run(
    views: ViewDatabase,
    report: ChainReport,
    checkpoint: Checkpoint | None,
    by: str,
    signer: CheckpointSigner | None = None,
) -> None:
    """Keep a verification run, signed with the deployment's key: the next incremental one
    starts from its checkpoint, and every later one checks that checkpoint is still there.
    Unsigned (no signer) it is kept for the record only and never trusted."""
    at = datetime.now(UTC).isoformat()
    key_id = signature = None
    if signer is not None:
        key_id = signer.key_id
        message = run_message(
            report.chain,
            at,
            report.verified_from,
            report.verified_to,
            checkpoint,
            report.ok,
            report.records,
            by,
            key_id,
        )
        signature = base64.b64encode(signer.sign_message(message)).decode()
    with views.transaction() as tx:
        tx.execute(
            f"INSERT INTO {VERIFICATIONS} (chain, verified_at, from_position, to_position, "
            "checkpoint_position, ok, records, verified_by, checkpoint_link, key_id, signature) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                report.chain,
                at,
                report.verified_from,
                report.verified_to,
                None if checkpoint is None else checkpoint.position,
                report.ok,
                report.records,
                by,
                None if checkpoint is None else checkpoint.link.hex(),
                key_id,
                signature,
            ),
        )


def tracked_position(views: ViewDatabase) -> int:
    """How far the chain's projection says it has chained the log (its tracking row)."""
    rows = views.query(f"SELECT position FROM {TRACKING} WHERE name = ?", (IntegrityChain().key,))
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


@dataclass
class _Walk:
    """The state of one walk: the recomputed link, where it stands, what was checked."""

    chain: str
    start: int
    link: bytes
    position: int
    records: int = 0
    checked: int = 0
    matched: int | None = None  # the last system checkpoint the chain passed through
    since: int = 0  # records recomputed up to the last checkpoint passed (or the start)
    most: int | None = None  # the most records the count rule leaves between checkpoints

    def spacing(self, position: int) -> Disagreement | None:
        """Checkpoints missing between the last one passed and ``position``: more records
        than the count rule ever leaves between two (``spacing_limit``)."""
        between = self.records - self.since
        if self.most is None or between <= self.most:
            return None
        after = self.matched if self.matched is not None else self.start
        return Disagreement(
            self.chain,
            position,
            CHAIN_REWRITTEN,
            f"{between} records between position {after} and the signed checkpoint or head "
            f"at {position}; the count rule signs one at least every {self.most}: a "
            "checkpoint between them was removed",
        )

    def report(self, disagreement: Disagreement | None) -> ChainReport:
        return ChainReport(
            self.chain, self.start, self.position, self.records, self.checked, disagreement
        )


class _Checks:
    """Checkpoints (the system's and an auditor's copies) checked as the walk passes them."""

    def __init__(
        self,
        system: Sequence[Checkpoint],
        copies: Sequence[Checkpoint],
        public_keys: Mapping[str, bytes],
    ) -> None:
        self.by_position = {c.position: c for c in system}
        # The system's checkpoint before a copy at the same position.
        self.pending = sorted(
            [(c.position, 0, c) for c in system] + [(c.position, 1, c) for c in copies],
            key=lambda item: (item[0], item[1]),
        )
        self.public_keys = public_keys
        self.index = 0

    def until(self, walk: _Walk, position: int) -> Disagreement | None:
        """Check every checkpoint at or below ``position``, the walk's link being its link."""
        while self.index < len(self.pending) and self.pending[self.index][0] <= position:
            _, is_copy, checkpoint = self.pending[self.index]
            self.index += 1
            found = self._check(walk, checkpoint, bool(is_copy))
            if found is not None:
                return found
        return None

    def beyond(self, walk: _Walk, head: int) -> Disagreement | None:
        """Checkpoints beyond the chain's head: the chain (and records) lost their end."""
        if self.index < len(self.pending):
            position, _, checkpoint = self.pending[self.index]
            if not verify_signature(checkpoint, self.public_keys):
                return _bad_signature(walk.chain, checkpoint)
            return Disagreement(
                walk.chain,
                position,
                CHAIN_REWRITTEN,
                f"a signed checkpoint covers position {position}, beyond the chain's head "
                f"{head}: records after position {walk.matched or walk.start} were removed",
            )
        return None

    def _check(self, walk: _Walk, checkpoint: Checkpoint, is_copy: bool) -> Disagreement | None:
        chain, position = walk.chain, checkpoint.position
        if not verify_signature(checkpoint, self.public_keys):
            return _bad_signature(chain, checkpoint, copy=is_copy)
        walk.checked += 1
        if is_copy:
            held = self.by_position.get(position)
            if held is None or held.link != checkpoint.link:
                what = "holds none" if held is None else f"holds link {held.link.hex()}"
                return Disagreement(
                    chain,
                    position,
                    UNKNOWN_CHECKPOINT,
                    f"an auditor's copy of the checkpoint at {position} (link "
                    f"{checkpoint.link.hex()}); the system {what} there",
                )
        if checkpoint.link != walk.link:
            after = walk.matched if walk.matched is not None else walk.start
            return Disagreement(
                chain,
                position,
                CHAIN_REWRITTEN,
                f"the checkpoint signed at {checkpoint.signed_at} has link "
                f"{checkpoint.link.hex()}, the records give {walk.link.hex()}: a record "
                f"after position {after} up to {position} was altered, deleted or inserted, "
                "and the chain rewritten to match",
            )
        if not is_copy:
            found = walk.spacing(position)
            if found is not None:
                return found
            walk.matched, walk.since = position, walk.records
        return None


def _bad_signature(chain: str, checkpoint: Checkpoint, *, copy: bool = False) -> Disagreement:
    whose = "an auditor's copy of the checkpoint" if copy else "the signed checkpoint"
    return Disagreement(
        chain,
        checkpoint.position,
        BAD_SIGNATURE,
        f"{whose} at {checkpoint.position} (key {checkpoint.key_id}) does not verify "
        "with any known public key",
    )


def verify_log(
    store: VorgangStore,
    views: ViewDatabase,
    public_keys: Mapping[str, bytes],
    *,
    full: bool,
    auditor_copies: Sequence[Checkpoint] = (),
    by: str = "",
    record: bool = True,
    signer: CheckpointSigner | None = None,
    every_events: int | None = None,
    chain_batch: int = CHAIN_BATCH,
) -> ChainReport:
    """Recompute the log's chain from a trusted link; the first disagreement, if any.

    Trusted start: genesis for a full run; else the last of an auditor's copies whose
    signature verifies, when copies are given; else the last checkpoint a signed successful
    run reached. In every mode each checkpoint a signed run reached must still be held, with
    the link it had. A run is recorded (signed when ``signer`` is given). With
    ``every_events`` (the count rule's N) more records between two checkpoints, or after the
    last, than ``spacing_limit(N)`` is a checkpoint removed."""
    chain = LOG_CHAIN
    system = checkpoints(views, chain)
    held = {c.position: c for c in system}
    copies = [c for c in auditor_copies if c.chain == chain]
    walk = _Walk(chain, 0, GENESIS, 0)
    runs = signed_runs(views, chain, public_keys)
    for run in runs:
        kept = held.get(run.checkpoint_position)
        if kept is None or kept.link != run.checkpoint_link:
            what = "is gone" if kept is None else f"now has link {kept.link.hex()}"
            found = Disagreement(
                chain,
                run.checkpoint_position,
                CHAIN_REWRITTEN,
                f"the signed checkpoint at {run.checkpoint_position} (link "
                f"{run.checkpoint_link.hex()}), which the verification of {run.verified_at} "
                f"reached, {what}",
            )
            return _done(views, walk.report(found), None, by, record, signer)
    start: Checkpoint | None = None
    if not full:
        trusted = [c for c in copies if verify_signature(c, public_keys)]
        if trusted:
            start = max(trusted, key=lambda c: c.position)
        elif runs:
            start = held[runs[-1].checkpoint_position]
        if start is not None:
            if not verify_signature(start, public_keys):
                found = _bad_signature(chain, start)
                return _done(views, walk.report(found), None, by, record, signer)
            walk = _Walk(chain, start.position, start.link, start.position, checked=1)
            walk.matched = start.position
    if every_events is not None:
        walk.most = spacing_limit(every_events, chain_batch)
    report = _walk(store, views, walk, system, copies, public_keys)
    reached = held.get(walk.matched) if walk.matched is not None else None
    return _done(views, report, reached, by, record, signer)


def spacing_limit(every_events: int, chain_batch: int = CHAIN_BATCH) -> int:
    """The most records allowed between two checkpoints (or after the last): the count rule
    signs at the end of the batch that reaches N, so at most N - 1 + one batch lie between;
    twice N plus a batch leaves room for N lowered to half, never for a removed checkpoint
    in a log that moved by the rule."""
    return 2 * every_events + chain_batch


def _done(
    views: ViewDatabase,
    report: ChainReport,
    reached: Checkpoint | None,
    by: str,
    record: bool,
    signer: CheckpointSigner | None,
) -> ChainReport:
    if record:
        record_run(views, report, reached if report.ok else None, by, signer)
    return report


def _walk(
    store: VorgangStore,
    views: ViewDatabase,
    walk: _Walk,
    system: Sequence[Checkpoint],
    copies: Sequence[Checkpoint],
    public_keys: Mapping[str, bytes],
) -> ChainReport:
    tracked = tracked_position(views)  # read before the head: the head never trails it
    head = chain_head(views)
    start = walk.start
    # Copies of checkpoints before the trusted start: held by the system alike, signed.
    early = _Checks(
        [c for c in system if c.position <= start],
        [c for c in copies if c.position <= start],
        public_keys,
    )
    for _, is_copy, checkpoint in early.pending:
        if is_copy:
            probe = _Walk(walk.chain, start, checkpoint.link, checkpoint.position)
            found = early._check(probe, checkpoint, True)
            walk.checked += probe.checked
            if found is not None and found.kind != CHAIN_REWRITTEN:
                return walk.report(found)
    checks = _Checks(
        [c for c in system if c.position > start],
        [c for c in copies if c.position > start],
        public_keys,
    )
    records = records_after(store, start, head)
    rows = chain_rows_after(views, start, head)
    record = next(records, None)
    row = next(rows, None)
    while record is not None or row is not None:
        if row is None or (record is not None and record.position < row[0]):
            assert record is not None
            found = checks.until(walk, record.position - 1) or Disagreement(
                walk.chain,
                record.position,
                INSERTED,
                f"a stored record at position {record.position} ({record.topic}) that the "
                "chain never held",
            )
            return walk.report(found)
        if record is None or row[0] < record.position:
            found = checks.until(walk, row[0] - 1) or Disagreement(
                walk.chain,
                row[0],
                DELETED,
                f"the chain holds position {row[0]}; the stored records no longer do",
            )
            return walk.report(found)
        found = checks.until(walk, record.position - 1)
        if found is not None:
            return walk.report(found)
        link = link_of(walk.link, record)
        if link != row[1]:
            return walk.report(
                Disagreement(
                    walk.chain,
                    record.position,
                    ALTERED,
                    f"the stored record at position {record.position} gives link {link.hex()}, "
                    f"the chain holds {row[1].hex()}",
                )
            )
        walk.link, walk.position, walk.records = link, record.position, walk.records + 1
        record, row = next(records, None), next(rows, None)
    found = checks.until(walk, head) or checks.beyond(walk, head) or walk.spacing(head)
    if found is None and tracked > max(head, start):
        found = Disagreement(
            walk.chain,
            head + 1,
            DELETED,
            f"the chain's projection chained the log up to position {tracked}, the chain "
            f"holds it only up to {head}: the log's end after {head} was removed",
        )
    return walk.report(found)


# ---------------------------------------------------------------- the access log's chain


def verify_access_log_chain(
    views: ViewDatabase,
    public_keys: Mapping[str, bytes],
    auditor_copies: Sequence[Checkpoint] = (),
) -> ChainReport:
    """The access log's chain (decision 36: ``infrastructure.access_log.verify_access_log``),
    checked against the system's checkpoints of it and an auditor's copies."""
    chain = ACCESS_LOG_CHAIN
    held = checkpoints(views, chain)
    copies = [c for c in auditor_copies if c.chain == chain]
    return verify_access_log(views, dict(public_keys), checkpoints=[*held, *copies])


# ---------------------------------------------------------------- a case's proof


def verify_case_proof(
    proof: CaseProof,
    store: VorgangStore,
    views: ViewDatabase,
    public_keys: Mapping[str, bytes],
) -> ChainReport:
    """Check a case file's proof: each link recomputes from its previous link and record, the
    records are the stored ones and the chain holds their links, the checkpoint's signature
    verifies, the system holds it, and the chain from the case's last record reaches it."""
    chain = LOG_CHAIN
    first = proof.records[0].record.position if proof.records else 0
    walk = _Walk(chain, first, GENESIS, first)
    found = _whole_case(proof)
    if found is not None:
        return walk.report(found)
    for chained in proof.records:
        position = chained.record.position
        if link_of(chained.previous_link, chained.record) != chained.link:
            return walk.report(
                Disagreement(
                    chain, position, ALTERED, f"the proof's link at {position} does not recompute"
                )
            )
        stored = list(records_after(store, position - 1, position, batch=1))
        if not stored or stored[0].position != position:
            return walk.report(
                Disagreement(chain, position, DELETED, f"no stored record at position {position}")
            )
        if stored[0] != chained.record:
            return walk.report(
                Disagreement(
                    chain, position, ALTERED, f"the stored record at {position} is not the proof's"
                )
            )
        rows = views.query(
            f"SELECT position, link FROM {CHAIN_TABLE} WHERE position <= ? "
            "ORDER BY position DESC LIMIT 2",
            (position,),
        )
        held = bytes.fromhex(str(rows[0][1])) if rows and int(rows[0][0]) == position else None
        before = bytes.fromhex(str(rows[1][1])) if len(rows) > 1 else GENESIS
        if held != chained.link or before != chained.previous_link:
            return walk.report(
                Disagreement(
                    chain,
                    position,
                    CHAIN_REWRITTEN,
                    f"the chain does not hold the proof's links at position {position}",
                )
            )
        walk.link, walk.position, walk.records = chained.link, position, walk.records + 1
    checkpoint = proof.checkpoint
    if checkpoint is None:
        return walk.report(None)
    if not verify_signature(checkpoint, public_keys):
        return walk.report(_bad_signature(chain, checkpoint, copy=True))
    held_checkpoint = checkpoint_at(views, chain, checkpoint.position)
    if held_checkpoint is None or held_checkpoint.link != checkpoint.link:
        return walk.report(
            Disagreement(
                chain,
                checkpoint.position,
                UNKNOWN_CHECKPOINT,
                f"the system holds no checkpoint like the proof's at {checkpoint.position}",
            )
        )
    case = proof.records[0].record.originator_id if proof.records else None
    for record in records_after(store, walk.position, checkpoint.position):
        if record.originator_id == case:
            return walk.report(
                Disagreement(
                    chain,
                    record.position,
                    DELETED,
                    f"the case's record at position {record.position} (version "
                    f"{record.originator_version}), before the proof's checkpoint at "
                    f"{checkpoint.position}, is left out of the proof",
                )
            )
        walk.link, walk.position = link_of(walk.link, record), record.position
    walk.checked = 1
    if walk.link != checkpoint.link:
        return walk.report(
            Disagreement(
                chain,
                checkpoint.position,
                CHAIN_REWRITTEN,
                f"the records after the case's last one do not reach the checkpoint at "
                f"{checkpoint.position}",
            )
        )
    return walk.report(None)


def _whole_case(proof: CaseProof) -> Disagreement | None:
    """A proof holds one case's records, versions 1..n in log order, none left out (the
    records after the last up to the checkpoint are checked as the chain is walked there)."""
    if not proof.records:
        return None
    case = proof.records[0].record.originator_id
    previous = 0
    for version, chained in enumerate(proof.records, start=1):
        record = chained.record
        if record.originator_id != case or record.originator_version != version:
            what = (
                f"a record of {record.originator_id}"
                if record.originator_id != case
                else f"version {record.originator_version} where version {version} belongs"
            )
            return Disagreement(
                LOG_CHAIN,
                record.position,
                DELETED if record.originator_version > version else INSERTED,
                f"the proof is not the case's records 1..n: at position {record.position} "
                f"it holds {what}",
            )
        if record.position <= previous:
            return Disagreement(
                LOG_CHAIN,
                record.position,
                INSERTED,
                f"the proof's records are not in log order at position {record.position}",
            )
        previous = record.position
    return None
