"""A client generated from the OpenAPI document by openapi-python-client works against the
live API: it submits, reads and claims a case, and parses a 422 problem naming the field.

The client is generated once per session into a temporary directory and imported from there.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from openapi_python_client import generate
from openapi_python_client.config import Config, ConfigFile, MetaType

from api.app import create_app
from api.auth import DevelopmentTokens
from api.market_schemas import EXAMPLE
from domain.actor import Role
from infrastructure.settings import Settings
from tests.api.conftest import SECRET
from tests.api.live_server import serving

PACKAGE = "vorgang_generated_client"
TOKENS = DevelopmentTokens(SECRET, issuer="vorgang-dev", audience="vorgang")


def settings_in(directory: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{directory / 'vorgang.db'}", token_secret=SECRET)


@pytest.fixture(scope="session")
def openapi_document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = create_app(settings_in(tmp_path_factory.mktemp("document")), run_projections=False)
    return app.openapi()


@pytest.fixture(scope="session")
def client_package(
    tmp_path_factory: pytest.TempPathFactory, openapi_document: dict[str, Any]
) -> Iterator[ModuleType]:
    """The package generated from the document, importable for the session."""
    root = tmp_path_factory.mktemp("generated-client")
    document = root / "openapi.json"
    document.write_text(json.dumps(openapi_document), encoding="utf-8")
    config = Config.from_sources(
        ConfigFile(
            post_hooks=[],  # no formatter needed
            package_name_override=PACKAGE,
            # Documents are PDF files: the generator reads them as bytes when told so.
            content_type_overrides={"application/pdf": "application/octet-stream"},
        ),
        MetaType.NONE,
        document,
        "utf-8",
        overwrite=True,
        output_path=root / PACKAGE,
    )
    problems = generate(config=config)
    assert [f"{p.header}: {p.detail}" for p in problems] == []
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(create_app(settings_in(tmp_path_factory.mktemp("live")))) as url:
        yield url


def generated(module: str) -> Any:
    """A module of the generated package (imported after generation)."""
    return importlib.import_module(f"{PACKAGE}.{module}")


def operation(package: ModuleType, name: str) -> Any:
    """The generated module of an operation, whichever tag it is filed under."""
    (found,) = Path(package.__file__ or "").parent.glob(f"api/*/{name}.py")
    return generated(f"api.{found.parent.name}.{name}")


def as_person(package: ModuleType, base_url: str, role: Role, subject: str) -> Any:
    """The generated client, authenticated as a person of Usingen."""
    token = TOKENS.issue(
        subject=subject, name="Test Person", role=role, tenant="usingen", on_behalf_of=None
    )
    return package.AuthenticatedClient(base_url=base_url, token=token)


def test_a_generated_client_submits_reads_and_claims_a_case(
    client_package: ModuleType, base_url: str, openapi_document: dict[str, Any]
) -> None:
    submit_case = operation(client_package, "submit_case")
    get_case = operation(client_package, "get_case")
    claim_case = operation(client_package, "claim_case")
    models = generated("models")
    example = submission_example(openapi_document)
    applicant = as_person(client_package, base_url, Role.APPLICANT, "portal:4711")
    clerk = as_person(client_package, base_url, Role.CLERK, "clerk.usingen")

    submitted = submit_case.sync_detailed(
        client=applicant, body=models.SubmitCase.from_dict(example)
    )
    assert submitted.status_code == 201, submitted.content
    case = submitted.parsed
    assert isinstance(case, models.CaseOut)
    assert (case.status, case.service) == ("submitted", example["service"])

    read = get_case.sync(case.id, client=clerk)
    assert isinstance(read, models.CaseOut)
    assert (read.id, read.reference) == (case.id, case.reference)

    claimed = claim_case.sync_detailed(case.id, client=clerk, if_match=submitted.headers["ETag"])
    assert claimed.status_code == 200, claimed.content
    assert claimed.parsed.holder == "clerk.usingen"
    assert claimed.headers["ETag"] == f'"{claimed.parsed.version}"'


def test_a_generated_client_reads_a_case_file_as_its_typed_model(
    client_package: ModuleType, base_url: str, openapi_document: dict[str, Any]
) -> None:
    submit_case = operation(client_package, "submit_case")
    get_case_file = operation(client_package, "get_case_file")
    models = generated("models")
    applicant = as_person(client_package, base_url, Role.APPLICANT, "portal:akte")
    auditor = as_person(client_package, base_url, Role.AUDITOR, "rpa.usingen")
    example = submission_example(openapi_document)
    case = submit_case.sync(client=applicant, body=models.SubmitCase.from_dict(example))

    file = get_case_file.sync(case.id, client=auditor)
    assert isinstance(file, models.CaseFile)
    assert file.case.reference == case.reference
    assert [(e.version, e.event, e.label) for e in file.timeline] == [
        (1, "Submitted", "Antrag eingegangen")
    ]
    assert isinstance(file.proof, models.IntegrityProof)


def test_a_generated_client_lists_who_read_a_case(
    client_package: ModuleType, base_url: str, openapi_document: dict[str, Any]
) -> None:
    submit_case = operation(client_package, "submit_case")
    get_case = operation(client_package, "get_case")
    list_access_log = operation(client_package, "list_access_log")
    models = generated("models")
    applicant = as_person(client_package, base_url, Role.APPLICANT, "portal:gelesen")
    clerk = as_person(client_package, base_url, Role.CLERK, "clerk.gelesen")
    officer = as_person(client_package, base_url, Role.DATA_PROTECTION_OFFICER, "dsb.usingen")
    example = submission_example(openapi_document)
    case = submit_case.sync(client=applicant, body=models.SubmitCase.from_dict(example))
    assert isinstance(get_case.sync(case.id, client=clerk), models.CaseOut)

    page = list_access_log.sync(client=officer, case_id=case.id)
    assert isinstance(page, models.AccessLogPage)
    assert [(line.actor_id, line.what) for line in page.items] == [("clerk.gelesen", "case")]


def test_a_generated_client_parses_a_422_problem_naming_the_field(
    client_package: ModuleType, base_url: str, openapi_document: dict[str, Any]
) -> None:
    submit_case = operation(client_package, "submit_case")
    models = generated("models")
    example = submission_example(openapi_document)
    example["applicant"] = {**example["applicant"], "postal_code": "6125"}
    applicant = as_person(client_package, base_url, Role.APPLICANT, "portal:4712")

    answer = submit_case.sync_detailed(client=applicant, body=models.SubmitCase.from_dict(example))

    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.parsed
    assert isinstance(problem, models.Problem)
    assert (problem.status, problem.title) == (422, "Invalid request")
    assert [(e.in_, e.field) for e in problem.errors] == [("body", "applicant.postal_code")]


def submission_example(document: dict[str, Any]) -> dict[str, Any]:
    """The submission example the document gives integrators, as a copy to change."""
    example = document["components"]["schemas"]["SubmitCase"]["examples"][0]
    copy: dict[str, Any] = json.loads(json.dumps(example))
    return copy


def test_a_generated_client_registers_a_business_customer_its_owner_reads(
    client_package: ModuleType, base_url: str
) -> None:
    register_customer = operation(client_package, "register_customer")
    get_customer = operation(client_package, "get_customer")
    models = generated("models")
    clerk = as_person(client_package, base_url, Role.CLERK, "clerk.usingen")
    owner = as_person(client_package, base_url, Role.APPLICANT, "portal:brenner")
    stranger = as_person(client_package, base_url, Role.APPLICANT, "portal:someone")

    registered = register_customer.sync_detailed(
        client=clerk,
        body=models.RegisterCustomer(company="Brenner Tiefbau GmbH", owner="portal:brenner"),
    )
    assert registered.status_code == 201, registered.content
    account = registered.parsed
    assert isinstance(account, models.CustomerOut)
    assert [(m.member, m.role) for m in account.members] == [("portal:brenner", "owner")]

    read = get_customer.sync(account.id, client=owner)
    assert isinstance(read, models.CustomerOut)
    assert (read.customer_number, read.company) == (account.customer_number, "Brenner Tiefbau GmbH")
    hidden = get_customer.sync_detailed(account.id, client=stranger)
    assert hidden.status_code == 404
    assert isinstance(hidden.parsed, models.Problem)


def test_a_generated_client_installs_a_water_meter_and_reads_its_readings(
    client_package: ModuleType, base_url: str
) -> None:
    install_meter = operation(client_package, "install_meter")
    get_meter = operation(client_package, "get_meter")
    models = generated("models")
    clerk = as_person(client_package, base_url, Role.CLERK, "clerk.usingen")
    body = models.InstallMeter.from_dict(
        {
            "meter_number": "WZ-GEN-0001",
            "property_id": "USI-0815",
            "installed_on": "2025-03-01",
            "calibration_valid_until": "2030-12-31",
            "digits": 5,
            "start_value": "12.5",
        }
    )
    installed = install_meter.sync_detailed(client=clerk, body=body)
    assert installed.status_code == 201, installed.content
    meter = installed.parsed
    assert isinstance(meter, models.MeterOut)
    read = get_meter.sync(meter.id, client=clerk)
    assert isinstance(read, models.MeterOut)
    assert [(r.number, r.kind, r.value) for r in read.readings] == [(1, "installed", "12.500")]
    taken = install_meter.sync_detailed(client=clerk, body=body)
    assert taken.status_code == 409
    assert isinstance(taken.parsed, models.Problem)
    assert [(e.in_, e.field) for e in taken.parsed.errors] == [("body", "meter_number")]


def test_a_generated_client_publishes_a_holiday_offering_anyone_reads(
    client_package: ModuleType, base_url: str
) -> None:
    publish_offering = operation(client_package, "publish_offering")
    get_offering = operation(client_package, "get_offering")
    models = generated("models")
    clerk = as_person(client_package, base_url, Role.CLERK, "clerk.usingen")
    body = models.PublishOffering.from_dict(
        {
            "year": 2027,
            "code": "GEN-1",
            "activity": "Zirkuswoche",
            "description": "Jonglieren und Akrobatik.",
            "location": "Turnhalle",
            "starts_on": "2027-07-19",
            "ends_on": "2027-07-23",
            "min_age": 6,
            "max_age": 11,
            "places": 15,
            "fee": "30.00",
            "registration_opens_at": "2027-05-03T08:00:00+02:00",
            "registration_closes_at": "2027-06-01T18:00:00+02:00",
            "rules": {"residents_first": True},
            "staff": ["clerk.usingen"],
        }
    )
    published = publish_offering.sync_detailed(client=clerk, body=body)
    assert published.status_code == 201, published.content
    offering = published.parsed
    assert isinstance(offering, models.OfferingOut)
    anyone = client_package.Client(base_url=base_url)
    read = get_offering.sync(offering.id, client=anyone)
    assert isinstance(read, models.OfferingOut)
    assert (read.code, read.window, read.places) == ("GEN-1", "not_yet_open", 15)
    taken = publish_offering.sync_detailed(client=clerk, body=body)
    assert taken.status_code == 409
    assert isinstance(taken.parsed, models.Problem)
    assert [(e.in_, e.field) for e in taken.parsed.errors] == [("body", "code")]


def test_a_generated_client_publishes_a_market_anyone_reads(
    client_package: ModuleType, base_url: str
) -> None:
    publish_market = operation(client_package, "publish_market")
    get_market = operation(client_package, "get_market")
    models = generated("models")
    clerk = as_person(client_package, base_url, Role.CLERK, "clerk.usingen")
    year = date.today().year + 1  # the live server's clock is the system's: a deadline ahead
    body = models.PublishMarket.from_dict(
        {
            **EXAMPLE,
            "year": year,
            "days": [f"{year}-08-27", f"{year}-08-28"],
            "applications_from": f"{year}-01-04T08:00:00+01:00",
            "deadline": f"{year}-03-31T23:59:59+02:00",
            "decisions_by": f"{year}-05-31",
        }
    )
    published = publish_market.sync_detailed(client=clerk, body=body)
    assert published.status_code == 201, published.content
    market = published.parsed
    assert isinstance(market, models.MarketOut)
    anyone = client_package.Client(base_url=base_url)
    read = get_market.sync(market.id, client=anyone)
    assert isinstance(read, models.MarketOut)
    assert (read.code, read.window, len(read.pitches)) == ("KERB-27", "not_yet_open", 2)
    assert [c.key for c in read.criteria.criteria] == ["attraktivitaet", "bekannt_bewaehrt"]
    taken = publish_market.sync_detailed(client=clerk, body=body)
    assert taken.status_code == 409
    assert isinstance(taken.parsed, models.Problem)
    assert [(e.in_, e.field) for e in taken.parsed.errors] == [("body", "code")]
