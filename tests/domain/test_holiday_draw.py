"""The draw of a holiday offering's places: deterministic, recomputable, by the published rules.

The draw numbers are checked against SHA-256 computed here byte by byte, as an auditor would;
the priorities (residents first, fewer places held first, friends together, families
together) are checked on lots whose draw numbers are known.
"""

from __future__ import annotations

import hashlib
import json
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidCommand
from domain.rules.holiday_draw import (
    ALGORITHM,
    FIRST_FRIEND,
    AllocationRules,
    Lot,
    Registration,
    draw,
    draw_number,
    draw_record,
    group_number,
    lots_of,
    replay,
    waiting_lots,
)

SEED = "00112233445566778899aabbccddeeff" * 2
NO_PRIORITIES = AllocationRules(residents_first=False, friends_together=False)


def case(n: int) -> UUID:
    return UUID(int=n)


def lot(n: int, children: int = 1, *, resident: bool = True, group: str | None = None) -> Lot:
    return Lot(case(n), tuple(range(children)), resident, group, 0)


def numbered(lots: list[Lot]) -> list[Lot]:
    """The lots in ascending order of their draw numbers under SEED."""
    return sorted(lots, key=lambda x: draw_number(SEED, x.case_id, x.first_child))


def test_a_draw_number_is_sha256_of_seed_case_id_and_first_child() -> None:
    case_id = UUID("12345678-1234-4234-8234-1234567890ab")
    expected = hashlib.sha256(
        SEED.encode("utf-8") + bytes.fromhex("123456781234423482341234567890ab") + b"\0\0\0\2"
    ).hexdigest()
    assert draw_number(SEED, case_id, 2) == expected
    assert draw_number(SEED, case_id, 3) != expected
    assert draw_number(SEED[:-1] + "0", case_id, 2) != expected


def test_without_priorities_the_lots_are_placed_in_order_of_their_draw_numbers() -> None:
    lots = [lot(n) for n in range(1, 9)]
    result = draw(SEED, lots, 5, NO_PRIORITIES)
    ranked = numbered(lots)
    assert [drawn.lot for drawn in result.order] == ranked
    assert result.allocated == tuple((x.case_id, 0) for x in ranked[:5])
    assert result.waiting == tuple((x.case_id, 0) for x in ranked[5:])


def test_the_same_seed_and_lots_give_the_same_result_whatever_their_order() -> None:
    lots = [lot(n, children=1 + n % 3) for n in range(1, 12)]
    first = draw(SEED, lots, 7, AllocationRules())
    again = draw(SEED, list(reversed(lots)), 7, AllocationRules())
    assert first == again
    other = draw("f" * 64, lots, 7, AllocationRules())
    assert other.order != first.order


def test_residents_are_placed_before_others_when_the_rule_says_so() -> None:
    lots = [lot(n, resident=n % 2 == 0) for n in range(1, 11)]
    result = draw(SEED, lots, 5, AllocationRules(friends_together=False))
    assert {case_id.int % 2 for case_id, _ in result.allocated} == {0}
    without = draw(SEED, lots, 5, NO_PRIORITIES)
    assert {x.lot for x in without.order} == set(lots)
    assert [x.lot for x in without.order] == numbered(lots)


def test_a_family_lot_is_allocated_only_whole_and_a_smaller_lot_behind_it_may_fit() -> None:
    family, single = lot(1, children=3), lot(2)
    first = numbered([family, single])
    result = draw(SEED, [family, single], 2, NO_PRIORITIES)
    if first[0] == family:
        assert result.allocated == ((case(2), 0),)
        assert result.waiting == ((case(1), 0), (case(1), 1), (case(1), 2))
    else:
        assert result.allocated == ((case(2), 0),)
        assert set(result.waiting) == {(case(1), 0), (case(1), 1), (case(1), 2)}


def test_without_siblings_together_each_child_is_a_lot_of_its_own() -> None:
    registration = Registration(case(1), (0, 1, 2), ("a", "b", "c"), True, None)
    together = lots_of([registration], AllocationRules(), {})
    apart = lots_of([registration], AllocationRules(siblings_together=False), {})
    assert [x.children for x in together] == [(0, 1, 2)]
    assert [x.children for x in apart] == [(0,), (1,), (2,)]


