"""The selection of a market's traders (Standplatzvergabe): published criteria anyone can replay.

A festgesetzter Markt (§ 69 GewO) is open to every trader of its kind (§ 70 (1) GewO); when
there are more applications than pitches, the town selects by objective reasons (§ 70 (3)
GewO: "sachlich gerechtfertigte Gründe") that it publishes before the deadline. "Bekannt und
bewährt" (years of attendance) may be one criterion, but newcomers must keep a real chance
(VGH Kassel, BVerwG): so a published share of the pitches is filled first from newcomers, and
a lot decides among equal scores. A market under the town's own rules (Marktsatzung) selects
the same way. The system draws the lot's seed once (a cryptographically secure random
number, as hex); everything else follows from the seed and the recorded inputs, so an
auditor can recompute the result in any language.

**Points** of an application per criterion (algorithms ``standplatzvergabe-1`` and ``-2``):

- ``scored``: the points (0 to ``max_points``) a member of staff gave on the score sheet;
- ``attendance``: the years of attendance, at most ``max_points`` ("bekannt und bewährt");
- ``category_need``: ``max_points`` when its category is one the market wants, else 0;
- ``newcomer``: ``max_points`` for 0 years of attendance, else 0.

**Total** = Σ weight * points / max_points, as a decimal rounded half up to 0.0001.

**Lot number** of an application: SHA-256 of the UTF-8 bytes of ``seed + ":" + case id``
(the case id in its canonical lower-case hyphenated form), as 64 lower-case hex digits.

**Rank**: by total, highest first; equal totals by lot number, lowest first.

**Pitches** (``standplatzvergabe-2``, every selection since 2026-12-07). ``reserved`` =
newcomer_share * number of pitches rounded to the nearest whole number (a half up).
A pitch fits an application when it may hold its category, has electricity and water where
the application asks for them, and is at least as long (frontage) as the stall.
*Who is admitted*: the applications with 0 years of attendance are walked first in rank
order, each admitted if it and every application admitted before can all stand at once on
pitches that fit them, until ``reserved`` newcomers are admitted (a newcomer who cannot is
passed over); then every application not admitted is walked in rank order the same way. No
pitch is fixed while admitting, so a stall never takes a pitch that a better-ranked stall
alone could use while another pitch fits it. *Which pitch*: in rank order, each admitted
stall gets, of the pitches that fit it and are not yet given, the one with the smallest
frontage, then the fewest utilities the stall does not use (electricity, water: one each),
then the fewest categories it may hold, then the lowest number (digit runs compared as
numbers: 2 before 10) — among those that leave a fitting pitch for every admitted stall
after it.

``standplatzvergabe-1`` (records made before; they replay with it): ``reserved`` =
ceil(newcomer_share * number of pitches); newcomers first, then everyone, in rank order,
each given at once the free fitting pitch it prefers as above (a greedy choice that can
leave a later stall without a pitch although both could have stood).

**Refusal reasons**: ``no_fitting_pitch`` (no pitch of the market fits at all);
``newcomer_share`` (a pitch that fits went to a lower-ranked newcomer from the newcomers'
share); ``category_full`` (every pitch that may hold the category went to better-ranked
applications); ``rank`` (pitches of the category are free, but the ones that fit went to
better-ranked applications); each with its rank, the number ranked and the total.

``replay`` runs the recorded algorithm on a selection's recorded inputs again and compares
the outcome, and the criteria version and weights the record states, with the record.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final, Literal
from uuid import UUID

from domain.errors import InvalidCommand
from domain.rules.holiday_draw import check_seed

__all__ = [
    "ALGORITHM",
    "ALGORITHM_1",
    "CRITERION_KINDS",
    "MARKET_CATEGORIES",
    "CriteriaSet",
    "Criterion",
    "Pitch",
    "Ranked",
    "Refusal",
    "SelectionReplay",
    "SelectionResult",
    "StallApplication",
    "lot_number",
    "points_of",
    "replay",
    "select",
    "selection_record",
]

ALGORITHM_1: Final = "standplatzvergabe-1"  # greedy: each stall its preferred free pitch
ALGORITHM: Final = "standplatzvergabe-2"  # admitted while all admitted can stand; share capped
ALGORITHMS: Final = frozenset({ALGORITHM_1, ALGORITHM})  # every version a replay can run
TOTAL: Final = Decimal("0.0001")
CENTIMETRE: Final = Decimal("0.01")

# What a stall sells or is; a pitch names the categories it may hold.
MARKET_CATEGORIES: Final = (
    "food",
    "drinks",
    "crafts",
    "christmas_goods",
    "ride",
    "games",
    "other",
)
CRITERION_KINDS: Final = ("scored", "attendance", "category_need", "newcomer")
_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
_PITCH_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./-]{0,19}")
MAX_POINTS: Final = 100
MAX_WEIGHT: Final = Decimal(1000)
MAX_FRONTAGE: Final = Decimal(100)  # metres: a ride's front is long, a street is not longer


def _decimal(field: str, value: Any, *, low: Decimal, high: Decimal, places: int) -> Decimal:
    """A decimal within bounds with at most ``places`` decimal places (refused naming field)."""
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
        exact = number.quantize(Decimal(1).scaleb(-places)) == number
    except (InvalidOperation, ValueError):
        raise InvalidCommand(field, "a decimal number") from None
    if not number.is_finite() or not exact or not low <= number <= high:
        raise InvalidCommand(field, f"{low} to {high}, at most {places} decimal places")
    return number


def natural_key(number: str) -> tuple[tuple[int, int, str], ...]:
    """A pitch number as people sort it: digit runs as numbers (2 before 10)."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", number)
        if part
    )


