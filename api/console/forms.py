"""Forms generated from the command declarations: a step's body model becomes labelled inputs.

Nothing here is written per command. ``form_fields(step.body)`` walks the pydantic model of a
``Step`` (``domain/commands.py``) and answers one ``FormField`` per input: short text, long
text (a textarea), a whole number, a decimal (German comma accepted), a date, a time of day,
a select for a ``Literal`` or an enum, a checkbox for a bool, one line per entry for a list
of values, ``key: value`` lines for a mapping, a fieldset for a nested model, and repeated
rows (one more on request) for a list of models. A field of any other type is refused with
``UnsupportedField`` when the form is built, so a new step the console cannot show fails
the test that walks every declaration, not a clerk.

``parse_form(model, form)`` turns the submitted fields back into the body model; what is
wrong comes back as ``FormErrors`` keyed by the input's name (German messages), and an API
problem's ``errors`` (``{"field": "assignee.id", ...}``) find their input the same way
(``field_for``). Input names are the fields' dotted paths (``provisions.0.kind``), so a
problem+json field path names its input.
"""

from __future__ import annotations

import enum
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin
from uuid import UUID

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from api.console.labels import CHOICES, FIELDS
from domain.case_steps import CASE_STEPS
from domain.commands import Step, Steps
from domain.services.catalogue import SERVICES

Widget = Literal[
    "text", "textarea", "integer", "decimal", "date", "time", "select", "checkbox",
    "lines", "pairs", "uuid", "group", "rows",
]  # fmt: skip
SHORT_TEXT_MAX: Final = 300  # longer text (or text without a limit) is a textarea
ROW_FIELD: Final = "_rows"  # hidden input: how many rows a list of models shows
ADD_ROW: Final = "_add_row"  # the button asking for one more row of a list of models
UUID_PATTERN: Final = "[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}"
MAX_ROWS: Final = 100


class UnsupportedField(TypeError):
    """A body field of a type the console cannot offer as an input."""

    def __init__(self, model: type[BaseModel], name: str, annotation: Any) -> None:
        super().__init__(
            f"{model.__name__}.{name}: the console has no input for {annotation!r}; "
            "add one to api/console/forms.py"
        )


class FormErrors(Exception):
    """What is wrong with a submitted form: messages by input name ("" for the whole form)."""

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = {k: list(v) for k, v in errors.items()}


@dataclass(frozen=True, slots=True)
class Option:
    """One choice of a select."""

    value: str
    label: str


@dataclass(frozen=True, slots=True)
class FormField:
    """One input (or a fieldset of them) of a generated form."""

    name: str  # the dotted path: the input's name and the problem's field
    label: str
    widget: Widget
    required: bool
    help: str | None = None
    options: tuple[Option, ...] = ()
    default: Any = None  # the initial value, as the input shows it
    minimum: str | None = None
    maximum: str | None = None
    max_length: int | None = None
    children: tuple[FormField, ...] = ()  # a group's inputs; a row's template for rows
    rows: tuple[tuple[FormField, ...], ...] = ()  # a list of models: each row's inputs
    item: Any = None  # lines: the type of one entry

    @property
    def id(self) -> str:
        """The input's HTML id (dots and brackets are awkward in selectors)."""
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)


@dataclass(frozen=True, slots=True)
class _Shape:
    """A field's annotation unwrapped: its type, whether None is allowed, its constraints."""

    kind: Any
    optional: bool
    metadata: tuple[Any, ...] = field(default=())


def _unwrap(annotation: Any, metadata: Iterable[Any] = ()) -> _Shape:
    found = list(metadata)
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *more = get_args(annotation)
            found.extend(more)
            continue
        if origin in (Union, types.UnionType):
            arms = [a for a in get_args(annotation) if a is not type(None)]
            if len(arms) == len(get_args(annotation)) or len(arms) != 1:
                return _Shape(annotation, optional, tuple(found))  # a true union: unsupported
            optional = True
            annotation = arms[0]
            continue
        return _Shape(annotation, optional, tuple(found))


def _constraint(metadata: Iterable[Any], kind: type, attribute: str) -> Any:
    for item in metadata:
        if isinstance(item, kind):
            return getattr(item, attribute)
        inner = getattr(item, "metadata", None)  # a FieldInfo inside Annotated
        if isinstance(inner, list):
            found = _constraint(inner, kind, attribute)
            if found is not None:
                return found
        if attribute in ("min_length", "max_length") and hasattr(item, attribute):
            value = getattr(item, attribute)  # StringConstraints
            if value is not None and kind in (MinLen, MaxLen):
                return value
    return None