def test_friends_of_one_tier_stand_together_at_their_groups_own_number() -> None:
    lots = [lot(n, group="g1" if n in (2, 5, 7) else None) for n in range(1, 9)]
    result = draw(SEED, lots, 8, AllocationRules(residents_first=False))
    order = [x.lot.case_id.int for x in result.order]
    first = min(order.index(n) for n in (2, 5, 7))
    assert sorted(order[first : first + 3]) == [2, 5, 7]
    ticket = group_number(SEED, "g1")
    assert ticket == hashlib.sha256(SEED.encode() + b"FRND" + b"g1").hexdigest()
    before = order[:first]
    alone = {x.case_id.int: draw_number(SEED, x.case_id, 0) for x in lots}
    assert all(alone[n] < ticket for n in before)
    assert all(alone[n] > ticket for n in order[first + 3 :])
    members = order[first : first + 3]
    assert members == sorted(members, key=lambda n: alone[n])


def test_a_family_gains_no_chance_by_joining_a_friends_group() -> None:
    group, alone, places, seeds = 4, 8, 4, 600
    lots = [lot(n, group="g" if n <= group else None) for n in range(1, group + alone + 1)]
    rules = AllocationRules(residents_first=False)
    won = {"group": 0, "alone": 0, "group-1": 0}
    for number in range(seeds):
        seed = hashlib.sha256(f"seed {number}".encode()).hexdigest()
        placed = {case_id.int for case_id, _child in draw(seed, lots, places, rules).allocated}
        won["group"] += sum(1 for n in placed if n <= group)
        won["alone"] += sum(1 for n in placed if n > group)
        old = draw(seed, lots, places, rules, FIRST_FRIEND).allocated
        won["group-1"] += sum(1 for case_id, _ in old if case_id.int <= group)
    chance_in_group = won["group"] / (group * seeds)
    chance_alone = won["alone"] / (alone * seeds)
    assert chance_in_group <= chance_alone + 0.02  # one ticket for the group, not four
    assert won["group-1"] / (group * seeds) > chance_in_group + 0.2  # what version 1 did


def test_a_draw_recorded_under_version_1_still_replays_by_version_1() -> None:
    lots = [lot(n, group="g" if n % 3 == 0 else None) for n in range(1, 13)]
    rules = AllocationRules(residents_first=False)
    old = draw(SEED, lots, 5, rules, FIRST_FRIEND)
    record = draw_record(SEED, 5, rules, lots, old, FIRST_FRIEND)
    assert record["algorithm"] == "ferienspiele-los-1"
    assert replay(record).verdict == "consistent"
    assert draw(SEED, lots, 5, rules) != old
    assert replay(dict(record, algorithm=ALGORITHM)).verdict == "inconsistent"


def test_friends_in_different_tiers_stay_in_their_tiers() -> None:
    lots = [lot(1, group="g", resident=True), lot(2, group="g", resident=False), lot(3)]
    result = draw(SEED, lots, 3, AllocationRules())
    assert result.order[-1].lot.case_id == case(2)


def test_fewer_places_held_come_first_and_a_child_at_the_limit_waits() -> None:
    rules = AllocationRules(residents_first=False, places_per_child=2, friends_together=False)
    registrations = [Registration(case(n), (0,), (f"k{n}",), True, None) for n in range(1, 7)]
    held = {"k1": 2, "k2": 1, "k3": 1}
    lots = lots_of(registrations, rules, held)
    result = draw(SEED, lots, 10, rules)
    tiers = [x.lot.places_held for x in result.order]
    assert tiers == sorted(tiers)
    assert result.waiting == ((case(1), 0),)
    assert [x.limited for x in result.order][-1] is True
    assert all(x.places_held == 0 for x in lots_of(registrations, AllocationRules(), held))


