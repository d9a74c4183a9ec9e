"""The log's hash chain (decision 35): tampering with the stored records is found, and how.

Each test tampers with the events table by raw SQL, as someone with database access would,
then verifies; on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from application.clock import FixedClock
from domain.actor import Actor, Role
from infrastructure.cli import app
from infrastructure.database import DatabaseTarget
from infrastructure.integrity import verify as verify_module
from infrastructure.integrity.checkpoints import (
    CHAIN_TABLE,
    ChainVersionChanged,
    checkpoint_json,
    checkpoints,
    latest_checkpoint,
)
from infrastructure.integrity.proofs import case_proof_from_json, case_proof_json
from infrastructure.integrity.signing import (
    CheckpointSigner,
    new_signing_key,
    public_keys_from,
    verify_signature,
)
from infrastructure.integrity.verify import records_after, verify_case_proof, verify_log
from infrastructure.projection_rebuild import NotRebuildable, rebuild
from infrastructure.projection_runner import ProjectionRunner
from infrastructure.settings import Settings
from infrastructure.wiring import Vorgang, build
from persistence.chain import (
    ALTERED,
    BAD_SIGNATURE,
    CHAIN_REWRITTEN,
    DELETED,
    INSERTED,
    LOG_CHAIN,
    UNKNOWN_CHECKPOINT,
    CaseProof,
    ChainReport,
    Checkpoint,
    StoredRecord,
    link_of,
)
from projections.integrity_chain import IntegrityChain
from tests.conftest import APPLICANT, admin_connection, document_places

EVERY = 3  # a checkpoint once three records were chained since the last
ADMIN = Actor("ops", "Betrieb", Role.SYSTEM, "system")


def settings_for(
    target: DatabaseTarget, tmp_path: Path, seal: tuple[Path, Path], **more: Any
) -> Settings:
    chosen: dict[str, Any] = {"integrity_checkpoint_every_events": EVERY, **more}
    return Settings(
        database_url=target.display,
        **document_places(tmp_path, seal),  # type: ignore[arg-type]
        **chosen,
    )


@pytest.fixture
def chained(
    target: DatabaseTarget, clock: FixedClock, tmp_path: Path, seal_files: tuple[Path, Path]
) -> Iterator[Vorgang]:
    """The application with a checkpoint every three records."""
    built = build(settings_for(target, tmp_path, seal_files), clock=clock)
    try:
        yield built
    finally:
        built.close()


def submit(vorgang: Vorgang, count: int = 1) -> list[uuid.UUID]:
    ids = [
        vorgang.cases.submit(
            actor=APPLICANT,
            tenant="usingen",
            service="general",
            applicant={"name": "Max Mustermann"},
            data={"subject": f"Anliegen {n}"},
        ).case_id
        for n in range(count)
    ]
    vorgang.projections.catch_up()
    return ids


class Raw:
    """The events and the chain table as someone with database access sees them."""

    def __init__(self, vorgang: Vorgang) -> None:
        self.vorgang = vorgang
        recorder: Any = vorgang.store.recorder
        self.postgres = vorgang.views.dialect == "postgresql"
        if self.postgres:
            schema = vorgang.target.env["POSTGRES_SCHEMA"]
            self.events = f'"{schema}"."{recorder.events_table_name}"'
            self.position = "notification_id"
            self.chain = f'"{schema}".{CHAIN_TABLE}'
            self.checkpoints = f'"{schema}".vorgang_integrity_checkpoints'
        else:
            self.events = recorder.events_table_name
            self.position = "rowid"
            self.chain = CHAIN_TABLE
            self.checkpoints = "vorgang_integrity_checkpoints"

    def run(self, template: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A statement naming {events}, {pos}, {chain} or {checkpoints}; values bound."""
        sql = (
            template.replace("{events}", self.events)
            .replace("{pos}", self.position)
            .replace("{chain}", self.chain)
            .replace("{checkpoints}", self.checkpoints)
        )
        if self.postgres:
            with admin_connection(self.vorgang.target) as conn:
                cursor = conn.execute(sql.replace("?", "%s"), params)
                return list(cursor.fetchall()) if cursor.description else []
        with sqlite3.connect(self.vorgang.target.env["SQLITE_DBNAME"]) as conn:
            return list(conn.execute(sql, params).fetchall())

    def state(self, position: int) -> bytes:
        ((state,),) = self.run(
            "SELECT state FROM {events} WHERE {pos} = ?",
            (position,),
        )
        return bytes(state)

    def flip_a_bit(self, position: int) -> None:
        state = bytearray(self.state(position))
        state[len(state) // 2] ^= 0x01
        self.run(
            "UPDATE {events} SET state = ? WHERE {pos} = ?",
            (bytes(state), position),
        )

    def delete(self, position: int) -> None:
        self.run("DELETE FROM {events} WHERE {pos} = ?", (position,))

    def insert(self, position: int, like: int) -> None:
        """A record at ``position`` copied from the one at ``like``, under a new originator."""
        ((topic, state),) = self.run(
            "SELECT topic, state FROM {events} WHERE {pos} = ?",
            (like,),
        )
        originator = uuid.uuid4()
        self.run(
            "INSERT INTO {events} ({pos}, originator_id, originator_version, "
            "topic, state) VALUES (?, ?, 1, ?, ?)",
            (position, originator if self.postgres else originator.hex, topic, bytes(state)),
        )

    def leave_a_gap(self) -> int:
        """A position the log skips (as a rolled-back save leaves one on PostgreSQL)."""
        head = self.vorgang.integrity.head()
        if self.postgres:
            self.run("SELECT nextval(pg_get_serial_sequence(?, 'notification_id'))", (self.events,))
            return head + 1
        self.insert(head + 1, head)  # taken now; removed before the chain reaches it
        return head + 1

    def rewrite_chain_from(self, position: int) -> None:
        """Recompute every chain row from ``position`` on, from the records as they are now."""
        rows = self.run(
            "SELECT position, link FROM {chain} WHERE position < ? ORDER BY position DESC LIMIT 1",
            (position,),
        )
        link = bytes.fromhex(rows[0][1]) if rows else bytes(32)
        records = self.run(
            "SELECT {pos}, topic, originator_id, originator_version, state "
            "FROM {events} WHERE {pos} >= ? ORDER BY {pos}",
            (position,),
        )
        for at, topic, originator, version, state in records:
            record = StoredRecord(
                int(at), topic, uuid.UUID(str(originator)), int(version), bytes(state)
            )
            link = link_of(link, record)
            self.run("UPDATE {chain} SET link = ? WHERE position = ?", (link.hex(), int(at)))


def verify(vorgang: Vorgang, *, full: bool = True, copies: Sequence[Checkpoint] = ()) -> Any:
    return verify_log(
        vorgang.store,
        vorgang.views,
        vorgang.integrity.public_keys,
        full=full,
        auditor_copies=copies,
        by="test",
        signer=vorgang.integrity.signer,
    )


def middle(vorgang: Vorgang) -> int:
    """A position with a signed checkpoint after it."""
    last = latest_checkpoint(vorgang.views, LOG_CHAIN)
    assert last is not None
    assert last.position > 2
    return last.position - 1


def test_an_untouched_log_verifies_and_its_checkpoints_are_signed(chained: Vorgang) -> None:
    submit(chained, 3)
    report = verify(chained)
    assert report.ok, report.disagreement
    assert report.verified_from == 0
    assert report.verified_to == chained.integrity.head()
    held = checkpoints(chained.views, LOG_CHAIN)
    assert held
    assert report.checkpoints_checked == len(held)
    assert all(verify_signature(c, chained.integrity.public_keys) for c in held)


def test_one_flipped_bit_in_one_stored_event_is_found_where_it_is(chained: Vorgang) -> None:
    submit(chained, 3)
    position = middle(chained)
    Raw(chained).flip_a_bit(position)
    found = verify(chained).disagreement
    assert found is not None
    assert (found.kind, found.position) == (ALTERED, position)


def test_a_deleted_event_is_found(chained: Vorgang) -> None:
    submit(chained, 3)
    position = middle(chained)
    Raw(chained).delete(position)
    found = verify(chained).disagreement
    assert found is not None
    assert (found.kind, found.position) == (DELETED, position)


def test_an_event_inserted_where_the_log_had_none_is_found(chained: Vorgang) -> None:
    submit(chained)
    raw = Raw(chained)
    gap = raw.leave_a_gap()
    chained.cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="general",
        applicant={"name": "Eva"},
        data={"subject": "x"},
    )
    if not raw.postgres:
        raw.delete(gap)
    chained.projections.catch_up()
    assert verify(chained).ok
    raw.insert(gap, gap - 1)
    found = verify(chained).disagreement
    assert found is not None
    assert (found.kind, found.position) == (INSERTED, gap)


