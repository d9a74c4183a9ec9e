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

_VIEW_JSON = json.JSONEncoder(ensure_ascii=False)
_AS_IS = frozenset({str, int, float, bool, type(None)})  # exactly these types: JSON values
_TEXT = frozenset({str})


def view_json(value: Any) -> str:
    """Plain JSON values as the views store their text: ``json.dumps(value, ensure_ascii=False)``
    with one encoder made once, not one per call."""
    return _VIEW_JSON.encode(value)


@dataclass(frozen=True, slots=True)
class Sealed:
    """A personal value as stored: its transcoding's name and data (ciphertext and key id).

    The data are the stored JSON values of a personal value (strings and a flag), never a
    value the transcoder would decode into an object.
    """

    transcoding: str
    data: Any

    def as_json(self) -> str:
        """The stored form, which the application's transcoder decodes again."""
        return view_json({"_type_": self.transcoding, "_data_": self.data})


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

    def to_plain(self, value: Any) -> Any:
        """A value as plain JSON values (personal data sealed): ``json.loads(to_text(value))``
        without the text in between, case by case in the order the JSON encoder takes."""
        if value is None or value is True or value is False:
            return value
        if type(value) is Sealed:
            # Its data is what the stored JSON held (strings, a flag): plain already.
            return {"_type_": value.transcoding, "_data_": value.data}
        if isinstance(value, str):
            return value if type(value) is str else str.__str__(value)  # a StrEnum's value
        if isinstance(value, int):
            return value if type(value) is int else int.__int__(value)
        if isinstance(value, float):
            return value if type(value) is float else float.__float__(value)
        if isinstance(value, list | tuple):
            return [item if type(item) in _AS_IS else self.to_plain(item) for item in value]
        if isinstance(value, dict):
            if {*map(type, value)} <= _TEXT:  # every key a str
                return {
                    key: item if type(item) in _AS_IS else self.to_plain(item)
                    for key, item in value.items()
                }
            return json.loads(self.to_text(value))  # keys the encoder turns into text
        return self.to_plain(self._encode_obj(value))  # {"_type_": ..., "_data_": ...}


def sealed_json(value: Any) -> str | None:
    """A sealed personal value as its stored JSON (None for anything else)."""
    return value.as_json() if isinstance(value, Sealed) else None
