"""The selection of a market's traders: points, totals, lots, the newcomers' share, replay."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidCommand
from domain.rules.market_selection import (
    ALGORITHM,
    ALGORITHM_1,
    CriteriaSet,
    Criterion,
    Pitch,
    StallApplication,
    lot_number,
    natural_key,
    points_of,
    replay,
    reserved_pitches,
    select,
    selection_record,
    total_of,
)

SEED = "00112233445566778899aabbccddeeff"
CRITERIA = CriteriaSet(
    "2026-1",
    (
        Criterion("look", "Attraktivität", Decimal(50), "scored", 10),
        Criterion("known", "Bekannt und bewährt", Decimal(30), "attendance", 5),
        Criterion("newcomer", "Neubewerber", Decimal(20), "newcomer", 1),
    ),
)
WANTED = ("crafts", "food")


def case(n: int) -> UUID:
    return UUID(int=n)


def stall(
    n: int,
    *,
    category: str = "crafts",
    frontage: str = "3",
    electricity: bool = False,
    water: bool = False,
    years: int = 0,
) -> StallApplication:
    return StallApplication(case(n), category, Decimal(frontage), electricity, water, years)


def pitch(
    number: str, frontage: str, *categories: str, power: bool = False, tap: bool = False
) -> Pitch:
    return Pitch(number, Decimal(frontage), power, tap, categories or ("crafts",))


def run(
    applications: Sequence[StallApplication],
    pitches: Sequence[Pitch],
    looks: dict[int, int] | None = None,
    share: str = "0",
    criteria: CriteriaSet = CRITERIA,
) -> dict[str, Any]:
    sheets = {a.case_id: {"look": (looks or {}).get(a.case_id.int, 5)} for a in applications}
    result = select(criteria, pitches, applications, sheets, Decimal(share), SEED, wanted=WANTED)
    return selection_record(
        seed=SEED,
        criteria=criteria,
        pitches=pitches,
        applications=applications,
        sheets=sheets,
        newcomer_share=Decimal(share),
        wanted=WANTED,
        result=result,
    )


def outcome(record: dict[str, Any]) -> dict[int, str | None]:
    return {UUID(r["case_id"]).int: r["pitch"] for r in record["results"]}


# ------------------------------------------------------------------ points and order


def test_the_total_is_the_weighted_share_of_each_criterions_points() -> None:
    points = points_of(CRITERIA, stall(1, years=7), {"look": 7}, WANTED)
    assert points == {"look": 7, "known": 5, "newcomer": 0}  # attendance capped at 5
    # 50 * 7/10 + 30 * 5/5 + 20 * 0/1
    assert total_of(CRITERIA, points) == Decimal("65.0000")
    newcomer = points_of(CRITERIA, stall(2), {"look": 1}, WANTED)
    assert total_of(CRITERIA, newcomer) == Decimal("25.0000")


def test_a_total_is_rounded_half_up_to_four_places() -> None:
    thirds = CriteriaSet("t", (Criterion("look", "L", Decimal(1), "scored", 3),))
    assert total_of(thirds, {"look": 1}) == Decimal("0.3333")
    assert total_of(thirds, {"look": 2}) == Decimal("0.6667")


def test_category_need_gives_points_to_the_categories_wanted() -> None:
    need = CriteriaSet("n", (Criterion("need", "Bedarf", Decimal(1), "category_need", 4),))
    assert points_of(need, stall(1), None, WANTED) == {"need": 4}
    assert points_of(need, stall(1, category="ride"), None, WANTED) == {"need": 0}


def test_the_lot_number_is_sha256_of_seed_colon_case_id() -> None:
    expected = hashlib.sha256(f"{SEED}:{case(7)}".encode()).hexdigest()
    assert lot_number(SEED, case(7)) == expected
    assert str(case(7)) == "00000000-0000-0000-0000-000000000007"


def test_applications_rank_by_total_then_by_lot_number() -> None:
    applications = [stall(n, years=2) for n in range(1, 7)]
    record = run(applications, [pitch("1", "3")], looks={1: 9, 2: 9, 3: 9, 4: 2, 5: 2, 6: 2})
    ranked = record["results"]
    totals = [Decimal(r["total"]) for r in ranked]
    assert totals == sorted(totals, reverse=True)
    for better, worse in itertools.pairwise(ranked):
        if better["total"] == worse["total"]:
            assert better["lot"] < worse["lot"]
    assert [r["rank"] for r in ranked] == [1, 2, 3, 4, 5, 6]


def test_the_order_of_the_inputs_never_matters() -> None:
    applications = [stall(n, years=n % 3) for n in range(1, 8)]
    pitches = [pitch("1", "3"), pitch("2", "4"), pitch("3", "3")]
    assert run(applications, pitches) == run(applications[::-1], pitches[::-1])


@pytest.mark.parametrize(("sheet", "message"), [({}, "no points"), ({"look": 11}, "0 to 10")])
def test_a_missing_or_impossible_score_is_refused_naming_case_and_criterion(
    sheet: dict[str, int], message: str
) -> None:
    with pytest.raises(InvalidCommand) as refused:
        select(
            CRITERIA,
            [pitch("1", "3")],
            [stall(1)],
            {case(1): sheet},
            Decimal(0),
            SEED,
            wanted=WANTED,
        )
    assert refused.value.field == f"sheets[{case(1)}].look"
    assert message in refused.value.message


def test_a_seed_that_is_no_random_hex_is_refused() -> None:
    with pytest.raises(InvalidCommand) as refused:
        select(CRITERIA, [], [], {}, Decimal(0), "seed", wanted=WANTED)
    assert refused.value.field == "seed"


# ------------------------------------------------------------------ pitches


def test_each_admitted_gets_the_smallest_free_pitch_that_fits() -> None:
    pitches = [
        pitch("10", "3"),
        pitch("2", "3"),
        pitch("3", "5"),
        pitch("4", "8", power=True),
        pitch("5", "4", "food", tap=True),
    ]
    applications = [
        stall(1, years=5, frontage="4"),
        stall(2, years=4),
        stall(3, years=3),
        stall(4, years=2, electricity=True),
        stall(5, years=1, category="food", water=True),
    ]
    assert outcome(run(applications, pitches)) == {1: "3", 2: "2", 3: "10", 4: "4", 5: "5"}


def test_pitch_numbers_compare_their_digits_as_numbers() -> None:
    assert sorted(["10", "2", "1a", "B"], key=natural_key) == ["1a", "2", "10", "B"]


def test_newcomers_fill_their_share_first_and_an_unused_share_goes_back() -> None:
    veterans = [stall(n, years=5) for n in range(1, 5)]
    newcomers = [stall(10, years=0), stall(11, years=0, frontage="9")]  # 11 fits no pitch
    pitches = [pitch(str(n), "3") for n in range(1, 4)]
    record = run([*veterans, *newcomers], pitches, looks={10: 0, 11: 10}, share="0.5")
    assert record["reserved_for_newcomers"] == 2  # ceil(0.5 * 3)
    given = outcome(record)
    assert given[10] is not None  # the newcomer ranked last still gets a pitch
    assert given[11] is None
    assert sum(given[n] is not None for n in range(1, 5)) == 2  # the unused reserve went back
    shared = [r for r in record["results"] if r["newcomer_share"]]
    assert [UUID(r["case_id"]).int for r in shared] == [10]


def test_without_a_share_a_low_scored_newcomer_is_refused_by_rank() -> None:
    veterans = [stall(n, years=5) for n in range(1, 4)]
    record = run([*veterans, stall(10)], [pitch(str(n), "3") for n in range(1, 4)], {10: 0})
    assert outcome(record)[10] is None


def test_each_refusal_says_why_with_rank_and_total() -> None:
    pitches = [pitch("1", "3"), pitch("2", "5"), pitch("3", "4", "food"), pitch("4", "2")]
    applications = [
        stall(1, years=5, frontage="3"),
        stall(2, years=4, frontage="5"),
        stall(3, years=3, frontage="5"),  # the 5 m pitch is gone; the 2 m one is too short
        stall(4, years=2, category="food"),
        stall(5, years=1, category="food"),  # every food pitch is gone
        stall(6, years=0, category="food", water=True),  # no food pitch has water
    ]
    record = run(applications, pitches, looks=dict.fromkeys(range(1, 7), 5))
    reasons = {UUID(r["case_id"]).int: r["reasons"][0] for r in record["results"] if r["reasons"]}
    assert {n: r["reason"] for n, r in reasons.items()} == {
        3: "rank",
        5: "category_full",
        6: "no_fitting_pitch",
    }
    third = next(r for r in record["results"] if r["case_id"] == str(case(3)))
    assert f"Rang {third['rank']} von 6 mit {third['total']} Punkten" in reasons[3]["text"]
    assert "Kategorie food" in reasons[5]["text"]
    assert "Wasser" in reasons[6]["text"]


# ------------------------------------------------------------------ the record and replay


def test_the_record_is_json_and_holds_inputs_criteria_and_outcome() -> None:
    record = run([stall(1, years=2), stall(2)], [pitch("1", "3")])
    assert json.loads(json.dumps(record)) == record
    assert record["algorithm"] == ALGORITHM
    assert record["seed"] == SEED
    assert record["criteria_version"] == "2026-1"
    assert record["weights"] == {"look": "50", "known": "30", "newcomer": "20"}
    assert [a["case_id"] for a in record["applications"]] == [str(case(1)), str(case(2))]
    assert record["sheets"] == {str(case(1)): {"look": 5}, str(case(2)): {"look": 5}}
    first = record["results"][0]
    assert set(first) == {
        "case_id",
        "rank",
        "lot",
        "points",
        "total",
        "outcome",
        "pitch",
        "newcomer_share",
        "reasons",
    }


def test_a_recorded_selection_replays_to_the_same_result() -> None:
    record = run([stall(n, years=n % 4) for n in range(1, 9)], [pitch("1", "3"), pitch("2", "4")])
    assert replay(json.loads(json.dumps(record))).verdict == "same"


def test_a_tampered_record_replays_differently_naming_where() -> None:
    record = run([stall(1, years=3), stall(2)], [pitch("1", "3")])
    tampered = json.loads(json.dumps(record))
    tampered["results"][0]["pitch"], tampered["results"][1]["pitch"] = (
        tampered["results"][1]["pitch"],
        tampered["results"][0]["pitch"],
    )
    found = replay(tampered)
    assert found.verdict == "differs"
    assert found.differences[0].startswith("results[0]")
    other_seed = {**record, "seed": "f" * 32}
    assert replay(other_seed).verdict == "differs"


def test_an_unreadable_record_is_not_replayable() -> None:
    assert replay({"algorithm": "los-0"}).verdict == "not_replayable"
    assert replay({"algorithm": ALGORITHM, "seed": SEED}).verdict == "not_replayable"


# ------------------------------------------------------------------ any inputs

STALLS = st.builds(
    lambda n, category, frontage, power, tap, years: stall(
        n, category=category, frontage=frontage, electricity=power, water=tap, years=years
    ),
    st.integers(1, 40),
    st.sampled_from(["crafts", "food"]),
    st.sampled_from(["2", "3", "4.5", "6"]),
    st.booleans(),
    st.booleans(),
    st.integers(0, 6),
)
PITCHES = st.lists(
    st.builds(
        lambda frontage, power, tap, categories: (frontage, power, tap, categories),
        st.sampled_from(["3", "4", "5", "6"]),
        st.booleans(),
        st.booleans(),
        st.sampled_from([("crafts",), ("food",), ("crafts", "food")]),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(
    applications=st.lists(STALLS, max_size=12, unique_by=lambda a: a.case_id),
    layout=PITCHES,
    share=st.sampled_from(["0", "0.1", "0.25", "0.5"]),
    seed=st.text("0123456789abcdef", min_size=32, max_size=64),
    looks=st.dictionaries(st.integers(1, 40), st.integers(0, 10)),
)
def test_any_selection_gives_each_pitch_once_to_a_stall_it_fits_and_replays(
    applications: list[StallApplication],
    layout: list[tuple[str, bool, bool, tuple[str, ...]]],
    share: str,
    seed: str,
    looks: dict[int, int],
) -> None:
    pitches = [pitch(str(n), f, *c, power=p, tap=t) for n, (f, p, t, c) in enumerate(layout, 1)]
    sheets = {a.case_id: {"look": looks.get(a.case_id.int, 3)} for a in applications}
    result = select(CRITERIA, pitches, applications, sheets, Decimal(share), seed, wanted=WANTED)
    given_pitches = [r.pitch for r in result.ranked if r.pitch is not None]
    assert len(given_pitches) == len(set(given_pitches))
    by_number = {p.number: p for p in pitches}
    for ranked in result.ranked:
        if ranked.pitch is not None:
            assert by_number[ranked.pitch].fits(ranked.application)
        else:
            # refused: every pitch it fits went to a better-ranked application
            for p in pitches:
                if p.fits(ranked.application):
                    holder = next(r for r in result.ranked if r.pitch == p.number)
                    assert holder.rank < ranked.rank or holder.newcomer_share
    record = selection_record(
        seed=seed,
        criteria=CRITERIA,
        pitches=pitches,
        applications=applications,
        sheets=sheets,
        newcomer_share=Decimal(share),
        wanted=WANTED,
        result=result,
    )
    assert replay(json.loads(json.dumps(record))).verdict == "same"


# ------------------------------------------------------------------ fair use of the pitches


def test_a_refusal_caused_by_the_newcomers_share_names_it() -> None:
    record = run([stall(1, years=5), stall(2)], [pitch("1", "3")], looks={1: 10, 2: 0}, share="0.5")
    assert outcome(record) == {1: None, 2: "1"}
    reason = record["results"][0]["reasons"][0]
    assert reason["reason"] == "newcomer_share"
    assert "Neubewerber" in reason["text"]
    assert "besser bewertete" not in reason["text"]


def test_a_pitch_with_water_or_another_category_stays_free_for_a_stall_that_needs_it() -> None:
    pitches = [
        pitch("1", "3", "food", power=True, tap=True),
        pitch("2", "3", "food", power=True),
        pitch("3", "3", "crafts", "food"),
        pitch("4", "3", "crafts"),
    ]
    applications = [
        stall(1, category="food", electricity=True, years=5),
        stall(2, category="crafts", years=4),
        stall(3, category="food", electricity=True, water=True, years=3),
        stall(4, category="food", years=2),
    ]
    assert outcome(run(applications, pitches)) == {1: "2", 2: "4", 3: "1", 4: "3"}


@pytest.mark.parametrize(("part", "value"), [("weights", {"look": "1"}), ("criteria_version", "x")])
def test_a_record_stating_other_weights_or_version_than_it_ran_on_differs(
    part: str, value: Any
) -> None:
    record = run([stall(1)], [pitch("1", "3")])
    found = replay({**record, part: value})
    assert found.verdict == "differs"
    assert found.differences[0].startswith(part)


# ------------------------------------------------------------------ versions


WATER_PITCHES = (
    pitch("1", "3.00", "food", power=True, tap=True),
    pitch("2", "3.50", "food", power=True),
)
WATER_STALLS = (
    stall(1, category="food", electricity=True, years=2),
    stall(2, category="food", electricity=True, water=True, years=2),
)
WATER_SHEETS = {case(1): {"look": 9}, case(2): {"look": 5}}


@pytest.mark.parametrize(
    ("algorithm", "pitches"), [(ALGORITHM_1, ["1", None]), (ALGORITHM, ["2", "1"])]
)
def test_a_record_of_version_1_replays_with_version_1_and_version_2_keeps_capacity(
    algorithm: str, pitches: list[str | None]
) -> None:
    result = select(
        CRITERIA,
        WATER_PITCHES,
        WATER_STALLS,
        WATER_SHEETS,
        Decimal(0),
        SEED,
        wanted=WANTED,
        algorithm=algorithm,
    )
    assert [r.pitch for r in result.ranked] == pitches
    record = selection_record(
        seed=SEED,
        criteria=CRITERIA,
        pitches=WATER_PITCHES,
        applications=WATER_STALLS,
        sheets=WATER_SHEETS,
        newcomer_share=Decimal(0),
        wanted=WANTED,
        result=result,
        algorithm=algorithm,
    )
    assert record["algorithm"] == algorithm
    assert replay(json.loads(json.dumps(record))).verdict == "same"
    other = ALGORITHM if algorithm == ALGORITHM_1 else ALGORITHM_1
    assert replay({**record, "algorithm": other}).verdict == "differs"


@pytest.mark.parametrize(
    ("share", "pitches", "version_1", "version_2"),
    [("0.2", 1, 1, 0), ("0.4", 3, 2, 1), ("0.5", 1, 1, 1), ("0.25", 4, 1, 1), ("0.1", 6, 1, 1)],
)
def test_the_newcomers_share_reserves_the_nearest_count_since_version_2(
    share: str, pitches: int, version_1: int, version_2: int
) -> None:
    assert reserved_pitches(Decimal(share), pitches, ALGORITHM_1) == version_1
    assert reserved_pitches(Decimal(share), pitches, ALGORITHM) == version_2


@settings(max_examples=150, deadline=None)
@given(
    applications=st.lists(STALLS, max_size=12, unique_by=lambda a: a.case_id),
    layout=PITCHES,
    looks=st.dictionaries(st.integers(1, 40), st.integers(0, 10)),
)
def test_version_2_admits_as_many_as_any_choice_of_pitches_can(
    applications: list[StallApplication],
    layout: list[tuple[str, bool, bool, tuple[str, ...]]],
    looks: dict[int, int],
) -> None:
    pitches = [pitch(str(n), f, *c, power=p, tap=t) for n, (f, p, t, c) in enumerate(layout, 1)]
    sheets = {a.case_id: {"look": looks.get(a.case_id.int, 3)} for a in applications}

    def admitted(algorithm: str) -> int:
        result = select(
            CRITERIA,
            pitches,
            applications,
            sheets,
            Decimal(0),
            SEED,
            wanted=WANTED,
            algorithm=algorithm,
        )
        return sum(1 for r in result.ranked if r.pitch is not None)

    # the most stalls that can stand at once (every assignment of pitches, tried)
    best = 0
    fitting = [[p.number for p in pitches if p.fits(a)] for a in applications]

    def place(index: int, taken: frozenset[str], count: int) -> None:
        nonlocal best
        best = max(best, count)
        if index == len(applications) or count + len(applications) - index <= best:
            return
        for number in fitting[index]:
            if number not in taken:
                place(index + 1, taken | {number}, count + 1)
        place(index + 1, taken, count)

    place(0, frozenset(), 0)
    assert admitted(ALGORITHM) == best >= admitted(ALGORITHM_1)
