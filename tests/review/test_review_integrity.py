"""REVIEW (#30): tampering that the log's chain verification lets through.

Each test is a defect found in review (once marked ``xfail(strict=True)``; fixed, the
marks are gone). Tampering is by raw SQL, as someone with write
access to the database would do it; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from application.clock import FixedClock
from infrastructure.database import DatabaseTarget
from infrastructure.integrity.checkpoints import VERIFICATIONS, latest_checkpoint
from infrastructure.integrity.verify import verify_case_proof, verify_log
from infrastructure.wiring import Vorgang, build
from persistence.chain import LOG_CHAIN, ChainReport
from tests.infrastructure.test_integrity_chain import ADMIN, Raw, middle, settings_for, submit


@pytest.fixture
def chained(
    target: DatabaseTarget, clock: FixedClock, tmp_path: Path, seal_files: tuple[Path, Path]
) -> Iterator[Vorgang]:
    """The application with a checkpoint every three records (as the chain's own tests)."""
    built = build(settings_for(target, tmp_path, seal_files), clock=clock)
    try:
        yield built
    finally:
        built.close()


def verify(vorgang: Vorgang, *, full: bool, record: bool = True) -> ChainReport:
    return verify_log(
        vorgang.store,
        vorgang.views,
        vorgang.integrity.public_keys,
        full=full,
        by="review",
        record=record,
        signer=vorgang.integrity.signer,
    )


def test_full_verification_notices_a_checkpoint_an_earlier_run_reached_is_gone(
    chained: Vorgang,
) -> None:
    submit(chained, 3)
    assert verify(chained, full=False).ok  # a daily run reaches the latest checkpoint
    position = middle(chained)
    raw = Raw(chained)
    raw.flip_a_bit(position)
    raw.rewrite_chain_from(position)
    raw.run("DELETE FROM {checkpoints} WHERE position >= ?", (position,))
    # the incremental run notices the checkpoint it started from is gone ...
    assert not verify(chained, full=False, record=False).ok
    # ... the thorough run, which an auditor would trust more, says nothing is wrong
    report = verify(chained, full=True, record=False)
    assert not report.ok, "a full run passes though a verified checkpoint disappeared"


def test_a_forged_verification_run_does_not_make_incremental_runs_skip_tampering(
    chained: Vorgang,
) -> None:
    submit(chained, 3)
    latest = latest_checkpoint(chained.views, LOG_CHAIN)
    assert latest is not None
    Raw(chained).flip_a_bit(middle(chained))  # never verified by anyone
    with chained.views.transaction() as tx:  # the forged run: no key is needed to write it
        tx.execute(
            f"INSERT INTO {VERIFICATIONS} (chain, verified_at, from_position, to_position, "  # noqa: S608
            "checkpoint_position, ok, records, verified_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                LOG_CHAIN,
                "2026-03-01T00:00:00+00:00",
                0,
                latest.position,
                latest.position,
                True,
                latest.position,
                "cron",
            ),
        )
    assert not verify(chained, full=False, record=False).ok


def test_the_end_of_the_log_cut_after_the_last_checkpoint_is_reported(chained: Vorgang) -> None:
    submit(chained, 3)  # a checkpoint at the head
    submit(chained, 1)  # fewer records than make the next one
    last = latest_checkpoint(chained.views, LOG_CHAIN)
    head = chained.integrity.head()
    assert last is not None
    assert last.position < head
    raw = Raw(chained)
    raw.run("DELETE FROM {events} WHERE {pos} > ?", (last.position,))
    raw.run("DELETE FROM {chain} WHERE position > ?", (last.position,))
    report = verify(chained, full=True, record=False)
    assert not report.ok, "events the chain had reached are gone and nothing says so"


def test_a_case_proof_with_an_event_left_out_does_not_verify(chained: Vorgang) -> None:
    (case_id,) = submit(chained)
    chained.privacy.erase(case_id, actor=ADMIN, reason="Löschfrist", legal_basis="Art. 17 DSGVO")
    submit(chained, 3)
    proof = chained.integrity_proofs.proof_of(case_id)
    assert len(proof.records) >= 2
    assert proof.checkpoint is not None
    keys = chained.integrity.public_keys
    assert verify_case_proof(proof, chained.store, chained.views, keys).ok
    # the printed file's proof without the first event (the application as submitted)
    shortened = dataclasses.replace(proof, records=proof.records[1:])
    assert not verify_case_proof(shortened, chained.store, chained.views, keys).ok
