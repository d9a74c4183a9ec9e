"""Issued documents kept encrypted, so erasing a data subject's key erases the document too.

Each document gets a fresh random 256-bit content key that encrypts the PDF (AES-GCM). The
content key is wrapped under a key-encryption key derived (HKDF-SHA256) from the data keys
of *every* data subject the document names that has a live key, in sorted order: without
any one of them the content key cannot be recovered. Destroying one subject's key
(crypto-shredding, decision 14) thus makes the document unreadable, as it does the events.
A subject that never had a key in the case has no personal data in it and binds
nothing; keys are never made here (they are written with the events that use them).

The stored file (an envelope) is one line of JSON, the header, then the ciphertext::

    {"version": 1, "case": ..., "number": ..., "sha256": ..., "subjects": [{"subject": ...,
     "key": <key id>}, ...], "kek_nonce": ..., "wrapped_key": ..., "nonce": ...}\\n<ciphertext>

The header is the associated data of both encryptions: moving a file to another case or
number, or changing its list of subjects, is detected. The header names subjects (labels
such as ``applicant``) and key ids, never personal data.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from application.document_ports import DocumentErased, DocumentMissing
from infrastructure.privacy.key_encryption import KEY_BYTES, NONCE_BYTES
from infrastructure.privacy.key_store import DataKey, PersonalDataKeys
from infrastructure.settings import Settings

VERSION = 1
KEK_INFO = b"vorgang document key-encryption key v1"
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
NAME = re.compile(r"[0-9a-f]{32}/[0-9]+-[0-9a-f]{64}\.pdf\.enc")


class DocumentTampered(DocumentMissing):
    """The stored file was changed: it no longer decrypts (or not to the recorded hash)."""


class BlobStore(Protocol):
    """Where the encrypted envelopes lie, by name."""

    def put(self, name: str, data: bytes) -> None:
        """Store ``data`` under ``name`` (all or nothing)."""

    def get(self, name: str) -> bytes | None:
        """The bytes stored under ``name``, or None when there are none."""

    def exists(self, name: str) -> bool:
        """Whether something is stored under ``name``."""


def document_name(case_id: UUID, number: int, sha256: str) -> str:
    """The stored name of a case's document: ``<case hex>/<number>-<sha256>.pdf.enc``."""
    return f"{case_id.hex}/{number}-{sha256}.pdf.enc"


def _check_name(name: str) -> str:
    # Only names this module makes: nothing a caller passes reaches a path or a key unchecked.
    if not NAME.fullmatch(name):
        raise ValueError(f"not a document name: {name!r}")
    return name


class LocalDirectory:
    """Envelopes as files under one directory, written atomically."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, name: str) -> Path:
        root = self.root.resolve()
        path = (root / _check_name(name)).resolve()
        if not path.is_relative_to(root):  # a symbolic link inside may still lead out
            raise ValueError(f"document name {name!r} leads outside {root}")
        return path

    def put(self, name: str, data: bytes) -> None:
        """Write to a temporary file beside the target, then rename it into place."""
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, name: str) -> bytes | None:
        """The file's bytes, or None."""
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, name: str) -> bool:
        """Whether the file is there."""
        return self._path(name).is_file()


def _missing(error: Exception) -> bool:
    # botocore's ClientError carries the S3 error code; NoSuchKey from get, 404 from head.
    response: Any = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code in ("NoSuchKey", "404", "NotFound")


class S3Bucket:
    """Envelopes as objects in a bucket of an S3-compatible store (the ``s3`` extra)."""

    def __init__(self, bucket: str, endpoint_url: str | None = None, *, client: Any = None):
        if client is None:
            try:
                import boto3  # optional: the s3 extra
            except ImportError:
                raise RuntimeError(
                    "VORGANG_DOCUMENTS_S3_BUCKET needs boto3: install the s3 extra "
                    "(pip install 'vorgang[s3]')"
                ) from None
            client = boto3.client("s3", endpoint_url=endpoint_url)
        self.bucket = bucket
        self._client = client

    def put(self, name: str, data: bytes) -> None:
        """Upload the object (a PUT is atomic in S3)."""
        self._client.put_object(Bucket=self.bucket, Key=_check_name(name), Body=data)

    def get(self, name: str) -> bytes | None:
        """The object's bytes, or None."""
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=_check_name(name))
        except Exception as error:
            if _missing(error):
                return None
            raise
        return bytes(answer["Body"].read())

    def exists(self, name: str) -> bool:
        """Whether the object is there."""
        try:
            self._client.head_object(Bucket=self.bucket, Key=_check_name(name))
        except Exception as error:
            if _missing(error):
                return False
            raise
        return True


def _live_key_id(keys: PersonalDataKeys, case_id: UUID, subject: str) -> str | None:
    """The id of the subject's live key in the case, without making one if there is none."""
    # The key store answers this only through its dialect query so far (key_for_writing
    # would make a key); a key this thread made for a save not yet written is not seen.
    row = keys._select_live(case_id.hex, subject)
    return row[0] if row is not None else None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _key_encryption_key(data_keys: list[bytes], header_binding: bytes) -> AESGCM:
    """The key that wraps the content key: derived from every subject's data key."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=header_binding)
    return AESGCM(hkdf.derive(b"".join(data_keys)))


def _binding(case_hex: str, number: int, sha256: str, subjects: list[dict[str, str]]) -> bytes:
    """What both encryptions are bound to: case, number, hash, and the subjects' key ids."""
    keys = "\x1f".join(f"{s['subject']}={s['key']}" for s in subjects)
    return b"\x1e".join((KEK_INFO, f"{case_hex}\x1f{number}\x1f{sha256}".encode(), keys.encode()))


