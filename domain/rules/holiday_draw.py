"""The draw of a holiday offering's places (Ferienspiele): a fair lottery anyone can replay.

When an offering's registration window has closed, its places are drawn once. The system
draws the seed (a cryptographically secure random number, as hex); everything else follows
from the seed and the recorded inputs, so an auditor can recompute the result in any language.

**Lots.** Each registration of a family is one lot holding its children (siblings drawn
together, ``siblings_together``); without that rule each child is a lot of its own. A lot
records its registration (the case id), the indices of its children in the registration,
whether the family lives in the town (``resident``), the hash of the friends code its
guardians agreed on (``friends_group``, or none) and ``places_held``: the most places any of
its children already holds in the programme's earlier draws (0 when ``places_per_child`` is
not a rule).

**Draw number** of a lot (algorithm ``ferienspiele-los-2``, as ``-1``)::

    SHA-256( UTF-8 bytes of the seed
             ‖ the 16 bytes of the case id (RFC 9562 byte order, as uuid.bytes)
             ‖ the lot's first child index as 4 bytes, unsigned big-endian )

written as 64 lower-case hex digits. No random generator of a library is involved.

**Order.** Lots are ordered by tier, then by draw number (ascending; equal numbers, which
SHA-256 makes practically impossible, by case id and first child). The tier is, in this
order: residents before others if ``residents_first``; then fewer places held before more if
``places_per_child`` is set. With ``friends_together``, a friends group draws one number of
its own within each tier (``group_number``: SHA-256 of the seed's UTF-8 bytes, the four bytes
``FRND`` and the group's hash as UTF-8), and its lots of that tier stand together at that
number's place among the other lots' numbers, in their own draw order among themselves. So a
family gains nothing by joining a group: the group holds one ticket, not one per member.
(Version ``ferienspiele-los-1`` placed a group's lots right behind its best number, which
gave every member the best of the members' tickets; it stays here for replays only.)

**Allocation.** The lots are walked in that order with the offering's places: a lot whose
children reached ``places_per_child`` (``places_held >= places_per_child``) waits; a lot
whose children all fit in the places left is allocated; any other lot waits (a smaller lot
after it may still fit). Those waiting form the waiting list in the same order; on a
cancellation the next waiting lot that fits moves up (``HolidayOffering.cancel``), never a
lot at the limit.

``replay`` runs the recorded algorithm version on a draw's recorded inputs again and
compares the outcome with the one recorded.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from uuid import UUID

from domain.errors import InvalidCommand

__all__ = [
    "ALGORITHM",
    "AllocationRules",
    "DrawReplay",
    "DrawResult",
    "DrawnLot",
    "Lot",
    "Registration",
    "draw",
    "draw_number",
    "draw_record",
    "group_number",
    "lots_of",
    "replay",
    "waiting_lots",
]

FIRST_FRIEND: Final = "ferienspiele-los-1"  # friends behind the group's best number (unfair)
ALGORITHM: Final = "ferienspiele-los-2"  # a friends group draws one number of its own
ALGORITHMS: Final = frozenset({FIRST_FRIEND, ALGORITHM})  # every version a replay can run
SEED_PATTERN: Final = re.compile(r"[0-9a-f]{32,128}")  # 128 to 512 bits as lower-case hex

Entry = tuple[UUID, int]  # a child of a registration: (case id, index of the child)


@dataclass(frozen=True, slots=True)
class AllocationRules:
    """The published priorities of an offering's draw."""

    residents_first: bool = True  # families living in the town before others
    places_per_child: int | None = None  # most places one child gets in the programme
    siblings_together: bool = True  # a family's children are one lot
    friends_together: bool = True  # friends (one code) are placed one after the other

    def __post_init__(self) -> None:
        if self.places_per_child is not None and not 1 <= self.places_per_child <= 50:
            raise InvalidCommand("rules.places_per_child", "1 to 50, or none (no limit)")

    def as_dict(self) -> dict[str, Any]:
        """The rules as an event and a draw record store them."""
        return {
            "residents_first": self.residents_first,
            "places_per_child": self.places_per_child,
            "siblings_together": self.siblings_together,
            "friends_together": self.friends_together,
        }

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> AllocationRules:
        """The rules as stored (missing keys take the defaults)."""
        limit = record.get("places_per_child")
        return cls(
            residents_first=bool(record.get("residents_first", True)),
            places_per_child=None if limit is None else int(limit),
            siblings_together=bool(record.get("siblings_together", True)),
            friends_together=bool(record.get("friends_together", True)),
        )


@dataclass(frozen=True, slots=True)
class Registration:
    """One family's registration as the draw reads it: its children still registered."""

    case_id: UUID
    children: tuple[int, ...]  # indices of the children in the registration
    keys: tuple[str, ...]  # each child's keyed id (hex), to count places held
    resident: bool
    friends_group: str | None = None


