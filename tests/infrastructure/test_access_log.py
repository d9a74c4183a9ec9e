"""The access log of staff reads: chained lines, verification, pruning with an anchor."""

# ruff: noqa: S608 (the tables' names are the module's constants)

from __future__ import annotations

import json
from datetime import timedelta
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from application.access_log import AccessLogFilter, AccessLogUnavailable
from application.clock import FixedClock
from domain.actor import Actor, Role
from infrastructure.access_log import (
    ANCHORS,
    CASES,
    TABLE,
    ChainedAccessLog,
    verify_access_log,
)
from infrastructure.wiring import Vorgang
from persistence.chain import (
    ACCESS_LOG_CHAIN,
    ALTERED,
    BAD_SIGNATURE,
    CHAIN_REWRITTEN,
    DELETED,
    Checkpoint,
    checkpoint_message,
)
from tests.conftest import APPLICANT, CLERK, FOREIGN_CLERK, SUPERVISOR

AUDITOR = Actor("ines.auditor", "Ines Prüfer", Role.AUDITOR, "usingen")
ROUTE = "/api/v1/cases/{case_id}"


class Signer:
    """An Ed25519 signer of checkpoints, as the deployment's (section A) signs them."""

    def __init__(self) -> None:
        self._key = Ed25519PrivateKey.generate()
        raw = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public = raw
        self.key_id = "test-key"

    def sign(self, chain: str, position: int, link: bytes, signed_at: str) -> Checkpoint:
        message = checkpoint_message(chain, position, link, signed_at, self.key_id)
        return Checkpoint(chain, position, link, signed_at, self.key_id, self._key.sign(message))


def access_log(
    vorgang: Vorgang, clock: FixedClock, signer: Signer | None = None
) -> ChainedAccessLog:
    """The wired log, or one with a signer for anchors and checkpoints."""
    if signer is None:
        return vorgang.access_log
    kept: list[Checkpoint] = []
    log = ChainedAccessLog(
        vorgang.views,
        keys=vorgang.keys,
        seal=lambda value: vorgang.store.mapper.transcoder.encode(value).decode(),
        open_sealed=vorgang.projections.open_sealed,
        now=clock.now,
        schema=vorgang.target.env.get("POSTGRES_SCHEMA") or "public",
        signer=signer,
        record_checkpoint=lambda _tx, cp: kept.append(cp),
        checkpoint_every=2,
    )
    log.kept = kept  # type: ignore[attr-defined]
    return log


def rows(vorgang: Vorgang, sql: str) -> list[tuple[object, ...]]:
    return vorgang.views.query(sql)


def test_a_line_per_read_chained_and_verified(vorgang: Vorgang, clock: FixedClock) -> None:
    log = vorgang.access_log
    case_id, found = uuid4(), uuid4()
    log.record_read(CLERK, route=ROUTE, what="case", case_id=case_id)
    log.record_read(
        SUPERVISOR,
        route="/api/v1/cases",
        what="search",
        query={"q": "Mustermann Hauptstraße", "status": "submitted"},
        hits=[found, case_id],
    )
    log.record_read(APPLICANT, route=ROUTE, what="case", case_id=case_id)  # not recorded
    stored = rows(
        vorgang,
        f"SELECT position, actor_id, role, what, case_id, query, hits FROM {TABLE} "
        "ORDER BY position",
    )
    assert [(r[0], r[1], r[2], r[3]) for r in stored] == [
        (1, "anna.schmidt", "clerk", "case"),
        (2, "carla.koch", "supervisor", "search"),
    ]
    assert stored[0][4] == str(case_id)
    assert stored[1][6] == 2
    assert "Mustermann" not in str(stored[1][5])  # the free text is sealed
    assert json.loads(str(stored[1][5]))["status"] == "submitted"
    report = verify_access_log(vorgang.views, {})
    assert report.ok
    assert report.records == 2
    assert report.verified_to == 2
    # who saw the case: the read and the hit list
    lines = log.lines(AccessLogFilter(tenant="usingen", case_id=case_id), after=None, limit=10)
    assert [line.what for line in lines] == ["search", "case"]
    assert lines[0].query == {"q": "Mustermann Hauptstraße", "status": "submitted"}
    assert set(lines[0].hit_case_ids) == {str(case_id), str(found)}
    # another town sees none of it
    assert log.lines(AccessLogFilter(tenant="schmitten"), after=None, limit=10) == []


def test_another_towns_lines_are_its_own(vorgang: Vorgang) -> None:
    log = vorgang.access_log
    log.record_read(CLERK, route=ROUTE, what="case", case_id=uuid4())
    log.record_read(FOREIGN_CLERK, route=ROUTE, what="case", case_id=uuid4())
    usingen = log.lines(AccessLogFilter(tenant="usingen"), after=None, limit=10)
    assert [line.actor_id for line in usingen] == ["anna.schmidt"]


