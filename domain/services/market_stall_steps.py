"""A market stall application's steps, its record at submission, its example and its timer.

The case (domain/services/market_stall.py) decides; these are the commands the API posts
for it (each saved with the market in one save, decided again after a lost race), the
service's step in the submission's save (the application recorded on the market), the
catalogue's example per town (a market open for applications now), the tariff the catalogue
shows, and the timer kind that lets an unanswered offer lapse (``market_pitch_offer_expires``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Final, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate
from pydantic import ConfigDict, Field

from domain.actor import Actor, Role
from domain.case import Case
from domain.case_steps import APPLICANT_AND_STAFF, STAFF
from domain.commands import Acting, CommandBody, SharedAggregates, Step, Steps, Text
from domain.errors import InvalidCommand
from domain.markets.market import Market, Pitch, required_documents
from domain.personal_data import PersonalData
from domain.rules import market_fees
from domain.rules.versions import UnknownRulesVersion
from domain.services.market_stall import (
    FEE_LEGAL_BASIS,
    MarketStallApplication,
    Standing,
    move_up_actor,
)
from domain.services.parking_decisions import RevocationGround
from domain.tenants import TENANTS
from domain.timers import TIMER_KINDS, Due, Fires, Readiness, RunCommand, TimerKind
from domain.working_days import BERLIN, berlin_date

# ------------------------------------------------------------------- shared aggregates


class _NotStored(Exception):
    """No aggregate of the id is stored."""


def _not_stored(_id: UUID) -> Any:
    raise _NotStored


def stored_market(shared: SharedAggregates, tenant: str, market: UUID) -> Market:
    """The town's market of this id (else refused naming ``data.market``)."""
    found: Aggregate | None
    try:
        # any type: an id of another kind of aggregate is no market either (422, not 404)
        found = shared.identified(Aggregate, market, _not_stored)
    except _NotStored:
        found = None
    if not isinstance(found, Market) or found.tenant != tenant:
        raise InvalidCommand("data.market", "no market of the town has this id")
    return found


def market_met_at(_tenant: str, data: Mapping[str, Any]) -> str | None:
    """The market an application of these data records on (applications of one market are
    decided in turn within a process: the moment a window opens, many arrive)."""
    market = data.get("market")
    return None if market is None else f"market:{market}"


TRADER_KIND: Final = "MarketTrader"


def trader_keys(
    case: MarketStallApplication, market: Market, actor: Actor, shared: SharedAggregates
) -> list[str]:
    """Who applies, as keyed ids (HMAC under the town's key, never stored as text): the
    portal account that submits (not a clerk filing at the counter for several traders),
    and the business by its name and address (case, spacing and punctuation ignored: two
    businesses of a common name elsewhere are two traders) — one application each."""
    keys = []
    if actor.role is Role.APPLICANT:
        account = f"{market.id}|account|{case.submitted_by}"
        keys.append(shared.key_of(case.tenant, TRADER_KIND, account).hex)
    business = case.application.business
    name = _normal(business.name, "data.business.name")
    address = _normal(business.address, "data.business.address")
    keyed = f"{market.id}|business|{name}|{address}"
    keys.append(shared.key_of(case.tenant, TRADER_KIND, keyed).hex)
    return keys


def _normal(value: Any, field: str) -> str:
    """A personal value's text as a key reads it: case, spacing and punctuation ignored."""
    text = value.value if isinstance(value, PersonalData) else value
    if not isinstance(text, str):
        raise InvalidCommand(field, "erased")
    words = "".join(c if c.isalnum() else " " for c in text.casefold())
    return " ".join(words.split())


def apply_at_submission(case: Case, acting: Acting) -> Sequence[Aggregate]:
    """The service's step in the submission's save: record the application on the market
    with the keyed ids of the trader (one application per trader and market)."""
    if not isinstance(case, MarketStallApplication):
        raise InvalidCommand("service", "not a market stall application")
    shared: SharedAggregates = acting.context
    market = stored_market(shared, case.tenant, UUID(str(case.application.market)))
    traders = trader_keys(case, market, acting.actor, shared)
    case.apply_at(market, actor=acting.actor, at=acting.at, traders=traders)
    return [market]


def _market_of(case: MarketStallApplication, acting: Acting) -> Market:
    if case.market_id is None:
        raise InvalidCommand("market", "the application is not recorded on a market")
    return stored_market(acting.context, case.tenant, case.market_id)


