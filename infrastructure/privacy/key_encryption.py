"""The key-encryption key (KEK) ring: wraps and unwraps the per-case data keys.

The current KEK wraps every new data key; previous KEKs only unwrap, until
``vorgang privacy rotate-kek`` has rewrapped every key under the current one. A KEK is
identified by the first 16 hex digits of its SHA-256, stored beside each wrapped key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
KEY_BYTES = 32


class KeyEncryptionError(ValueError):
    """A KEK that is malformed, unknown, or does not unwrap a key."""


def kek_id(kek: bytes) -> str:
    """The public id of a KEK."""
    return hashlib.sha256(kek).hexdigest()[:16]


def parse_kek(text: str) -> bytes:
    """A KEK from its base64 text (32 bytes = 44 characters)."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyEncryptionError("a key-encryption key must be base64") from None
    if len(raw) != KEY_BYTES:
        raise KeyEncryptionError(
            f"a key-encryption key must be {KEY_BYTES} bytes (base64 of 32 random bytes), "
            f"got {len(raw)}"
        )
    return raw


def new_kek_text() -> str:
    """A fresh random KEK as base64, for ``vorgang privacy new-kek``."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode()


@dataclass(frozen=True)
class WrappedKey:
    """A data key wrapped by a KEK: which KEK, and nonce + ciphertext."""

    kek_id: str
    blob: bytes


class KeyRing:
    """The current KEK and any previous ones still needed to unwrap older keys."""

    def __init__(self, current: bytes, previous: Iterable[bytes] = ()) -> None:
        self._current_id = kek_id(current)
        self._keks = {kek_id(k): AESGCM(k) for k in (*previous, current)}

    @property
    def current_id(self) -> str:
        """The id of the KEK that wraps new keys."""
        return self._current_id

    def wrap(self, data_key: bytes, *, key_id: str) -> WrappedKey:
        """Wrap a data key under the current KEK, bound to its key id."""
        nonce = os.urandom(NONCE_BYTES)
        blob = nonce + self._keks[self._current_id].encrypt(nonce, data_key, key_id.encode())
        return WrappedKey(self._current_id, blob)

    def unwrap(self, wrapped: WrappedKey, *, key_id: str) -> bytes:
        """The data key, or ``KeyEncryptionError`` when its KEK is not in the ring."""
        aead = self._keks.get(wrapped.kek_id)
        if aead is None:
            raise KeyEncryptionError(
                f"data key {key_id} is wrapped by KEK {wrapped.kek_id}, which is not configured "
                "(set it in VORGANG_PREVIOUS_KEY_ENCRYPTION_KEYS until rotate-kek has run)"
            )
        nonce, ciphertext = wrapped.blob[:NONCE_BYTES], wrapped.blob[NONCE_BYTES:]
        try:
            return aead.decrypt(nonce, ciphertext, key_id.encode())
        except InvalidTag:
            raise KeyEncryptionError(f"data key {key_id} does not unwrap: wrong KEK") from None
