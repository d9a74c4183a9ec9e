"""Issued documents are stored encrypted under every data subject's key: erasure shreds them."""

from __future__ import annotations

import hashlib
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from application.document_ports import DocumentErased, DocumentMissing
from domain.personal_data import Subjects
from infrastructure.database import DatabaseTarget
from infrastructure.documents.vault import (
    DocumentTampered,
    EncryptedDocumentVault,
    LocalDirectory,
    S3Bucket,
    document_name,
    open_vault,
)
from infrastructure.privacy.key_encryption import KeyRing
from infrastructure.privacy.key_store import PersonalDataKeys, SQLiteKeys, open_keys
from infrastructure.settings import Settings

MARK = b"ZEUGE-Bescheid-Mustermann"  # stands for the personal data a letter carries
OBJECTOR = "objector"


def pdf(label: str) -> bytes:
    return b"%PDF-1.7\n" + MARK + b" " + label.encode() + b"\n%%EOF\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def with_keys(keys: PersonalDataKeys, *subjects: str) -> uuid.UUID:
    """A case whose events (as the recorder would) made keys for these subjects."""
    case_id = uuid.uuid4()
    for subject in subjects:
        keys.key_for_writing(case_id, subject)
    return case_id


@pytest.fixture
def keys(target: DatabaseTarget) -> Iterator[PersonalDataKeys]:
    """The key store on SQLite and on PostgreSQL."""
    store = open_keys(target, KeyRing(os.urandom(32)), cache_seconds=30)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def sqlite_keys(tmp_path: Path) -> Iterator[PersonalDataKeys]:
    """The key store on SQLite only, for what does not depend on the database."""
    store = SQLiteKeys(str(tmp_path / "keys.db"), KeyRing(os.urandom(32)), cache_seconds=30)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def vault(sqlite_keys: PersonalDataKeys, tmp_path: Path) -> EncryptedDocumentVault:
    return EncryptedDocumentVault(sqlite_keys, LocalDirectory(tmp_path / "documents"))


def test_a_document_comes_back_as_it_was_stored(keys: PersonalDataKeys, tmp_path: Path) -> None:
    vault = EncryptedDocumentVault(keys, LocalDirectory(tmp_path / "documents"))
    case_id = with_keys(keys, Subjects.APPLICANT, Subjects.CASE_TEXT)
    letter = pdf("1")
    vault.put(case_id, 1, sha(letter), letter, [Subjects.APPLICANT, Subjects.CASE_TEXT])
    assert vault.get(case_id, 1, sha(letter)) == letter


def test_erasing_one_subject_of_two_makes_the_document_unreadable_and_no_other(
    keys: PersonalDataKeys, tmp_path: Path
) -> None:
    vault = EncryptedDocumentVault(keys, LocalDirectory(tmp_path / "documents"))
    erased = with_keys(keys, Subjects.APPLICANT, OBJECTOR)
    other = with_keys(keys, Subjects.APPLICANT, OBJECTOR)
    first, second = pdf("erased"), pdf("kept")
    vault.put(erased, 1, sha(first), first, [Subjects.APPLICANT, OBJECTOR])
    vault.put(other, 1, sha(second), second, [Subjects.APPLICANT, OBJECTOR])

    keys.destroy(erased, [OBJECTOR])

    with pytest.raises(DocumentErased):
        vault.get(erased, 1, sha(first))
    assert vault.get(other, 1, sha(second)) == second


def test_storing_an_erased_document_again_does_not_bring_it_back(
    vault: EncryptedDocumentVault,
) -> None:
    case_id = with_keys(vault.keys, Subjects.APPLICANT, OBJECTOR)
    letter = pdf("1")
    vault.put(case_id, 1, sha(letter), letter, [Subjects.APPLICANT, OBJECTOR])
    vault.keys.destroy(case_id, [OBJECTOR])

    vault.put(case_id, 1, sha(letter), letter, [Subjects.APPLICANT, OBJECTOR])  # a retry

    with pytest.raises(DocumentErased):
        vault.get(case_id, 1, sha(letter))