def test_the_chain_table_rewritten_to_match_is_caught_by_the_signed_checkpoint(
    chained: Vorgang,
) -> None:
    submit(chained, 3)
    position = middle(chained)
    raw = Raw(chained)
    raw.flip_a_bit(position)
    raw.rewrite_chain_from(position)
    found = verify(chained).disagreement
    assert found is not None
    assert found.kind == CHAIN_REWRITTEN
    assert found.position == position + 1  # the first checkpoint after the change
    assert "was altered, deleted or inserted" in found.detail


def test_a_checkpoint_rewritten_too_does_not_verify(chained: Vorgang) -> None:
    submit(chained, 3)
    position = middle(chained)
    raw = Raw(chained)
    raw.flip_a_bit(position)
    raw.rewrite_chain_from(position)
    ((link,),) = raw.run("SELECT link FROM {chain} WHERE position = ?", (position + 1,))
    raw.run("UPDATE {checkpoints} SET link = ? WHERE position = ?", (link, position + 1))
    found = verify(chained).disagreement
    assert found is not None
    assert (found.kind, found.position) == (BAD_SIGNATURE, position + 1)


def test_the_last_events_removed_with_their_chain_rows_are_caught_by_a_checkpoint(
    chained: Vorgang,
) -> None:
    submit(chained, 3)
    last = latest_checkpoint(chained.views, LOG_CHAIN)
    assert last is not None
    raw = Raw(chained)
    raw.run("DELETE FROM {events} WHERE {pos} >= ?", (last.position,))
    raw.run("DELETE FROM {chain} WHERE position >= ?", (last.position,))
    found = verify(chained).disagreement
    assert found is not None
    assert (found.kind, found.position) == (CHAIN_REWRITTEN, last.position)