def words_for(model: type[BaseModel], name: str, info: FieldInfo) -> tuple[str, str | None]:
    """A field's German label and help: its own ``x-label-de``, else the console's table."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    own = extra.get("x-label-de")
    words = FIELDS.get(f"{model.__name__}.{name}") or FIELDS.get(name)
    label, help_text = (words, None) if isinstance(words, str) or words is None else words
    if isinstance(own, str):
        return own, help_text
    return label or readable(name), help_text


def readable(name: str) -> str:
    """A label made from a field's name where no German one is known (a test refuses it)."""
    return name.replace("_", " ").capitalize()


def has_german_label(model: type[BaseModel], name: str, info: FieldInfo) -> bool:
    """Whether the field has German words (its own or the console's)."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    return "x-label-de" in extra or f"{model.__name__}.{name}" in FIELDS or name in FIELDS


def choices(kind: Any) -> tuple[Option, ...] | None:
    """The options of a ``Literal`` or an enum (None: neither)."""
    if get_origin(kind) is Literal:
        values = [str(v.value if isinstance(v, enum.Enum) else v) for v in get_args(kind)]
    elif isinstance(kind, type) and issubclass(kind, enum.Enum):
        values = [str(member.value) for member in kind]
    else:
        return None
    return tuple(Option(v, CHOICES.get(v, readable(v))) for v in values)


def _shown(value: Any) -> Any:
    """A default as an input shows it."""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, date | time | Decimal | UUID):
        return value.isoformat() if isinstance(value, date | time) else str(value)
    return value


def _scalar_widget(kind: Any) -> Widget | None:
    if kind is bool:
        return "checkbox"
    if kind is int:
        return "integer"
    if kind is Decimal or kind is float:
        return "decimal"
    if kind is date:
        return "date"
    if kind is time:
        return "time"
    if kind is UUID:
        return "uuid"
    if kind is str:
        return "text"
    if choices(kind) is not None:
        return "select"
    return None


def form_fields(
    model: type[BaseModel] | None,
    prefix: str = "",
    rows: Mapping[str, int] | None = None,
) -> tuple[FormField, ...]:
    """The inputs of a body model (none for a step without a body).

    ``rows`` says how many rows each list of models shows, by its input name (default: its
    minimum length, at least one).
    """
    if model is None:
        return ()
    return tuple(_field(model, name, info, prefix, rows or {}) for name, info in _fields(model))


def _fields(model: type[BaseModel]) -> list[tuple[str, FieldInfo]]:
    return list(model.model_fields.items())


def _field(
    model: type[BaseModel], name: str, info: FieldInfo, prefix: str, rows: Mapping[str, int]
) -> FormField:
    path = f"{prefix}{name}"
    shape = _unwrap(info.annotation, info.metadata)
    label, help_text = words_for(model, name, info)
    required = info.is_required() and not shape.optional
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    common: dict[str, Any] = {"name": path, "label": label, "help": help_text}
    kind, meta = shape.kind, shape.metadata
    origin = get_origin(kind)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return FormField(
            widget="group",
            required=required,
            children=form_fields(kind, f"{path}.", rows),
            **common,
        )
    if origin is list:
        (item,) = get_args(kind) or (Any,)
        item_shape = _unwrap(item)
        if isinstance(item_shape.kind, type) and issubclass(item_shape.kind, BaseModel):
            minimum = _constraint(meta, MinLen, "min_length") or 0
            count = max(1, minimum, min(rows.get(path, 0), MAX_ROWS))
            return FormField(
                widget="rows",
                required=required or minimum > 0,
                children=form_fields(item_shape.kind, f"{path}.#.", rows),
                rows=tuple(
                    form_fields(item_shape.kind, f"{path}.{index}.", rows) for index in range(count)
                ),
                **common,
            )
        if _scalar_widget(item_shape.kind) in ("text", "integer", "decimal", "date"):
            minimum = _constraint(meta, MinLen, "min_length") or 0
            return FormField(
                widget="lines",
                required=required and minimum > 0,
                default="\n".join(str(_shown(v)) for v in default or ()),
                item=item_shape.kind,
                **common,
            )
        raise UnsupportedField(model, name, info.annotation)
    if origin is dict:
        key, value = get_args(kind)
        if key is str and _scalar_widget(_unwrap(value).kind) in ("integer", "decimal", "text"):
            return FormField(widget="pairs", required=required, **common)
        raise UnsupportedField(model, name, info.annotation)
    widget = _scalar_widget(kind)
    if widget is None:
        raise UnsupportedField(model, name, info.annotation)
    if widget == "text":
        longest = _constraint(meta, MaxLen, "max_length")
        if longest is None or longest > SHORT_TEXT_MAX:
            widget = "textarea"
        return FormField(
            widget=widget, required=required, max_length=longest, default=default, **common
        )
    if widget == "select":
        return FormField(
            widget=widget,
            required=required,
            options=choices(kind) or (),
            default=_shown(default),
            **common,
        )
    if widget == "checkbox":
        return FormField(widget=widget, required=False, default=bool(default), **common)
    lowest = _constraint(meta, Ge, "ge")
    if lowest is None and (above := _constraint(meta, Gt, "gt")) is not None:
        lowest = above + 1 if widget == "integer" else above
    highest = _constraint(meta, Le, "le")
    if highest is None and (below := _constraint(meta, Lt, "lt")) is not None:
        highest = below - 1 if widget == "integer" else below
    return FormField(
        widget=widget,
        required=required,
        default=_shown(default),
        minimum=None if lowest is None else str(lowest),
        maximum=None if highest is None else str(highest),
        **common,
    )


# ---------------------------------------------------------------- reading a form back


def row_counts(form: Mapping[str, Any] | Any) -> dict[str, int]:
    """How many rows each list of models showed (``_rows.<name>``), one more where asked."""
    counts: dict[str, int] = {}
    for key in _keys(form):
        if key.startswith(ROW_FIELD + "."):
            try:
                counts[key[len(ROW_FIELD) + 1 :]] = max(0, min(int(_get(form, key)), MAX_ROWS))
            except ValueError:
                continue
    added = _get(form, ADD_ROW)
    if added:
        counts[added] = min(counts.get(added, 1) + 1, MAX_ROWS)
    return counts


def _keys(form: Any) -> list[str]:
    return list(form.keys())


def _get(form: Any, key: str) -> str:
    value = form.get(key)
    return "" if value is None else str(value)


def _decimal_text(text: str) -> str:
    """German notation accepted: 1.234,50 and 12,5 as well as 12.50."""
    if "," in text:
        return text.replace(".", "").replace(" ", "").replace(",", ".")
    return text.replace(" ", "")


@dataclass
class _Reading:
    """The body's data read so far, and where each list item came from (for errors)."""

    errors: dict[str, list[str]] = field(default_factory=dict)
    lines: dict[str, list[int]] = field(default_factory=dict)  # input -> line of each item
    rows: dict[str, list[int]] = field(default_factory=dict)  # input -> shown row of each