# ------------------------------------------------------------------ criteria


@dataclass(frozen=True, slots=True)
class Criterion:
    """One published criterion of the selection with its weight and points."""

    key: str
    label: str
    weight: Decimal
    kind: str
    max_points: int

    def as_dict(self) -> dict[str, Any]:
        """The criterion as an event and a selection record store it (JSON-friendly)."""
        return {
            "key": self.key,
            "label": self.label,
            "weight": str(self.weight),
            "kind": self.kind,
            "max_points": self.max_points,
        }

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Criterion:
        """The criterion as recorded."""
        return cls(
            key=str(record["key"]),
            label=str(record["label"]),
            weight=Decimal(str(record["weight"])),
            kind=str(record["kind"]),
            max_points=int(record["max_points"]),
        )


@dataclass(frozen=True, slots=True)
class CriteriaSet:
    """A version of a market's published criteria (a change is a new version)."""

    version: str
    criteria: tuple[Criterion, ...]

    def checked(self) -> CriteriaSet:
        """The set, refused naming the field when a criterion cannot be applied."""
        version = self.version.strip() if isinstance(self.version, str) else ""
        if not 1 <= len(version) <= 40:
            raise InvalidCommand("criteria.version", "1 to 40 characters")
        if not self.criteria:
            raise InvalidCommand("criteria.criteria", "at least one criterion")
        seen: set[str] = set()
        checked = []
        for index, criterion in enumerate(self.criteria):
            where = f"criteria.criteria[{index}]"
            if not isinstance(criterion.key, str) or not _KEY.fullmatch(criterion.key):
                raise InvalidCommand(f"{where}.key", "a-z, 0-9 and '_', starting with a letter")
            if criterion.key in seen:
                raise InvalidCommand(f"{where}.key", f"the key {criterion.key} is used twice")
            seen.add(criterion.key)
            label = criterion.label.strip() if isinstance(criterion.label, str) else ""
            if not 1 <= len(label) <= 200:
                raise InvalidCommand(f"{where}.label", "1 to 200 characters")
            weight = _decimal(
                f"{where}.weight", criterion.weight, low=Decimal(0), high=MAX_WEIGHT, places=4
            )
            if weight <= 0:
                raise InvalidCommand(f"{where}.weight", "above 0")
            if criterion.kind not in CRITERION_KINDS:
                raise InvalidCommand(f"{where}.kind", f"one of {', '.join(CRITERION_KINDS)}")
            if not isinstance(criterion.max_points, int) or not (
                1 <= criterion.max_points <= MAX_POINTS
            ):
                raise InvalidCommand(f"{where}.max_points", f"1 to {MAX_POINTS}")
            checked.append(
                Criterion(criterion.key, label, weight, criterion.kind, criterion.max_points)
            )
        return CriteriaSet(version, tuple(checked))

    @property
    def weights(self) -> dict[str, str]:
        """Each criterion's weight by key (as a record stores it)."""
        return {criterion.key: str(criterion.weight) for criterion in self.criteria}

    @property
    def scored(self) -> tuple[str, ...]:
        """The keys of the criteria staff score on the score sheet."""
        return tuple(c.key for c in self.criteria if c.kind == "scored")

    def as_dict(self) -> dict[str, Any]:
        """The set as an event and a selection record store it."""
        return {"version": self.version, "criteria": [c.as_dict() for c in self.criteria]}

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> CriteriaSet:
        """The set as recorded."""
        return cls(
            version=str(record["version"]),
            criteria=tuple(Criterion.of(c) for c in record["criteria"]),
        )