@pytest.mark.parametrize(
    "tamper",
    [
        f"UPDATE {TABLE} SET actor_id = 'someone.else' WHERE position = 2",
        f"UPDATE {TABLE} SET case_id = NULL WHERE position = 2",
        f"DELETE FROM {CASES} WHERE position = 3",
    ],
)
def test_an_altered_line_is_detected(vorgang: Vorgang, tamper: str) -> None:
    log = vorgang.access_log
    for _ in range(2):
        log.record_read(CLERK, route=ROUTE, what="case", case_id=uuid4())
    log.record_read(CLERK, route="/api/v1/cases", what="search", query={}, hits=[uuid4()])
    log.record_read(CLERK, route=ROUTE, what="case", case_id=uuid4())
    assert verify_access_log(vorgang.views, {}).ok
    with vorgang.views.transaction() as tx:
        tx.execute(tamper)
    report = verify_access_log(vorgang.views, {})
    assert report.disagreement is not None
    assert report.disagreement.kind == ALTERED
    assert report.disagreement.position in (2, 3)


def test_a_deleted_line_is_detected(vorgang: Vorgang) -> None:
    log = vorgang.access_log
    for _ in range(4):
        log.record_read(CLERK, route=ROUTE, what="case", case_id=uuid4())
    with vorgang.views.transaction() as tx:
        tx.execute(f"DELETE FROM {TABLE} WHERE position = 2")
    report = verify_access_log(vorgang.views, {})
    assert report.disagreement is not None
    assert (report.disagreement.kind, report.disagreement.position) == (DELETED, 2)


