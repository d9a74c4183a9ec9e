"""The ``PersonalData`` transcoding that encrypts: AES-GCM under the key of (case, subject).

Stored shape: ``{"case", "subject", "key", "nonce", "ct", "art9"}``. The case id, subject
and key id are bound into the ciphertext as associated data, so a ciphertext cannot be
moved to another case or subject unnoticed. A value whose key was destroyed decodes to
``Erased``; events, their order and their bytes stay as they were.
"""

from __future__ import annotations

import base64
import os
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Transcoding

from domain.personal_data import Erased, PersonalData
from infrastructure.privacy.key_encryption import NONCE_BYTES
from infrastructure.privacy.key_store import PersonalDataKeys


def _associated(case_hex: str, subject: str, key_id: str, art9: bool) -> bytes:
    return f"{case_hex}\x1f{subject}\x1f{key_id}\x1f{int(art9)}".encode()


class EncryptedPersonalData(Transcoding):
    """Encrypts each personal value under its case's and subject's data key."""

    type = PersonalData
    name = "personal_data"

    def __init__(self, keys: PersonalDataKeys) -> None:
        self.keys = keys

    def encode(self, obj: PersonalData) -> dict[str, Any]:
        data_key = self.keys.key_for_writing(obj.case_id, obj.subject)
        nonce = os.urandom(NONCE_BYTES)
        case_hex = obj.case_id.hex
        aad = _associated(case_hex, obj.subject, data_key.key_id, obj.special_category)
        ciphertext = AESGCM(data_key.key).encrypt(nonce, obj.value.encode(), aad)
        return {
            "case": case_hex,
            "subject": obj.subject,
            "key": data_key.key_id,
            "nonce": base64.b64encode(nonce).decode(),
            "ct": base64.b64encode(ciphertext).decode(),
            "art9": obj.special_category,
        }

    def decode(self, data: dict[str, Any]) -> PersonalData | Erased:
        case_id = UUID(data["case"])
        subject = data["subject"]
        art9 = bool(data.get("art9", False))
        key = self.keys.key_for_reading(data["key"])
        if key is None:
            return Erased(case_id, subject, art9)
        aad = _associated(data["case"], subject, data["key"], art9)
        plaintext = AESGCM(key).decrypt(
            base64.b64decode(data["nonce"]), base64.b64decode(data["ct"]), aad
        )
        return PersonalData(case_id, subject, plaintext.decode(), art9)