# ------------------------------------------------------------------ pitches and applications


@dataclass(frozen=True, slots=True)
class StallApplication:
    """A trader's application as the market records it (no names: the case holds them)."""

    case_id: UUID
    category: str
    frontage_m: Decimal
    electricity: bool
    water: bool
    years: int  # of attendance, self-declared

    def as_dict(self) -> dict[str, Any]:
        """The application as an event and a selection record store it."""
        return {
            "case_id": str(self.case_id),
            "category": self.category,
            "frontage_m": str(self.frontage_m),
            "electricity": self.electricity,
            "water": self.water,
            "years": self.years,
        }

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> StallApplication:
        """The application as recorded."""
        return cls(
            case_id=UUID(str(record["case_id"])),
            category=str(record["category"]),
            frontage_m=Decimal(str(record["frontage_m"])),
            electricity=bool(record["electricity"]),
            water=bool(record["water"]),
            years=int(record["years"]),
        )


@dataclass(frozen=True, slots=True)
class Pitch:
    """A pitch (Standplatz) of a market: its frontage, utilities and the categories it holds."""

    number: str
    frontage_m: Decimal
    electricity: bool
    water: bool
    categories: tuple[str, ...]

    def checked(self, where: str) -> Pitch:
        """The pitch, refused naming the field (``where``: its place in the list)."""
        number = self.number.strip() if isinstance(self.number, str) else ""
        if not _PITCH_NUMBER.fullmatch(number):
            raise InvalidCommand(f"{where}.number", "1 to 20 letters, digits, ' ', '.', '/', '-'")
        frontage = _decimal(
            f"{where}.frontage_m", self.frontage_m, low=Decimal(0), high=MAX_FRONTAGE, places=2
        )
        if frontage <= 0:
            raise InvalidCommand(f"{where}.frontage_m", "above 0 metres")
        frontage = frontage.quantize(CENTIMETRE)  # "1E+1" is 10.00 m, written so everywhere
        categories = tuple(dict.fromkeys(self.categories))
        if not categories:
            raise InvalidCommand(f"{where}.categories", "at least one category")
        for category in categories:
            if category not in MARKET_CATEGORIES:
                raise InvalidCommand(
                    f"{where}.categories", f"one of {', '.join(MARKET_CATEGORIES)}"
                )
        return Pitch(number, frontage, bool(self.electricity), bool(self.water), categories)

    def fits(self, application: StallApplication) -> bool:
        """Whether the stall may stand here: category, utilities asked for, frontage."""
        return (
            application.category in self.categories
            and application.frontage_m <= self.frontage_m
            and (self.electricity or not application.electricity)
            and (self.water or not application.water)
        )

    def as_dict(self) -> dict[str, Any]:
        """The pitch as an event and a selection record store it."""
        return {
            "number": self.number,
            "frontage_m": str(self.frontage_m),
            "electricity": self.electricity,
            "water": self.water,
            "categories": list(self.categories),
        }

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Pitch:
        """The pitch as recorded."""
        return cls(
            number=str(record["number"]),
            frontage_m=Decimal(str(record["frontage_m"])),
            electricity=bool(record["electricity"]),
            water=bool(record["water"]),
            categories=tuple(str(c) for c in record["categories"]),
        )


def best_pitch(application: StallApplication, free: Sequence[Pitch]) -> Pitch | None:
    """The free pitch given to an application: it fits; the smallest frontage, then the
    fewest utilities the stall does not use, then the fewest categories, then the lowest
    number — so a pitch another stall could use and this one does not need stays free."""
    fitting = [pitch for pitch in free if pitch.fits(application)]
    if not fitting:
        return None
    return min(fitting, key=lambda pitch: _waste(application, pitch))