@dataclass(frozen=True, slots=True)
class Lot:
    """One lot of the draw: a family (or one child) with its priorities."""

    case_id: UUID
    children: tuple[int, ...]
    resident: bool
    friends_group: str | None
    places_held: int

    @property
    def first_child(self) -> int:
        """The index of the lot's first child (part of its draw number)."""
        return self.children[0]

    def entries(self) -> tuple[Entry, ...]:
        """The lot's children as (case id, child index)."""
        return tuple((self.case_id, child) for child in self.children)

    def as_dict(self) -> dict[str, Any]:
        """The lot as a draw record stores it (JSON-friendly)."""
        return {
            "case_id": str(self.case_id),
            "children": list(self.children),
            "resident": self.resident,
            "friends_group": self.friends_group,
            "places_held": self.places_held,
        }

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Lot:
        """The lot as recorded."""
        return cls(
            case_id=UUID(str(record["case_id"])),
            children=tuple(int(child) for child in record["children"]),
            resident=bool(record["resident"]),
            friends_group=None if record["friends_group"] is None else str(record["friends_group"]),
            places_held=int(record["places_held"]),
        )


@dataclass(frozen=True, slots=True)
class DrawnLot:
    """A lot in draw order with its number and outcome."""

    lot: Lot
    number: str
    allocated: bool
    limited: bool  # its children reached places_per_child: it waits and never moves up


@dataclass(frozen=True, slots=True)
class DrawResult:
    """The order of the lots, and the children allocated and waiting (in draw order)."""

    order: tuple[DrawnLot, ...]
    allocated: tuple[Entry, ...]
    waiting: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class DrawReplay:
    """What replaying a recorded draw found."""

    verdict: Literal["consistent", "inconsistent", "not_replayable"]
    differences: tuple[str, ...] = field(default=())


# ------------------------------------------------------------------ lots


def check_seed(seed: str) -> None:
    """A seed of 128 to 512 bits, as lower-case hex."""
    if not isinstance(seed, str) or not SEED_PATTERN.fullmatch(seed):
        raise InvalidCommand("seed", "32 to 128 lower-case hex digits (128 to 512 random bits)")


def lots_of(
    registrations: Iterable[Registration],
    rules: AllocationRules,
    places_held: Mapping[str, int],
) -> tuple[Lot, ...]:
    """The lots of the registrations (sorted by case id and first child: input order never
    matters), with the places their children hold in the programme's earlier draws."""
    lots: list[Lot] = []
    for registration in registrations:
        if not registration.children:
            continue
        held = dict(zip(registration.children, registration.keys, strict=True))
        groups = (
            [registration.children]
            if rules.siblings_together
            else [(child,) for child in registration.children]
        )
        for children in groups:
            most = max(int(places_held.get(held[child], 0)) for child in children)
            lots.append(
                Lot(
                    case_id=registration.case_id,
                    children=tuple(children),
                    resident=registration.resident,
                    friends_group=registration.friends_group,
                    places_held=most if rules.places_per_child is not None else 0,
                )
            )
    return tuple(sorted(lots, key=lambda lot: (str(lot.case_id), lot.first_child)))


def draw_number(seed: str, case_id: UUID, first_child: int) -> str:
    """A lot's draw number: SHA-256 of the seed, the case id and the first child (hex)."""
    digest = hashlib.sha256()
    digest.update(seed.encode("utf-8"))
    digest.update(case_id.bytes)
    digest.update(first_child.to_bytes(4, "big", signed=False))
    return digest.hexdigest()


def _tier(lot: Lot, rules: AllocationRules) -> tuple[int, int]:
    resident_tier = 0 if lot.resident or not rules.residents_first else 1
    held_tier = lot.places_held if rules.places_per_child is not None else 0
    return resident_tier, held_tier


def group_number(seed: str, friends_group: str) -> str:
    """A friends group's draw number (``ferienspiele-los-2``): SHA-256 of the seed, the
    four bytes ``FRND`` and the group's hash as UTF-8 (hex)."""
    return hashlib.sha256(
        seed.encode("utf-8") + b"FRND" + friends_group.encode("utf-8")
    ).hexdigest()


def _ordered(
    seed: str, lots: Sequence[Lot], rules: AllocationRules, algorithm: str = ALGORITHM
) -> list[tuple[Lot, str]]:
    numbered = [(lot, draw_number(seed, lot.case_id, lot.first_child)) for lot in lots]
    numbered.sort(
        key=lambda ln: (_tier(ln[0], rules), ln[1], str(ln[0].case_id), ln[0].first_child)
    )
    if not rules.friends_together:
        return numbered
    if algorithm == FIRST_FRIEND:
        return _behind_first_friend(numbered, rules)

    # One ticket per friends group and tier: the group's number places its lots (in their own
    # order) among the others, so joining a group neither raises nor multiplies a family's
    # chances (the group's best number would: one ticket per member).
    def position(lot_number: tuple[Lot, str]) -> tuple[Any, ...]:
        lot, number = lot_number
        tier = _tier(lot, rules)
        if lot.friends_group is None:
            return (tier, number, "", number, str(lot.case_id), lot.first_child)
        ticket = group_number(seed, lot.friends_group)
        return (tier, ticket, lot.friends_group, number, str(lot.case_id), lot.first_child)

    return sorted(numbered, key=position)