def test_a_family_lot_holds_the_most_places_any_of_its_children_holds() -> None:
    registration = Registration(case(1), (0, 2), ("a", "c"), True, None)
    (family,) = lots_of([registration], AllocationRules(places_per_child=3), {"c": 2, "a": 1})
    assert family.places_held == 2
    assert family.children == (0, 2)


def test_a_weak_or_missing_seed_is_refused() -> None:
    for seed in ("", "1234", "G" * 64, SEED.upper()):
        with pytest.raises(InvalidCommand) as refused:
            draw(seed, [lot(1)], 1, AllocationRules())
        assert refused.value.field == "seed"


def test_a_recorded_draw_replays_consistent_even_read_back_from_json() -> None:
    rules = AllocationRules(places_per_child=1)
    registrations = [
        Registration(
            case(n),
            tuple(range(1 + n % 2)),
            tuple(f"k{n}-{i}" for i in range(2))[: 1 + n % 2],
            n % 3 != 0,
            "g" if n in (4, 8) else None,
        )
        for n in range(1, 15)
    ]
    lots = lots_of(registrations, rules, {"k3-0": 1})
    result = draw(SEED, lots, 9, rules)
    record = json.loads(json.dumps(draw_record(SEED, 9, rules, lots, result)))
    assert record["algorithm"] == ALGORITHM
    assert replay(record).verdict == "consistent"
    waiting = [entry for found, _limited in waiting_lots(record) for entry in found.entries()]
    assert waiting == list(result.waiting)


def test_a_tampered_record_replays_inconsistent_naming_what_differs() -> None:
    lots = [lot(n) for n in range(1, 6)]
    result = draw(SEED, lots, 2, AllocationRules())
    record = draw_record(SEED, 2, AllocationRules(), lots, result)
    swapped = dict(
        record, allocated=record["waiting"][:2], waiting=record["allocated"] + record["waiting"][2:]
    )
    verdict = replay(swapped)
    assert verdict.verdict == "inconsistent"
    assert {d.split(":")[0] for d in verdict.differences} == {"allocated", "waiting"}
    assert replay(dict(record, seed="ab" * 32)).verdict == "inconsistent"


def test_an_unknown_algorithm_or_a_broken_record_is_not_replayable() -> None:
    record = draw_record(
        SEED, 1, AllocationRules(), [lot(1)], draw(SEED, [lot(1)], 1, AllocationRules())
    )
    assert replay(dict(record, algorithm="ferienspiele-los-0")).verdict == "not_replayable"
    broken = {k: v for k, v in record.items() if k != "lots"}
    assert replay(broken).verdict == "not_replayable"


@given(
    st.lists(
        st.tuples(
            st.integers(1, 4), st.booleans(), st.sampled_from([None, "a", "b"]), st.integers(0, 3)
        ),
        max_size=25,
    ),
    st.integers(0, 30),
    st.builds(
        AllocationRules,
        st.booleans(),
        st.sampled_from([None, 1, 2]),
        st.booleans(),
        st.booleans(),
    ),
)
def test_any_draw_allocates_at_most_the_places_each_child_once_and_replays(
    shapes: list[tuple[int, bool, str | None, int]], places: int, rules: AllocationRules
) -> None:
    registrations = [
        Registration(case(n), tuple(range(k)), tuple(f"{n}-{i}" for i in range(k)), res, group)
        for n, (k, res, group, _held) in enumerate(shapes, start=1)
    ]
    held = {f"{n}-0": h for n, (_k, _r, _g, h) in enumerate(shapes, start=1)}
    lots = lots_of(registrations, rules, held)
    result = draw(SEED, lots, places, rules)
    assert len(result.allocated) <= places
    everyone = [entry for x in lots for entry in x.entries()]
    assert sorted(result.allocated + result.waiting) == sorted(everyone)
    assert len(set(result.allocated)) == len(result.allocated)
    for drawn in result.order:  # lots are whole: allocated or waiting together
        assert all((e in result.allocated) == drawn.allocated for e in drawn.lot.entries())
    assert replay(draw_record(SEED, places, rules, lots, result)).verdict == "consistent"