def _waste(
    application: StallApplication, pitch: Pitch
) -> tuple[Decimal, int, int, tuple[tuple[int, int, str], ...]]:
    """How a stall prefers the pitches that fit it: the smallest frontage, then the fewest
    utilities it does not use, then the fewest categories, then the lowest number."""
    unused = int(pitch.electricity and not application.electricity) + int(
        pitch.water and not application.water
    )
    return pitch.frontage_m, unused, len(pitch.categories), natural_key(pitch.number)


# ------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an application got no pitch: a keyword and the reasons in German (§ 39 HVwVfG)."""

    reason: Literal["rank", "no_fitting_pitch", "category_full", "newcomer_share"]
    text: str

    def as_dict(self) -> dict[str, str]:
        """The refusal as a record stores it."""
        return {"reason": self.reason, "text": self.text}


@dataclass(frozen=True, slots=True)
class Ranked:
    """An application in rank order with its points, total, lot number and outcome."""

    application: StallApplication
    points: Mapping[str, int]
    total: Decimal
    lot: str
    rank: int
    pitch: str | None  # None: refused
    refusals: tuple[Refusal, ...] = ()
    newcomer_share: bool = False  # given its pitch from the newcomers' share

    @property
    def admitted(self) -> bool:
        """Whether the application was given a pitch."""
        return self.pitch is not None

    def as_dict(self) -> dict[str, Any]:
        """The outcome of one application as a record stores it."""
        return {
            "case_id": str(self.application.case_id),
            "rank": self.rank,
            "lot": self.lot,
            "points": dict(self.points),
            "total": str(self.total),
            "outcome": "admitted" if self.admitted else "refused",
            "pitch": self.pitch,
            "newcomer_share": self.newcomer_share,
            "reasons": [refusal.as_dict() for refusal in self.refusals],
        }


@dataclass(frozen=True, slots=True)
class SelectionResult:
    """The applications in rank order and how many pitches were reserved for newcomers."""

    ranked: tuple[Ranked, ...]
    reserved: int

    @property
    def assigned(self) -> dict[str, UUID]:
        """Each pitch given, with the case it went to."""
        return {r.pitch: r.application.case_id for r in self.ranked if r.pitch is not None}


@dataclass(frozen=True, slots=True)
class SelectionReplay:
    """What replaying a recorded selection found."""

    verdict: Literal["same", "differs", "not_replayable"]
    differences: tuple[str, ...] = field(default=())


# ------------------------------------------------------------------ the selection


def lot_number(seed: str, case_id: UUID) -> str:
    """An application's lot number: SHA-256 of ``seed + ":" + case id`` (hex)."""
    return hashlib.sha256(f"{seed}:{case_id}".encode()).hexdigest()


def points_of(
    criteria: CriteriaSet,
    application: StallApplication,
    sheet: Mapping[str, int] | None,
    wanted: Sequence[str],
) -> dict[str, int]:
    """An application's points per criterion (a scored one from its score sheet).

    A scored criterion missing from the sheet, or points outside 0 to ``max_points``, are
    refused naming the case and the criterion (``sheets[<case id>].<key>``).
    """
    points: dict[str, int] = {}
    for criterion in criteria.criteria:
        if criterion.kind == "scored":
            where = f"sheets[{application.case_id}].{criterion.key}"
            given = None if sheet is None else sheet.get(criterion.key)
            if given is None:
                raise InvalidCommand(where, f"no points for criterion {criterion.key!r}")
            if isinstance(given, bool) or not isinstance(given, int):
                raise InvalidCommand(where, "whole points")
            if not 0 <= given <= criterion.max_points:
                raise InvalidCommand(where, f"0 to {criterion.max_points} points")
            points[criterion.key] = given
        elif criterion.kind == "attendance":
            points[criterion.key] = min(max(application.years, 0), criterion.max_points)
        elif criterion.kind == "category_need":
            points[criterion.key] = criterion.max_points if application.category in wanted else 0
        else:  # newcomer
            points[criterion.key] = criterion.max_points if application.years == 0 else 0
    return points


def total_of(criteria: CriteriaSet, points: Mapping[str, int]) -> Decimal:
    """Σ weight * points / max_points, rounded half up to 0.0001."""
    total = sum((c.weight * points[c.key] / c.max_points for c in criteria.criteria), Decimal(0))
    return total.quantize(TOTAL, ROUND_HALF_UP)


