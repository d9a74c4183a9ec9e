"""Search terms: one normalisation and stemming for index and query; personal words hashed."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from domain.personal_data import PersonalData
from projections.search import CaseSearch
from projections.search_terms import (
    MIN_PREFIX,
    TOKEN_HEX,
    SearchTerms,
    derive_search_key,
    normalised_words,
    stem,
)

KEY = derive_search_key(b"test-id-secret-0123456789")


def test_words_are_casefolded_with_umlauts_spelled_out_and_punctuation_dropped() -> None:
    assert normalised_words("Große Straße 12a, 61250 Usingen!") == [
        "grosse",
        "strasse",
        "12a",
        "61250",
        "usingen",
    ]
    assert normalised_words("MÜLLER-Lüdenscheidt") == ["mueller", "luedenscheidt"]
    assert normalised_words("José Ærø Øre") == ["jose", "ærø", "øre"]  # no decomposition: kept
    assert normalised_words("  ,;- ") == []


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Straße", "Strasse"),
        ("Gräber", "Grab"),
        ("Anträge", "Antrag"),
        ("Müller", "Mueller"),
        ("Hauptstraßen", "Hauptstrasse"),
    ],
)
def test_spellings_and_inflections_share_a_stem(one: str, other: str) -> None:
    assert [stem(w) for w in normalised_words(one)] == [stem(w) for w in normalised_words(other)]


def test_personal_tokens_are_short_keyed_hashes_of_stems_and_prefixes() -> None:
    terms = SearchTerms(KEY)
    tokens = terms.personal_tokens("usingen", "Müller")
    assert all(re.fullmatch(f"[0-9a-f]{{{TOKEN_HEX}}}", t) for t in tokens)
    # one stem token, and one prefix token per length from MIN_PREFIX to the whole word
    assert len(tokens) == 1 + len("mueller") - MIN_PREFIX + 1
    for query in ("Müll", "Mueller", "müller", "MUELL", "Müllers"):
        word = terms.query_words("usingen", query)[0]
        assert word.stem_token in tokens or word.prefix_token in tokens, query
    assert not {w.prefix_token for w in terms.query_words("usingen", "Mül")} <= {None}
    assert terms.query_words("usingen", "Maier")[0].stem_token not in tokens


def test_tokens_differ_by_tenant_and_by_key() -> None:
    terms = SearchTerms(KEY)
    usingen = terms.personal_tokens("usingen", "Müller")
    assert usingen == SearchTerms(KEY).personal_tokens("usingen", "Müller")  # deterministic
    assert not usingen & terms.personal_tokens("schmitten", "Müller")
    other_key = SearchTerms(derive_search_key(b"another-id-secret-987654321"))
    assert not usingen & other_key.personal_tokens("usingen", "Müller")


def test_stop_words_stay_out_of_the_clear_index_but_are_still_hashed() -> None:
    terms = SearchTerms(KEY)
    assert terms.clear_terms(["Sondernutzung des Gehwegs für einen Umzug"]) == [
        "sondernutz",
        "gehweg",
        "umzug",
    ]
    word = terms.query_words("usingen", "von")[0]
    assert word.stem_token in terms.personal_tokens("usingen", "Ursula von Berg")


def test_the_search_key_is_derived_under_its_own_label_and_never_shown() -> None:
    secret = b"test-id-secret-0123456789"
    assert derive_search_key(secret) == KEY
    assert len(KEY) == 32
    assert secret not in KEY
    assert derive_search_key(b"test-id-secret-0123456780") != KEY
    assert KEY.hex() not in repr(SearchTerms(KEY))
    with pytest.raises(ValueError, match="16 bytes"):
        SearchTerms(b"short")


class Submitted(SimpleNamespace):
    """Stands in for a case's Submitted event (the views dispatch on the class name)."""


def test_special_category_data_and_contact_details_are_not_made_searchable() -> None:
    case_id = uuid.uuid4()
    terms = SearchTerms(KEY)
    search = CaseSearch("sqlite", terms, open_personal=lambda sealed: pytest.fail("not sealed"))
    submitted = Submitted(
        originator_id=case_id,
        tenant="usingen",
        reference="USI-2026-000001",
        service="holiday-programme",
        at=datetime(2026, 3, 2, 8, tzinfo=UTC),
        actor=SimpleNamespace(id="portal:1"),
        applicant={"name": PersonalData(case_id, "applicant", "Erika Mustermann")},
        data={
            "allergies": PersonalData(case_id, "child", "Erdnussallergie", special_category=True),
            "child_name": PersonalData(case_id, "child", "Lina Mustermann"),
            "email": PersonalData(case_id, "applicant", "erika@example.org"),
            "start": "2026-07-06",
            "week": "Zirkuswoche",
        },
    )
    row = search._submitted(submitted, position=1)
    tokens = {t for subject in json.loads(row["subject_terms"]).values() for t in subject}
    assert terms.token("usingen", "s", stem("lina")) in tokens
    assert terms.token("usingen", "s", stem("erdnussallergie")) not in tokens
    assert terms.token("usingen", "s", stem("erika")) in tokens
    assert terms.token("usingen", "s", "example") not in tokens  # contact details are skipped
    assert row["clear_terms"].split() == [
        "usi",
        "2026",
        "000001",
        "holiday",
        "programm",
        "zirkuswoch",
    ]
