"""Signing checkpoints with the deployment's Ed25519 key, and verifying them with public keys.

The key is a 32-byte seed in the settings (``VORGANG_INTEGRITY_SIGNING_KEY``, base64), handled
like the KEK: a public development key by default, refused in production. Retired keys stay
verifiable through their public keys (``VORGANG_INTEGRITY_PREVIOUS_PUBLIC_KEYS``). A key is
known by its id: the hex of the first 8 bytes of SHA-256 over the raw public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from infrastructure.settings import Settings
from persistence.chain import Checkpoint, checkpoint_message

ALGORITHM = "Ed25519"


class SigningKeyError(ValueError):
    """A signing seed or public key that is not base64 of 32 bytes."""


def key_id_of(public_key: bytes) -> str:
    """A public key's id: hex of the first 8 bytes of its SHA-256."""
    return hashlib.sha256(public_key).digest()[:8].hex()


def _raw32(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SigningKeyError(f"{what} is not base64") from None
    if len(raw) != 32:
        raise SigningKeyError(f"{what} must be base64 of 32 bytes, not {len(raw)}")
    return raw


def public_pem(public_key: bytes) -> str:
    """A raw Ed25519 public key as PEM (SubjectPublicKeyInfo)."""
    key = Ed25519PublicKey.from_public_bytes(public_key)
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


class CheckpointSigner:
    """Signs a chain's head with the deployment's private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self.public_key = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id = key_id_of(self.public_key)

    @classmethod
    def from_seed_text(cls, text: str) -> CheckpointSigner:
        """From base64 of the 32-byte seed."""
        return cls(Ed25519PrivateKey.from_private_bytes(_raw32(text, "the signing key")))

    @property
    def public_key_b64(self) -> str:
        """The raw public key, base64."""
        return base64.b64encode(self.public_key).decode()

    def sign(self, chain: str, position: int, link: bytes, signed_at: str) -> Checkpoint:
        """The chain's head at ``position`` with ``link``, signed now (``signed_at``)."""
        message = checkpoint_message(chain, position, link, signed_at, self.key_id)
        return Checkpoint(
            chain, position, link, signed_at, self.key_id, self._private.sign(message)
        )

    def sign_message(self, message: bytes) -> bytes:
        """Ed25519 over a canonical message (a verification run's record, decision 35)."""
        return self._private.sign(message)


def verify_message(
    key_id: str, message: bytes, signature: bytes, public_keys: Mapping[str, bytes]
) -> bool:
    """Whether the key ``key_id`` (one we know) signed exactly ``message``."""
    public = public_keys.get(key_id)
    if public is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_signature(checkpoint: Checkpoint, public_keys: Mapping[str, bytes]) -> bool:
    """Whether a key we know signed exactly this checkpoint."""
    public = public_keys.get(checkpoint.key_id)
    if public is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(
            checkpoint.signature, checkpoint.signed_message()
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def signer_from(settings: Settings) -> CheckpointSigner:
    """The signer of the settings' key (the public development key when unset there)."""
    return CheckpointSigner.from_seed_text(settings.integrity_signing_key_text())


def public_keys_from(settings: Settings) -> dict[str, bytes]:
    """Every public key a checkpoint may have been signed with: current and retired, by id."""
    current = signer_from(settings).public_key
    keys = {key_id_of(current): current}
    for text in settings.integrity_previous_public_key_texts():
        public = _raw32(text, "a previous public key")
        keys[key_id_of(public)] = public
    return keys


def new_signing_key() -> tuple[str, str]:
    """A new random seed and its public key, both base64."""
    seed = secrets.token_bytes(32)
    signer = CheckpointSigner(Ed25519PrivateKey.from_private_bytes(seed))
    return base64.b64encode(seed).decode(), signer.public_key_b64