def _offered(
    case: MarketStallApplication, market: Market, following: UUID | None, acting: Acting
) -> list[Aggregate]:
    """The market and the case it offers the pitch to now, the offer noted on it."""
    if following is None:
        return [market]
    shared: SharedAggregates = acting.context
    if following == case.id:  # never: a case that passed is not offered again
        raise InvalidCommand("market", "the market offered the pitch to the same case")
    try:
        other = shared.identified(MarketStallApplication, following, _not_stored)
    except _NotStored:
        raise InvalidCommand("market", f"application {following} is not stored") from None
    if other.standing != Standing.REFUSED or other.offer is not None:
        # The case changed after the market was loaded (its standing changes only in a save
        # with its market): the market is stale, so this save fails on its version and the
        # step is decided again from a fresh load.
        return [market]
    other.note_pitch_offered(
        market, actor=move_up_actor(case.tenant), at=acting.at, because_of=case.id
    )
    return [market, other]


# ------------------------------------------------------------------- bodies


Points = Annotated[int, Field(ge=0, le=100)]


class ScoreSheet(CommandBody):
    """Points per scored criterion of the market's published criteria, and a note."""

    points: dict[str, Points] = Field(min_length=1, max_length=20)
    note: Text

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "points": {"attractiveness": 8, "product_range": 6},
                    "note": "Handgefertigte Holzspielwaren, gepflegter Stand; Fotos liegen vor.",
                }
            ]
        },
    )


class StallWithdrawal(CommandBody):
    """Why the application is withdrawn (optional)."""

    reason: Text | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Wir nehmen dieses Jahr nicht teil."}]},
    )


class StallReason(CommandBody):
    """Why: a pitch given up or revoked, an offer declined."""

    reason: Text

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Krankheitsbedingt kann ich nicht kommen."}]},
    )


class PitchRevocation(CommandBody):
    """Widerruf of the admission on a ground of § 49 (2) HVwVfG, with hearing, discretion
    and the order of immediate enforcement (the pitch passes on at once)."""

    ground: RevocationGround = Field(
        description="§ 49 (2) sentence 1 HVwVfG: requirement_not_met (no. 2: a condition of "
        "the admission not met), facts_changed (no. 3), law_changed (no. 4), serious_harm "
        "(no. 5). An admission reserves no revocation (no. 1)."
    )
    reason: Text = Field(description="The facts the revocation rests on.")
    facts_known_since: date = Field(
        description="When the town learnt them: revoked within a year (§ 48 (4) HVwVfG)."
    )
    discretion: Text = Field(description="The considerations (§ 39 (1) sentence 3 HVwVfG).")
    immediate_enforcement: Text = Field(
        description="The special reasons for immediate enforcement (§ 80 (3) VwGO): the pitch "
        "is offered to the next in rank at once."
    )
    hearing_held_on: date | None = Field(default=None, description="§ 28 (1) HVwVfG")
    hearing_not_needed_because: Text | None = Field(
        default=None, description="Why no hearing was needed (§ 28 (2) HVwVfG)."
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "ground": "requirement_not_met",
                    "reason": "Die Betriebshaftpflicht ist seit 01.11.2026 gekündigt; ein "
                    "neuer Nachweis wurde trotz Aufforderung nicht vorgelegt.",
                    "facts_known_since": "2026-11-05",
                    "discretion": "Ohne Versicherung gefährdet der Stand Besucher; ein "
                    "milderes Mittel besteht nicht.",
                    "immediate_enforcement": "Der Markt beginnt in drei Wochen; der Platz "
                    "muss vorher vergeben werden.",
                    "hearing_held_on": "2026-11-12",
                }
            ]
        },
    )


# ------------------------------------------------------------------- runners


def _score(case: MarketStallApplication, body: ScoreSheet, acting: Acting) -> Sequence[Aggregate]:
    case.check_allowed("score_application")
    market = _market_of(case, acting)
    case.score_application(
        actor=acting.actor, at=acting.at, market=market, points=body.points, note=body.note
    )
    return ()  # the market is read, not changed


def _withdraw(
    case: MarketStallApplication, body: StallWithdrawal | None, acting: Acting
) -> Sequence[Aggregate]:
    case.check_allowed("withdraw_application")
    market = _market_of(case, acting)
    reason = body.reason if body is not None else None
    case.withdraw_application(actor=acting.actor, at=acting.at, market=market, reason=reason)
    return [market]


