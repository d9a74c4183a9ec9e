"""Personal data as views keep it: still sealed, exactly as the event stored it.

The projection runner decodes events with this transcoding instead of the decrypting one,
so a view never holds personal data in clear: it stores the sealed value, and the API
opens it on the way out with the application's own transcoding. Destroying a key therefore
erases the value in every view at once, without rewriting a row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Transcoding,
    UUIDAsHex,
)

from persistence.transcodings import register_value_transcodings


@dataclass(frozen=True, slots=True)
class Sealed:
    """A personal value as stored: its transcoding's name and data (ciphertext and key id)."""

    transcoding: str
    data: Any

    def as_json(self) -> str:
        """The stored form, which the application's transcoder decodes again."""
        return json.dumps({"_type_": self.transcoding, "_data_": self.data}, ensure_ascii=False)


class SealedTranscoding(Transcoding):
    """Leaves a personal value sealed: decode keeps the stored data, encode writes it back."""

    type = Sealed

    def __init__(self, name: str) -> None:
        self.name = name

    def encode(self, obj: Sealed) -> Any:
        return obj.data

    def decode(self, data: Any) -> Sealed:
        return Sealed(self.name, data)


SEALED_NAMES = ("personal_data", "personal_data_clear")


class SealingTranscoder(JSONTranscoder):
    """Every value type as usual; personal data stays sealed, under its own name."""

    def __init__(self) -> None:
        super().__init__()
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
            self.register(transcoding)
        register_value_transcodings(self)
        for name in SEALED_NAMES:
            self.names[name] = SealedTranscoding(name)

    def _encode_obj(self, o: Any) -> dict[str, Any]:
        if isinstance(o, Sealed):
            return {"_type_": o.transcoding, "_data_": o.data}
        return super()._encode_obj(o)

    def to_text(self, value: Any) -> str:
        """A value as view JSON text (personal data sealed)."""
        return self.encode(value).decode("utf-8")


def sealed_json(value: Any) -> str | None:
    """A sealed personal value as its stored JSON (None for anything else)."""
    return value.as_json() if isinstance(value, Sealed) else None