def test_a_crypto_shredded_case_still_verifies(chained: Vorgang) -> None:
    (case_id,) = submit(chained)
    submit(chained, 2)
    chained.privacy.erase(case_id, actor=ADMIN, reason="Löschfrist", legal_basis="Art. 17 DSGVO")
    chained.projections.catch_up()
    report = verify(chained)
    assert report.ok, report.disagreement
    assert report.verified_to == chained.integrity.head()


def test_an_auditors_copy_tampered_with_or_unknown_to_the_system_is_named(
    chained: Vorgang,
) -> None:
    submit(chained, 3)
    held = checkpoints(chained.views, LOG_CHAIN)
    assert verify(chained, copies=held).ok
    first = held[0]
    tampered = Checkpoint(
        first.chain, first.position, bytes(32), first.signed_at, first.key_id, first.signature
    )
    found = verify(chained, copies=[tampered]).disagreement
    assert found is not None
    assert (found.kind, found.position) == (BAD_SIGNATURE, first.position)
    # Signed with the deployment's key, but the system holds no such checkpoint: the
    # checkpoint table was rewritten by someone holding the key, or the copy is not ours.
    signer = CheckpointSigner.from_seed_text(chained.settings.integrity_signing_key_text())
    unknown = signer.sign(LOG_CHAIN, first.position, bytes(32), first.signed_at)
    found = verify(chained, copies=[unknown]).disagreement
    assert found is not None
    assert (found.kind, found.position) == (UNKNOWN_CHECKPOINT, first.position)


