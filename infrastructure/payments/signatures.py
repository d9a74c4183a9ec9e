"""Signed callbacks as Standard Webhooks (https://www.standardwebhooks.com) defines them.

The sender puts three headers on each callback: ``webhook-id`` (the event's id, the same on
every retry), ``webhook-timestamp`` (unix seconds of this attempt) and ``webhook-signature``:
``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``, several of them separated by
spaces while a key is being rotated. The key is shared as ``whsec_<base64 of the key>``.

The receiver accepts a callback when one of the signatures matches one of its keys (compared
in constant time) and the timestamp lies within five minutes of its clock either way: an old
callback replayed by someone who recorded it is refused even with a valid signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final

from application.payment_ports import BadSignature, StaleCallback

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 (the prefix, not a secret)
VERSION: Final = "v1"
REPLAY_WINDOW_SECONDS: Final = 5 * 60
ID_HEADER: Final = "webhook-id"
TIMESTAMP_HEADER: Final = "webhook-timestamp"
SIGNATURE_HEADER: Final = "webhook-signature"


def new_secret() -> str:
    """A fresh shared secret, ``whsec_`` and 32 random bytes in base64."""
    return encode_secret(secrets.token_bytes(32))


def encode_secret(key: bytes) -> str:
    """The key as it is shared: ``whsec_<base64>``."""
    return SECRET_PREFIX + base64.b64encode(key).decode("ascii")


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret; ``ValueError`` for anything else."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with 'whsec_'")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from None
    if len(key) < 16:
        raise ValueError("a webhook secret's key has at least 16 bytes")
    return key


def sign(secret: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one key: ``v1,<base64 signature>``."""
    return f"{VERSION},{_signature(secret, message_id, timestamp, body)}"


def signed_headers(
    keys: Iterable[bytes], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three headers of a callback, signed with every key (more than one while rotating)."""
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: " ".join(sign(key, message_id, timestamp, body) for key in keys),
    }


TIMESTAMP_DIGITS = 20  # unix seconds for the next billions of years; longer is garbage


def verify(
    secrets: Iterable[bytes], headers: Mapping[str, str], body: bytes, now: datetime
) -> None:
    """Accept the callback or raise: ``BadSignature`` (missing headers, no signature matches
    a key) or ``StaleCallback`` (signed more than five minutes before or after ``now``)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get(ID_HEADER, "").strip()
    stamp = lowered.get(TIMESTAMP_HEADER, "").strip()
    signatures = lowered.get(SIGNATURE_HEADER, "").split()
    if not message_id or not stamp or not signatures:
        raise BadSignature("the callback lacks its webhook-id, -timestamp or -signature header")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > TIMESTAMP_DIGITS:
        raise BadSignature("the callback's webhook-timestamp is not unix seconds")
    timestamp = int(stamp)
    if abs(now.timestamp() - timestamp) > REPLAY_WINDOW_SECONDS:
        raise StaleCallback(
            "the callback was signed more than five minutes away from now (a replay?)"
        )
    offered = [
        value.encode("ascii")
        for version, _, value in (signature.partition(",") for signature in signatures)
        if version == VERSION and value.isascii()
    ]
    for key in secrets:
        expected = _signature(key, message_id, timestamp, body).encode("ascii")
        # Every offered signature is compared (no early exit) in constant time each.
        if any([hmac.compare_digest(expected, candidate) for candidate in offered]):  # noqa: C419
            return
    raise BadSignature("no signature of the callback matches the provider's secret")


def _signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    content = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode("ascii")
