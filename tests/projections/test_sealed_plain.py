"""A view value as plain JSON values equals the round trip through its JSON text."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import IntEnum
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.actor import ActorRecord, Role
from domain.decision import DecisionOutcome
from domain.processing_clock import ProcessingClock
from projections.sealed import Sealed, SealingTranscoder

TRANSCODER = SealingTranscoder()


class Level(IntEnum):
    LOW = 1
    HIGH = 2


sealed = st.builds(
    Sealed,
    st.sampled_from(["personal_data", "personal_data_clear"]),
    st.fixed_dictionaries(
        {"case": st.uuids().map(lambda u: u.hex), "subject": st.text(max_size=8)},
        optional={"ct": st.text(max_size=12), "art9": st.booleans()},
    ),
)
actors = st.builds(
    ActorRecord,
    id=st.text(max_size=8),
    display_name=st.one_of(st.text(max_size=8), sealed),
    role=st.sampled_from(list(Role)),
    tenant=st.text(max_size=8),
    on_behalf_of=st.none() | st.text(max_size=8),
)
clocks = st.builds(
    ProcessingClock,
    period_working_days=st.integers(0, 60),
    started_on=st.none() | st.dates(),
    stopped_since=st.none() | st.dates(),
    restarts_on_completeness=st.booleans(),
    waited_working_days=st.integers(0, 9),
    extension_working_days=st.integers(0, 9),
)
moments = st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))]))
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(list(Role)),  # a StrEnum: stored as its value
    st.sampled_from(list(Level)),  # an IntEnum
    st.sampled_from(list(DecisionOutcome)),
    st.dates(),
    moments,
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.uuids(),
    sealed,
    actors,
    clocks,
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=6), inner, max_size=4),
        st.dictionaries(st.integers(-3, 3), inner, max_size=3),  # keys the encoder turns to text
    ),
    max_leaves=12,
)


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=300, deadline=None)
@given(values)
def test_plain_values_equal_the_round_trip_through_json_text(value: Any) -> None:
    expected = json.loads(TRANSCODER.to_text(value))
    plain = TRANSCODER.to_plain(value)
    assert same(plain, expected)
    assert json.dumps(plain, ensure_ascii=False) == json.dumps(expected, ensure_ascii=False)


def test_an_enum_stored_by_value_and_a_date_keep_their_stored_shape() -> None:
    value = {"outcome": DecisionOutcome.APPROVED, "on": date(2026, 3, 2), "n": Decimal("1.50")}
    assert TRANSCODER.to_plain(value) == json.loads(TRANSCODER.to_text(value))
    assert TRANSCODER.to_plain(UUID(int=1)) == {"_type_": "uuid_hex", "_data_": UUID(int=1).hex}
    assert TRANSCODER.to_plain(datetime(2026, 1, 1, tzinfo=UTC))["_type_"] == "datetime_iso"