def reserved_pitches(newcomer_share: Decimal, pitches: int, algorithm: str = ALGORITHM) -> int:
    """The pitches filled first from newcomers. Version 2: share * pitches rounded to the
    nearest whole number, a half up — the count nearest the share published (one pitch at
    0.2 reserves none, three at 0.4 one; a share of 0.5 at most reserves half, a half
    pitch rounded up). Version 1 took ceil(share * pitches), which on a small market
    reserved more than the share (one pitch at 0.2: all of it)."""
    if algorithm == ALGORITHM_1:
        return int((newcomer_share * pitches).to_integral_value(rounding=ROUND_CEILING))
    return int((newcomer_share * pitches).to_integral_value(rounding=ROUND_HALF_UP))


def _utilities(application: StallApplication) -> str:
    asked = [
        name
        for name, wanted in (("Strom", application.electricity), ("Wasser", application.water))
        if wanted
    ]
    return f" und {' und '.join(asked)}" if asked else ""


def _refusal(
    application: StallApplication,
    pitches: Sequence[Pitch],
    free: Sequence[Pitch],
    holders: Mapping[str, tuple[int, bool]],
    rank: int,
    count: int,
    total: Decimal,
) -> Refusal:
    """Why an application got no pitch (``holders``: each pitch given, with the rank of the
    application holding it and whether it came from the newcomers' share)."""
    stall = (
        f"die Kategorie {application.category} mit {application.frontage_m} m Frontlänge"
        f"{_utilities(application)}"
    )
    fitting = [pitch for pitch in pitches if pitch.fits(application)]
    if not fitting:
        return Refusal("no_fitting_pitch", f"Kein Standplatz des Marktes passt für {stall}.")
    standing = f"Rang {rank} von {count} mit {total} Punkten nach den veröffentlichten Kriterien"
    if any(holders[p.number][1] and holders[p.number][0] > rank for p in fitting):
        return Refusal(
            "newcomer_share",
            f"{standing}: der veröffentlichte Anteil der Standplätze für Neubewerber wurde "
            f"zuerst an Neubewerber vergeben; die übrigen Standplätze, die für {stall} passen, "
            "haben Bewerbungen mit höherem Rang erhalten.",
        )
    if not any(application.category in pitch.categories for pitch in free):
        return Refusal(
            "category_full",
            f"{standing}: alle Standplätze der Kategorie {application.category} sind an "
            "besser bewertete Bewerbungen vergeben.",
        )
    return Refusal(
        "rank",
        f"{standing}: alle Standplätze, die für {stall} passen, sind an besser bewertete "
        "Bewerbungen vergeben.",
    )


def select(
    criteria: CriteriaSet,
    pitches: Sequence[Pitch],
    applications: Sequence[StallApplication],
    sheets: Mapping[UUID, Mapping[str, int]],
    newcomer_share: Decimal,
    seed: str,
    *,
    wanted: Sequence[str],
    algorithm: str = ALGORITHM,
) -> SelectionResult:
    """Rank the applications and give the pitches (see the module's description)."""
    if algorithm not in ALGORITHMS:
        raise InvalidCommand("algorithm", f"unknown selection algorithm {algorithm!r}")
    check_seed(seed)
    scored = []
    for application in applications:
        points = points_of(criteria, application, sheets.get(application.case_id), wanted)
        scored.append(
            (application, points, total_of(criteria, points), lot_number(seed, application.case_id))
        )
    scored.sort(key=lambda s: (-s[2], s[3], str(s[0].case_id)))
    reserved = reserved_pitches(newcomer_share, len(pitches), algorithm)
    ranked_applications = [application for application, *_rest in scored]
    if algorithm == ALGORITHM_1:
        given, free = _greedy(ranked_applications, pitches, reserved)
    else:
        given, free = _by_matching(ranked_applications, pitches, reserved)
    count = len(scored)
    ranks = {application.case_id: rank for rank, (application, *_) in enumerate(scored, 1)}
    holders = {
        pitch.number: (ranks[case_id], from_share) for case_id, (pitch, from_share) in given.items()
    }
    ranked = []
    for rank, (application, points, total, lot) in enumerate(scored, start=1):
        if application.case_id in given:
            pitch, from_share = given[application.case_id]
            ranked.append(
                Ranked(application, points, total, lot, rank, pitch.number, (), from_share)
            )
        else:
            refusal = _refusal(application, pitches, free, holders, rank, count, total)
            ranked.append(Ranked(application, points, total, lot, rank, None, (refusal,)))
    return SelectionResult(tuple(ranked), reserved)


