"""Versioned rules: each version takes effect on a day, and no version is ever removed.

A tariff, a lead time or a set of standard conditions is data with a version id and the day
it takes effect. A decision records the version it applied; ``in_force`` picks the version
for a day, ``by_version`` finds a recorded one again however old, so an auditor can replay
the decision against exactly what it applied.

The tables of the statutes are the modules' constants. A ``RuleBook`` amends some of them
(a tariff the council has not adopted yet, a table under audit); whoever holds one applies
it to the calls it makes (``with book.applied(): ...``), and every lookup here reads the
amended table within that block, in that thread or task only. Tests pass their own tables
this way instead of patching module globals.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol, TypeVar, cast

from domain.decision import RulesApplied


class UnknownRulesVersion(LookupError):
    """A rules version that was never defined."""


class Versioned(Protocol):
    """One version of a rule: its id and the day it takes effect."""

    @property
    def version(self) -> str:
        """The version id a decision records, e.g. ``2025-01``."""
        ...

    @property
    def valid_from(self) -> date:
        """The first day this version is in force."""
        ...


V = TypeVar("V", bound=Versioned)


@dataclass(frozen=True, slots=True)
class RuleBook:
    """Rule tables in force: the statutes' own, except where an amendment replaces one."""

    amendments: tuple[tuple[tuple[Any, ...], tuple[Any, ...]], ...] = ()

    def amended(self, statute: tuple[V, ...], table: tuple[V, ...]) -> RuleBook:
        """This book with ``statute`` (a module's table) replaced by ``table``."""
        kept = tuple((old, new) for old, new in self.amendments if old != statute)
        return RuleBook((*kept, (statute, table)))

    def table(self, statute: tuple[V, ...]) -> tuple[V, ...]:
        """The versions this book holds for a statute's table."""
        for old, new in self.amendments:
            if old == statute:
                return cast(tuple[V, ...], new)
        return statute

    @contextmanager
    def applied(self) -> Iterator[RuleBook]:
        """Every rule lookup in this block (this thread or task) reads this book."""
        token = _BOOK_IN_FORCE.set(self)
        try:
            yield self
        finally:
            _BOOK_IN_FORCE.reset(token)


STATUTES = RuleBook()  # the tables as the modules define them
_BOOK_IN_FORCE: ContextVar[RuleBook] = ContextVar("rule_book", default=STATUTES)


def in_force(versions: tuple[V, ...], on: date) -> V:
    """The version in force on a day: the latest that took effect on or before it."""
    versions = _BOOK_IN_FORCE.get().table(versions)
    candidates = [v for v in versions if v.valid_from <= on]
    if not candidates:
        raise UnknownRulesVersion(f"no version in force on {on}")
    return max(candidates, key=lambda v: v.valid_from)


def by_version(versions: tuple[V, ...], version: str) -> V:
    """A version by its id, however old."""
    for candidate in _BOOK_IN_FORCE.get().table(versions):
        if candidate.version == version:
            return candidate
    raise UnknownRulesVersion(f"unknown rules version {version!r}")


def as_recorded(
    versions: tuple[V, ...], applied: Iterable[RulesApplied], rules_id: str
) -> V | None:
    """The version of a rule that a decision recorded, or None if it applied none."""
    for rules in applied:
        if rules.rules_id == rules_id:
            return by_version(versions, rules.version)
    return None


class RulesChoice(Protocol):
    """Which version of each rule a service's decision terms are computed with.

    The terms are computed when the clerk decides (``InForce`` on the day of the decision),
    on replay (``AsRecorded``) and to compare with today's rules (``InForce`` today). A rule
    that goes by the day of submission (a lead time) stays as of that day, except on replay.
    """

    def by_decision_day(self, versions: tuple[V, ...], rules_id: str) -> V | None:
        """A rule that goes by the day of the decision (a tariff, standard conditions)."""
        ...

    def by_submission_day(self, versions: tuple[V, ...], rules_id: str) -> V | None:
        """A rule that goes by the day the application was submitted (a lead time)."""
        ...

    def by_fee_debt_day(self, versions: tuple[V, ...], rules_id: str) -> V | None:
        """A tariff: it goes by the day the fee debt arises under the fee statute."""
        ...


@dataclass(frozen=True, slots=True)
class InForce:
    """The versions in force on a day (the decision's, or today), on the submission day, and
    on the day the fee debt arises (the decision's day unless the service says otherwise)."""

    on: date
    submitted_on: date
    fee_debt_on: date | None = None

    def by_fee_debt_day(self, versions: tuple[V, ...], rules_id: str) -> V | None:
        """The version in force on the day the fee debt arises."""
        return in_force(versions, self.fee_debt_on or self.on)

    def by_decision_day(self, versions: tuple[V, ...], rules_id: str) -> V | None:
        """The version in force on ``on``."""
        return in_force(versions, self.on)

    def by_submission_day(self, versions: tuple[V, ...], rules_id: str) -> V | None:
        """The version in force on the day of submission."""
        return in_force(versions, self.submitted_on)


@dataclass(frozen=True, slots=True)
class AsRecorded:
    """The versions a decision recorded; None for a rule it applied none of."""

    rules: tuple[RulesApplied, ...]

    def by_decision_day(self, versions: tuple[V, ...], rules_id: str) -> V | None:
        """The version the decision recorded."""
        return as_recorded(versions, self.rules, rules_id)

    def by_submission_day(self, versions: tuple[V, ...], rules_id: str) -> V | None:
        """The version the decision recorded."""
        return as_recorded(versions, self.rules, rules_id)

    def by_fee_debt_day(self, versions: tuple[V, ...], rules_id: str) -> V | None:
        """The version the decision recorded."""
        return as_recorded(versions, self.rules, rules_id)
