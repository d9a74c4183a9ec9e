"""Reading the case search: filters, full text over clear stems and blind tokens, pages.

Each query word must match (AND), by its clear stem, its keyed stem token, or as a prefix
(clear or hashed). Relevance is the number of query words a case matches as a whole word
rather than only as a prefix: it depends on the case's own row alone, so SQLite and
PostgreSQL order alike and the keyset cursor (relevance, submitted_at, case_id) stays
stable while cases are added. Without query words the order is newest first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from domain.working_days import BERLIN
from projections.cursors import decode_cursor, encode_cursor
from projections.search import LIVE_TABLE, LIVE_TEXT_TABLE
from projections.search_terms import QueryWord, SearchTerms
from projections.view_store import ViewDatabase
from projections.where import Where

Open = Callable[[str | None], str | None]  # opens a sealed personal value for display
CURSOR = (int, str, str)  # relevance, submitted_at, case_id of the last row
SHOWN = "case_id, reference, service, status, submitted_at, applicant_name"


@dataclass(frozen=True)
class SearchFilter:
    """What a caller asks the case search for, within one tenant."""

    tenant: str
    text: str = ""
    submitted_by: str | None = None  # an applicant finds only the cases they submitted
    status: str | None = None
    service: str | None = None
    reference: str | None = None  # the whole reference or its beginning
    submitted_from: date | None = None  # Berlin calendar days, both inclusive
    submitted_to: date | None = None


def day_start(day: date) -> str:
    """The first moment of a Berlin calendar day, as the view's UTC text."""
    return datetime.combine(day, time(), tzinfo=BERLIN).astimezone(UTC).isoformat()


