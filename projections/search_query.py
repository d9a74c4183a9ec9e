"""Reading the case search: filters, full text over blind tokens, pages of ranked matches.

Each query word must match (AND), by the token of its stem (whole) or of its beginning.
Relevance is the number of query words a case matches as a whole word rather than only as
a beginning: it depends on the case's own row alone, so SQLite and PostgreSQL order alike
and the keyset cursor (relevance, submitted_at, case_id) stays stable while cases are
added. Without query words the order is newest first.

On PostgreSQL a page costs what the page needs, not what the words' matches number. The
first look goes to the newest ``walk_rows`` rows in scope (tenant and filters), read in the
order of the (tenant, submitted_at, case_id) index until the page is full:

- Words rare among them have few matches at all: those are gathered from the full-text
  index and ranked (or, where the scope is that small, its rows are ranked).
- Words common among them fill a page within a few hundred rows. If those are all whole
  words (and no cursor is held), they are the page. Otherwise the page is read level by
  level of relevance (``projections.search_match``), the highest first, each level newest
  first from the cursor's place: a level again from the newest rows in index order, and
  gathered from the index only if it is rare among them.

Every look at the newest rows is bounded by ``walk_rows``, and every gather follows a look
that found the words (or the level) rare, so neither reads a common word's every match.
SQLite ranks every match through its FTS5 index in one query.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from domain.working_days import BERLIN
from projections.cursors import decode_cursor, encode_cursor
from projections.search import LIVE_TABLE, LIVE_TEXT_TABLE
from projections.search_match import (
    Expression,
    every_word,
    fts5,
    level,
    tsquery,
    whole_word,
)
from projections.search_terms import QueryWord, SearchTerms
from projections.view_store import ViewDatabase
from projections.where import Where

Open = Callable[[str | None], str | None]  # opens a sealed personal value for display
CURSOR = (int, str, str)  # relevance, submitted_at, case_id of the last row
SHOWN = "case_id, reference, service, status, submitted_at, applicant_name"
NEWEST_FIRST = "ORDER BY submitted_at DESC, case_id DESC"
RANKED = "ORDER BY score DESC, submitted_at DESC, case_id DESC"
WALK_ROWS: Final = 2000  # PostgreSQL: newest rows a level is looked for in before gathering


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


@dataclass(frozen=True)
class After:
    """The key of the previous page's last row."""

    relevance: int
    submitted_at: str
    case_id: str


@dataclass(frozen=True)
class Scope:
    """The rows a search looks at: one tenant's, narrowed by the filters (and a cursor)."""

    tenant: str
    filters: Where

    @property
    def narrowing(self) -> str:
        """The filters as SQL to append to a condition (empty without filters)."""
        return f" AND {self.filters.sql}" if self.filters.conditions else ""

    @property
    def sql(self) -> str:
        """The tenant and the filters."""
        return f"tenant = ?{self.narrowing}"

    @property
    def params(self) -> list[Any]:
        """The parameters of ``sql``."""
        return [self.tenant, *self.filters.params]

    def after(self, cursor: After | None) -> Scope:
        """The rows after the cursor's in newest-first order (an index range), if any."""
        if cursor is None:
            return self
        narrowed = Where()
        narrowed.conditions, narrowed.params = [*self.filters.conditions], [*self.filters.params]
        narrowed.add("(submitted_at, case_id) < (?, ?)", cursor.submitted_at, cursor.case_id)
        return Scope(self.tenant, narrowed)


def day_start(day: date) -> str:
    """The first moment of a Berlin calendar day, as the view's UTC text."""
    return datetime.combine(day, time(), tzinfo=BERLIN).astimezone(UTC).isoformat()