def _give_up(
    case: MarketStallApplication, body: StallReason, acting: Acting
) -> Sequence[Aggregate]:
    case.check_allowed("give_up_pitch")
    market = _market_of(case, acting)
    following = case.give_up_pitch(
        actor=acting.actor, at=acting.at, market=market, reason=body.reason
    )
    return _offered(case, market, following, acting)


def _revoke(
    case: MarketStallApplication, body: PitchRevocation, acting: Acting
) -> Sequence[Aggregate]:
    case.check_allowed("revoke_pitch")
    market = _market_of(case, acting)
    following = case.revoke_pitch(
        actor=acting.actor,
        at=acting.at,
        market=market,
        ground=body.ground,
        reason=body.reason,
        facts_known_since=body.facts_known_since,
        discretion=body.discretion,
        immediate_enforcement=body.immediate_enforcement,
        hearing_held_on=body.hearing_held_on,
        hearing_not_needed_because=body.hearing_not_needed_because,
    )
    return _offered(case, market, following, acting)


class RemedyAdmission(CommandBody):
    """The admission after the refusal was set aside on objection: a free pitch."""

    reason: Text = Field(description="Why: the remedy or Widerspruchsbescheid it follows.")
    pitch: str | None = Field(
        default=None,
        max_length=20,
        description="A free pitch that fits; without, the free one that fits best.",
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "Abhilfe vom 03.11.2026: Punkte neu bewertet."}]
        },
    )


def _admit_on_remedy(
    case: MarketStallApplication, body: RemedyAdmission, acting: Acting
) -> Sequence[Aggregate]:
    case.check_allowed("admit_on_remedy")
    market = _market_of(case, acting)
    case.admit_on_remedy(
        actor=acting.actor, at=acting.at, market=market, reason=body.reason, pitch=body.pitch
    )
    return [market]


def _accept(case: MarketStallApplication, _body: None, acting: Acting) -> Sequence[Aggregate]:
    case.check_allowed("accept_pitch_offer")
    market = _market_of(case, acting)
    case.accept_pitch_offer(actor=acting.actor, at=acting.at, market=market)
    return [market]


def _decline(
    case: MarketStallApplication, body: StallReason, acting: Acting
) -> Sequence[Aggregate]:
    case.check_allowed("decline_pitch_offer")
    market = _market_of(case, acting)
    following = case.decline_pitch_offer(
        actor=acting.actor, at=acting.at, market=market, reason=body.reason
    )
    return _offered(case, market, following, acting)


def _expire(case: MarketStallApplication, _body: None, acting: Acting) -> Sequence[Aggregate]:
    case.check_allowed("expire_pitch_offer")
    market = _market_of(case, acting)
    following = case.expire_pitch_offer(actor=acting.actor, at=acting.at, market=market)
    return _offered(case, market, following, acting)


def stall_step(name: str, path: str, summary: str, **more: Any) -> Step:
    """A market stall step: saved with the market (and the case offered a pitch next),
    decided again on a lost race."""
    return Step(
        name=name,
        path="/{case_id}/" + path,
        summary=summary,
        aggregate=MarketStallApplication,
        **{"roles": APPLICANT_AND_STAFF, "retry_lost_race": True, **more},
    )


EXPIRE_PITCH_OFFER: Final = stall_step(
    "expire_pitch_offer",
    "pitch-offer-expiry",
    "Market stall: record that a pitch offer lapsed",
    description="The offer ran out unanswered: the refusal stands and the pitch is offered "
    "to the next in rank that fits, in the same save. The scheduler records it the day after "
    "the offer's last day; staff may record it too, never before.",
    roles=STAFF,
    run=_expire,
)