def like_prefix(text: str) -> str:
    """A LIKE pattern for text beginning with ``text`` (wildcards in it escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


class SearchQuery:
    """Pages of the case search."""

    def __init__(self, views: ViewDatabase, terms: SearchTerms, open_sealed: Open) -> None:
        self.views = views
        self.terms = terms
        self.open_sealed = open_sealed
        self.dialect = views.dialect
        self.table = LIVE_TABLE
        self.text_table = LIVE_TEXT_TABLE

    def page(
        self, query: SearchFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page and the cursor of the next (None on the last page)."""
        where = self._filters(query)
        words = self.terms.query_words(query.tenant, query.text) if query.text else []
        after = self._after(cursor)
        if not words:
            # Newest first straight from the (tenant, submitted_at, case_id) index.
            if after is not None:
                where.add(
                    "(submitted_at < ? OR (submitted_at = ? AND case_id < ?))",
                    after[1],
                    after[1],
                    after[2],
                )
            rows = self.views.query(
                f"SELECT {SHOWN}, 0 FROM {self.table} WHERE {where.sql} "
                "ORDER BY submitted_at DESC, case_id DESC LIMIT ?",
                [*where.params, limit + 1],
            )
        else:
            match_sql, match_params = self._matches([self._any_form(w) for w in words])
            where.add(match_sql, *match_params)
            score_sql, score_params = self._score([self._whole_word(w) for w in words])
            outer, outer_params = "", list[Any]()
            if after is not None:
                outer = (
                    "WHERE score < ? OR (score = ? AND (submitted_at < ? "
                    "OR (submitted_at = ? AND case_id < ?)))"
                )
                outer_params = [after[0], after[0], after[1], after[1], after[2]]
            rows = self.views.query(
                f"SELECT {SHOWN}, score FROM (SELECT {SHOWN}, {score_sql} AS score "
                f"FROM {self.table} WHERE {where.sql}) AS found {outer} "
                "ORDER BY score DESC, submitted_at DESC, case_id DESC LIMIT ?",
                [*score_params, *where.params, *outer_params, limit + 1],
            )
        more = len(rows) > limit
        rows = rows[:limit]
        items = [self._item(row) for row in rows]
        last = rows[-1] if rows else None
        next_cursor = encode_cursor([int(last[6]), last[4], last[0]]) if more and last else None
        return items, next_cursor

    def _filters(self, query: SearchFilter) -> Where:
        """Conditions and parameters of the structured filters."""
        where = Where("tenant = ?", query.tenant)
        if query.submitted_by is not None:
            where.add("submitted_by = ?", query.submitted_by)
        where.equal("status", query.status)
        where.equal("service", query.service)
        if query.reference:
            prefix = query.reference.upper()
            if self.dialect == "sqlite":  # LIKE ... ESCAPE cannot use SQLite's index; a range can
                upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
                where.add("reference >= ? AND reference < ?", prefix, upper)
            else:
                where.add("reference LIKE ? ESCAPE '\\'", like_prefix(prefix))
        # The calendar's first and last day mean "no bound" (a clerk's "to 9999-12-31"):
        # their Berlin midnight, or the midnight after, lies outside what a datetime holds.
        if query.submitted_from and query.submitted_from > date.min:
            where.add("submitted_at >= ?", day_start(query.submitted_from))
        if query.submitted_to and query.submitted_to < date.max:
            where.add("submitted_at < ?", day_start(query.submitted_to + timedelta(days=1)))
        return where

    @staticmethod
    def _after(cursor: str | None) -> tuple[int, str, str] | None:
        """The last row's key of the previous page: relevance, submitted_at, case id."""
        if not cursor:
            return None
        score, submitted_at, case_id = decode_cursor(cursor, *CURSOR)
        return score, submitted_at, case_id

    # A word's forms, as (clear stems, clear prefixes, tokens): any of them, or whole words.

    @staticmethod
    def _any_form(word: QueryWord) -> tuple[list[str], list[str], list[str]]:
        tokens = [word.stem_token] + ([word.prefix_token] if word.prefix_token else [])
        return (
            [word.stem] if word.stem else [],
            [word.prefix] if word.prefix else [],
            tokens,
        )

    @staticmethod
    def _whole_word(word: QueryWord) -> tuple[list[str], list[str], list[str]]:
        return ([word.stem] if word.stem else [], [], [word.stem_token])

    def _matches(
        self, forms: list[tuple[list[str], list[str], list[str]]]
    ) -> tuple[str, list[Any]]:
        """A condition: the case's document matches every word in one of its forms."""
        if self.dialect == "sqlite":
            expression = " AND ".join(f"({fts5_any(*f)})" for f in forms)
            return (
                f"doc IN (SELECT rowid FROM {self.text_table} WHERE {self.text_table} MATCH ?)",
                [expression],
            )
        parts, params = [], []
        for form in forms:
            sql, part_params = tsquery(*form)
            parts.append(sql)
            params += part_params
        return f"document @@ ({' && '.join(parts)})", params

    def _score(self, forms: list[tuple[list[str], list[str], list[str]]]) -> tuple[str, list[Any]]:
        """An expression: how many words the case matches as a whole word."""
        terms, params = [], []
        for form in forms:
            if self.dialect == "sqlite":
                terms.append(
                    f"(CASE WHEN doc IN (SELECT rowid FROM {self.text_table} "
                    f"WHERE {self.text_table} MATCH ?) THEN 1 ELSE 0 END)"
                )
                params.append(fts5_any(*form))
            else:
                sql, part_params = tsquery(*form)
                terms.append(f"(CASE WHEN document @@ {sql} THEN 1 ELSE 0 END)")
                params += part_params
        return "(" + " + ".join(terms) + ")", params

    def _item(self, row: tuple[Any, ...]) -> dict[str, Any]:
        case_id, reference, service, status, submitted_at, name, score = row
        return {
            "case_id": case_id,
            "reference": reference,
            "service": service,
            "status": status,
            "submitted_at": submitted_at,
            "applicant_name": self.open_sealed(name) if name else None,
            "relevance": int(score),
        }


def fts5_any(stems: list[str], prefixes: list[str], tokens: list[str]) -> str:
    """An FTS5 expression matching any of the forms (every term quoted)."""
    alternatives = [f'"{s}"' for s in stems] + [f'"{p}"*' for p in prefixes]
    alternatives += [f'"{t}"' for t in tokens]
    return " OR ".join(alternatives)


def tsquery(stems: list[str], prefixes: list[str], tokens: list[str]) -> tuple[str, list[Any]]:
    """A PostgreSQL tsquery matching any of the forms: stems under `german`, the rest `simple`."""
    simple = " | ".join([f"'{t}'" for t in tokens] + [f"'{p}':*" for p in prefixes])
    if stems:
        return "(plainto_tsquery('german', ?) || to_tsquery('simple', ?))", [stems[0], simple]
    return "to_tsquery('simple', ?)", [simple]
