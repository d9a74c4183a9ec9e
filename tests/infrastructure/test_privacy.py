"""Personal data is encrypted per case and subject, and erased by destroying keys."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from eventsourcing.persistence import MapperDeserialisationError
from pydantic import ValidationError

from application.cases import CaseService
from application.errors import CaseNotFound
from application.store import VorgangStore
from domain.actor import Actor, Role
from domain.case import Case
from domain.decision import DecisionOutcome
from domain.errors import InvalidCommand
from domain.personal_data import ERASED_TEXT, Erased, PersonalData, Subjects
from domain.services import road_opening, traffic_sign_order
from domain.services.catalogue import SERVICES
from domain.working_days import berlin_date
from infrastructure.database import DatabaseTarget
from infrastructure.privacy.key_encryption import new_kek_text
from infrastructure.privacy.transcoding import EncryptedPersonalData
from infrastructure.settings import Environment, Settings
from infrastructure.wiring import Vorgang, build
from tests.conftest import FOREIGN_CLERK, IN_CI, SUPERVISOR, admin_connection
from tests.steps import pay_at_the_cash_office, take

MARK = "ZEUGE"  # every personal value in these tests contains it
CLERK = Actor("anna.schmidt", f"{MARK} Anna Schmidt", Role.CLERK, "usingen")
APPLICANT = Actor("portal:4711", f"{MARK} Max Mustermann", Role.APPLICANT, "usingen")
ADMIN = Actor("dsb.usingen", f"{MARK} Datenschutz", Role.ADMIN, "usingen")


def text(label: str) -> str:
    return f"{MARK}-{label}-Müller"


def case_through_every_event(v: Vorgang, clock, remedy: bool) -> uuid.UUID:  # type: ignore[no-untyped-def]
    """A case that records every event type with a marked value in each personal field.

    Remedied (a general case, self-government): the remedy notice found defective, the
    objection heard and remedied with a new decision, then the application withdrawn.
    Otherwise (a traffic sign order: only road traffic matters are forwarded): the objection
    forwarded and withdrawn, a late one reinstated, forwarded and decided, the decision final.
    """
    c = v.cases
    today = berlin_date(clock.now())
    service, data = ("general", {"subject": "Umzug"})
    if not remedy:
        service, data = ("traffic-sign-order", traffic_sign_order.example(today))
    case_id = c.submit(
        actor=APPLICANT,
        tenant="usingen",
        service=service,
        applicant={"name": text("name"), "email": "zeuge@example.org", "street": text("street")},
        data=data,
    ).case_id
    take(c, case_id, "claim", actor=CLERK)
    take(c, case_id, "release", actor=CLERK, reason=text("release"))
    take(c, case_id, "claim", actor=CLERK)
    take(
        c,
        case_id,
        "request_information",
        actor=CLERK,
        questions=[text("question")],
        reply_by=berlin_date(clock.now()) + timedelta(days=28),
        missing_documents=True,
    )
    take(c, case_id, "provide_information", actor=APPLICANT, answer=text("answer"))
    take(c, case_id, "confirm_complete", actor=CLERK)
    take(c, case_id, "add_note", actor=CLERK, text=text("note"))
    take(c, case_id, "extend_period", actor=CLERK, working_days=5, reason=text("extension"))
    if not remedy:  # police and road authority heard before an order (VwV-StVO zu § 45)
        for authority in ("police", "road_authority"):
            heard = {"authority": authority, "heard_on": today, "response": "consented"}
            take(
                c,
                case_id,
                "record_authority_hearing",
                actor=CLERK,
                **heard,
                remarks=text(authority),
            )
    take(
        c,
        case_id,
        "decide",
        actor=CLERK,
        outcome=DecisionOutcome.APPROVED_WITH_CONDITIONS,
        justification=text("justification"),
        legal_basis="§ 16 HStrG",
        conditions=[text("condition")],
        provisions=[{"kind": "time_limit", "text": text("provision")}],
        operative_part=text("tenor"),
        representative=text("representative"),
        hearing_held_on=berlin_date(clock.now()),
        # § 45 (1) StVO gives discretion; the general service has none to state
        discretion=None if remedy else text("discretion"),
    )
    take(c, case_id, "notify", actor=CLERK, delivery="counter")
    if remedy:
        take(c, case_id, "record_remedy_notice_defect", actor=CLERK, reason=text("defect"))
        take(c, case_id, "lodge_objection", actor=CLERK, grounds=text("grounds"))
        take(c, case_id, "hear_objection", actor=CLERK, held_on=berlin_date(clock.now()))
        take(c, case_id, "remedy_objection", actor=CLERK, reason=text("remedy"))
        take(c, case_id, "withdraw", actor=APPLICANT, reason=text("withdrawal"))
    else:
        take(c, case_id, "lodge_objection", actor=CLERK, grounds=text("grounds"))
        take(c, case_id, "forward_objection", actor=CLERK, reason=text("forward"))
        take(c, case_id, "withdraw_objection", actor=APPLICANT, reason=text("taken back"))
        clock.advance(timedelta(days=40))  # the objection period has ended
        take(c, case_id, "lodge_objection", actor=CLERK, grounds=text("late grounds"))
        take(c, case_id, "grant_reinstatement", actor=CLERK, reason=text("reinstatement"))
        take(c, case_id, "forward_objection", actor=CLERK, reason=text("forward again"))
        take(
            c,
            case_id,
            "decide_objection",
            actor=CLERK,
            outcome="dismissed",
            reasons=text("objection decision"),
            costs_borne_by="objector",
            served_on=berlin_date(clock.now()),
        )
        clock.advance(timedelta(days=35))  # the month for an action has ended
        take(c, case_id, "mark_final", actor=CLERK)
    take(c, case_id, "close", actor=CLERK, reason=text("closing"))
    return case_id


PHONE = "06081 5550199"
EMAIL = "zeuge-mail@example.org"
SENTINELS = (MARK.encode(), "Müller".encode(), PHONE.encode(), EMAIL.encode())


class FourEyesPaidCase(Case):
    """A case type with the countersign and payment gates, to reach their events."""

    COUNTERSIGN_REQUIRED = True
    PAYMENT_BEFORE_ISSUE = True


def gated_case_through_its_events(v: Vorgang, clock) -> None:  # type: ignore[no-untyped-def]
    definition = replace(SERVICES["general"], id="four-eyes", case_class=FourEyesPaidCase)
    c = CaseService(v.store, clock, v.cases.identities, {"four-eyes": definition})
    case_id = c.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="four-eyes",
        applicant={"name": text("name"), "phone": PHONE, "email": EMAIL},
        data={"subject": "Gebührenpflichtig", "description": text("description")},
    ).case_id
    take(c, case_id, "claim", actor=CLERK)
    take(c, case_id, "confirm_complete", actor=CLERK)
    decision = {
        "outcome": DecisionOutcome.APPROVED,
        "justification": text("justification"),
        "legal_basis": "§ 16 HStrG",
        "fee": Decimal("25.00"),
    }
    take(c, case_id, "decide", actor=CLERK, **decision)  # type: ignore[arg-type]
    take(c, case_id, "refuse_countersign", actor=SUPERVISOR, reason=text("refusal"))
    take(c, case_id, "decide", actor=CLERK, **decision)  # type: ignore[arg-type]
    take(c, case_id, "countersign", actor=SUPERVISOR)
    pay_at_the_cash_office(c, case_id)


def permit_through_its_events(v: Vorgang, clock) -> None:  # type: ignore[no-untyped-def]
    data = road_opening.example(berlin_date(clock.now()))
    data["site"] |= {"house_number": f"{MARK}-7", "location_description": text("site")}
    data["purpose_details"] = text("purpose")
    data["contractor"] |= {"contact_person": text("contact"), "phone": PHONE, "email": EMAIL}
    c = v.cases
    case_id = c.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="road-opening",
        applicant={"name": text("name")},
        data=data,
    ).case_id
    take(c, case_id, "claim", actor=CLERK)
    take(c, case_id, "confirm_complete", actor=CLERK)
    take(
        c,
        case_id,
        "decide",
        actor=CLERK,
        outcome=DecisionOutcome.APPROVED,
        justification=text("permit"),
        legal_basis="§ 16 HStrG",
        discretion=text("discretion"),
    )
    take(c, case_id, "notify", actor=CLERK, delivery="counter")
    start = date.fromisoformat(data["planned_period"]["start"])
    clock.set(clock.now() + timedelta(days=(start - berlin_date(clock.now())).days + 2))
    take(v.commands, case_id, "start_works", actor=CLERK, started_on=start)
    take(v.commands, case_id, "complete_works", actor=CLERK, completed_on=start + timedelta(days=1))
    today = berlin_date(clock.now())
    take(
        v.commands,
        case_id,
        "inspect_restoration",
        actor=CLERK,
        inspected_on=today,
        defects=[text("defect")],
        remedy_by=today + timedelta(days=7),
    )


def raw_bytes(target: DatabaseTarget) -> bytes:
    """Everything the database holds on disk for our tables (files and WAL), as raw bytes."""
    if not target.is_postgres:
        base = Path(target.env["SQLITE_DBNAME"])
        return b"".join(p.read_bytes() for p in base.parent.glob(base.name + "*"))
    with admin_connection(target) as conn:
        conn.execute("CHECKPOINT")  # flush shared buffers into the relation files
        data_dir = conn.execute("SHOW data_directory").fetchone()[0]  # type: ignore[index]
        files = conn.execute(
            "SELECT pg_relation_filepath(c.oid) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 't', 'i')",
            (target.env["POSTGRES_SCHEMA"],),
        ).fetchall()
    chunks = []
    for (relative,) in files:
        base = Path(data_dir) / relative
        chunks.extend(path.read_bytes() for path in base.parent.glob(base.name + "*"))
    return b"".join(chunks)


def readable_on_disk(target: DatabaseTarget) -> bool:
    if not target.is_postgres:
        return True
    with admin_connection(target) as conn:
        data_dir = conn.execute("SHOW data_directory").fetchone()[0]  # type: ignore[index]
    return os.access(data_dir, os.R_OK)


def live_wrapped_keys(v: Vorgang) -> set[bytes]:
    """Every wrapped data key still in the key table (no key is wrapped by a KEK named '-')."""
    return {blob for _key_id, _kek, blob in v.keys._select_wrapped_by_other("-")}


@pytest.mark.serial  # VACUUM FULL keeps row versions other sessions may still see
def test_no_personal_value_is_ever_stored_in_clear(
    vorgang: Vorgang, target: DatabaseTarget, clock
) -> None:  # type: ignore[no-untyped-def]
    if not readable_on_disk(target):
        reason = "the PostgreSQL data directory is not readable by this user"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    gated_case_through_its_events(vorgang, clock)
    permit_through_its_events(vorgang, clock)
    remedied = case_through_every_event(vorgang, clock, remedy=True)
    forwarded = case_through_every_event(vorgang, clock, remedy=False)
    history = vorgang.cases.history(remedied, actor=CLERK)
    assert any(MARK in str(entry.data) for entry in history)  # readable through the app
    stored = raw_bytes(target)
    for sentinel in SENTINELS:
        assert sentinel not in stored, sentinel

    before = live_wrapped_keys(vorgang)
    assert before
    assert all(blob in raw_bytes(target) for blob in before)  # the scan does see the key table
    vorgang.privacy.erase(
        forwarded,
        actor=ADMIN,
        reason="Aufbewahrungsfrist abgelaufen",
        legal_basis="§ 4 HArchivG, Art. 17 Abs. 3 lit. b DSGVO",
    )
    destroyed = before - live_wrapped_keys(vorgang)
    assert destroyed
    after = raw_bytes(target)
    for sentinel in SENTINELS:
        assert sentinel not in after, sentinel
    for blob in destroyed:
        assert blob not in after, "a destroyed key's bytes remain in the database files"


def submitted_case(v: Vorgang) -> uuid.UUID:
    return v.cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="general",
        applicant={"name": text("name"), "birth_date": "1980-02-29"},
        data={"subject": "Anliegen"},
    ).case_id


def erase(v: Vorgang, case_id: uuid.UUID, subjects: list[str] | None = None):  # type: ignore[no-untyped-def]
    return v.privacy.erase(
        case_id,
        actor=ADMIN,
        subjects=subjects,
        reason="Löschersuchen der betroffenen Person",
        legal_basis="Art. 17 Abs. 1 DSGVO",
    )


def test_an_erased_subject_reads_as_geloescht_while_the_others_stay_readable(
    vorgang: Vorgang,
) -> None:
    case_id = submitted_case(vorgang)
    take(vorgang.cases, case_id, "claim", actor=CLERK)
    take(vorgang.cases, case_id, "add_note", actor=CLERK, text=text("note"))
    result = erase(vorgang, case_id, [Subjects.APPLICANT])
    assert result.subjects == (Subjects.APPLICANT,)
    assert result.destroyed_keys == 1
    state = vorgang.cases.get(case_id, actor=CLERK)
    assert state.applicant == {"name": ERASED_TEXT, "birth_date": ERASED_TEXT}
    history = vorgang.cases.history(case_id, actor=CLERK)
    assert history[0].actor is not None
    assert history[0].actor["name"] == ERASED_TEXT  # the applicant submitted it themself
    assert history[1].actor["name"] == CLERK.display_name  # type: ignore[index]
    assert history[2].data["text"] == text("note")  # case text is a subject of its own
    erasure = history[-1]
    assert erasure.type == "PersonalDataErased"
    assert erasure.data["subjects"] == [Subjects.APPLICANT]
    assert erasure.data["legal_basis"] == "Art. 17 Abs. 1 DSGVO"
    assert erasure.actor["id"] == ADMIN.id  # type: ignore[index]
    assert MARK not in str(erasure.data)


def test_an_erased_case_still_loads_from_a_fresh_instance_with_and_without_snapshots(
    vorgang: Vorgang, target: DatabaseTarget
) -> None:
    case_id = submitted_case(vorgang)
    take(vorgang.cases, case_id, "claim", actor=CLERK)
    vorgang.store.take_snapshot(case_id)  # a snapshot taken before erasure holds ciphertext
    erase(vorgang, case_id)
    fresh = VorgangStore(env=target.env, personal_data=EncryptedPersonalData(vorgang.keys))
    try:
        from_snapshot = fresh.repository.get(case_id)
        assert isinstance(from_snapshot.applicant["name"], Erased)
        replayed = fresh.repository.get(case_id, version=from_snapshot.version)
        assert isinstance(replayed.applicant["name"], Erased)
        events = list(fresh.events.get(case_id))
        assert isinstance(events[0].applicant["name"], Erased)  # type: ignore[attr-defined]
    finally:
        fresh.close()


def test_commands_that_do_not_need_the_erased_values_still_work(vorgang: Vorgang, clock) -> None:  # type: ignore[no-untyped-def]
    case_id = submitted_case(vorgang)
    c = vorgang.cases
    take(c, case_id, "claim", actor=CLERK)
    take(c, case_id, "confirm_complete", actor=CLERK)
    erase(vorgang, case_id)
    take(c, case_id, "add_note", actor=CLERK, text="Nach Löschung weiter bearbeitet")
    take(
        c,
        case_id,
        "decide",
        actor=CLERK,
        outcome=DecisionOutcome.REJECTED,
        justification="verspätet",
        legal_basis="§ 16 HStrG",
    )
    take(c, case_id, "notify", actor=CLERK, delivery="counter")
    clock.advance(timedelta(days=45))
    take(c, case_id, "mark_final", actor=CLERK)
    take(c, case_id, "close", actor=CLERK)
    vorgang.store.take_snapshot(case_id)  # a snapshot of erased state keeps the markers
    state = c.get(case_id, actor=CLERK)
    assert state.status == "closed"
    assert state.applicant["name"] == ERASED_TEXT
    assert state.decision is not None
    assert state.decision["justification"] == "verspätet"  # written after erasure, new key


def test_only_an_administrator_of_the_case_tenant_may_erase(vorgang: Vorgang) -> None:
    case_id = submitted_case(vorgang)
    with pytest.raises(InvalidCommand, match="only an administrator"):
        vorgang.privacy.erase(case_id, actor=CLERK, reason="x", legal_basis="y")
    foreign_admin = Actor("dsb.schmitten", "DSB", Role.ADMIN, "schmitten")
    with pytest.raises(CaseNotFound):
        vorgang.privacy.erase(case_id, actor=foreign_admin, reason="x", legal_basis="y")
    with pytest.raises(CaseNotFound):
        vorgang.privacy.erase(case_id, actor=FOREIGN_CLERK, reason="x", legal_basis="y")
    with pytest.raises(InvalidCommand, match="no personal data of nobody"):
        erase(vorgang, case_id, ["nobody"])
    assert vorgang.cases.get(case_id, actor=CLERK).applicant["name"] == text("name")


def test_erasing_twice_destroys_nothing_more_and_records_again(vorgang: Vorgang) -> None:
    case_id = submitted_case(vorgang)
    assert erase(vorgang, case_id, [Subjects.APPLICANT]).destroyed_keys == 1
    assert erase(vorgang, case_id, [Subjects.APPLICANT]).destroyed_keys == 0
    types = [h.type for h in vorgang.cases.history(case_id, actor=CLERK)]
    assert types == ["Submitted", "PersonalDataErased", "PersonalDataErased"]


def test_a_ciphertext_moved_to_another_case_does_not_decrypt(vorgang: Vorgang) -> None:
    transcoding = EncryptedPersonalData(vorgang.keys)
    stored = transcoding.encode(PersonalData(uuid.uuid4(), "applicant", "Erika Musterfrau"))
    assert transcoding.decode(dict(stored)).value == "Erika Musterfrau"  # type: ignore[union-attr]
    from cryptography.exceptions import InvalidTag

    with pytest.raises(InvalidTag):
        transcoding.decode({**stored, "subject": "someone-else"})


def test_rotating_the_key_encryption_key_rewraps_keys_without_touching_events(
    target: DatabaseTarget,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    old, new = new_kek_text(), new_kek_text()
    first = build(Settings(database_url=target.display, key_encryption_key=old), clock=clock)
    try:
        case_id = submitted_case(first)
        events_before = first.store.recorder.select_events(case_id)
    finally:
        first.close()
    rotating = build(
        Settings(
            database_url=target.display, key_encryption_key=new, previous_key_encryption_keys=old
        ),
        clock=clock,
    )
    try:
        assert rotating.keys.rewrap_all() == 1  # the applicant's key
        assert rotating.keys.rewrap_all() == 0
        assert rotating.store.recorder.select_events(case_id) == events_before
    finally:
        rotating.close()
    only_new = build(Settings(database_url=target.display, key_encryption_key=new), clock=clock)
    try:
        assert only_new.cases.get(case_id, actor=CLERK).applicant["name"] == text("name")
    finally:
        only_new.close()
    only_old = build(
        Settings(database_url=target.display, key_encryption_key=old, key_cache_seconds=0),
        clock=clock,
    )
    try:
        with pytest.raises(MapperDeserialisationError, match="not configured"):
            only_old.cases.get(case_id, actor=CLERK)
    finally:
        only_old.close()


OIDC = {
    "oidc_issuer": "https://id.example/realms/vorgang",
    "oidc_jwks_url": "https://id.example/certs",
}


def test_without_a_key_encryption_key_the_server_refuses_to_start_outside_development() -> None:
    with pytest.raises(ValidationError, match="VORGANG_KEY_ENCRYPTION_KEY must be set"):
        Settings(environment=Environment.PRODUCTION, id_secret="x" * 32, **OIDC)
    Settings(
        environment=Environment.PRODUCTION,
        id_secret="x" * 32,
        key_encryption_key=new_kek_text(),
        seal_key_file="/etc/vorgang/seal/seal-key.pem",
        seal_certificate_file="/etc/vorgang/seal/seal-certificate.pem",
        integrity_signing_key="eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg=",
        **OIDC,
    )
    Settings(environment=Environment.DEVELOPMENT)  # development uses the public development KEK


def test_why_no_hearing_was_needed_is_not_stored_in_clear(vorgang: Vorgang) -> None:
    """Free text a clerk types may name people: stored as personal data, like the decision's."""
    case_id = submitted_case(vorgang)
    c = vorgang.cases
    take(c, case_id, "claim", actor=CLERK)
    take(c, case_id, "confirm_complete", actor=CLERK)
    take(
        c,
        case_id,
        "decide",
        actor=CLERK,
        outcome=DecisionOutcome.APPROVED_WITH_CONDITIONS,
        justification=text("justification"),
        legal_basis="§ 16 HStrG",
        conditions=[text("condition")],
        hearing_not_needed_because=text("Frau Weber hat zugestimmt"),
    )
    stored = vorgang.store.recorder.select_events(case_id)
    assert any(e.topic.endswith("Decided") for e in stored)
    assert [e.topic for e in stored if MARK.encode() in e.state] == []