def _read(fields: Sequence[FormField], form: Any, reading: _Reading) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for f in fields:
        key = f.name.rsplit(".", 1)[-1]
        value = _read_one(f, form, reading)
        if value is not None:
            data[key] = value
    return data


def _blank(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_blank(v) for v in value.values())
    return value in (None, "", [], False)


def _read_one(f: FormField, form: Any, reading: _Reading) -> Any:
    if f.widget == "group":
        inner = _read(f.children, form, reading)
        return None if not f.required and _blank(inner) else inner
    if f.widget == "rows":
        kept: list[dict[str, Any]] = []
        shown: list[int] = []
        for index, row in enumerate(f.rows):
            inner = _read(row, form, reading)
            if not _blank(inner):
                kept.append(inner)
                shown.append(index)
        reading.rows[f.name] = shown
        return kept if kept or f.required else None
    if f.widget == "checkbox":
        return _get(form, f.name) not in ("", "0", "false", "off")
    text = _get(form, f.name)
    if f.widget == "lines":
        items: list[str] = []
        where: list[int] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                items.append(_decimal_text(line.strip()) if f.item is Decimal else line.strip())
                where.append(number)
        reading.lines[f.name] = where
        return items if items or f.required else None
    if f.widget == "pairs":
        pairs: dict[str, str] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            if not colon or not name.strip():
                reading.errors.setdefault(f.name, []).append(
                    f"Zeile {number}: bitte als „Name: Wert“ angeben."
                )
                continue
            pairs[name.strip()] = value.strip()
        return pairs if pairs or f.required else None
    if not text.strip():
        return None  # left empty: the model's default, or its "required" error
    if f.widget == "decimal":
        return _decimal_text(text.strip())
    return text


def parse_form(model: type[BaseModel], form: Mapping[str, Any] | Any) -> BaseModel:
    """The body model from the submitted form; ``FormErrors`` by input name if it is wrong."""
    fields = form_fields(model, rows=row_counts(form))
    reading = _Reading()
    data = _read(fields, form, reading)
    if reading.errors:
        raise FormErrors(reading.errors)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise FormErrors(_errors_of(error, fields, reading)) from None


