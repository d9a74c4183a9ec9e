"""The case search view on SQLite and PostgreSQL: spellings, filters, scope, erasure, rebuild."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from api.routes.read_models import opener
from application.clock import FixedClock
from domain.actor import Actor, Role
from domain.personal_data import ERASED_TEXT, Erased, PersonalData, Subjects
from domain.services import road_opening
from domain.working_days import berlin_date
from infrastructure.projection_rebuild import rebuild
from infrastructure.projection_runner import ProjectionRunner
from infrastructure.wiring import Vorgang
from projections.sealed import Sealed
from projections.search import LIVE_TABLE, LIVE_TEXT_TABLE, CaseSearch
from projections.search_query import SearchFilter, SearchQuery
from projections.search_terms import TOKEN_HEX
from tests.conftest import CLERK, FOREIGN_CLERK
from tests.steps import take

ADMIN = Actor("dsb.usingen", "Datenschutz", Role.ADMIN, "usingen")
JUERGEN = Actor("portal:juergen", "Jürgen Müller", Role.APPLICANT, "usingen")
ERIKA = Actor("portal:erika", "Erika Mueller", Role.APPLICANT, "usingen")


def submit(
    v: Vorgang,
    actor: Actor,
    name: str,
    *,
    tenant: str = "usingen",
    street: str | None = None,
    subject: str = "Anliegen",
) -> UUID:
    applicant = {"name": name} | ({"street": street} if street else {})
    return v.cases.submit(
        actor=actor,
        tenant=tenant,
        service="general",
        applicant=applicant,
        data={"subject": subject},
    ).case_id


def caught_up(v: Vorgang) -> SearchQuery:
    runner = v.projections.runners["case_search"]
    runner.catch_up()
    projection = runner.projection
    assert isinstance(projection, CaseSearch)
    return SearchQuery(v.views, projection.terms, opener(v.projections))


def found(v: Vorgang, text: str = "", **filters: Any) -> list[str]:
    """References found, in result order (all pages)."""
    query = caught_up(v)
    wanted = SearchFilter(tenant=filters.pop("tenant", "usingen"), text=text, **filters)
    items, cursor = query.page(wanted, limit=100, cursor=None)
    assert cursor is None
    return [i["reference"] for i in items]


def reference(v: Vorgang, case_id: UUID, staff: Actor = CLERK) -> str:
    return v.cases.get(case_id, actor=staff).reference


def test_spellings_inflections_and_word_beginnings_find_the_same_cases(vorgang: Vorgang) -> None:
    mueller = reference(vorgang, submit(vorgang, JUERGEN, "Jürgen Müller", street="Große Straße"))
    erika = reference(
        vorgang, submit(vorgang, ERIKA, "Erika Mueller", street="Hauptstrasse", subject="Gräber")
    )
    other = reference(vorgang, submit(vorgang, ERIKA, "Hans Maier", subject="Grab pflegen"))
    for text in ("Müller", "mueller", "MÜLLER", "Müll", "Muel"):
        assert set(found(vorgang, text)) == {mueller, erika}, text
    assert found(vorgang, "Straße") == [mueller]
    assert found(vorgang, "strasse") == [mueller]
    assert found(vorgang, "Hauptstr") == [erika]  # the beginning of a word
    assert set(found(vorgang, "Grab")) == {erika, other}  # "Gräber" is its plural
    assert set(found(vorgang, "Gräbern")) == {erika, other}
    assert found(vorgang, "Jürgen Müller") == [mueller]  # every word must match
    assert found(vorgang, "Jürgen Maier") == []
    assert found(vorgang, "Mu") == []  # prefixes start at three letters ("Mü" is "mue")


def test_whole_words_rank_above_word_beginnings_then_the_newest_first(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    older = reference(vorgang, submit(vorgang, ERIKA, "Anna Müll"))
    clock.advance(timedelta(hours=1))
    newer = reference(vorgang, submit(vorgang, ERIKA, "Anna Müll"))
    clock.advance(timedelta(hours=1))
    prefix_only = reference(vorgang, submit(vorgang, ERIKA, "Anna Müllerschön"))
    assert found(vorgang, "Müll") == [newer, older, prefix_only]
    assert found(vorgang) == [prefix_only, newer, older]


def test_a_reference_is_found_whole_or_by_its_beginning(vorgang: Vorgang) -> None:
    refs = [reference(vorgang, submit(vorgang, ERIKA, f"Person {i}")) for i in range(3)]
    assert refs[1] == "USI-2026-000002"
    assert found(vorgang, "USI-2026-000002") == ["USI-2026-000002"]
    assert found(vorgang, "000003") == ["USI-2026-000003"]
    assert found(vorgang, reference="usi-2026-000001") == ["USI-2026-000001"]
    assert sorted(found(vorgang, reference="USI-2026-0000")) == refs
    assert found(vorgang, reference="USI-2026-0009") == []
    assert found(vorgang, reference="USI_2026%") == []  # no wildcards in a reference


def test_filters_by_status_service_and_submission_days(vorgang: Vorgang, clock: FixedClock) -> None:
    monday = submit(vorgang, ERIKA, "Montag")
    clock.advance(timedelta(days=1))
    tuesday = submit(vorgang, ERIKA, "Dienstag")
    clock.advance(timedelta(days=1))
    permit = permit_for(vorgang, clock, "Mittwoch")
    take(vorgang.cases, tuesday, "confirm_complete", actor=CLERK)
    refs = {reference(vorgang, c): c for c in (monday, tuesday, permit)}
    by_id = {c: r for r, c in refs.items()}
    assert found(vorgang, status="in_review") == [by_id[tuesday]]
    assert set(found(vorgang, status="submitted")) == {by_id[monday], by_id[permit]}
    assert found(vorgang, service="road-opening") == [by_id[permit]]
    day = berlin_date(clock.now())  # Wednesday 4 March 2026
    assert found(vorgang, submitted_from=day) == [by_id[permit]]
    assert found(vorgang, submitted_to=day - timedelta(days=2)) == [by_id[monday]]
    one_day = {"submitted_from": date(2026, 3, 3), "submitted_to": date(2026, 3, 3)}
    assert found(vorgang, **one_day) == [by_id[tuesday]]
    assert found(vorgang, "Dienstag", status="submitted") == []


def permit_for(v: Vorgang, clock: FixedClock, name: str) -> UUID:
    data = road_opening.example(berlin_date(clock.now()))
    data["site"] |= {"street": "Weilburger Straße", "house_number": "14"}
    data["contractor"] |= {"contact_person": "Jörg Brenner"}
    return v.cases.submit(
        actor=ERIKA, tenant="usingen", service="road-opening", applicant={"name": name}, data=data
    ).case_id


def test_service_data_is_searched_clear_or_blind_as_the_service_marks_it(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    permit = reference(vorgang, permit_for(vorgang, clock, "Erika Mueller"))
    assert found(vorgang, "Weilburger Strasse 14") == [permit]  # street clear, number blind
    assert found(vorgang, "Brenner") == [permit]  # the contractor's contact person
    assert found(vorgang, "Tiefbau") == [permit]  # the company, not personal
    row = vorgang.views.query(
        f"SELECT clear_terms, subject_terms FROM {LIVE_TABLE}"  # noqa: S608
    )[0]
    assert "weilburg" in row[0]
    assert "brenner" not in row[0]
    assert "14" not in row[0].split()
    assert set(json.loads(row[1])) == {Subjects.APPLICANT, "contractor"}


def test_results_stay_in_the_tenant_and_applicants_find_only_their_own(
    vorgang: Vorgang,
) -> None:
    own = reference(vorgang, submit(vorgang, JUERGEN, "Jürgen Müller"))
    theirs = reference(vorgang, submit(vorgang, ERIKA, "Erika Müller"))
    schmitten_applicant = Actor("portal:s", "Sven Müller", Role.APPLICANT, "schmitten")
    foreign = reference(
        vorgang,
        submit(vorgang, schmitten_applicant, "Sven Müller", tenant="schmitten"),
        FOREIGN_CLERK,
    )
    assert set(found(vorgang, "Müller")) == {own, theirs}
    assert found(vorgang, "Müller", tenant="schmitten") == [foreign]
    assert found(vorgang, "Müller", submitted_by=JUERGEN.id) == [own]
    assert found(vorgang, "Erika", submitted_by=JUERGEN.id) == []


def test_pages_follow_each_other_without_gaps_or_repeats(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    for i in range(7):
        submit(vorgang, ERIKA, "Müller" if i % 2 else f"Müllerová {i}")
        clock.advance(timedelta(minutes=5))
    query = caught_up(vorgang)
    seen: list[str] = []
    cursor = None
    while True:
        items, cursor = query.page(
            SearchFilter(tenant="usingen", text="Müll"), limit=2, cursor=cursor
        )
        seen += [i["reference"] for i in items]
        if cursor is None:
            break
    assert seen == found(vorgang, "Müll")
    assert len(seen) == len(set(seen)) == 7


def test_an_erasure_removes_the_subjects_hits_as_soon_as_it_is_applied(
    vorgang: Vorgang,
) -> None:
    case_id = submit(vorgang, JUERGEN, "Jürgen Müller", street="Große Straße", subject="Grab")
    kept = reference(vorgang, submit(vorgang, ERIKA, "Erika Müller"))
    ref = reference(vorgang, case_id)
    assert set(found(vorgang, "Müller")) == {ref, kept}
    vorgang.privacy.erase(
        case_id,
        actor=ADMIN,
        subjects=[Subjects.APPLICANT],
        reason="Löschersuchen",
        legal_basis="Art. 17 DSGVO",
    )
    assert found(vorgang, "Müller") == [kept]
    assert found(vorgang, "Straße") == []
    assert found(vorgang, "Grab") == [ref]  # the application's clear text stays searchable
    items, _ = caught_up(vorgang).page(
        SearchFilter(tenant="usingen", reference=ref), limit=5, cursor=None
    )
    assert items[0]["applicant_name"] == ERASED_TEXT


def test_an_erasure_drops_tokens_even_while_another_process_still_caches_the_key(
    vorgang: Vorgang,
) -> None:
    projection = vorgang.projections.runners["case_search"].projection
    assert isinstance(projection, CaseSearch)
    remembered: dict[str, PersonalData | Erased] = {}

    def stale_cache(sealed: Sealed) -> PersonalData | Erased:
        text = sealed.as_json()
        if text not in remembered:
            remembered[text] = projection.open_personal(sealed)
        return remembered[text]  # as if the key were still cached after its destruction

    class StaleSearch(CaseSearch):
        version = 98

    stale = StaleSearch(projection.dialect, projection.terms, stale_cache)
    runner = ProjectionRunner(vorgang.store, vorgang.views, stale)
    case_id = submit(vorgang, JUERGEN, "Jürgen Müller")
    runner.catch_up()
    vorgang.privacy.erase(case_id, actor=ADMIN, reason="Löschersuchen", legal_basis="Art. 17")
    runner.catch_up()
    row = vorgang.views.query("SELECT subject_terms FROM case_search_v98")[0]
    assert row == ("{}",)


def search_rows(v: Vorgang) -> list[tuple[Any, ...]]:
    columns = "case_id, tenant, reference, service, status, submitted_at, submitted_by, "
    columns += "clear_terms, subject_terms, position"
    if v.views.dialect == "sqlite":
        return v.views.query(
            f"SELECT {columns}, t.terms FROM {LIVE_TABLE} "  # noqa: S608
            f"JOIN {LIVE_TEXT_TABLE} t ON t.rowid = doc ORDER BY case_id"
        )
    return v.views.query(
        f"SELECT {columns}, document::text FROM {LIVE_TABLE} ORDER BY case_id"  # noqa: S608
    )


def test_a_rebuild_from_the_log_gives_the_same_index_erasures_included(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    erased = submit(vorgang, JUERGEN, "Jürgen Müller", street="Große Straße")
    kept = submit(vorgang, ERIKA, "Erika Müller", street="Hauptstraße")
    permit = permit_for(vorgang, clock, "Paul Brenner")
    take(vorgang.cases, permit, "confirm_complete", actor=CLERK)
    caught_up(vorgang)
    vorgang.privacy.erase(erased, actor=ADMIN, reason="Löschersuchen", legal_basis="Art. 17")
    vorgang.privacy.erase(
        permit, actor=ADMIN, subjects=["contractor"], reason="r", legal_basis="Art. 17"
    )
    queries = ["Müller", "Straße", "Brenner", "Jörg", "Weilburger", "USI"]
    caught_up(vorgang)
    before = search_rows(vorgang), [found(vorgang, q) for q in queries]
    rebuild(vorgang.store, vorgang.views, vorgang.projections.runners["case_search"].projection)
    after = search_rows(vorgang), [found(vorgang, q) for q in queries]
    assert after == before
    assert before[1][0] == [reference(vorgang, kept)]
    assert before[1][1] == [reference(vorgang, permit)]  # not the erased applicant's street
    assert before[1][2] == [reference(vorgang, permit)]  # the applicant's name, not erased
    assert before[1][3] == []  # the contractor's contact person is erased


def test_the_index_holds_exactly_the_terms_the_projection_computed(
    vorgang: Vorgang, clock: FixedClock
) -> None:
    permit_for(vorgang, clock, "Erika Mueller")
    caught_up(vorgang)
    search = vorgang.projections.runners["case_search"].projection
    assert isinstance(search, CaseSearch)
    tenant, clear_terms, subject_terms = vorgang.views.query(
        f"SELECT tenant, clear_terms, subject_terms FROM {LIVE_TABLE}"  # noqa: S608
    )[0]
    terms = search.document_terms(
        {"tenant": tenant, "clear_terms": clear_terms, "subject_terms": subject_terms}
    )
    if vorgang.views.dialect == "sqlite":
        stored = vorgang.views.query(
            f"SELECT terms FROM {LIVE_TEXT_TABLE}"  # noqa: S608
        )[0][0].split()
    else:  # every lexeme as written: no parser split a token
        document = vorgang.views.query(
            f"SELECT document::text FROM {LIVE_TABLE}"  # noqa: S608
        )[0][0]
        stored = re.findall(r"'([^']*)'", document)
    assert stored == terms
    tokens = {t for subject in json.loads(subject_terms).values() for t in subject}
    assert tokens < set(terms)
    assert all(re.fullmatch(f"[0-9a-f]{{{TOKEN_HEX}}}", t) for t in terms)  # clear words too
    assert "weilburg" in clear_terms.split()


def test_a_words_beginning_never_matches_the_beginning_of_a_token(vorgang: Vorgang) -> None:
    name = "Jürgen Heinrich Maximilian Müller-Lüdenscheidt"
    submit(vorgang, JUERGEN, name, street="Große Weilburger Straße")
    caught_up(vorgang)
    subject_terms = vorgang.views.query(
        f"SELECT subject_terms FROM {LIVE_TABLE}"  # noqa: S608
    )[0][0]
    tokens = {t for subject in json.loads(subject_terms).values() for t in subject}
    beginnings = sorted({t[:3] for t in tokens if t[:3].isalpha()})  # words of a to f
    assert beginnings  # the tokens of this key and these words have some
    for word in beginnings:
        assert found(vorgang, word) == [], word
