"""Commands declared once: what a step of an aggregate is, who may take it, where it is posted.

A ``Step`` is the whole declaration of one command: its name (the domain method it runs,
and the name of its route), its typed body, the roles that may give it, and where and how
the API offers it. ``step(body)`` is a ``Command``, the typed object the application's one
pipeline (``application/commands.py``) handles for every aggregate type: load, check the
expected version, run the domain method, save every changed aggregate once. The API builds
the route of each step from the same declaration, so nothing about a step is written twice.

Bodies are ``CommandBody`` models: unknown fields are refused, and no string anywhere holds
a NUL character (PostgreSQL cannot store one), so a step's body is checked the same way
on every database before any domain code sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Final, Protocol, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, field_validator

from domain.actor import Actor, Role, Scope

NUL: Final = "\x00"
NUL_MESSAGE: Final = "contains a NUL character (U+0000), which is not text"


def without_nul(value: Any, path: str = "") -> Any:
    """``value`` unchanged, or ``ValueError`` naming where inside it a NUL character is."""
    if isinstance(value, str):
        if NUL in value:
            raise ValueError(f"{path} {NUL_MESSAGE}" if path else NUL_MESSAGE)
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and NUL in key:
                raise ValueError(f"a key {NUL_MESSAGE}")
            without_nul(item, inner)
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            without_nul(item, f"{path}[{index}]" if path else f"[{index}]")
    return value


def storable(text: str) -> str:
    """Refuse text that cannot be stored as UTF-8 (lone surrogates from JSON escapes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains characters that are not valid text") from None
    return text


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=5000),
    AfterValidator(storable),
]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(storable),
]


class CommandBody(BaseModel):
    """Request bodies refuse unknown fields, so a typo is an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """No string anywhere in a body holds NUL (PostgreSQL cannot store it): 422."""
        return without_nul(value)


@dataclass(frozen=True, slots=True)
class Acting:
    """Who gives a command and at which business time; ``context`` serves custom steps."""

    actor: Actor
    at: datetime
    context: Any = None  # the application's services a custom step may use (holdings, staff)


A = TypeVar("A", bound=Aggregate)


class SharedAggregates(Protocol):
    """What a custom step may load besides its own aggregate: aggregates cases share.

    The holdings of resident parking (one permit per plate and per resident), and in time
    graves, offerings with limited places, meters: each is found by its town and a key.
    """

    def keyed(
        self, aggregate_type: type[A], tenant: str, key: str, start: Callable[[UUID], A]
    ) -> A:
        """The town's aggregate of this type and key; ``start(its id)`` when there is none yet."""

    def identified(
        self, aggregate_type: type[A], aggregate_id: UUID, start: Callable[[UUID], A]
    ) -> A:
        """The aggregate of this type whose id is public (a grave's); ``start(id)`` if none yet."""

    def referenced(self, aggregate_type: type[A], reference: str) -> A:
        """The case of this type with this reference (``USI-2026-000012``).

        None such: ``InvalidCommand("reference", ...)``.
        """

    def key_of(self, tenant: str, kind: str, key: str) -> UUID:
        """The town's keyed id of a personal identifier of a kind (a child's name and birth
        day): an HMAC under the town's key, so the identifier itself is never stored."""


# A custom step: runs the domain command and returns the other aggregates it changed.
Runner = Callable[[Any, Any, Acting], Sequence[Aggregate]]


def fields_of(body: BaseModel | None) -> dict[str, Any]:
    """A body's fields as keyword arguments, with their parsed types (dates, decimals)."""
    if body is None:
        return {}
    return {name: getattr(body, name) for name in type(body).model_fields}


@dataclass(frozen=True, kw_only=True)
class Step:
    """One command of an aggregate type, declared once for the pipeline and the API."""

    name: str  # the route's name; the domain method's too unless ``method`` says otherwise
    path: str  # below the aggregate type's collection, e.g. "/{case_id}/signs-up"
    summary: str
    description: str = ""
    roles: tuple[Role, ...]
    integrator_scope: Scope | None = None
    body: type[BaseModel] | None = None
    body_optional: bool = False  # the body may be left out (every field has a default)
    aggregate: type[Aggregate] | None = None  # None: a case of any service
    method: str = ""
    arguments: Callable[[Any], Mapping[str, Any]] = fields_of  # body → domain keywords
    run: Runner | None = None  # instead of calling ``method`` with ``arguments``
    retry_lost_race: bool = False  # joint saves: a lost race is decided again, fresh
    holder_only: bool = False  # the domain method refuses anyone but the case's holder
    extra: Mapping[str, Any] = field(default_factory=dict)  # more route options (responses)

    @property
    def command_name(self) -> str:
        """The domain method the step runs, as the lifecycle names its commands."""
        return self.method or self.name

    def __call__(self, body: BaseModel | None = None) -> Command:
        """The step as a command with this body."""
        if body is not None and self.body is not None and not isinstance(body, self.body):
            raise TypeError(f"{self.name} takes a {self.body.__name__}, not {type(body).__name__}")
        return Command(self, body)

    def execute(self, aggregate: Any, body: BaseModel | None, acting: Acting) -> Sequence[Any]:
        """Run the domain command on ``aggregate``; the other aggregates it changed."""
        if self.run is not None:
            return self.run(aggregate, body, acting)
        method = getattr(aggregate, self.command_name)
        method(actor=acting.actor, at=acting.at, **self.arguments(body))
        return ()


@dataclass(frozen=True, slots=True)
class Command:
    """A typed command: the step it takes and its body."""

    step: Step
    body: BaseModel | None = None


@dataclass(frozen=True)
class Steps:
    """The steps of one case type or service, under the tag their routes are listed by."""

    tag: str
    steps: tuple[Step, ...]

    def __iter__(self) -> Any:
        return iter(self.steps)

    def named(self, name: str) -> Step:
        """The step of this name."""
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)