class EncryptedDocumentVault:
    """Keeps documents encrypted under the keys of all the data subjects they name."""

    def __init__(self, keys: PersonalDataKeys, blobs: BlobStore) -> None:
        self.keys = keys
        self.blobs = blobs

    def _keys_of(self, case_id: UUID, subjects: Collection[str]) -> list[tuple[str, DataKey]]:
        """The live data key of each named subject that has one, in the order of subjects.

        Keys are made with the events that carry personal data, never here: a subject that
        never had a key has nothing of theirs in the case and binds nothing. A subject whose
        key was destroyed (and no new one made) means the document was rendered from data
        erased since: ``DocumentErased``, for it must not be stored under fewer keys.
        """
        erased = set(self.keys.erased_subjects_of(case_id))
        bound = []
        for subject in sorted(set(subjects)):
            key_id = _live_key_id(self.keys, case_id, subject)
            # Read, not "for writing": a key destroyed since the query is not made anew.
            key = self.keys.key_for_reading(key_id) if key_id is not None else None
            if key_id is not None and key is not None:
                bound.append((subject, DataKey(key_id, key)))
            elif key_id is not None or subject in erased:
                raise DocumentErased(
                    f"case {case_id}: the key of data subject {subject} was destroyed while "
                    "the document was made; render it again"
                )
        return bound

    def put(
        self, case_id: UUID, number: int, sha256: str, pdf: bytes, subjects: Collection[str]
    ) -> None:
        """Encrypt and store; a document already stored is left as it is.

        ``subjects`` are those whose personal data the document carries. ``DocumentErased``
        if one of them was erased meanwhile (the rendered text holds what was erased).
        """
        if hashlib.sha256(pdf).hexdigest() != sha256:
            raise ValueError(f"document {number} of case {case_id}: the PDF is not {sha256}")
        name = document_name(case_id, number, sha256)
        if self.blobs.exists(name):
            # Storing it again must not re-encrypt it under fewer keys after an erasure.
            return
        named = []
        data_keys = []
        for subject, data_key in self._keys_of(case_id, subjects):
            named.append({"subject": subject, "key": data_key.key_id})
            data_keys.append(data_key.key)
        binding = _binding(case_id.hex, number, sha256, named)
        content_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
        kek_nonce, nonce = os.urandom(NONCE_BYTES), os.urandom(NONCE_BYTES)
        wrapped = _key_encryption_key(data_keys, binding).encrypt(kek_nonce, content_key, binding)
        header = {
            "version": VERSION,
            "case": case_id.hex,
            "number": number,
            "sha256": sha256,
            "subjects": named,
            "kek_nonce": _b64(kek_nonce),
            "wrapped_key": _b64(wrapped),
            "nonce": _b64(nonce),
        }
        line = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
        ciphertext = AESGCM(content_key).encrypt(nonce, pdf, line)
        self.blobs.put(name, line + b"\n" + ciphertext)

    def get(self, case_id: UUID, number: int, sha256: str) -> bytes:
        """The plain PDF; ``DocumentErased`` once a subject's key is gone."""
        where = f"document {number} of case {case_id}"
        if not SHA256_HEX.fullmatch(sha256):
            raise DocumentMissing(f"{where}: {sha256!r} is not a SHA-256")
        envelope = self.blobs.get(document_name(case_id, number, sha256))
        if envelope is None:
            raise DocumentMissing(f"{where} with SHA-256 {sha256} is not stored")
        line, separator, ciphertext = envelope.partition(b"\n")
        try:
            header = json.loads(line)
            named: list[dict[str, str]] = header["subjects"]
            kek_nonce = base64.b64decode(header["kek_nonce"])
            wrapped = base64.b64decode(header["wrapped_key"])
            nonce = base64.b64decode(header["nonce"])
            recorded = (header["version"], header["case"], header["number"], header["sha256"])
        except (ValueError, KeyError, TypeError):
            raise DocumentTampered(f"{where}: the stored header is unreadable") from None
        if not separator or recorded != (VERSION, case_id.hex, number, sha256):
            raise DocumentTampered(f"{where}: the stored file is another document's")
        data_keys = []
        for entry in named:
            key = self.keys.key_for_reading(entry["key"])
            if key is None:
                raise DocumentErased(f"{where} was erased (a data subject's key is destroyed)")
            data_keys.append(key)
        binding = _binding(case_id.hex, number, sha256, named)
        try:
            content_key = _key_encryption_key(data_keys, binding).decrypt(
                kek_nonce, wrapped, binding
            )
            pdf = AESGCM(content_key).decrypt(nonce, ciphertext, line)
        except InvalidTag:
            raise DocumentTampered(f"{where}: the stored file was changed") from None
        if hashlib.sha256(pdf).hexdigest() != sha256:
            raise DocumentMissing(f"{where}: the stored file is not {sha256}")
        return pdf


def open_vault(settings: Settings, keys: PersonalDataKeys) -> EncryptedDocumentVault:
    """The vault the settings choose: an S3 bucket if one is named, else a local directory."""
    blobs: BlobStore
    if settings.documents_s3_bucket:
        blobs = S3Bucket(settings.documents_s3_bucket, settings.documents_s3_endpoint_url)
    else:
        blobs = LocalDirectory(settings.documents_dir)
    return EncryptedDocumentVault(keys, blobs)