def test_a_subject_without_a_key_binds_nothing_and_gets_no_key(
    vault: EncryptedDocumentVault,
) -> None:
    case_id = with_keys(vault.keys, Subjects.APPLICANT)
    letter = pdf("1")
    vault.put(case_id, 1, sha(letter), letter, [Subjects.APPLICANT, OBJECTOR])
    assert vault.keys.subjects_of(case_id) == [Subjects.APPLICANT]
    assert vault.get(case_id, 1, sha(letter)) == letter
    vault.keys.destroy(case_id, [Subjects.APPLICANT])
    with pytest.raises(DocumentErased):
        vault.get(case_id, 1, sha(letter))


def test_a_subject_erased_while_the_document_was_made_is_not_left_out(
    vault: EncryptedDocumentVault, tmp_path: Path
) -> None:
    case_id = with_keys(vault.keys, Subjects.APPLICANT, OBJECTOR)
    vault.keys.destroy(case_id, [OBJECTOR])  # after rendering, before storing
    letter = pdf("1")
    with pytest.raises(DocumentErased):
        vault.put(case_id, 1, sha(letter), letter, [Subjects.APPLICANT, OBJECTOR])
    assert not list((tmp_path / "documents").rglob("*.enc"))
    assert vault.keys.erased_subjects_of(case_id) == [OBJECTOR]  # and no new key made


def test_a_subject_with_a_new_key_after_an_erasure_is_bound_by_the_new_key(
    vault: EncryptedDocumentVault,
) -> None:
    case_id = with_keys(vault.keys, Subjects.APPLICANT, OBJECTOR)
    vault.keys.destroy(case_id, [OBJECTOR])
    vault.keys.key_for_writing(case_id, OBJECTOR)  # new data of theirs recorded since
    letter = pdf("1")
    vault.put(case_id, 1, sha(letter), letter, [Subjects.APPLICANT, OBJECTOR])
    assert vault.get(case_id, 1, sha(letter)) == letter

    vault.keys.destroy(case_id, [OBJECTOR])

    with pytest.raises(DocumentErased):
        vault.get(case_id, 1, sha(letter))


def test_a_hash_that_was_not_stored_is_missing(vault: EncryptedDocumentVault) -> None:
    case_id = with_keys(vault.keys, Subjects.APPLICANT)
    letter = pdf("1")
    vault.put(case_id, 1, sha(letter), letter, [Subjects.APPLICANT])
    with pytest.raises(DocumentMissing):
        vault.get(case_id, 1, sha(pdf("2")))
    with pytest.raises(DocumentMissing):
        vault.get(case_id, 2, sha(letter))
    with pytest.raises(DocumentMissing):
        vault.get(case_id, 1, "../" + sha(letter)[3:])


def test_a_pdf_that_is_not_the_hash_given_is_refused(vault: EncryptedDocumentVault) -> None:
    case_id = with_keys(vault.keys, Subjects.APPLICANT)
    with pytest.raises(ValueError, match="is not"):
        vault.put(case_id, 1, sha(pdf("2")), pdf("1"), [Subjects.APPLICANT])


def test_the_stored_file_holds_no_plaintext_of_the_document(
    vault: EncryptedDocumentVault, tmp_path: Path
) -> None:
    case_id = with_keys(vault.keys, Subjects.APPLICANT)
    letter = pdf("1")
    vault.put(case_id, 1, sha(letter), letter, [Subjects.APPLICANT])
    stored = [p for p in (tmp_path / "documents").rglob("*") if p.is_file()]
    assert [p.relative_to(tmp_path / "documents").as_posix() for p in stored] == [
        document_name(case_id, 1, sha(letter))
    ]
    content = stored[0].read_bytes()
    assert MARK not in content
    assert b"%PDF" not in content


def test_a_changed_ciphertext_is_detected(vault: EncryptedDocumentVault, tmp_path: Path) -> None:
    case_id = with_keys(vault.keys, Subjects.APPLICANT)
    letter = pdf("1")
    vault.put(case_id, 1, sha(letter), letter, [Subjects.APPLICANT])
    path = tmp_path / "documents" / document_name(case_id, 1, sha(letter))
    stored = bytearray(path.read_bytes())
    stored[-20] ^= 0x01
    path.write_bytes(bytes(stored))
    with pytest.raises(DocumentTampered):
        vault.get(case_id, 1, sha(letter))


