"""The case search index never holds a personal value in clear, nor after an erasure its tokens.

Mirrors ``test_privacy``: the raw database files (SQLite file and WAL, PostgreSQL relation
files, indexes included) are scanned for every personal value of the cases — as written,
normalised and stemmed, since the index works on normalised stems.
"""

from __future__ import annotations

import json
from uuid import UUID

import pytest

from domain.actor import Actor, Role
from domain.personal_data import Subjects
from domain.services import road_opening
from domain.working_days import berlin_date
from infrastructure.database import DatabaseTarget
from infrastructure.wiring import Vorgang
from projections.search import LIVE_TABLE, CaseSearch
from projections.search_query import SearchFilter, SearchQuery
from projections.search_terms import normalised_words, stem
from tests.conftest import IN_CI
from tests.infrastructure.test_privacy import raw_bytes, readable_on_disk

APPLICANT = Actor("portal:sentinel", "Quirinius Zwackelhuber", Role.APPLICANT, "usingen")
ADMIN = Actor("dsb.usingen", "Datenschutz", Role.ADMIN, "usingen")
PERSONAL = {
    "name": "Quirinius Zwackelhuber",
    "street": "Xaverlgässchen",
    "house_number": "77",
    "city": "Knödelsheimerau",
}
CONTACT = "Jörgbertus Brennerowski"
DESCRIPTION = "Quastenflosservermächtnis für Großtante Wilhelmintrude"
SITE = "Hinterhofdurchgang Kleeblattstraße"


def sentinels() -> set[bytes]:
    """Every personal value, and each of its words normalised and stemmed (6+ letters)."""
    values = [*PERSONAL.values(), CONTACT, DESCRIPTION, SITE]
    found = {v.encode() for v in values if len(v) >= 6}
    for value in values:
        for word in normalised_words(value):
            found |= {form.encode() for form in (word, stem(word)) if len(form) >= 6}
    return found


def submit_cases(v: Vorgang) -> tuple[UUID, UUID]:
    general = v.cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="general",
        applicant=PERSONAL,
        data={"subject": "Nachlass", "description": DESCRIPTION},
    ).case_id
    data = road_opening.example(berlin_date(v.cases.clock.now()))
    data["site"] |= {"location_description": SITE}
    data["contractor"] |= {"contact_person": CONTACT}
    permit = v.cases.submit(
        actor=APPLICANT,
        tenant="usingen",
        service="road-opening",
        applicant={"name": PERSONAL["name"]},
        data=data,
    ).case_id
    return general, permit


def search(v: Vorgang, text: str) -> list[str]:
    runner = v.projections.runners["case_search"]
    runner.catch_up()
    projection = runner.projection
    assert isinstance(projection, CaseSearch)
    query = SearchQuery(v.views, projection.terms, lambda sealed: sealed)
    items, _ = query.page(SearchFilter(tenant="usingen", text=text), limit=10, cursor=None)
    return [i["case_id"] for i in items]


def search_tables_text(v: Vorgang) -> str:
    projection = v.projections.runners["case_search"].projection
    return json.dumps(
        [v.views.query(f"SELECT * FROM {t}") for t in projection.tables()],  # noqa: S608
        default=str,
        ensure_ascii=False,
    )


def test_the_search_index_holds_no_personal_value_in_clear_before_or_after_erasure(
    vorgang: Vorgang, target: DatabaseTarget
) -> None:
    if not readable_on_disk(target):
        reason = "the PostgreSQL data directory is not readable by this user"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    general, permit = submit_cases(vorgang)
    for words, expected in (
        ("Zwackelhuber", {str(general), str(permit)}),
        ("Xaverlgaesschen 77", {str(general)}),
        ("Knödelsheim", {str(general)}),  # a beginning
        ("Brennerowski", {str(permit)}),
        ("Großtante", {str(general)}),
        ("Kleeblattstrasse", {str(permit)}),
    ):
        assert set(search(vorgang, words)) == expected, words  # the index does hold them
    dump = search_tables_text(vorgang)
    stored = raw_bytes(target)
    for sentinel in sentinels():
        assert sentinel.decode() not in dump, sentinel
        assert sentinel not in stored, sentinel

    vorgang.privacy.erase(general, actor=ADMIN, reason="Löschersuchen", legal_basis="Art. 17")
    vorgang.privacy.erase(
        permit, actor=ADMIN, subjects=["contractor"], reason="r", legal_basis="Art. 17"
    )
    assert search(vorgang, "Zwackelhuber") == [str(permit)]
    assert search(vorgang, "Brennerowski") == []
    stored = raw_bytes(target)
    for sentinel in sentinels():
        assert sentinel not in stored, sentinel


@pytest.mark.parametrize("target", ["sqlite"], indirect=True)  # PostgreSQL rewrites the row
def test_erased_tokens_leave_the_sqlite_full_text_index(vorgang: Vorgang) -> None:
    general, permit = submit_cases(vorgang)
    search(vorgang, "")
    row = vorgang.views.query(
        f"SELECT subject_terms FROM {LIVE_TABLE} WHERE case_id = ?",  # noqa: S608
        (str(general),),
    )[0]
    erased_tokens = set(json.loads(row[0])[Subjects.APPLICANT])
    kept = vorgang.views.query(
        f"SELECT subject_terms FROM {LIVE_TABLE} WHERE case_id = ?",  # noqa: S608
        (str(permit),),
    )[0]
    erased_tokens -= set(json.loads(kept[0])[Subjects.APPLICANT])  # the same name stays there
    vorgang.views.query(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocabulary "
        f"USING fts5vocab(main, {LIVE_TABLE}_text, row)"
    )
    vocabulary = {r[0] for r in vorgang.views.query("SELECT term FROM search_vocabulary")}
    assert erased_tokens <= vocabulary
    vorgang.privacy.erase(general, actor=ADMIN, reason="Löschersuchen", legal_basis="Art. 17")
    search(vorgang, "")
    vocabulary = {r[0] for r in vorgang.views.query("SELECT term FROM search_vocabulary")}
    assert not erased_tokens & vocabulary
