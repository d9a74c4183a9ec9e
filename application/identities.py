"""Ids of new cases and fingerprints of requests (docs/architecture.md, decision 8).

A new case's id is derived before the aggregate exists, from the case type, the tenant, the
caller's subject and the caller's Idempotency-Key, under an HMAC with a server secret: a
retry finds the same case, and ids cannot be guessed from what a caller knows. The
``Submitted`` event keeps an HMAC fingerprint of the request, so a retry with a different
body is recognised. Because the case type is part of the id (and stored ids never change),
a key reused for another service is found by deriving the ids of the other case types
(``CaseService.submit`` does), not by a different id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any
from uuid import UUID, uuid4


class CaseIdentities:
    """Derives case ids and request fingerprints under one server secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the id secret must be at least 16 bytes")
        self._secret = secret

    def case_id(
        self, *, aggregate_type: str, tenant: str, subject: str, idempotency_key: str | None
    ) -> UUID:
        """The id of a new case; a random one when the caller sent no idempotency key."""
        if not idempotency_key:
            return uuid4()
        message = "\x1f".join((aggregate_type, tenant, subject, idempotency_key)).encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return uuid.UUID(bytes=digest[:16], version=5)

    def keyed_id(self, *, aggregate_type: str, tenant: str, key: str) -> UUID:
        """The id of an aggregate keyed by a personal identifier (a number plate, a resident).

        HMAC-SHA256 under a key of the tenant's own (derived from the server secret): the
        identifier is never stored, the id cannot be computed without the secret, and the
        same plate gives unrelated ids in two towns.
        """
        tenant_key = hmac.new(self._secret, b"tenant\x1f" + tenant.encode(), hashlib.sha256)
        message = "\x1f".join((aggregate_type, key)).encode()
        digest = hmac.new(tenant_key.digest(), message, hashlib.sha256).digest()
        return uuid.UUID(bytes=digest[:16], version=5)

    def fingerprint(self, request: Any) -> str:
        """HMAC-SHA256 of the request in canonical JSON (sorted keys, no spaces)."""
        canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
        return hmac.new(self._secret, canonical.encode(), hashlib.sha256).hexdigest()
