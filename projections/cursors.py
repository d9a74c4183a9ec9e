"""Opaque cursors for keyset pagination."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


class InvalidCursor(ValueError):
    """A cursor this API did not hand out."""


def encode_cursor(values: list[Any]) -> str:
    """The key of the last row of a page, as an opaque token."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(token: str, length: int) -> list[Any]:
    """The key back from a token; ``InvalidCursor`` if it was not one of ours."""
    try:
        padded = token + "=" * (-len(token) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor("the cursor is not one this API handed out") from None
    if not isinstance(values, list) or len(values) != length:
        raise InvalidCursor("the cursor is not one this API handed out")
    return values
