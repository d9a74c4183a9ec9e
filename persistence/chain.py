"""The hash chain over stored records: one definition of a link, for the log and the access log.

A link is SHA-256 over the previous link and the canonical encoding of one record exactly as
it is stored (docs/architecture.md, decision 35). The encoding is a version tag and the
record's fields, each prefixed by its length, so no two different records encode alike and
no field can run into the next. Personal data is in the state as stored, encrypted, so
destroying a data subject's key (crypto-shredding) never changes a link.

The first link follows ``GENESIS``. Whoever holds the records and one trusted link (a signed
checkpoint, an auditor's copy) can recompute every link after it; a record altered, deleted
or inserted changes every link from its position on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

GENESIS = bytes(32)  # the link before the first record: 32 zero bytes
LOG_ENCODING = b"vorgang.log.v1"
ACCESS_LOG_ENCODING = b"vorgang.access-log.v1"


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record of the event log as stored: its position and exactly the stored fields."""

    position: int  # the notification id
    topic: str
    originator_id: UUID
    originator_version: int
    state: bytes  # the stored bytes (personal data in them encrypted)


def _field(value: bytes) -> bytes:
    return len(value).to_bytes(8, "big") + value


def encode_fields(tag: bytes, fields: Iterable[bytes]) -> bytes:
    """A version tag and fields, each length-prefixed: the canonical encoding."""
    return _field(tag) + b"".join(_field(f) for f in fields)


def encode_record(record: StoredRecord) -> bytes:
    """The canonical encoding of a stored event record."""
    return encode_fields(
        LOG_ENCODING,
        (
            str(record.position).encode(),
            record.topic.encode(),
            str(record.originator_id).encode(),
            str(record.originator_version).encode(),
            record.state,
        ),
    )


def next_link(previous: bytes, encoded: bytes) -> bytes:
    """The link of a record: SHA-256 over the previous link and the record's encoding."""
    if len(previous) != 32:
        raise ValueError("a link is 32 bytes")
    return hashlib.sha256(previous + encoded).digest()


def link_of(previous: bytes, record: StoredRecord) -> bytes:
    """The link of a stored event record after ``previous``."""
    return next_link(previous, encode_record(record))


# ---------------------------------------------------------------- signed checkpoints

CHECKPOINT_ENCODING = b"vorgang.checkpoint.v1"
LOG_CHAIN = "log"  # the chain over the event log
ACCESS_LOG_CHAIN = "access-log"  # the chain over the access log of staff reads


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A chain's head at a moment, signed with the deployment's Ed25519 key.

    Auditors keep copies outside the system (``GET /api/v1/integrity/checkpoints``); a chain
    recomputed from the stored records must pass through every checkpoint's link.
    """

    chain: str  # LOG_CHAIN or ACCESS_LOG_CHAIN
    position: int  # the last record the link covers
    link: bytes  # 32 bytes
    signed_at: str  # ISO 8601 in UTC, as signed
    key_id: str  # which key signed it (hex of the first 8 bytes of SHA-256 of the public key)
    signature: bytes  # Ed25519 over ``signed_message``

    def signed_message(self) -> bytes:
        """The bytes the signature covers."""
        return checkpoint_message(self.chain, self.position, self.link, self.signed_at, self.key_id)


def checkpoint_message(
    chain: str, position: int, link: bytes, signed_at: str, key_id: str
) -> bytes:
    """The canonical bytes of a checkpoint, as signed and as verified."""
    return encode_fields(
        CHECKPOINT_ENCODING,
        (chain.encode(), str(position).encode(), link, signed_at.encode(), key_id.encode()),
    )


# ---------------------------------------------------------------- verification reports

ALTERED = "altered"  # the record at a position differs from what was chained
DELETED = "deleted"  # the chain holds a position the stored records no longer have
INSERTED = "inserted"  # a stored record at a position the chain never held
CHAIN_REWRITTEN = "chain-rewritten"  # records and chain agree, a signed checkpoint does not
BAD_SIGNATURE = "bad-signature"  # a checkpoint whose signature does not verify
UNKNOWN_CHECKPOINT = "unknown-checkpoint"  # an auditor's copy the system does not hold (alike)


@dataclass(frozen=True, slots=True)
class Disagreement:
    """Where the recomputed chain first disagrees, and how."""

    chain: str
    position: int
    kind: str  # one of the constants above
    detail: str  # one line for people: what was expected and what was found


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of verifying one chain from a trusted link on."""

    chain: str
    verified_from: int  # the position of the trusted link it started from (0: genesis)
    verified_to: int  # the last position recomputed
    records: int  # records recomputed
    checkpoints_checked: int
    disagreement: Disagreement | None  # the first one; None: nothing altered

    @property
    def ok(self) -> bool:
        """Nothing altered, removed or inserted in what was verified."""
        return self.disagreement is None


# ---------------------------------------------------------------- a case's proof


@dataclass(frozen=True, slots=True)
class ChainedRecord:
    """One record of a case with its place in the chain: recomputable by anyone."""

    record: StoredRecord
    previous_link: bytes
    link: bytes


@dataclass(frozen=True, slots=True)
class CaseProof:
    """A case's events in the chain and the nearest signed checkpoint at or after the last.

    ``checkpoint`` is None while no checkpoint covers the case's last event yet.
    """

    records: tuple[ChainedRecord, ...]
    checkpoint: Checkpoint | None