Given = dict[UUID, tuple[Pitch, bool]]  # case -> its pitch, and whether from the share


def _greedy(
    ranked: Sequence[StallApplication], pitches: Sequence[Pitch], reserved: int
) -> tuple[Given, list[Pitch]]:
    """Version 1: newcomers first up to ``reserved``, then everyone in rank order; each
    stall takes its preferred free pitch (``best_pitch``) at once."""
    free = list(pitches)
    given: Given = {}
    newcomers = 0
    for application in ranked:
        if newcomers >= reserved:
            break
        if application.years != 0:
            continue
        pitch = best_pitch(application, free)
        if pitch is not None:
            free.remove(pitch)
            given[application.case_id] = (pitch, True)
            newcomers += 1
    for application in ranked:
        if application.case_id in given:
            continue
        pitch = best_pitch(application, free)
        if pitch is not None:
            free.remove(pitch)
            given[application.case_id] = (pitch, False)
    return given, free


class _Matching:
    """Stalls matched to pitches that fit them (each pitch one stall), grown and changed
    by alternating paths (Kuhn): a stall is added when every stall matched so far and it
    can stand at once, whatever pitches they end up with."""

    def __init__(self, ranked: Sequence[StallApplication], pitches: Sequence[Pitch]) -> None:
        self.fitting = {a.case_id: [p.number for p in pitches if p.fits(a)] for a in ranked}
        self.pitch_of: dict[UUID, str] = {}
        self.holder: dict[str, UUID] = {}

    def add(self, case_id: UUID, locked: frozenset[str] = frozenset()) -> bool:
        """Match a stall not matched, moving others along an alternating path (never onto
        or off a ``locked`` pitch); False, and nothing changed, when no path exists."""
        seen: set[str] = set()

        def reach(stall: UUID) -> bool:
            for number in self.fitting[stall]:
                if number in seen or number in locked:
                    continue
                seen.add(number)
                holder = self.holder.get(number)
                if holder is None or reach(holder):
                    self.holder[number] = stall
                    self.pitch_of[stall] = number
                    return True
            return False

        return reach(case_id)

    def move(self, case_id: UUID, number: str, locked: frozenset[str]) -> bool:
        """Give a matched stall this pitch if every other matched stall can still stand
        (the one there moves along a path avoiding ``locked``); False, and nothing
        changed, when not."""
        before = (dict(self.pitch_of), dict(self.holder))
        old, there = self.pitch_of[case_id], self.holder.get(number)
        del self.holder[old]
        self.pitch_of[case_id], self.holder[number] = number, case_id
        if there is None:
            return True
        del self.pitch_of[there]
        if self.add(there, locked | {number}):
            return True
        self.pitch_of, self.holder = before
        return False


def _by_matching(
    ranked: Sequence[StallApplication], pitches: Sequence[Pitch], reserved: int
) -> tuple[Given, list[Pitch]]:
    """Version 2: who is admitted, then which pitch each gets.

    Admission: newcomers in rank order until ``reserved`` of them are admitted, then every
    other application in rank order; an application is admitted when it and all admitted
    before can stand at once on pitches that fit them (no pitch is fixed yet, so a stall
    never takes a pitch another admitted stall alone could use). Pitches: in rank order each
    admitted stall gets its preferred pitch (as ``best_pitch`` orders them) among those that
    leave a fitting pitch for every admitted stall after it.
    """
    matching = _Matching(ranked, pitches)
    from_share: set[UUID] = set()
    for application in ranked:
        if len(from_share) >= reserved:
            break
        if application.years == 0 and matching.add(application.case_id):
            from_share.add(application.case_id)
    for application in ranked:
        if application.case_id not in matching.pitch_of:
            matching.add(application.case_id)
    by_number = {pitch.number: pitch for pitch in pitches}
    fixed: set[str] = set()
    for application in ranked:
        if application.case_id not in matching.pitch_of:
            continue
        choices = [by_number[n] for n in matching.fitting[application.case_id]]
        for pitch in sorted(choices, key=lambda p: _waste(application, p)):
            if pitch.number in fixed:
                continue
            here = matching.pitch_of[application.case_id] == pitch.number
            if here or matching.move(application.case_id, pitch.number, frozenset(fixed)):
                fixed.add(pitch.number)
                break
    given: Given = {
        case_id: (by_number[number], case_id in from_share)
        for case_id, number in matching.pitch_of.items()
    }
    free = [pitch for pitch in pitches if pitch.number not in matching.holder]
    return given, free