def test_incremental_verification_starts_at_the_last_verified_checkpoint_and_finds_what_follows(
    chained: Vorgang,
) -> None:
    submit(chained, 3)
    before = middle(chained)
    first = verify(chained, full=False)  # none verified yet: from the first record
    assert first.ok
    assert first.verified_from == 0
    reached = latest_checkpoint(chained.views, LOG_CHAIN)
    assert reached is not None
    submit(chained, 3)
    after = middle(chained)
    assert after > reached.position
    raw = Raw(chained)
    raw.flip_a_bit(before)  # before the verified checkpoint: only a full run looks there
    raw.flip_a_bit(after)
    found = verify(chained, full=False)
    assert found.verified_from == reached.position
    assert found.disagreement is not None
    assert (found.disagreement.kind, found.disagreement.position) == (ALTERED, after)
    full = verify(chained).disagreement
    assert full is not None
    assert (full.kind, full.position) == (ALTERED, before)


def test_incremental_verification_reads_only_what_follows_the_verified_checkpoint(
    chained: Vorgang,
) -> None:
    submit(chained, 3)
    assert verify(chained, full=False).ok
    reached = latest_checkpoint(chained.views, LOG_CHAIN)
    assert reached is not None
    Raw(chained).flip_a_bit(middle(chained))  # before it: only a full run looks there
    submit(chained, 1)
    again = verify(chained, full=False)
    assert again.ok
    assert again.verified_from == reached.position
    assert again.records == chained.integrity.head() - reached.position
    assert not verify(chained).ok


def test_checkpoints_signed_with_a_retired_key_still_verify(
    target: DatabaseTarget, clock: FixedClock, tmp_path: Path, seal_files: tuple[Path, Path]
) -> None:
    old_seed, old_public = new_signing_key()
    new_seed, _ = new_signing_key()
    first = build(
        settings_for(target, tmp_path, seal_files, integrity_signing_key=old_seed), clock=clock
    )
    try:
        submit(first, 3)
    finally:
        first.close()
    rotated = settings_for(
        target,
        tmp_path,
        seal_files,
        integrity_signing_key=new_seed,
        integrity_previous_public_keys=old_public,
    )
    second = build(rotated, clock=clock)
    try:
        submit(second, 3)
        keys = second.integrity.public_keys
        signers = {c.key_id for c in checkpoints(second.views, LOG_CHAIN)}
        assert len(signers) == 2
        assert verify(second).ok
        without = public_keys_from(
            settings_for(target, tmp_path, seal_files, integrity_signing_key=new_seed)
        )
        report = verify_log(second.store, second.views, without, full=True, record=False)
        assert report.disagreement is not None
        assert report.disagreement.kind == BAD_SIGNATURE
        assert [k.key_id for k in second.integrity.published_keys()] == [
            second.integrity.signer.key_id,
            *(k for k in keys if k != second.integrity.signer.key_id),
        ]
    finally:
        second.close()


def test_a_checkpoint_is_signed_by_time_when_the_head_moved(
    target: DatabaseTarget, clock: FixedClock, tmp_path: Path, seal_files: tuple[Path, Path]
) -> None:
    settings = settings_for(target, tmp_path, seal_files, integrity_checkpoint_every_events=1000)
    vorgang = build(settings, clock=clock)
    try:
        beside = vorgang.scheduler.beside
        assert beside is not None

        def tick() -> Checkpoint | None:
            beside(clock.now().date())
            return latest_checkpoint(vorgang.views, LOG_CHAIN)

        submit(vorgang)
        assert latest_checkpoint(vorgang.views, LOG_CHAIN) is None  # too few for the count
        first = tick()  # none yet: the head is signed at once
        assert first is not None
        assert first.position == vorgang.integrity.head()
        assert first.signed_at == clock.now().isoformat()
        submit(vorgang)
        assert tick() == first  # the head moved, but the last checkpoint is recent
        clock.advance(timedelta(minutes=61))
        second = tick()
        assert second is not None
        assert second.position == vorgang.integrity.head() > first.position
        assert second.signed_at == clock.now().isoformat()
        clock.advance(timedelta(minutes=61))
        assert tick() == second  # old, but the head has not moved
    finally:
        vorgang.close()


