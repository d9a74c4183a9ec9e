"""The bodies and answers of the markets' routes (#28): what integrators read in the document.

A market's published facts (days, site, pitches, categories wanted, criteria and weights,
window, deadline, ``decisions_by``) are public and name nobody; the staff's lists (the
applications with their rank and outcome, the score sheets, the pitches) name the case and
the business, never a person beyond what the case shows its staff.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.commands import CommandBody, ShortText

__all__ = [
    "ApplicationRowOut",
    "CriteriaIn",
    "CriterionIn",
    "MarketOut",
    "MarketSelectionReplayOut",
    "PitchIn",
    "PitchRowOut",
    "PublishMarket",
    "ScoreSheetRowOut",
    "SelectionOut",
]

Category = Literal["food", "drinks", "crafts", "christmas_goods", "ride", "games", "other"]
CriterionKind = Literal["scored", "attendance", "category_need", "newcomer"]
Frontage = Annotated[
    Decimal,
    Field(gt=0, le=100, max_digits=5, decimal_places=2, description="Metres of frontage."),
]
StaffId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    Field(description="A member of staff as the identity provider names them (their id)."),
]

EXAMPLE: dict[str, Any] = {
    "year": 2027,
    "code": "KERB-27",
    "name": "Usinger Kerb",
    "kind": "kerb",
    "regime": "festgesetzt",
    "days": ["2027-08-27", "2027-08-28", "2027-08-29"],
    "site": "Marktplatz und Obergasse",
    "pitches": [
        {
            "number": "1",
            "frontage_m": "4.00",
            "electricity": True,
            "water": True,
            "categories": ["food", "drinks"],
        },
        {
            "number": "2",
            "frontage_m": "8.00",
            "electricity": True,
            "water": False,
            "categories": ["ride", "games"],
        },
    ],
    "categories": ["food", "drinks", "ride", "games"],
    "criteria": {
        "version": "2027-1",
        "criteria": [
            {
                "key": "attraktivitaet",
                "label": "Attraktivität des Geschäfts",
                "weight": "3",
                "kind": "scored",
                "max_points": 10,
            },
            {
                "key": "bekannt_bewaehrt",
                "label": "Bekannt und bewährt",
                "weight": "1",
                "kind": "attendance",
                "max_points": 5,
            },
        ],
    },
    "newcomer_share": "0.2",
    "applications_from": "2027-01-04T08:00:00+01:00",
    "deadline": "2027-03-31T23:59:59+02:00",
    "decisions_by": "2027-05-31",
    "offer_days": 7,
    "staff": ["clerk.usingen"],
}


# ------------------------------------------------------------------ bodies


class PitchIn(CommandBody):
    """A pitch (Standplatz): its number, frontage, utilities and the categories it holds."""

    number: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=20),
        Field(description="Unique in the market, e.g. '12' or 'A-3'."),
    ]
    frontage_m: Frontage
    electricity: bool = False
    water: bool = False
    categories: list[Category] = Field(min_length=1, max_length=7)


class CriterionIn(CommandBody):
    """A published selection criterion (§ 70 (3) GewO) and its weight."""

    key: Annotated[
        str,
        StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]{0,39}$"),
        Field(description="The criterion's key on score sheets (a-z, 0-9, '_')."),
    ]
    label: ShortText
    weight: Decimal = Field(gt=0, le=1000, max_digits=8, decimal_places=4)
    kind: CriterionKind = Field(
        description="scored: staff give 0..max_points on the score sheet; attendance: years "
        "of attendance ('bekannt und bewährt'), capped; category_need: max_points for a "
        "category wanted; newcomer: max_points for no year of attendance."
    )
    max_points: int = Field(ge=1, le=100)


class CriteriaIn(CommandBody):
    """The published criteria of the selection, as a version."""

    version: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    criteria: list[CriterionIn] = Field(min_length=1, max_length=20)


class PublishMarket(CommandBody):
    """A market of the caller's town in its calendar of a year."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    year: int = Field(ge=2000, le=2100, description="The calendar's year.")
    code: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=20),
        Field(description="The market's code in the calendar (upper case; unique)."),
    ]
    name: ShortText
    kind: Literal["kerb", "christmas_market", "other"]
    regime: Literal["festgesetzt", "town_rules"] = Field(
        description="festgesetzt: a market fixed under § 69 GewO (§ 70 GewO applies); "
        "town_rules: under the town's Marktsatzung."
    )
    days: list[date] = Field(min_length=1, max_length=31)
    site: ShortText
    pitches: list[PitchIn] = Field(min_length=1, max_length=500)
    categories: list[Category] = Field(
        min_length=1, max_length=7, description="The product categories wanted."
    )
    criteria: CriteriaIn
    newcomer_share: Decimal = Field(
        ge=0,
        le=Decimal("0.5"),
        max_digits=5,
        decimal_places=4,
        description="Share of the pitches filled first from newcomers in rank order.",
    )
    applications_from: datetime
    deadline: datetime = Field(description="Final: never extended or moved.")
    decisions_by: date = Field(
        description="Every trader knows the outcome by then (at least 21 days before the "
        "first market day, for interim relief)."
    )
    offer_days: int = Field(ge=1, le=14, description="Days to accept a pitch offered.")
    staff: list[StaffId] = Field(
        min_length=1, max_length=50, description="The members of staff who keep the market."
    )