def names_of(fields: Iterable[FormField]) -> list[str]:
    """Every input's name, nested ones included (a list of models: each row's)."""
    found: list[str] = []
    for f in fields:
        found.append(f.name)  # a fieldset shows what is wrong with it as a whole
        if f.widget == "group":
            found.extend(names_of(f.children))
        elif f.widget == "rows":
            for row in f.rows:
                found.extend(names_of(row))
    return found


def field_for(path: str, fields: Sequence[FormField]) -> str:
    """The input a dotted field path names (its nearest enclosing input); "" for none."""
    names = set(names_of(fields))
    parts = path.split(".") if path else []
    while parts:
        candidate = ".".join(parts)
        if candidate in names:
            return candidate
        parts.pop()
    return ""


def _errors_of(
    error: ValidationError, fields: Sequence[FormField], reading: _Reading
) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in error.errors():
        location = [str(part) for part in item["loc"]]
        # a list of models: the model's index is the n-th row kept, not the n-th shown
        for name, shown in reading.rows.items():
            depth = len(name.split("."))
            if location[:depth] == name.split(".") and len(location) > depth:
                index = int(location[depth])
                if index < len(shown):
                    location[depth] = str(shown[index])
        path = ".".join(location)
        target = field_for(path, fields)
        message = german(item)
        if target in reading.lines and len(location) > len(target.split(".")):
            index = int(location[len(target.split("."))])
            numbers = reading.lines[target]
            if index < len(numbers):
                message = f"Zeile {numbers[index]}: {message}"
        elif target in {f.name for f in fields if f.widget == "pairs"} and len(location) > 1:
            message = f"{location[-1]}: {message}"
        if not target and path:
            message = f"{path}: {message}"
        found.setdefault(target, []).append(message)
    return found


def german(item: Mapping[str, Any]) -> str:
    """A pydantic error in the console's words (the validator's own words where it has some)."""
    kind = str(item.get("type", ""))
    ctx = item.get("ctx") or {}
    fixed = {
        "missing": "Bitte ausfüllen.",
        "string_too_short": "Bitte ausfüllen.",
        "date_parsing": "Bitte ein gültiges Datum angeben.",
        "date_from_datetime_parsing": "Bitte ein gültiges Datum angeben.",
        "date_type": "Bitte ein gültiges Datum angeben.",
        "time_parsing": "Bitte eine gültige Uhrzeit angeben.",
        "int_parsing": "Bitte eine ganze Zahl angeben.",
        "int_from_float": "Bitte eine ganze Zahl angeben.",
        "decimal_parsing": "Bitte eine Zahl angeben, z. B. 12,50.",
        "literal_error": "Bitte eine der angebotenen Möglichkeiten wählen.",
        "enum": "Bitte eine der angebotenen Möglichkeiten wählen.",
        "uuid_parsing": "Bitte eine gültige Kennung angeben.",
        "bool_parsing": "Bitte ja oder nein angeben.",
        "extra_forbidden": "Dieses Feld ist hier nicht vorgesehen.",
    }
    if kind in fixed:
        return fixed[kind]
    if kind == "string_too_long":
        return f"Höchstens {ctx.get('max_length')} Zeichen."
    if kind == "too_short":
        least = ctx.get("min_length")
        return "Bitte mindestens einen Eintrag angeben." if least == 1 else f"Mindestens {least}."
    if kind == "string_pattern_mismatch":
        return "Bitte im vorgesehenen Format angeben."
    if kind == "too_long":
        return f"Höchstens {ctx.get('max_length')} Einträge."
    if kind in ("greater_than_equal", "greater_than"):
        return f"Mindestens {ctx.get('ge', ctx.get('gt'))}."
    if kind in ("less_than_equal", "less_than"):
        return f"Höchstens {ctx.get('le', ctx.get('lt'))}."
    if kind in ("decimal_max_places", "decimal_max_digits"):
        return "Zu viele Stellen (höchstens zwei Nachkommastellen)."
    message = str(item.get("msg", "Ungültig."))
    return message.removeprefix("Value error, ")


def declared_steps() -> list[Steps]:
    """Every declaration the API posts: the shared lifecycle's steps and each service's."""
    return [CASE_STEPS, *(d.steps for d in SERVICES.values() if d.steps is not None)]


def steps_for(service: str) -> list[Step]:
    """The steps a case of this service may take: its service's own, then the shared ones."""
    definition = SERVICES.get(service)
    own = list(definition.steps) if definition is not None and definition.steps else []
    return [*own, *CASE_STEPS]