def selection_record(
    *,
    seed: str,
    criteria: CriteriaSet,
    pitches: Sequence[Pitch],
    applications: Sequence[StallApplication],
    sheets: Mapping[UUID, Mapping[str, int]],
    newcomer_share: Decimal,
    wanted: Sequence[str],
    result: SelectionResult,
    algorithm: str = ALGORITHM,
) -> dict[str, Any]:
    """The selection as its decisions record it: algorithm, seed, inputs and outcome (JSON)."""
    inputs = sorted(applications, key=lambda a: str(a.case_id))
    return {
        "algorithm": algorithm,
        "seed": seed,
        "criteria": criteria.as_dict(),
        "criteria_version": criteria.version,
        "weights": criteria.weights,
        "newcomer_share": str(newcomer_share),
        "reserved_for_newcomers": result.reserved,
        "wanted": list(wanted),
        "pitches": [
            pitch.as_dict() for pitch in sorted(pitches, key=lambda p: natural_key(p.number))
        ],
        "applications": [application.as_dict() for application in inputs],
        "sheets": {
            str(a.case_id): {str(k): int(v) for k, v in sorted(sheets[a.case_id].items())}
            for a in inputs
            if a.case_id in sheets
        },
        "results": [ranked.as_dict() for ranked in result.ranked],
    }


# ------------------------------------------------------------------ replay


def replay(record: Mapping[str, Any]) -> SelectionReplay:
    """Run the recorded algorithm on the recorded inputs again and compare the outcome."""
    algorithm = record.get("algorithm")
    if algorithm not in ALGORITHMS:
        return SelectionReplay("not_replayable", (f"unknown algorithm {algorithm!r}",))
    try:
        seed = str(record["seed"])
        criteria = CriteriaSet.of(record["criteria"])
        pitches = tuple(Pitch.of(pitch) for pitch in record["pitches"])
        applications = tuple(StallApplication.of(a) for a in record["applications"])
        sheets = {
            UUID(str(case_id)): {str(k): int(v) for k, v in sheet.items()}
            for case_id, sheet in record["sheets"].items()
        }
        share = Decimal(str(record["newcomer_share"]))
        wanted = tuple(str(category) for category in record["wanted"])
        result = select(
            criteria,
            pitches,
            applications,
            sheets,
            share,
            seed,
            wanted=wanted,
            algorithm=str(algorithm),
        )
        again = selection_record(
            seed=seed,
            criteria=criteria,
            pitches=pitches,
            applications=applications,
            sheets=sheets,
            newcomer_share=share,
            wanted=wanted,
            result=result,
            algorithm=str(algorithm),
        )
    except (
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        InvalidOperation,
        InvalidCommand,
    ) as broken:
        return SelectionReplay("not_replayable", (f"the record cannot be read: {broken}",))
    differences = _differences(record, again)
    return SelectionReplay("differs" if differences else "same", differences)


def _differences(record: Mapping[str, Any], again: Mapping[str, Any]) -> tuple[str, ...]:
    """What differs between a recorded outcome and the replayed one, case by case."""
    found = [
        f"{part}: recorded {record.get(part)!r}, replayed {again[part]!r}"
        for part in ("criteria_version", "weights", "reserved_for_newcomers")
        if _listed(record.get(part)) != _listed(again[part])
    ]
    recorded = record.get("results")
    if not isinstance(recorded, list | tuple):
        return (*found, "results: not recorded")
    replayed = again["results"]
    if len(recorded) != len(replayed):
        found.append(f"results: {len(recorded)} recorded, {len(replayed)} replayed")
    for index, (old, new) in enumerate(zip(recorded, replayed, strict=False)):
        if _listed(old) != _listed(new):
            found.append(f"results[{index}]: recorded {old!r}, replayed {new!r}")
    return tuple(found)


def _listed(value: Any) -> Any:
    """A recorded value compared as JSON reads it back (tuples and lists alike)."""
    if isinstance(value, list | tuple):
        return [_listed(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _listed(v) for k, v in value.items()}
    return value