def like_prefix(text: str) -> str:
    """A LIKE pattern for text beginning with ``text`` (wildcards in it escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


class SearchQuery:
    """Pages of the case search."""

    def __init__(
        self,
        views: ViewDatabase,
        terms: SearchTerms,
        open_sealed: Open,
        *,
        walk_rows: int = WALK_ROWS,
    ) -> None:
        self.views = views
        self.terms = terms
        self.open_sealed = open_sealed
        self.walk_rows = walk_rows
        self.dialect = views.dialect
        self.table = LIVE_TABLE
        self.text_table = LIVE_TEXT_TABLE

    def page(
        self, query: SearchFilter, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page and the cursor of the next (None on the last page)."""
        scope = Scope(query.tenant, self._filters(query))
        words = self.terms.query_words(query.tenant, query.text) if query.text else []
        after = self._after(cursor)
        if words:
            rows = self._ranked(scope, words, after, limit + 1)
        else:
            # Newest first straight from the (tenant, submitted_at, case_id) index.
            rows = [(*row, 0) for row in self._newest(scope.after(after), limit + 1)]
        more = len(rows) > limit
        rows = rows[:limit]
        items = [self._item(row) for row in rows]
        last = rows[-1] if rows else None
        next_cursor = encode_cursor([int(last[6]), last[4], last[0]]) if more and last else None
        return items, next_cursor

    def _newest(self, scope: Scope, wanted: int) -> list[tuple[Any, ...]]:
        """Rows without query words, newest first."""
        return self.views.query(
            f"SELECT {SHOWN} FROM {self.table} WHERE {scope.sql} {NEWEST_FIRST} LIMIT ?",
            [*scope.params, wanted],
        )

    def _ranked(
        self, scope: Scope, words: list[QueryWord], after: After | None, wanted: int
    ) -> list[tuple[Any, ...]]:
        """Up to ``wanted`` matching rows after the cursor, with their relevance."""
        if self.dialect == "sqlite":
            return self._gathered(scope, words, after, wanted)
        newest = self._newest_matches(scope, words, wanted)
        if len(newest) >= wanted:  # common among the newest rows: level by level
            if after is None and all(row[-1] == len(words) for row in newest):
                return newest  # the newest matches are all whole: the page as it is
            return self._level_by_level(scope, words, after, wanted)
        if self._walked_all(scope):  # a few rows in scope: all of them ranked
            return self._window_ranked(scope, words, after, wanted)
        return self._gathered(scope, words, after, wanted)  # rare: its few matches ranked

    def _window(self, scope: Scope) -> tuple[str, list[Any]]:
        """PostgreSQL: the newest ``walk_rows`` rows in scope, in index order, each joined
        to its document (fetched by row address, so the rows are sorted without it where
        the planner sorts a small tenant's rows instead of reading the index)."""
        return (
            f"(SELECT {SHOWN}, ctid AS place FROM {self.table} WHERE {scope.sql} "
            f"{NEWEST_FIRST} LIMIT ?) AS newest CROSS JOIN LATERAL (SELECT document "
            f"FROM {self.table} WHERE ctid = newest.place OFFSET 0) AS found",
            [*scope.params, self.walk_rows],
        )

    def _newest_matches(
        self, scope: Scope, words: list[QueryWord], wanted: int
    ) -> list[tuple[Any, ...]]:
        """PostgreSQL: the first ``wanted`` matches among the newest rows, with relevance."""
        window, window_params = self._window(scope)
        every, every_params = self._matches(every_word(words))
        score, score_params = self._score(words)
        return self.views.query(
            f"SELECT {SHOWN}, {score} FROM {window} WHERE {every} {NEWEST_FIRST} LIMIT ?",
            [*score_params, *window_params, *every_params, wanted],
        )

    def _window_ranked(
        self, scope: Scope, words: list[QueryWord], after: After | None, wanted: int
    ) -> list[tuple[Any, ...]]:
        """PostgreSQL: every match in a scope the window holds whole, ranked."""
        window, window_params = self._window(scope)
        every, every_params = self._matches(every_word(words))
        score, score_params = self._score(words)
        later, later_params = self._later(after)
        return self.views.query(
            f"SELECT {SHOWN}, score FROM (SELECT {SHOWN}, {score} AS score FROM {window} "
            f"WHERE {every}) AS scored WHERE {later} {RANKED} LIMIT ?",
            [*score_params, *window_params, *every_params, *later_params, wanted],
        )

    def _gathered(
        self, scope: Scope, words: list[QueryWord], after: After | None, wanted: int
    ) -> list[tuple[Any, ...]]:
        """Every match from the full-text index, ranked: for words rare among the newest
        rows (PostgreSQL), or on SQLite."""
        every, every_params = self._matches(every_word(words))
        score, score_params = self._score(words)
        later, later_params = self._later(after)
        if self.dialect == "sqlite":
            return self.views.query(
                f"SELECT {SHOWN}, score FROM (SELECT {SHOWN}, {score} AS score "
                f"FROM {self.table} WHERE {scope.sql} AND {every}) AS matched "
                f"WHERE {later} {RANKED} LIMIT ?",
                [*score_params, *scope.params, *every_params, *later_params, wanted],
            )
        # The tenant's column is checked outside: inside, the planner would add every row
        # of the tenant from a B-tree to the index's few matches (tokens are the tenant's
        # own anyway); OFFSET 0 keeps it outside, and keeps the planner from walking an
        # index for the matches after all.
        return self.views.query(
            f"SELECT {SHOWN}, score FROM (SELECT {SHOWN}, tenant, {score} AS score "
            f"FROM {self.table} WHERE {every}{scope.narrowing} OFFSET 0) AS matched "
            f"WHERE tenant = ? AND {later} {RANKED} LIMIT ?",
            [
                *score_params,
                *every_params,
                *scope.filters.params,
                scope.tenant,
                *later_params,
                wanted,
            ],
        )

    def _level_by_level(
        self, scope: Scope, words: list[QueryWord], after: After | None, wanted: int
    ) -> list[tuple[Any, ...]]:
        """PostgreSQL: the levels from the highest down, each newest first, until full."""
        top = len(words)
        start = top if after is None else min(after.relevance, top)
        rows: list[tuple[Any, ...]] = []
        walked_all = functools.cache(self._walked_all)  # per scope, once a page
        for score in range(start, -1, -1):
            within = scope.after(after) if after and score == after.relevance else scope
            condition, params = self._level(words, score)
            found = self._level_rows(within, condition, params, wanted - len(rows), walked_all)
            rows += [(*row, score) for row in found]
            if len(rows) >= wanted:
                break
        return rows

    def _level_rows(
        self,
        scope: Scope,
        condition: str,
        params: list[Any],
        wanted: int,
        walked_all: Callable[[Scope], bool],
    ) -> list[tuple[Any, ...]]:
        """PostgreSQL: the first ``wanted`` rows of one level, newest first."""
        window, window_params = self._window(scope)
        walked = self.views.query(
            f"SELECT {SHOWN} FROM {window} WHERE {condition} {NEWEST_FIRST} LIMIT ?",
            [*window_params, *params, wanted],
        )
        if len(walked) >= wanted or walked_all(scope):
            return walked
        # Rare among the newest rows: its matches from the full-text index, sorted (the
        # tenant checked outside, as in ``_gathered``).
        return self.views.query(
            f"SELECT {SHOWN} FROM (SELECT {SHOWN}, tenant FROM {self.table} "
            f"WHERE {condition}{scope.narrowing} OFFSET 0) AS matched "
            f"WHERE tenant = ? {NEWEST_FIRST} LIMIT ?",
            [*params, *scope.filters.params, scope.tenant, wanted],
        )

    def _walked_all(self, scope: Scope) -> bool:
        """Whether the window holds every row in scope (an applicant's own cases, the last
        rows after a cursor). A whole tenant is not counted: it has many more rows, or so
        few that gathering its matches costs little."""
        if not scope.filters.conditions:
            return False
        rows = self.views.query(
            f"SELECT count(*) FROM (SELECT 1 FROM {self.table} WHERE {scope.sql} "
            f"{NEWEST_FIRST} LIMIT ?) AS newest",
            [*scope.params, self.walk_rows],
        )
        return int(rows[0][0]) < self.walk_rows

    def _score(self, words: list[QueryWord]) -> tuple[str, list[Any]]:
        """An expression: how many words the row matches as a whole word."""
        counted, params = [], []
        for word in words:
            sql, word_params = self._matches(whole_word(word))
            counted.append(f"(CASE WHEN {sql} THEN 1 ELSE 0 END)")
            params += word_params
        return f"({' + '.join(counted)})", params

    @staticmethod
    def _later(after: After | None) -> tuple[str, list[Any]]:
        """A condition on ranked rows: after the cursor's in the order of relevance, then
        newest first (every row without a cursor)."""
        if after is None:
            return "TRUE", []
        return (
            "(score < ? OR (score = ? AND (submitted_at, case_id) < (?, ?)))",
            [after.relevance, after.relevance, after.submitted_at, after.case_id],
        )

    def _level(self, words: list[QueryWord], score: int) -> tuple[str, list[Any]]:
        """The condition of one relevance level, and its parameters."""
        expression = level(words, score)
        if expression is not None:
            return self._matches(expression)
        every_sql, every_params = self._matches(every_word(words))
        counted, counted_params = self._score(words)
        return f"{every_sql} AND {counted} = ?", [*every_params, *counted_params, score]

    def _matches(self, expression: Expression) -> tuple[str, list[Any]]:
        """A condition: the row's document matches the expression."""
        if self.dialect == "sqlite":
            return (
                f"doc IN (SELECT rowid FROM {self.text_table} WHERE {self.text_table} MATCH ?)",
                [fts5(expression)],
            )
        return "document @@ CAST(? AS tsquery)", [tsquery(expression)]

    def _filters(self, query: SearchFilter) -> Where:
        """Conditions and parameters of the structured filters within the tenant."""
        where = Where()
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
    def _after(cursor: str | None) -> After | None:
        """The last row's key of the previous page: relevance, submitted_at, case id."""
        if not cursor:
            return None
        return After(*decode_cursor(cursor, *CURSOR))

    def _item(self, row: Sequence[Any]) -> dict[str, Any]:
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
