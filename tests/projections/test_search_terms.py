"""Search terms: one normalisation and stemming for index and query; personal words hashed."""

from __future__ import annotations

import re

import pytest

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
    assert word.stem is None
    assert word.prefix is None
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
