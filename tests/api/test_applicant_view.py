"""An applicant sees their own case and only what is meant for them."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import NEW_CASE, Auth


def test_no_internal_notes_drafts_or_staff_names_reach_the_applicant(
    client: TestClient, auth: Auth
) -> None:
    applicant = auth("applicant", sub="portal:7")
    clerk = auth("clerk", sub="anna.schmidt")
    case = client.post("/api/v1/cases", json=NEW_CASE, headers=applicant).json()
    url = f"/api/v1/cases/{case['id']}"
    client.post(url + "/claim", headers=clerk)
    client.post(url + "/confirm-complete", headers=clerk)
    client.post(url + "/notes", json={"text": "Antragsteller wirkt unzuverlässig"}, headers=clerk)
    client.post(
        url + "/request-information",
        json={"questions": ["Lageplan?"], "reply_by": "2026-03-20"},
        headers=clerk,
    )
    client.post(url + "/provide-information", json={"answer": "anbei"}, headers=applicant)
    decided = client.post(
        url + "/decide",
        json={
            "outcome": "rejected",
            "justification": "Lage ungeeignet",
            "legal_basis": "§ 16 HStrG",
        },
        headers=clerk,
    )
    assert decided.status_code == 200

    seen = client.get(url, headers=applicant).json()
    assert seen["holder"] is None
    assert seen["decision"]["decided_by"] == {"role": "clerk"}
    assert seen["decision"]["justification"] == "Lage ungeeignet"
    assert seen["allowed_commands"] == ["withdraw"]  # until the decision is final
    history = client.get(url + "/history", headers=applicant).json()
    types = [h["type"] for h in history]
    assert "NoteAdded" not in types
    assert "Claimed" not in types
    assert types == [
        "Submitted",
        "CompletenessConfirmed",
        "InformationRequested",
        "InformationProvided",
        "Decided",
    ]
    text = str(history)
    assert "anna.schmidt" not in text
    assert "unzuverlässig" not in text
    assert "Clerk Person" not in text
    full = client.get(url + "/history", headers=clerk).json()
    assert "NoteAdded" in [h["type"] for h in full]
    assert (
        client.get(url + "/history", headers=auth("applicant", sub="portal:8")).status_code == 404
    )


def test_a_town_that_shows_staff_names_shows_the_name_but_never_the_account(
    client: TestClient, auth: Auth
) -> None:
    for tenant, shown in (("glashuetten", True), ("usingen", False)):
        applicant = auth("applicant", sub=f"portal:{tenant}", tenant=tenant)
        clerk = auth("clerk", sub=f"clerk.{tenant}", tenant=tenant)
        body = {**NEW_CASE, "tenant": tenant}
        case = client.post("/api/v1/cases", json=body, headers=applicant).json()
        url = f"/api/v1/cases/{case['id']}"
        client.post(url + "/claim", headers=clerk)
        client.post(url + "/confirm-complete", headers=clerk)
        history = client.get(url + "/history", headers=applicant).json()
        confirmed = next(h for h in history if h["type"] == "CompletenessConfirmed")
        expected = {"role": "clerk", "name": "Clerk Person"} if shown else {"role": "clerk"}
        assert confirmed["actor"] == expected
        assert f"clerk.{tenant}" not in str(history)  # the account id never
        assert "Claimed" not in [h["type"] for h in history]


def test_the_applicant_sees_the_legal_track_with_staff_by_role_only(
    client: TestClient, auth: Auth
) -> None:
    applicant = auth("applicant", sub="portal:7")
    clerk = auth("clerk", sub="anna.schmidt")
    case = client.post("/api/v1/cases", json=NEW_CASE, headers=applicant).json()
    url = f"/api/v1/cases/{case['id']}"
    client.post(url + "/claim", headers=clerk)
    client.post(url + "/confirm-complete", headers=clerk)
    rejection = {"outcome": "rejected", "justification": "Lage ungeeignet", "legal_basis": "§ 1"}
    assert client.post(url + "/decide", json=rejection, headers=clerk).status_code == 200
    notified = client.post(url + "/notify", json={"delivery": "counter"}, headers=clerk)
    assert notified.status_code == 200
    before = client.get(url, headers=applicant)
    lodged = client.post(url + "/objections", json={"grounds": "Lage ist geeignet"}, headers=clerk)
    assert lodged.status_code == 200, lodged.json()
    heard = client.post(url + "/objections/hearing", json={"held_on": "2026-03-02"}, headers=clerk)
    assert heard.status_code == 200, heard.json()

    seen = client.get(url, headers=applicant)
    assert int(seen.headers["ETag"].strip('"')) == int(before.headers["ETag"].strip('"')) + 2
    body = seen.json()
    assert body["notification"] == {
        "delivery": "counter",
        "sent_on": "2026-03-02",
        "received_on": None,
    }
    assert body["notified_on"] == "2026-03-02"
    assert body["objection_deadline"] == "2026-04-02"
    assert body["final_on"] is None
    assert "Magistrat der Stadt Usingen" in body["decision"]["remedy_notice"]["text"]
    assert body["decision"]["legal_remedy_notice"] == body["decision"]["remedy_notice"]["text"]
    [objection] = body["objections"]
    assert objection["state"] == "heard"
    assert objection["timely"] is True
    assert objection["grounds"] == "Lage ist geeignet"
    assert objection["lodged_by"] == {"role": "clerk"}  # the town shows no staff names
    assert "Anhörungsausschuss" in objection["hearing_committee"]
    assert body["allowed_commands"] == ["withdraw", "withdraw_objection"]
    history = client.get(url + "/history", headers=applicant).json()
    assert [h["type"] for h in history][-3:] == ["Notified", "ObjectionLodged", "ObjectionHeard"]
    assert "anna.schmidt" not in str(body) + str(history)
    assert "Clerk Person" not in str(body) + str(history)

    withdrawn = client.post(
        url + "/objections/withdraw",
        json={"reason": "Wir haben uns geeinigt"},
        headers={**applicant, "If-Match": seen.headers["ETag"]},
    )
    assert withdrawn.status_code == 200, withdrawn.json()
    assert withdrawn.json()["objections"][0]["state"] == "withdrawn"
    assert withdrawn.json()["objections"][0]["withdrawn_on"] == "2026-03-02"
    last = client.get(url + "/history", headers=applicant).json()[-1]
    assert (last["type"], last["reason"]) == ("ObjectionWithdrawn", "Wir haben uns geeinigt")