STEPS: Final = Steps(
    "market stall",
    (
        stall_step(
            "score_application",
            "score-sheet",
            "Market stall: record the score sheet",
            description="After the deadline, before the selection: points per scored criterion "
            "of the market's published criteria (0 to the criterion's maximum) and a note. A "
            "later sheet replaces an earlier one; who scored is recorded.",
            roles=STAFF,
            body=ScoreSheet,
            run=_score,
        ),
        stall_step(
            "withdraw_application",
            "application-withdrawal",
            "Market stall: withdraw the application",
            description="Before the selection: the application is withdrawn on the market "
            "too, in the same save.",
            body=StallWithdrawal,
            body_optional=True,
            run=_withdraw,
        ),
        stall_step(
            "give_up_pitch",
            "pitch-give-up",
            "Market stall: give up the pitch",
            description="Before the first market day, by the trader (the town revokes the "
            "admission instead: pitch-revocation): the pitch is offered to the next in rank "
            "that fits, in the same save. The deposit is withdrawn; the pitch fee and "
            "utilities too when given up before the market's decisions_by day.",
            body=StallReason,
            run=_give_up,
        ),
        stall_step(
            "revoke_pitch",
            "pitch-revocation",
            "Market stall: revoke the admission (Widerruf)",
            description="Before the first market day, by the town's staff: a decision of its "
            "own on a ground of § 49 (2) HVwVfG, with the hearing (or why none was needed), "
            "the considerations and the order of immediate enforcement; notified with the "
            "remedy notice. The pitch is offered to the next in rank that fits, in the same "
            "save; every charge of the admission is withdrawn.",
            roles=STAFF,
            body=PitchRevocation,
            run=_revoke,
        ),
        stall_step(
            "admit_on_remedy",
            "remedy-admission",
            "Market stall: admit with a free pitch after the objection was granted",
            description="Once the refusal was set aside on objection (a remedy or a "
            "Widerspruchsbescheid granting it, with a new decision): the pitch named, or the "
            "free pitch that fits best, is assigned and the case decides the admission with "
            "its fee. A pitch assigned or on offer is never taken; with none free that fits, "
            "refused naming pitch.",
            roles=STAFF,
            body=RemedyAdmission,
            run=_admit_on_remedy,
        ),
        stall_step(
            "accept_pitch_offer",
            "pitch-offer-acceptance",
            "Market stall: accept the pitch offered",
            description="While the offer runs: the pitch is assigned and the case decides the "
            "admission anew (the refusal gives way), with the pitch's fee charged.",
            run=_accept,
        ),
        stall_step(
            "decline_pitch_offer",
            "pitch-offer-refusal",
            "Market stall: decline the pitch offered",
            description="The refusal stands; the pitch is offered to the next in rank that "
            "fits, in the same save.",
            body=StallReason,
            run=_decline,
        ),
        EXPIRE_PITCH_OFFER,
    ),
)


# ------------------------------------------------------------------- timer


def offer_lapse_ready(case: Any, today: date) -> Readiness:
    """Due once the offer's last day has passed; done when no offer is open."""
    if not isinstance(case, MarketStallApplication) or case.offer is None:
        return Readiness.DONE
    if today <= berlin_date(case.offer["until"]):
        return Readiness.NOT_YET
    return Readiness.DUE


PITCH_OFFER_EXPIRES: Final = TimerKind(
    name="market_pitch_offer_expires",
    summary="A pitch offered on move-up was not accepted in time: the offer lapses and the "
    "pitch is offered to the next in rank.",
    fires=Fires.DAY_AFTER,
    action=RunCommand(EXPIRE_PITCH_OFFER, offer_lapse_ready),
)


@PITCH_OFFER_EXPIRES.on(MarketStallApplication.PitchOfferNoted)
def _offer_noted(event: MarketStallApplication.PitchOfferNoted, due: Due) -> Due:
    return Due(berlin_date(event.until))


PITCH_OFFER_EXPIRES.ends_on(
    MarketStallApplication.PitchOfferAccepted,
    MarketStallApplication.PitchOfferDeclined,
    MarketStallApplication.PitchOfferExpired,
    Case.Withdrawn,
    Case.Closed,
)

TIMER_KINDS.register(PITCH_OFFER_EXPIRES)


# ------------------------------------------------------------------- the example


class MarketSummary(Protocol):
    """What the example needs of a market open for applications (the market has it, and so
    may a read model's row): id, town, code, first day, regime, categories and pitches."""

    @property
    def id(self) -> UUID: ...

    @property
    def tenant(self) -> str: ...

    @property
    def code(self) -> str: ...

    @property
    def first_day(self) -> date: ...

    @property
    def regime(self) -> str: ...

    @property
    def categories(self) -> Sequence[str]: ...

    @property
    def pitches(self) -> Sequence[Pitch]: ...


class OpenMarkets(Protocol):
    """What the catalogue's example needs: the town's markets open for applications."""

    def markets_open_in(self, tenant: str, at: datetime) -> Sequence[MarketSummary]:
        """The town's markets whose application window is open at ``at``."""
        ...


