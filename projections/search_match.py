"""What a case search's words match: conditions on the full-text index, level by level.

A query word matches a document as a *whole word* (the keyed token of its stem) or in *any
form* (also as a word's beginning: the token of the word as a prefix). A document's relevance is the
number of query words it matches as whole words. Relevance level ``s`` holds the documents
that match every word in any form and exactly ``s`` of them as whole words: the levels
split the matches into disjoint sets, so a page is read level by level, the highest first,
and each level newest first.

A level is one boolean expression over exact terms, rendered for the dialect's index: an
FTS5 expression on SQLite, a ``tsquery`` of exact lexemes on PostgreSQL (its document holds
the very terms the projection computed, so no parser or stemmer of the database changes
them). A level of many words with many ways to reach it
(12 words, 6 of them whole: 924) is instead "every word in any form" with the relevance
counted per row (``None`` from ``level``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from math import comb
from typing import Final

from projections.search_terms import QueryWord

MAX_LEVEL_BRANCHES: Final = 16  # ways to reach a level that are spelled out in one condition


@dataclass(frozen=True, slots=True)
class Term:
    """An index term, matched exactly."""

    text: str


@dataclass(frozen=True, slots=True)
class Every:
    """All of the parts."""

    parts: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class Either:
    """At least one of the parts."""

    parts: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class Without:
    """Documents matching ``kept`` but not ``dropped``."""

    kept: Expression
    dropped: Expression


Expression = Term | Every | Either | Without


def whole_word(word: QueryWord) -> Expression:
    """The word as a whole word: its stem's token."""
    return Term(word.stem_token)


def any_form(word: QueryWord) -> Expression:
    """The word in any form: as a whole word or as the beginning of one."""
    if word.prefix_token is None:
        return whole_word(word)
    return Either((Term(word.stem_token), Term(word.prefix_token)))


def beginning_only(word: QueryWord) -> Expression:
    """The word only as the beginning of a longer word, never whole."""
    return Without(any_form(word), whole_word(word))


def every_word(words: Sequence[QueryWord]) -> Expression:
    """Documents matching every word in some form: all levels together."""
    return Every(tuple(any_form(w) for w in words))


def level(words: Sequence[QueryWord], score: int) -> Expression | None:
    """Documents matching every word, exactly ``score`` of them whole (None: too many ways)."""
    count = len(words)
    if comb(count, score) > MAX_LEVEL_BRANCHES:
        return None
    branches = tuple(
        Every(
            tuple(whole_word(w) if i in chosen else beginning_only(w) for i, w in enumerate(words))
        )
        for chosen in map(frozenset, combinations(range(count), score))
    )
    return branches[0] if len(branches) == 1 else Either(branches)


def fts5(expression: Expression) -> str:
    """An FTS5 query expression (every term quoted, so no term is read as syntax)."""
    if isinstance(expression, Term):
        return '"' + expression.text.replace('"', '""') + '"'
    if isinstance(expression, Without):
        return f"({fts5(expression.kept)} NOT {fts5(expression.dropped)})"
    joiner = " AND " if isinstance(expression, Every) else " OR "
    return "(" + joiner.join(fts5(p) for p in expression.parts) + ")"


def tsquery(expression: Expression) -> str:
    """A PostgreSQL ``tsquery`` of exact lexemes (quoted: no parser splits or folds them)."""
    if isinstance(expression, Term):
        return lexeme(expression.text)
    if isinstance(expression, Without):
        return f"({tsquery(expression.kept)} & !{tsquery(expression.dropped)})"
    joiner = " & " if isinstance(expression, Every) else " | "
    return "(" + joiner.join(tsquery(p) for p in expression.parts) + ")"


def lexeme(term: str) -> str:
    """A term quoted as one PostgreSQL lexeme, in ``tsquery`` or ``tsvector`` text."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"