# ------------------------------------------------------------------ answers


class PitchOut(BaseModel):
    """A pitch as published."""

    number: str
    frontage_m: Decimal
    electricity: bool
    water: bool
    categories: list[str]


class CriterionOut(BaseModel):
    """A published criterion and its weight."""

    key: str
    label: str
    weight: Decimal
    kind: str
    max_points: int


class CriteriaOut(BaseModel):
    """The published criteria, as a version."""

    version: str
    criteria: list[CriterionOut]


class MarketOut(BaseModel):
    """A market: its published facts, its window now (no personal data)."""

    id: UUID
    tenant: str
    year: int
    code: str
    name: str
    kind: str
    regime: str
    days: list[date]
    site: str
    pitches: list[PitchOut]
    categories: list[str]
    criteria: CriteriaOut
    newcomer_share: Decimal
    applications_from: datetime
    deadline: datetime
    decisions_by: date
    offer_days: int
    window: Literal["not_yet_open", "open", "closed"]
    applications: int = Field(description="Applications recorded (withdrawn ones included).")
    assigned: int = Field(description="Pitches assigned now.")
    selected_at: datetime | None
    version: int


class SelectionOut(BaseModel):
    """A recorded selection: what an auditor needs to run it again."""

    model_config = ConfigDict(extra="allow")

    selected_at: datetime | None
    algorithm: str
    seed: str
    criteria_version: str
    weights: dict[str, Any]
    results: list[Any] = Field(
        description="Per application in rank order: points, total, lot, rank, outcome, "
        "pitch or reasons."
    )


class MarketSelectionReplayOut(BaseModel):
    """The recorded selection run again from its recorded inputs."""

    market: UUID
    algorithm: str | None
    verdict: Literal["same", "differs", "not_replayable"]
    differences: list[Any]


class OfferOut(BaseModel):
    """A pitch given up, offered to the next in rank until a moment."""

    pitch: str | None = None
    case_id: UUID | None = None
    until: datetime


class ApplicationRowOut(BaseModel):
    """An application of the market with its case and where it stands."""

    case_id: UUID
    reference: str
    business: str | None
    category: str
    frontage_m: Decimal
    electricity: bool
    water: bool
    years_of_attendance: int
    withdrawn: bool
    scored: bool = Field(description="A score sheet is recorded.")
    rank: int | None
    total: Decimal | None
    outcome: Literal["admitted", "refused"] | None
    pitch: str | None = Field(description="The pitch the application holds now.")
    offered: OfferOut | None = Field(description="A pitch offered to it now.")


class ScoreSheetRowOut(BaseModel):
    """An application's latest score sheet, and what it still lacks (its note is in the
    case's history)."""

    case_id: UUID
    reference: str
    points: dict[str, int]
    criteria_version: str | None
    scored_by: str | None
    scored_at: datetime | None
    missing: list[str] = Field(description="Scored criteria without points yet.")


class PitchRowOut(PitchOut):
    """A pitch with the case it is assigned to and an open offer of it."""

    case_id: UUID | None
    offered_to: OfferOut | None
