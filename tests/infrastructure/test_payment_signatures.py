"""Callbacks are signed and verified as Standard Webhooks: HMAC over id, timestamp and body,
several signatures while a key rotates, a replay window of five minutes either way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.payment_ports import BadSignature, StaleCallback
from infrastructure.payments.signatures import (
    decode_secret,
    encode_secret,
    new_secret,
    sign,
    signed_headers,
    verify,
)

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
STAMP = int(NOW.timestamp())
KEY = decode_secret(new_secret())
OTHER_KEY = decode_secret(new_secret())
BODY = b'{"id":"evt_1","type":"payment.paid","amount":"12.50"}'


def headers(*keys: bytes, message_id: str = "evt_1", stamp: int = STAMP) -> dict[str, str]:
    return signed_headers(keys or (KEY,), message_id, stamp, BODY)


def test_the_signature_is_the_one_standard_webhooks_publishes_for_its_test_vector() -> None:
    key = decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    signature = sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_callback_signed_with_the_shared_key_verifies() -> None:
    verify([KEY], headers(), BODY, NOW)


def test_header_names_are_matched_whatever_their_case() -> None:
    verify([KEY], {name.title(): value for name, value in headers().items()}, BODY, NOW)


@pytest.mark.parametrize(
    "tampered",
    [
        pytest.param({"body": BODY.replace(b"12.50", b"99.50")}, id="body"),
        pytest.param({"headers": headers(message_id="evt_2") | {"webhook-id": "evt_1"}}, id="id"),
        pytest.param({"headers": headers(OTHER_KEY)}, id="other key"),
        pytest.param({"headers": headers() | {"webhook-timestamp": str(STAMP + 1)}}, id="stamp"),
        pytest.param({"headers": headers() | {"webhook-signature": "v1,"}}, id="empty"),
        pytest.param(
            {
                "headers": headers()
                | {"webhook-signature": "v2," + headers()["webhook-signature"][3:]}
            },
            id="unknown version",
        ),
    ],
)
def test_a_changed_body_id_timestamp_or_key_is_refused(tampered: dict[str, object]) -> None:
    body = tampered.get("body", BODY)
    sent = tampered.get("headers", headers())
    assert isinstance(body, bytes)
    assert isinstance(sent, dict)
    with pytest.raises(BadSignature, match="no signature"):
        verify([KEY], sent, body, NOW)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_callback_without_one_of_the_three_headers_is_refused(missing: str) -> None:
    sent = {name: value for name, value in headers().items() if name != missing}
    with pytest.raises(BadSignature, match="lacks"):
        verify([KEY], sent, BODY, NOW)


def test_a_timestamp_that_is_not_unix_seconds_is_refused() -> None:
    sent = headers() | {"webhook-timestamp": "2026-12-06T10:00:00Z"}
    with pytest.raises(BadSignature, match="unix seconds"):
        verify([KEY], sent, BODY, NOW)


@pytest.mark.parametrize("digits", [21, 400, 4400])
def test_an_absurdly_long_timestamp_is_refused_as_not_unix_seconds(digits: int) -> None:
    """Never an overflow or a conversion error (any caller, not only the HTTP route)."""
    sent = headers() | {"webhook-timestamp": "9" * digits}
    with pytest.raises(BadSignature, match="unix seconds"):
        verify([KEY], sent, BODY, NOW)


@pytest.mark.parametrize("offset", [300, -300, 0])
def test_a_callback_signed_within_five_minutes_either_way_verifies(offset: int) -> None:
    verify([KEY], headers(stamp=STAMP + offset), BODY, NOW)


@pytest.mark.parametrize("offset", [301, -301, -3600])
def test_a_callback_signed_outside_the_replay_window_is_stale(offset: int) -> None:
    with pytest.raises(StaleCallback):
        verify([KEY], headers(stamp=STAMP + offset), BODY, NOW)


def test_while_a_key_rotates_either_of_several_signatures_may_match() -> None:
    both = headers(OTHER_KEY, KEY)
    assert len(both["webhook-signature"].split()) == 2
    verify([KEY], both, BODY, NOW)
    verify([OTHER_KEY], both, BODY, NOW)
    verify([decode_secret(new_secret()), KEY], headers(), BODY, NOW)  # the receiver rotates


@pytest.mark.parametrize(
    "secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_c2hvcnQ="]
)
def test_a_secret_is_whsec_and_base64_of_a_long_enough_key(secret: str) -> None:
    with pytest.raises(ValueError, match="webhook secret"):
        decode_secret(secret)


@given(key=st.binary(min_size=16, max_size=64), body=st.binary(), seconds=st.integers(-300, 300))
def test_any_body_signed_with_a_key_verifies_with_it_and_not_with_another(
    key: bytes, body: bytes, seconds: int
) -> None:
    assert decode_secret(encode_secret(key)) == key
    sent = signed_headers([key], "evt_x", STAMP, body)
    verify([key], sent, body, NOW + timedelta(seconds=seconds))
    with pytest.raises(BadSignature, match="no signature"):
        verify([bytes(b ^ 1 for b in key)], sent, body, NOW)
