"""The `data` of the feed's market events (`GET /api/v1/feed/types` documents it).

A town's markets (Kerb, Weihnachtsmarkt, #28) are published per market for trade and
booking systems: what was published (days, pitches, categories wanted, the selection
criteria and their weights, the deadline and the day refusals are decided by), the
selection's counts, and each pitch given up, offered to the next in rank and assigned.
Ids, pitch numbers, days and counts only: never a trader, a business's name, a contact, a
score sheet, the selection's seed or lots, a free-text reason, or the staff who did it.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class MarketLinks(BaseModel):
    """Where to read more."""

    market: str = Field(description="The market resource (public).")
    case: str | None = Field(
        default=None,
        description="On the pitch events: the stall application case (needs a token that may "
        "read it)",
    )


class PublishedPitch(BaseModel):
    """One pitch of the market's pitch plan (Standplatzplan)."""

    number: str = Field(description="The pitch's number on the plan, e.g. A-03")
    frontage_m: str = Field(description="Its frontage in metres (decimal text)")
    electricity: bool = Field(description="A power connection at the pitch")
    water: bool = Field(description="A water connection at the pitch")
    categories: list[str] = Field(description="The product categories the pitch may hold")


class PublishedCriterion(BaseModel):
    """One published selection criterion (§ 70 (3) GewO) and its weight."""

    key: str
    label: str
    weight: str = Field(description="Its weight (decimal text)")
    kind: str = Field(
        description="scored (the staff's score sheet), attendance (years, 'bekannt und "
        "bewährt'), category_need (a category wanted), newcomer (no year of attendance)"
    )
    max_points: int


class MarketEventData(BaseModel):
    """The `data` of every market event (`subject` is the market id): a town's Kerb or
    Christmas market and how its pitches went. Ids, pitch numbers, days and counts only.
    """

    tenant: str = Field(description="The town, e.g. usingen")
    market_id: str = Field(description="The market's id: a UUIDv5 of town, year and code")
    year: int = Field(description="The market's year")
    code: str = Field(description="The market's code in the town's calendar, e.g. KERB")
    kind: str = Field(description="kerb, christmas_market or other")
    first_day: date = Field(description="The market's first day")
    last_day: date = Field(description="The market's last day")
    pitches: int = Field(description="Pitches on the plan")
    service: str = Field(description="Always market-stall")
    version: int = Field(description="The market's version the event recorded")
    links: MarketLinks
    name: str | None = Field(default=None, description="On market_published")
    regime: str | None = Field(
        default=None,
        description="On market_published: festgesetzt (§ 69 GewO) or town_rules (the town's "
        "Marktsatzung)",
    )
    site: str | None = Field(default=None, description="On market_published: where it is held")
    days: list[date] | None = Field(default=None, description="On market_published: every day")
    pitch_plan: list[PublishedPitch] | None = Field(
        default=None, description="On market_published: the pitches offered"
    )
    categories: list[str] | None = Field(
        default=None, description="On market_published: the product categories wanted"
    )
    criteria_version: str | None = Field(
        default=None,
        description="On market_published and market_selection_made: the version of the "
        "published criteria",
    )
    criteria: list[PublishedCriterion] | None = Field(
        default=None, description="On market_published: the selection criteria and weights"
    )
    newcomer_share: str | None = Field(
        default=None,
        description="On market_published: the share of pitches filled first from newcomers "
        "in rank order (decimal text, 0 to 0.5)",
    )
    applications_from: datetime | None = Field(
        default=None, description="On market_published: applications are taken from"
    )
    deadline: datetime | None = Field(
        default=None, description="On market_published: the application deadline (final)"
    )
    decisions_by: date | None = Field(
        default=None,
        description="On market_published: admissions and refusals are decided by this day, "
        "early enough before the first day for interim relief (§ 123 VwGO)",
    )
    offer_days: int | None = Field(
        default=None,
        description="On market_published: days a trader has to accept a pitch offered on move-up",
    )
    selected_at: datetime | None = Field(default=None, description="On market_selection_made")
    algorithm: str | None = Field(
        default=None,
        description="On market_selection_made: the selection's algorithm and version, e.g. "
        "standplatzvergabe-2 (the seed and lots stay with the record, for the auditors' replay)",
    )
    applications: int | None = Field(
        default=None, description="On market_selection_made: applications taking part"
    )
    admitted: int | None = Field(
        default=None, description="On market_selection_made: applications given a pitch"
    )
    refused: int | None = Field(
        default=None, description="On market_selection_made: applications refused"
    )
    pitches_free: int | None = Field(
        default=None, description="On market_selection_made: pitches left free"
    )
    case_id: str | None = Field(
        default=None,
        description="On market_pitch_given_up, market_pitch_offered, market_pitch_assigned: "
        "the stall application case",
    )
    pitch: str | None = Field(
        default=None,
        description="On market_pitch_given_up, market_pitch_offered, market_pitch_assigned: "
        "the pitch's number",
    )
    until: datetime | None = Field(
        default=None, description="On market_pitch_offered: the offer stands until"
    )
    because_of: str | None = Field(
        default=None,
        description="On market_pitch_offered: the case that gave the pitch up, declined it or "
        "let the offer before run out",
    )
