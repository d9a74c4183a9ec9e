"""Opaque cursors for keyset pagination, checked for their exact shape when they come back.

A cursor is the key of a page's last row, JSON in URL-safe base64. A client may send
anything back, so a token is bounded in size before it is decoded (no deep nesting, no
huge numbers reach the parser), and the decoded key must have exactly the route's shape:
the number of parts, and each part's type — a whole number within the databases' BIGINT
range (``true`` and ``1e30`` are not), or text without NUL characters. Anything else is
``InvalidCursor``, a 422 naming the parameter, and never reaches a query.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

MAX_CURSOR_CHARS = 512  # our keys are a few ids and a timestamp: ~150 characters encoded
MAX_TEXT_CHARS = 200
BIGINT_MAX = 2**63 - 1
NOT_OURS = "the cursor is not one this API handed out"


class InvalidCursor(ValueError):
    """A cursor this API did not hand out."""


def encode_cursor(values: list[Any]) -> str:
    """The key of the last row of a page, as an opaque token."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(token: str, *shape: type[int] | type[str]) -> list[Any]:
    """The key back from a token, each part of the type ``shape`` names; else ``InvalidCursor``."""
    if not token or len(token) > MAX_CURSOR_CHARS:
        raise InvalidCursor(NOT_OURS)
    try:
        padded = token + "=" * (-len(token) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidCursor(NOT_OURS) from None
    if not isinstance(values, list) or len(values) != len(shape):
        raise InvalidCursor(NOT_OURS)
    if not all(fits(value, kind) for value, kind in zip(values, shape, strict=True)):
        raise InvalidCursor(NOT_OURS)
    return values


def fits(value: Any, kind: type[int] | type[str]) -> bool:
    """Whether one decoded part is of the kind a route's keys hold."""
    if kind is int:
        # bool is an int subclass and a float may be 1e30: neither is a key we handed out
        return type(value) is int and 0 <= value <= BIGINT_MAX
    return type(value) is str and len(value) <= MAX_TEXT_CHARS and "\x00" not in value
