"""Search terms: words prepared alike for the case search index and for a query.

A word is normalised (casefolded; ä→ae, ö→oe, ü→ue, ß→ss; other diacritics and all
punctuation dropped) and stemmed with the German Snowball stemmer, in Python, so SQLite
and PostgreSQL index and look up the very same terms. The index holds only keyed hashes
(a blind index): HMAC-SHA256 under the search key of tenant, kind and term, cut to
``TOKEN_HEX`` hex digits — one for a word's stem and one for each of its beginnings from
``MIN_PREFIX`` letters on, so "Müll" finds "Müller". Without the key a token tells
nothing; the key is derived from the id secret and never logged.

Personal words are hashed from the value, opened only for that (their beginnings are the
normalised word's). Words of non-personal text (reference, service, the street of a road
opening) are kept in clear in the view (their stems, ``clear_terms``) and hashed from those
stems alike (their beginnings are the stem's), so "Sondernutz" finds "Sondernutzung".
Every term is therefore matched exactly, never as a prefix, and belongs to one tenant: the
full-text index finds a term among a million documents by skipping, holds each tenant's
terms apart, and never has to collect every document holding a term that begins with a
common word ("2026" begins every reference).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import snowballstemmer
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TOKEN_HEX: Final = 12  # 48 bits: collisions stay negligible at a municipality's scale
MIN_PREFIX: Final = 3
MAX_PREFIX: Final = 24  # longer query words are looked up by their first 24 letters
MAX_WORDS_PER_VALUE: Final = 200  # a long free text adds its first 200 words
SEARCH_KEY_LABEL: Final = b"vorgang/case-search/blind-index/v1"
STEMS_CACHED: Final = 65_536  # clear stems whose prefix tokens are kept per process

_UMLAUTS: Final = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_WORD: Final = re.compile(r"[^\W_]+")

# PostgreSQL's `german` stop words (Snowball's list). They are left out of the clear
# index and of clear queries in both dialects, so SQLite answers as PostgreSQL does.
_GERMAN_STOP_WORDS: Final = """
aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes
anderm andern anderr anders auch auf aus bei bin bis bist da damit dann der den des dem die
das daß derselbe derselben denselben desselben demselben dieselbe dieselben dasselbe dazu
dein deine deinem deinen deiner deines denn derer dessen dich dir du dies diese diesem diesen
dieser dieses doch dort durch ein eine einem einen einer eines einig einige einigem einigen
einiger einiges einmal er ihn ihm es etwas euer eure eurem euren eurer eures für gegen gewesen
hab habe haben hat hatte hatten hier hin hinter ich mich mir ihr ihre ihrem ihren ihrer ihres
euch im in indem ins ist jede jedem jeden jeder jedes jene jenem jenen jener jenes jetzt kann
kein keine keinem keinen keiner keines können könnte machen man manche manchem manchen
mancher manches mein meine meinem meinen meiner meines mit muss musste nach nicht nichts noch
nun nur ob oder ohne sehr sein seine seinem seinen seiner seines selbst sich sie ihnen sind so
solche solchem solchen solcher solches soll sollte sondern sonst über um und uns unse unsem
unsen unser unses unter viel vom von vor während war waren warst was weg weil weiter welche
welchem welchen welcher welches wenn werde werden wie wieder will wir wird wirst wo wollen
wollte würde würden zu zum zur zwar zwischen
"""


def normalised_words(text: str) -> list[str]:
    """The words of a text, casefolded, umlauts spelled out, other diacritics dropped."""
    folded = text.casefold().translate(_UMLAUTS)  # casefold already turns ß into ss
    decomposed = unicodedata.normalize("NFKD", folded)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD.findall(plain)


STOP_WORDS: Final = frozenset(
    w for line in _GERMAN_STOP_WORDS.split() for w in normalised_words(line)
)

_stemmers = threading.local()  # a Snowball stemmer keeps state while it stems: one per thread


def stem(word: str) -> str:
    """The German Snowball stem of a normalised word ("strasse" → "strass").

    Numbers (references, house numbers) have no stem: skipping them saves most of the time
    a reference's words would cost.
    """
    if not word.isalpha():
        return word
    stemmer = getattr(_stemmers, "german", None)
    if stemmer is None:
        stemmer = _stemmers.german = snowballstemmer.stemmer("german")
    found: str = stemmer.stemWord(word)
    return found or word


def derive_search_key(id_secret: bytes) -> bytes:
    """The search index key: HKDF of the id secret under a label of its own."""
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=SEARCH_KEY_LABEL).derive(id_secret)


@dataclass(frozen=True, slots=True)
class QueryWord:
    """One word of a query, in every form the index may hold it."""

    stem_token: str  # the keyed hash of the stem: the word whole
    prefix_token: str | None  # the keyed hash of the word as a beginning (3+ letters)


class SearchTerms:
    """Turns text into index terms and a query into words, under one tenant's tokens."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the search key needs at least 16 bytes")
        self._key = key
        # Clear stems repeat (services, subjects, years): their tokens are kept.
        self._stem_tokens = functools.lru_cache(maxsize=STEMS_CACHED)(self._tokens_of_stem)

    def __repr__(self) -> str:
        return "SearchTerms(key=<hidden>)"

    def token(self, tenant: str, kind: str, term: str) -> str:
        """The blind index token of a term; tenants get different tokens for the same word."""
        message = f"{tenant}\x1f{kind}\x1f{term}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:TOKEN_HEX]

    @staticmethod
    def clear_terms(texts: Iterable[str]) -> list[str]:
        """Stems of non-personal text, in order, stop words left out."""
        found: list[str] = []
        for text in texts:
            for word in normalised_words(text)[:MAX_WORDS_PER_VALUE]:
                if word not in STOP_WORDS:
                    found.append(stem(word))
        return found

    def clear_tokens(self, tenant: str, stems: Iterable[str]) -> set[str]:
        """Tokens of clear stems: each stem's, and its beginnings' from ``MIN_PREFIX`` on."""
        tokens: set[str] = set()
        for term in stems:
            tokens.update(self._stem_tokens(tenant, term))
        return tokens

    def _tokens_of_stem(self, tenant: str, term: str) -> tuple[str, ...]:
        prefixes = range(MIN_PREFIX, min(len(term), MAX_PREFIX) + 1)
        return (
            self.token(tenant, "s", term),
            *(self.token(tenant, "p", term[:length]) for length in prefixes),
        )

    def personal_tokens(self, tenant: str, text: str) -> set[str]:
        """Tokens of a personal value: each word's stem and its prefixes, all hashed."""
        tokens: set[str] = set()
        for word in normalised_words(text)[:MAX_WORDS_PER_VALUE]:
            tokens.add(self.token(tenant, "s", stem(word)))
            for length in range(MIN_PREFIX, min(len(word), MAX_PREFIX) + 1):
                tokens.add(self.token(tenant, "p", word[:length]))
        return tokens

    def query_words(self, tenant: str, query: str) -> list[QueryWord]:
        """The words of a query, each matched by its tokens."""
        words = []
        for word in normalised_words(query):
            words.append(
                QueryWord(
                    stem_token=self.token(tenant, "s", stem(word)),
                    prefix_token=(
                        self.token(tenant, "p", word[:MAX_PREFIX])
                        if len(word) >= MIN_PREFIX
                        else None
                    ),
                )
            )
        return words
