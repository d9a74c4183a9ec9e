"""Who decides, where to object, which court: each town's authorities, and the remedy notice.

A decision names its issuing authority, and its legal remedy notice (Rechtsbehelfsbelehrung)
names where and within which period to object. Both follow from the town and the kind of
matter, so the notice is generated here from the town's configuration, never typed by hand:

* **Self-government matters** (Sondernutzung of municipal roads, drainage, cemeteries,
  municipal charges): the town's executive (Magistrat of a Stadt, Gemeindevorstand of a
  Gemeinde, § 9 (2), § 66 HGO) issues the decision and, no higher authority being competent
  in self-government matters, also decides on the objection itself (§ 73 (1) sentence 2 no. 3
  VwGO), after the objection was heard before the Anhörungsausschuss (§§ 7 ff. HessAGVwGO);
  for towns of this size that committee sits at the district (Kreisausschuss des
  Hochtaunuskreises) — set per town below.
* **Road traffic matters** (traffic sign orders, resident parking permits, § 44, § 45 StVO):
  the mayor as local road traffic authority issues them; an objection goes, if not remedied,
  to the supervising authority (§ 73 (1) sentence 2 no. 1 VwGO).
* Where the HessAGVwGO excludes the objection procedure (§ 16a HessAGVwGO and its annex), the
  notice names the administrative court instead: for the Hochtaunuskreis the
  Verwaltungsgericht Frankfurt am Main (§ 1 HessAGVwGO, its districts).

The notice's wording is versioned (``NOTICE_VERSION``) and recorded with each decision, with
whether it was complete: a missing or wrong notice extends the period to one year (§ 58 (2)
VwGO).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Final

OBJECTION_PERIOD_MONTHS: Final = 1  # § 70 (1) VwGO; an action: § 74 (1) VwGO
PERIOD_WITHOUT_NOTICE_MONTHS: Final = 12  # § 58 (2) VwGO
NOTICE_VERSION: Final = "2025-01"
ADMINISTRATIVE_COURT: Final = (
    "Verwaltungsgericht Frankfurt am Main, Adalbertstraße 18, 60486 Frankfurt am Main"
)


class Matter(Enum):
    """The kind of matter: who decides on an objection depends on it."""

    SELF_GOVERNMENT = "self_government"
    ROAD_TRAFFIC = "road_traffic"


class RemedyKind(Enum):
    """What the notice offers: an objection (Widerspruch) or an action in court (Klage)."""

    OBJECTION = "objection"
    ACTION = "action"


@dataclass(frozen=True, slots=True)
class TownAuthorities:
    """One town's authorities as its decisions and remedy notices name them."""

    executive: str  # issues self-government decisions and decides their objections
    road_traffic_authority: str
    seat: str  # postal address of the town hall, where objections are lodged
    hearing_committee: str  # Anhörungsausschuss for objections in self-government matters
    supervising_authority: str  # decides objections in road traffic matters
    court: str = ADMINISTRATIVE_COURT

    def issuing_authority(self, matter: Matter) -> str:
        """The authority that issues a decision in this matter."""
        if matter is Matter.ROAD_TRAFFIC:
            return self.road_traffic_authority
        return self.executive

    def objection_authority(self, matter: Matter) -> str:
        """The Widerspruchsbehörde: the town itself, or the supervising authority."""
        if matter is Matter.ROAD_TRAFFIC:
            return self.supervising_authority
        return self.executive


_HOCHTAUNUSKREIS_COMMITTEE: Final = (
    "Anhörungsausschuss beim Kreisausschuss des Hochtaunuskreises, "
    "Ludwig-Erhard-Anlage 1-5, 61352 Bad Homburg v. d. Höhe"
)
_HOCHTAUNUSKREIS_SUPERVISION: Final = (
    "Der Landrat des Hochtaunuskreises als Behörde der Landesverwaltung, "
    "Ludwig-Erhard-Anlage 1-5, 61352 Bad Homburg v. d. Höhe"
)