def test_the_chain_is_never_rebuilt(chained: Vorgang) -> None:
    with pytest.raises(NotRebuildable, match="vorgang audit verify"):
        rebuild(chained.store, chained.views, IntegrityChain())


def test_a_new_version_of_the_chain_beside_an_old_one_is_refused_at_start(
    target: DatabaseTarget, clock: FixedClock, tmp_path: Path, seal_files: tuple[Path, Path]
) -> None:
    settings = settings_for(target, tmp_path, seal_files)
    first = build(settings, clock=clock)
    try:
        submit(first, 3)
        raw = Raw(first)
        # the deployment's chain as an older version of Vorgang kept it
        raw.run("ALTER TABLE {chain} RENAME TO integrity_chain_v0")
    finally:
        first.close()
    with pytest.raises(ChainVersionChanged, match="integrity_chain_v0"):
        build(settings, clock=clock).close()


def test_only_signed_runs_and_an_auditors_copies_are_a_trusted_start(chained: Vorgang) -> None:
    submit(chained, 3)
    submit(chained, 3)  # two checkpoints at least
    unsigned = verify_log(
        chained.store, chained.views, chained.integrity.public_keys, full=False, by="cron"
    )
    assert unsigned.ok
    assert verify(chained, full=False).verified_from == 0  # the unsigned run is not trusted
    reached = latest_checkpoint(chained.views, LOG_CHAIN)
    assert reached is not None
    assert verify(chained, full=False).verified_from == reached.position  # the signed one is
    copy = checkpoints(chained.views, LOG_CHAIN)[0]
    assert copy.position < reached.position
    # the auditor's own copy is the start, whatever the system's runs say
    from_copy = verify(chained, full=False, copies=[copy])
    assert (from_copy.ok, from_copy.verified_from) == (True, copy.position)
    forged = dataclasses.replace(copy, signature=bytes(64))
    found = verify(chained, full=False, copies=[forged]).disagreement
    assert found is not None
    assert found.kind == BAD_SIGNATURE


def test_checkpoints_removed_leave_a_gap_the_count_rule_never_leaves(chained: Vorgang) -> None:
    for _ in range(12):
        submit(chained)  # a batch of a record or two each: a checkpoint every 3 or 4
    keys = chained.integrity.public_keys

    def spaced() -> ChainReport:  # at most 2·3 + 2 records between two checkpoints
        return verify_log(
            chained.store,
            chained.views,
            keys,
            full=True,
            record=False,
            every_events=EVERY,
            chain_batch=2,
        )

    untouched = spaced()
    assert untouched.ok
    last = latest_checkpoint(chained.views, LOG_CHAIN)
    assert last is not None
    assert last.position > 2 * EVERY + 2
    Raw(chained).run("DELETE FROM {checkpoints} WHERE position < ?", (last.position,))
    report = spaced()
    assert report.disagreement is not None
    assert (report.disagreement.kind, report.disagreement.position) == (
        CHAIN_REWRITTEN,
        last.position,
    )


def test_a_cases_proof_verifies_and_a_tampered_one_does_not(chained: Vorgang) -> None:
    (case_id,) = submit(chained)
    submit(chained, 3)
    proof = chained.integrity_proofs.proof_of(case_id)
    assert proof.records
    assert proof.checkpoint is not None
    assert proof.checkpoint.position >= proof.records[-1].record.position
    document = json.loads(json.dumps({"integrity_proof": case_proof_json(proof)}))
    again = case_proof_from_json(document["integrity_proof"])
    keys = chained.integrity.public_keys
    assert verify_case_proof(again, chained.store, chained.views, keys).ok
    first = again.records[0]
    forged = type(first.record)(
        first.record.position,
        first.record.topic,
        first.record.originator_id,
        first.record.originator_version,
        first.record.state + b" ",
    )
    bad = CaseProof(
        (type(first)(forged, first.previous_link, first.link), *again.records[1:]), again.checkpoint
    )
    found = verify_case_proof(bad, chained.store, chained.views, keys).disagreement
    assert found is not None
    assert found.kind == ALTERED