DOCUMENT_REFERENCES: Final = {
    "trade_licence": "Reisegewerbekarte Nr. 12/2024, Stadt Bad Homburg",
    "liability_insurance": "Betriebshaftpflicht, Police 4711-0815, gültig bis 31.12.2027",
    "food_hygiene": "Belehrung nach § 43 IfSG, Gesundheitsamt Hochtaunuskreis, 2024-03-12",
    "ride_approval": "Ausführungsgenehmigung 2019-117, Gebrauchsabnahme 2026-04",
}
PRODUCT_RANGES: Final = {
    "food": "Bratwurst, Reibekuchen",
    "drinks": "Glühwein, Kinderpunsch, Apfelwein",
    "crafts": "Handgefertigte Holzspielwaren",
    "christmas_goods": "Christbaumschmuck, Kerzen",
    "ride": "Kinderkarussell",
    "games": "Entenangeln",
    "other": "Honig aus dem Usinger Land",
}


def example(on: date) -> dict[str, Any]:
    """The form's shape (an application is accepted only while a market of the town is
    open for applications: ``town_examples`` names one)."""
    return _example_for(None)


def _example_for(market: MarketSummary | None) -> dict[str, Any]:
    category, frontage, regime, market_ref = "crafts", Decimal("3.00"), "festgesetzt", UUID(int=0)
    if market is not None:
        market_ref, regime = market.id, market.regime
        held = [(c, p) for c in market.categories for p in market.pitches if c in p.categories]
        if held:
            category, pitch = min(held, key=lambda cp: (cp[1].frontage_m, cp[1].number))
            frontage = min(pitch.frontage_m, Decimal("3.00"))
    documents = [
        {"kind": kind, "reference": DOCUMENT_REFERENCES[kind]}
        for kind in required_documents(category, regime)
    ]
    # A business not yet applying (a trader applies once per market: ``trader_keys``): the
    # market's version changes with every application recorded, and so does the name.
    version = getattr(market, "version", None)
    business = "Holzwerkstatt Beispiel" + (f" {version}" if isinstance(version, int) else "")
    return {
        "market": str(market_ref),
        "business": {
            "name": business,
            "legal_form": "sole_trader",
            "address": "Obergasse 12, 61250 Usingen",
        },
        "contact": {"name": "Eva Beispiel", "phone": "06081 123456", "email": "eva@example.org"},
        "product_range": PRODUCT_RANGES.get(category, "Waren des Marktes"),
        "category": category,
        "frontage_m": str(frontage),
        "depth_m": "2.50",
        "electricity": False,
        "water": False,
        "years_of_attendance": 0,
        "documents": documents,
    }


def town_examples(on: date | datetime, markets: OpenMarkets) -> dict[str, dict[str, Any]]:
    """Per town, an application it accepts now: for its first market open for applications
    (a category it wants, a frontage a pitch of the category holds, no utilities, the
    documents its regime and the category require); towns with none open have no example.
    ``on``: the moment (a day alone: its noon in Berlin)."""
    at = on if isinstance(on, datetime) else datetime.combine(on, time(12), tzinfo=BERLIN)
    found: dict[str, dict[str, Any]] = {}
    for tenant in TENANTS:
        open_now = sorted(markets.markets_open_in(tenant, at), key=lambda m: (m.first_day, m.code))
        if open_now:
            found[tenant] = _example_for(open_now[0])
    return found


# ------------------------------------------------------------------- the tariff


def tariff(on: date) -> dict[str, Any]:
    """Per town, the market fee tariff in force: rates per metre by kind of market, the flat
    amounts for electricity and water, the deposit."""
    towns: dict[str, Any] = {}
    for town in TENANTS:
        try:
            in_force = market_fees.tariff_in_force(town, on)
        except (InvalidCommand, UnknownRulesVersion):
            continue
        towns[town] = {
            "version": in_force.version,
            "valid_from": in_force.valid_from.isoformat(),
            "per_metre": {kind: str(rate) for kind, rate in in_force.per_metre},
            "electricity": str(in_force.electricity),
            "water": str(in_force.water),
            "deposit": str(in_force.deposit),
            "legal_basis": in_force.legal_basis,
        }
    return {
        "currency": "EUR",
        "charged": "on admission (by the selection or a move-up): frontage times the rate per "
        "metre of the market's kind, electricity and water where used, and a refundable "
        "deposit, each under a Kassenzeichen of its own; the market's tariff is the one in "
        "force on its first day",
        "legal_basis": FEE_LEGAL_BASIS,
        "towns": towns,
    }