AUTHORITIES: Final = MappingProxyType(
    {
        "usingen": TownAuthorities(
            executive="Der Magistrat der Stadt Usingen",
            road_traffic_authority="Der Bürgermeister der Stadt Usingen als örtliche "
            "Straßenverkehrsbehörde",
            seat="Wilhelmjstraße 1, 61250 Usingen",
            hearing_committee=_HOCHTAUNUSKREIS_COMMITTEE,
            supervising_authority=_HOCHTAUNUSKREIS_SUPERVISION,
        ),
        "neu-anspach": TownAuthorities(
            executive="Der Magistrat der Stadt Neu-Anspach",
            road_traffic_authority="Der Bürgermeister der Stadt Neu-Anspach als örtliche "
            "Straßenverkehrsbehörde",
            seat="Bahnhofstraße 26, 61267 Neu-Anspach",
            hearing_committee=_HOCHTAUNUSKREIS_COMMITTEE,
            supervising_authority=_HOCHTAUNUSKREIS_SUPERVISION,
        ),
        "schmitten": TownAuthorities(
            executive="Der Gemeindevorstand der Gemeinde Schmitten im Taunus",
            road_traffic_authority="Der Bürgermeister der Gemeinde Schmitten im Taunus als "
            "örtliche Straßenverkehrsbehörde",
            seat="Parkstraße 2, 61389 Schmitten im Taunus",
            hearing_committee=_HOCHTAUNUSKREIS_COMMITTEE,
            supervising_authority=_HOCHTAUNUSKREIS_SUPERVISION,
        ),
        "glashuetten": TownAuthorities(
            executive="Der Gemeindevorstand der Gemeinde Glashütten",
            road_traffic_authority="Der Bürgermeister der Gemeinde Glashütten als örtliche "
            "Straßenverkehrsbehörde",
            seat="Schloßborner Weg 2, 61479 Glashütten",
            hearing_committee=_HOCHTAUNUSKREIS_COMMITTEE,
            supervising_authority=_HOCHTAUNUSKREIS_SUPERVISION,
        ),
    }
)


def authorities_of(tenant: str) -> TownAuthorities:
    """The configured authorities of a town; a town without them cannot decide."""
    try:
        return AUTHORITIES[tenant]
    except KeyError:
        raise LookupError(f"no authorities are configured for {tenant!r}") from None


@dataclass(frozen=True, slots=True)
class RemedyNotice:
    """The legal remedy notice a decision carried, and whether it was complete."""

    kind: RemedyKind
    text: str
    addressed_to: str  # the authority or court where the remedy is lodged
    version: str
    complete: bool = True

    @property
    def period_months(self) -> int:
        """One month with a complete notice, one year without (§ 58 (2) VwGO)."""
        return OBJECTION_PERIOD_MONTHS if self.complete else PERIOD_WITHOUT_NOTICE_MONTHS

    def found_defective(self) -> RemedyNotice:
        """The same notice, recorded as missing or wrong."""
        return RemedyNotice(self.kind, self.text, self.addressed_to, self.version, False)


def remedy_notice(
    tenant: str, matter: Matter, *, objection_excluded_by: str | None = None
) -> RemedyNotice:
    """The notice for a decision of this town in this matter (German, as the letter says)."""
    town = authorities_of(tenant)
    if objection_excluded_by is not None:
        text = (
            "Rechtsbehelfsbelehrung: Gegen diesen Bescheid kann innerhalb eines Monats nach "
            f"seiner Bekanntgabe Klage beim {town.court} erhoben werden. Ein Vorverfahren "
            f"findet nicht statt ({objection_excluded_by}). Die Klage ist schriftlich oder zur "
            "Niederschrift des Urkundsbeamten der Geschäftsstelle zu erheben (§ 81 VwGO); sie "
            "kann auch als elektronisches Dokument nach § 55a VwGO eingereicht werden."
        )
        return RemedyNotice(RemedyKind.ACTION, text, town.court, NOTICE_VERSION)
    issuer = town.issuing_authority(matter)
    text = (
        "Rechtsbehelfsbelehrung: Gegen diesen Bescheid kann innerhalb eines Monats nach "
        "seiner Bekanntgabe Widerspruch erhoben werden. Der Widerspruch ist schriftlich, in "
        "elektronischer Form nach § 3a Abs. 2 HVwVfG oder zur Niederschrift bei "
        f"{_dative(issuer)}, {town.seat}, einzulegen (§ 70 Abs. 1 VwGO)."
    )
    if matter is Matter.ROAD_TRAFFIC:
        text += (
            " Die Frist wird auch durch Einlegung bei der Widerspruchsbehörde gewahrt: "
            f"{town.supervising_authority}."
        )
    return RemedyNotice(RemedyKind.OBJECTION, text, issuer, NOTICE_VERSION)


def _dative(authority: str) -> str:
    """ "Der Magistrat der Stadt X" → "dem Magistrat der Stadt X" (the notice's grammar)."""
    for nominative, dative in (
        ("Der Magistrat", "dem Magistrat"),
        ("Der Gemeindevorstand", "dem Gemeindevorstand"),
        ("Der Bürgermeister", "dem Bürgermeister"),
    ):
        if authority.startswith(nominative):
            rest = authority[len(nominative) :].replace(" als örtliche ", " als örtlicher ")
            return dative + rest
    return authority


def legacy_notice(text: str) -> RemedyNotice:
    """A notice typed by hand before notices were generated: complete only if not empty."""
    return RemedyNotice(RemedyKind.OBJECTION, text, "", "typed", bool(text.strip()))