def test_the_cli_exits_1_on_a_disagreement_and_reads_an_auditors_copy(
    chained: Vorgang, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    submit(chained, 3)
    monkeypatch.setenv("VORGANG_DATABASE_URL", chained.settings.database_url)
    for name, value in document_places(
        tmp_path,
        (
            Path(chained.settings.seal_key_file or ""),
            Path(chained.settings.seal_certificate_file or ""),
        ),
    ).items():
        monkeypatch.setenv(f"VORGANG_{name.upper()}", value)
    copies = tmp_path / "checkpoints.json"
    copies.write_text(
        json.dumps(
            {
                "chain": "log",
                "checkpoints": [checkpoint_json(c) for c in checkpoints(chained.views, LOG_CHAIN)],
                "next_after": None,
            }
        )
    )
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--full", "--checkpoints", str(copies)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("log: ok")
    assert "\naccess-log: ok" in ok.output  # the access log's chain too (decision 36)
    as_json = runner.invoke(app, ["audit", "verify", "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["chains"][0]["ok"] is True
    position = middle(chained)
    Raw(chained).flip_a_bit(position)
    broken = runner.invoke(app, ["audit", "verify", "--full"])
    assert broken.exit_code == 1, broken.output
    assert f"log: altered at position {position}" in broken.output
    unreadable = runner.invoke(
        app, ["audit", "verify", "--checkpoints", str(tmp_path / "none.json")]
    )
    assert unreadable.exit_code == 2


def test_a_new_signing_key_is_printed_with_its_public_key() -> None:
    result = CliRunner().invoke(app, ["audit", "new-signing-key"])
    assert result.exit_code == 0
    seed = result.output.splitlines()[0].removeprefix("VORGANG_INTEGRITY_SIGNING_KEY=")
    assert CheckpointSigner.from_seed_text(seed).public_key_b64 in result.output


@pytest.mark.parametrize("batch", [1, 2, 7])
def test_the_links_are_the_same_whatever_the_batches(chained: Vorgang, batch: int) -> None:
    submit(chained, 3)
    copy = IntegrityChain()
    copy.shadow = f"_batches{batch}"
    runner = ProjectionRunner(chained.store, chained.views, copy, batch_size=batch)
    runner.catch_up()

    def links(table: str) -> list[tuple[Any, ...]]:
        return chained.views.query(
            f"SELECT position, originator_id, originator_version, link FROM {table} "  # noqa: S608
            "ORDER BY position"
        )

    kept = links(CHAIN_TABLE)
    assert links(copy.table) == kept
    head = chained.integrity.head()
    recomputed, link = [], bytes(32)
    for record in records_after(chained.store, 0, head):
        link = link_of(link, record)
        recomputed.append(
            (record.position, str(record.originator_id), record.originator_version, link.hex())
        )
    assert [tuple(row) for row in kept] == recomputed
    assert len(kept) == head


def test_what_the_chain_adds_while_a_verification_walks_is_not_a_deletion(
    chained: Vorgang, monkeypatch: pytest.MonkeyPatch
) -> None:
    submit(chained, 3)
    chained.cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="general",
        applicant={"name": "Eva"},
        data={"subject": "x"},
    )  # not chained yet
    read_head = verify_module.chain_head

    def chain_moves_on(views: Any) -> int:
        head = read_head(views)
        chained.projections.runners["integrity_chain"].catch_up()  # right after the look
        return head

    monkeypatch.setattr(verify_module, "chain_head", chain_moves_on)
    report = verify(chained)
    assert report.ok, report.disagreement
    assert report.verified_to < chained.integrity.head()