def test_a_consistently_rewritten_tail_is_caught_by_a_signed_checkpoint(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    signer = Signer()
    log = access_log(vorgang, clock, signer)
    for _ in range(4):
        log.record_read(CLERK, route=ROUTE, what="case", case_id=uuid4())
    kept: list[Checkpoint] = log.kept  # type: ignore[attr-defined]
    assert [cp.position for cp in kept] == [2, 4]
    keys = {signer.key_id: signer.public}
    assert verify_access_log(vorgang.views, keys, checkpoints=kept).ok
    # the last two lines deleted: nothing in the table shows it, the checkpoint at 4 does
    with vorgang.views.transaction() as tx:
        tx.execute(f"DELETE FROM {TABLE} WHERE position > 2")
    report = verify_access_log(vorgang.views, keys, checkpoints=kept)
    assert report.disagreement is not None
    assert report.disagreement.kind == DELETED
    # line 2 rewritten with its link recomputed: the chain agrees, the checkpoint does not
    from infrastructure.access_log import COLUMNS, _row_line
    from persistence.chain import GENESIS

    first, second = (
        _row_line(r)
        for r in vorgang.views.query(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} ORDER BY position")
    )
    import dataclasses

    forged = dataclasses.replace(second, actor_id="someone.else")
    link = forged.link_after(bytes.fromhex(first.link)).hex()
    assert first.link_after(GENESIS).hex() == first.link
    with vorgang.views.transaction() as tx:
        tx.execute(
            f"UPDATE {TABLE} SET actor_id = 'someone.else', link = ? WHERE position = 2", (link,)
        )
    report = verify_access_log(vorgang.views, keys, checkpoints=kept[:1])
    assert report.disagreement is not None
    assert report.disagreement.kind == CHAIN_REWRITTEN
    # a checkpoint of another key: a bad signature
    other = Signer()
    report = verify_access_log(vorgang.views, {other.key_id: other.public}, checkpoints=kept[:1])
    assert report.disagreement is not None
    assert report.disagreement.kind == BAD_SIGNATURE


def test_pruning_keeps_verification_green_and_records_a_signed_anchor(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    signer = Signer()
    log = access_log(vorgang, clock, signer)
    log.record_read(
        CLERK, route="/api/v1/cases", what="search", query={"q": "Alte Suche"}, hits=[uuid4()]
    )
    log.record_read(CLERK, route=ROUTE, what="case", case_id=uuid4())
    clock.advance(timedelta(days=40))
    log.record_read(CLERK, route=ROUTE, what="case", case_id=uuid4())
    log.record_read(CLERK, route=ROUTE, what="case", case_id=uuid4())
    clock.advance(timedelta(days=40))  # the cut lies in April: March is shredded whole
    keys = {signer.key_id: signer.public}
    pruned = log.prune(retention_days=45)
    assert (pruned.lines, pruned.anchor_position) == (2, 2)
    assert pruned.shredded_subjects == ("access-log-2026-03",)
    anchor = rows(vorgang, f"SELECT position, lines, key_id FROM {ANCHORS}")
    assert anchor == [(2, 2, "test-key")]
    assert rows(vorgang, f"SELECT COUNT(*) FROM {CASES}") == [(0,)]
    report = verify_access_log(vorgang.views, keys, checkpoints=log.kept)  # type: ignore[attr-defined]
    assert report.ok
    assert report.verified_from == 2
    assert report.records == 2
    # a line deleted after the anchor is still detected
    log.record_read(CLERK, route=ROUTE, what="case", case_id=uuid4())
    with vorgang.views.transaction() as tx:
        tx.execute(f"DELETE FROM {TABLE} WHERE position = 3")
    report = verify_access_log(vorgang.views, keys)
    assert report.disagreement is not None
    assert (report.disagreement.kind, report.disagreement.position) == (DELETED, 3)


def test_the_anchor_removed_shows_the_pruned_lines_missing(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    log = vorgang.access_log
    log.record_read(CLERK, route=ROUTE, what="case", case_id=uuid4())
    clock.advance(timedelta(days=5))
    log.record_read(CLERK, route=ROUTE, what="case", case_id=uuid4())
    assert log.prune(retention_days=1).anchor_position == 1
    assert verify_access_log(vorgang.views, {}).ok
    with vorgang.views.transaction() as tx:
        tx.execute(f"DELETE FROM {ANCHORS}")
    report = verify_access_log(vorgang.views, {})
    assert report.disagreement is not None
    assert (report.disagreement.kind, report.disagreement.position) == (DELETED, 1)


def test_a_search_text_reads_erased_once_its_month_was_pruned(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    log = vorgang.access_log
    log.record_read(CLERK, route="/api/v1/cases", what="search", query={"q": "Erika"}, hits=[])
    sealed = rows(vorgang, f"SELECT query FROM {TABLE}")[0][0]
    clock.advance(timedelta(days=100))  # the cut lies in April: March is shredded
    log.record_read(CLERK, route=ROUTE, what="case", case_id=uuid4())
    log.prune(retention_days=60)
    # the sealed text is gone with its line; a copy of it can no longer be opened
    assert log._opened(json.loads(str(sealed))["q"]) == "[gelöscht]"


def test_a_line_that_cannot_be_written_is_an_error_the_route_answers_503(
    vorgang: Vorgang,
) -> None:
    with vorgang.views.transaction() as tx:
        tx.execute(f"DROP TABLE {CASES}")
    with pytest.raises(AccessLogUnavailable):
        vorgang.access_log.record_read(
            CLERK, route="/api/v1/cases", what="search", query={}, hits=[uuid4()]
        )
    # nothing half-written: the line went with its hits
    assert rows(vorgang, f"SELECT COUNT(*) FROM {TABLE}") == [(0,)]


def test_vorgang_audit_prune_access_log_prunes_by_the_retention(
    vorgang: Vorgang, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from infrastructure.cli import app

    log = vorgang.access_log  # its clock: March 2026; the command's: today
    for _ in range(3):
        log.record_read(CLERK, route=ROUTE, what="case", case_id=uuid4())
    monkeypatch.setenv("VORGANG_DATABASE_URL", vorgang.settings.database_url)
    monkeypatch.setenv("VORGANG_ACCESS_LOG_RETENTION_DAYS", "30")
    below = CliRunner().invoke(app, ["audit", "prune-access-log", "--days", "29"])
    assert below.exit_code == 2  # shorter only by the setting
    result = CliRunner().invoke(app, ["audit", "prune-access-log"])
    assert result.exit_code == 0, result.output
    assert "pruned 3 lines; the chain continues after position 3" in result.stdout
    assert rows(vorgang, f"SELECT position FROM {ANCHORS}") == [(3,)]
    log.record_read(CLERK, route=ROUTE, what="case", case_id=uuid4())
    report = verify_access_log(vorgang.views, {})
    assert report.ok
    assert (report.verified_from, report.verified_to) == (3, 4)
    again = CliRunner().invoke(app, ["audit", "prune-access-log", "--days", "3650"])
    assert again.exit_code == 0, again.output
    assert "nothing older than the retention" in again.stdout


def test_the_wired_log_signs_its_head_daily_and_the_integrity_check_verifies_it(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    log = vorgang.access_log
    for _ in range(3):
        log.record_read(CLERK, route=ROUTE, what="case", case_id=uuid4())
    log.daily(vorgang.settings.access_log_retention_days)(clock.now().date())
    held = rows(
        vorgang, "SELECT position FROM vorgang_integrity_checkpoints WHERE chain = 'access-log'"
    )
    assert held == [(3,)]
    reports = {r.chain: r for r in vorgang.integrity.verify(full=True, by="test")}
    assert reports[ACCESS_LOG_CHAIN].ok
    assert reports[ACCESS_LOG_CHAIN].checkpoints_checked == 1
    with vorgang.views.transaction() as tx:  # the last line removed: only the checkpoint knows
        tx.execute(f"DELETE FROM {TABLE} WHERE position = 3")
    report = {r.chain: r for r in vorgang.integrity.verify(full=True, by="test")}[ACCESS_LOG_CHAIN]
    assert report.disagreement is not None
    assert (report.disagreement.kind, report.disagreement.position) == (DELETED, 3)