def _behind_first_friend(
    numbered: list[tuple[Lot, str]], rules: AllocationRules
) -> list[tuple[Lot, str]]:
    """``ferienspiele-los-1`` (replay only): a group's lots right behind its first lot."""
    ordered: list[tuple[Lot, str]] = []
    placed: set[int] = set()
    for index, (lot, number) in enumerate(numbered):
        if index in placed:
            continue
        ordered.append((lot, number))
        placed.add(index)
        if lot.friends_group is None:
            continue
        tier = _tier(lot, rules)
        for later in range(index + 1, len(numbered)):
            friend = numbered[later][0]
            same = friend.friends_group == lot.friends_group and _tier(friend, rules) == tier
            if same and later not in placed:
                ordered.append(numbered[later])
                placed.add(later)
    return ordered


def draw(
    seed: str,
    lots: Sequence[Lot],
    places: int,
    rules: AllocationRules,
    algorithm: str = ALGORITHM,
) -> DrawResult:
    """Draw the places among the lots (see the module's description) by an algorithm version
    (the current one; earlier ones for a replay)."""
    if algorithm not in ALGORITHMS:
        raise InvalidCommand("algorithm", f"unknown draw algorithm {algorithm!r}")
    check_seed(seed)
    if places < 0:
        raise InvalidCommand("places", "not negative")
    free = places
    order: list[DrawnLot] = []
    allocated: list[Entry] = []
    waiting: list[Entry] = []
    for lot, number in _ordered(seed, lots, rules, algorithm):
        limit = rules.places_per_child
        limited = limit is not None and lot.places_held >= limit
        fits = not limited and len(lot.children) <= free
        if fits:
            free -= len(lot.children)
            allocated.extend(lot.entries())
        else:
            waiting.extend(lot.entries())
        order.append(DrawnLot(lot, number, fits, limited))
    return DrawResult(tuple(order), tuple(allocated), tuple(waiting))


def draw_record(
    seed: str,
    places: int,
    rules: AllocationRules,
    lots: Sequence[Lot],
    result: DrawResult,
    algorithm: str = ALGORITHM,
) -> dict[str, Any]:
    """The draw as its decision records it: algorithm, seed, inputs and outcome (JSON)."""
    return {
        "algorithm": algorithm,
        "seed": seed,
        "places": places,
        "rules": rules.as_dict(),
        "lots": [lot.as_dict() for lot in lots],
        "order": [
            [str(drawn.lot.case_id), drawn.lot.first_child, drawn.number] for drawn in result.order
        ],
        "allocated": [[str(case_id), child] for case_id, child in result.allocated],
        "waiting": [[str(case_id), child] for case_id, child in result.waiting],
    }


def waiting_lots(record: Mapping[str, Any]) -> list[tuple[Lot, bool]]:
    """The lots of a recorded draw that wait, in waiting order, each with whether it is at
    the limit of places per child (it never moves up)."""
    rules = AllocationRules.of(record["rules"])
    lots = {(str(lot["case_id"]), int(lot["children"][0])): Lot.of(lot) for lot in record["lots"]}
    waiting = {(str(case_id), int(child)) for case_id, child in record["waiting"]}
    found: list[tuple[Lot, bool]] = []
    for case_id, first_child, _number in record["order"]:
        lot = lots[(str(case_id), int(first_child))]
        if (str(case_id), lot.first_child) in waiting:
            limit = rules.places_per_child
            found.append((lot, limit is not None and lot.places_held >= limit))
    return found


# ------------------------------------------------------------------ replay


def replay(record: Mapping[str, Any]) -> DrawReplay:
    """Run the recorded algorithm on the recorded inputs again and compare the outcome."""
    algorithm = record.get("algorithm")
    if algorithm not in ALGORITHMS:
        return DrawReplay("not_replayable", (f"unknown algorithm {algorithm!r}",))
    try:
        seed = str(record["seed"])
        places = int(record["places"])
        rules = AllocationRules.of(record["rules"])
        lots = tuple(Lot.of(lot) for lot in record["lots"])
        result = draw(seed, lots, places, rules, str(algorithm))
        again = draw_record(seed, places, rules, lots, result, str(algorithm))
    except (KeyError, TypeError, ValueError, InvalidCommand) as broken:
        return DrawReplay("not_replayable", (f"the record cannot be read: {broken}",))
    differences = tuple(
        f"{part}: recorded {_listed(record.get(part))}, replayed {_listed(again[part])}"
        for part in ("order", "allocated", "waiting")
        if _listed(record.get(part)) != _listed(again[part])
    )
    return DrawReplay("inconsistent" if differences else "consistent", differences)


def _listed(value: Any) -> Any:
    """A recorded list compared as JSON reads it back (tuples and lists alike)."""
    if isinstance(value, list | tuple):
        return [_listed(item) for item in value]
    return value