def test_a_file_moved_to_another_document_is_detected(
    vault: EncryptedDocumentVault, tmp_path: Path
) -> None:
    case_id = with_keys(vault.keys, Subjects.APPLICANT)
    letter = pdf("1")
    vault.put(case_id, 1, sha(letter), letter, [Subjects.APPLICANT])
    root = tmp_path / "documents"
    moved = root / document_name(case_id, 2, sha(letter))
    moved.write_bytes((root / document_name(case_id, 1, sha(letter))).read_bytes())
    with pytest.raises(DocumentTampered):
        vault.get(case_id, 2, sha(letter))


def test_a_name_that_leads_outside_the_directory_is_refused(tmp_path: Path) -> None:
    blobs = LocalDirectory(tmp_path / "documents")
    with pytest.raises(ValueError, match="not a document name"):
        blobs.put("../escaped.pdf.enc", b"x")
    with pytest.raises(ValueError, match="not a document name"):
        blobs.get(f"{uuid.uuid4().hex}/../../1-{'0' * 64}.pdf.enc")
    assert not (tmp_path / "escaped.pdf.enc").exists()

    # A symbolic link inside the directory does not lead out either.
    case_id = uuid.uuid4()
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / case_id.hex).symlink_to(outside)
    with pytest.raises(ValueError, match="outside"):
        blobs.put(document_name(case_id, 1, "0" * 64), b"x")
    assert list(outside.iterdir()) == []


class NoSuchKey(Exception):
    """What botocore raises for a missing object: a ClientError with the S3 error code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code}}


class FakeBody:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self) -> bytes:
        return self._data


class FakeS3Client:
    """The three calls of boto3's S3 client the bucket uses, over a dict."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes) -> dict[str, Any]:
        self.objects[(Bucket, Key)] = bytes(Body)
        return {}

    def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        if (Bucket, Key) not in self.objects:
            raise NoSuchKey("NoSuchKey")
        return {"Body": FakeBody(self.objects[(Bucket, Key)])}

    def head_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        if (Bucket, Key) not in self.objects:
            raise NoSuchKey("404")
        return {}


def test_documents_in_an_s3_bucket(sqlite_keys: PersonalDataKeys) -> None:
    client = FakeS3Client()
    vault = EncryptedDocumentVault(sqlite_keys, S3Bucket("bescheide", client=client))
    case_id = with_keys(sqlite_keys, Subjects.APPLICANT)
    letter = pdf("1")
    name = document_name(case_id, 1, sha(letter))
    assert not vault.blobs.exists(name)

    vault.put(case_id, 1, sha(letter), letter, [Subjects.APPLICANT])

    assert list(client.objects) == [("bescheide", name)]
    assert MARK not in client.objects[("bescheide", name)]
    assert vault.blobs.exists(name)
    assert vault.get(case_id, 1, sha(letter)) == letter
    with pytest.raises(DocumentMissing):
        vault.get(case_id, 2, sha(letter))
    with pytest.raises(ValueError, match="not a document name"):
        vault.blobs.put("../other-bucket-key", b"x")


def test_an_s3_error_other_than_a_missing_object_is_not_hidden() -> None:
    class Failing(FakeS3Client):
        def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
            raise NoSuchKey("AccessDenied")

    with pytest.raises(NoSuchKey):
        S3Bucket("bescheide", client=Failing()).get(document_name(uuid.uuid4(), 1, "0" * 64))


def test_an_s3_bucket_without_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # as if not installed
    with pytest.raises(RuntimeError, match=r"vorgang\[s3\]"):
        S3Bucket("bescheide")


def test_the_settings_choose_where_documents_lie(
    sqlite_keys: PersonalDataKeys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = open_vault(Settings(documents_dir=str(tmp_path / "docs")), sqlite_keys)
    assert isinstance(local.blobs, LocalDirectory)
    assert local.blobs.root == tmp_path / "docs"

    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(RuntimeError, match="s3 extra"):
        open_vault(Settings(documents_s3_bucket="bescheide"), sqlite_keys)
