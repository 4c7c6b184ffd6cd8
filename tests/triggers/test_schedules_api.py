"""`/api/v1/workflows/{id}/schedules`: owners manage cron schedules and see next runs."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import httpx
import pytest

from relayflow.domain import Role
from tests.triggers.conftest import Hook, MakeHook, MakeOwner


def schedules_url(hook: Hook) -> str:
    return f"/api/v1/workflows/{hook.workflow_id}/schedules"


async def test_create_list_get_update_delete(client: httpx.AsyncClient, hook: Hook) -> None:
    headers = hook.owner.headers
    created = await client.post(
        schedules_url(hook),
        json={
            "name": "weekday digest",
            "cron": "30 9 * * 1-5",
            "timezone": "Europe/Paris",
            "input": {"topic": "news"},
            "missed_policy": "run_once",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert schedule["cron"] == "30 9 * * 1-5"
    assert schedule["enabled"] is True
    assert schedule["missed_policy"] == "run_once"
    # Ticks are read in the schedule's zone and served in UTC, like every timestamp.
    assert all(t.endswith("Z") for t in schedule["next_runs"])
    paris = ZoneInfo("Europe/Paris")
    runs = [dt.datetime.fromisoformat(t).astimezone(paris) for t in schedule["next_runs"]]
    assert len(runs) == 5
    assert all((t.hour, t.minute, t.isoweekday() <= 5) == (9, 30, True) for t in runs)
    next_run = dt.datetime.fromisoformat(schedule["next_run_at"])
    assert next_run == runs[0]
    assert next_run > dt.datetime.now(dt.UTC)

    listed = await client.get(schedules_url(hook), headers=headers)
    assert [s["id"] for s in listed.json()["items"]] == [schedule["id"]]

    one = f"{schedules_url(hook)}/{schedule['id']}"
    changed = await client.patch(one, json={"cron": "0 * * * *", "enabled": False}, headers=headers)
    assert changed.status_code == 200
    assert changed.json()["cron"] == "0 * * * *"
    assert changed.json()["next_run_at"] is None
    assert changed.json()["next_runs"] == []
    assert changed.json()["input"] == {"topic": "news"}  # untouched

    assert (await client.delete(one, headers=headers)).status_code == 204
    assert (await client.get(one, headers=headers)).status_code == 404


async def test_a_workflow_may_have_several_schedules(client: httpx.AsyncClient, hook: Hook) -> None:
    for cron in ("0 8 * * *", "0 20 * * *", "@weekly"):
        response = await client.post(
            schedules_url(hook), json={"cron": cron}, headers=hook.owner.headers
        )
        assert response.status_code == 201
    listed = await client.get(schedules_url(hook), headers=hook.owner.headers)
    assert [s["cron"] for s in listed.json()["items"]] == ["0 8 * * *", "0 20 * * *", "@weekly"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cron": "every morning"}, "cron"),
        ({"cron": "0 25 * * *"}, "cron"),
        ({"cron": "0 9 * * *", "timezone": "Europe/Atlantis"}, "timezone"),
        ({"cron": "0 9 * * *", "missed_policy": "catch_up_all"}, "missed_policy"),
        ({}, "cron"),
        ({"cron": "0 9 * * *", "time_zone": "UTC"}, "time_zone"),
    ],
)
async def test_bad_schedules_are_422_naming_the_field(
    client: httpx.AsyncClient, hook: Hook, body: dict[str, str], field: str
) -> None:
    response = await client.post(schedules_url(hook), json=body, headers=hook.owner.headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert field in error["message"]
    listed = await client.get(schedules_url(hook), headers=hook.owner.headers)
    assert listed.json()["items"] == []


async def test_bad_patch_is_422_and_changes_nothing(client: httpx.AsyncClient, hook: Hook) -> None:
    created = await client.post(
        schedules_url(hook), json={"cron": "0 9 * * *"}, headers=hook.owner.headers
    )
    one = f"{schedules_url(hook)}/{created.json()['id']}"
    response = await client.patch(
        one, json={"timezone": "Nowhere/Land"}, headers=hook.owner.headers
    )
    assert response.status_code == 422
    assert (await client.get(one, headers=hook.owner.headers)).json()["timezone"] == "UTC"


async def test_only_the_owner_or_an_admin_manages_schedules(
    client: httpx.AsyncClient, make_hook: MakeHook, make_owner: MakeOwner
) -> None:
    private, public = await make_hook(), await make_hook(public=True)
    stranger, admin = await make_owner(), await make_owner(Role.ADMIN)
    body = {"cron": "0 9 * * *"}

    assert (await client.get(schedules_url(private), headers=stranger.headers)).status_code == 404
    assert (
        await client.post(schedules_url(private), json=body, headers=stranger.headers)
    ).status_code == 404
    # A public workflow is visible to all, its schedules are still the owner's business.
    refused = await client.post(schedules_url(public), json=body, headers=stranger.headers)
    assert refused.status_code == 403
    assert "owner" in refused.json()["error"]["message"]
    assert (await client.get(schedules_url(public), headers=stranger.headers)).status_code == 403

    by_admin = await client.post(schedules_url(private), json=body, headers=admin.headers)
    assert by_admin.status_code == 201
    one = f"{schedules_url(private)}/{by_admin.json()['id']}"
    assert (await client.get(one, headers=stranger.headers)).status_code == 404
    assert (await client.delete(one, headers=stranger.headers)).status_code == 404
    assert (await client.get(one, headers=private.owner.headers)).status_code == 200


async def test_schedules_need_a_signed_in_user(client: httpx.AsyncClient, hook: Hook) -> None:
    assert (await client.get(schedules_url(hook))).status_code == 401


async def test_a_schedule_of_another_workflow_is_not_found(
    client: httpx.AsyncClient, make_hook: MakeHook
) -> None:
    first, second = await make_hook(), await make_hook()
    created = await client.post(
        schedules_url(first), json={"cron": "0 9 * * *"}, headers=first.owner.headers
    )
    wrong = f"{schedules_url(second)}/{created.json()['id']}"
    assert (await client.get(wrong, headers=first.owner.headers)).status_code == 404
    missing = f"{schedules_url(first)}/{uuid.uuid4()}"
    assert (await client.get(missing, headers=first.owner.headers)).status_code == 404


async def test_a_schedule_is_edited_in_place(client: httpx.AsyncClient, hook: Hook) -> None:
    headers = hook.owner.headers
    created = await client.post(
        schedules_url(hook), json={"cron": "0 9 * * *", "input": {"topic": "a"}}, headers=headers
    )
    schedule = created.json()
    assert schedule["description"] == "every day at 09:00, UTC"
    one = f"{schedules_url(hook)}/{schedule['id']}"

    changed = await client.patch(
        one,
        json={
            "name": "weekday digest",
            "cron": "30 7 * * 1-5",
            "timezone": "America/New_York",
            "input": {"topic": "b"},
            "missed_policy": "run_once",
        },
        headers=headers,
    )

    assert changed.status_code == 200, changed.text
    edited = changed.json()
    assert edited["id"] == schedule["id"]
    assert (edited["name"], edited["cron"], edited["timezone"]) == (
        "weekday digest",
        "30 7 * * 1-5",
        "America/New_York",
    )
    assert edited["input"] == {"topic": "b"}
    assert edited["missed_policy"] == "run_once"
    assert edited["description"] == "every weekday at 07:30, America/New_York"
    # The next ticks follow the new timing, read in the new zone.
    new_york = ZoneInfo("America/New_York")
    runs = [dt.datetime.fromisoformat(t).astimezone(new_york) for t in edited["next_runs"]]
    assert all((t.hour, t.minute, t.isoweekday() <= 5) == (7, 30, True) for t in runs)
    assert dt.datetime.fromisoformat(edited["next_run_at"]) == runs[0]
    again = (await client.get(one, headers=headers)).json()
    assert again == edited
    listed = await client.get(schedules_url(hook), headers=headers)
    assert [s["id"] for s in listed.json()["items"]] == [schedule["id"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "0 9 * *"}, "cron"),
        ({"cron": None}, "cron"),
        ({"cron": ""}, "cron"),
        ({"timezone": "Mars/Base"}, "timezone"),
        ({"timezone": None}, "timezone"),
        ({"enabled": "yes"}, "enabled"),
        ({"missed_policy": "always"}, "missed_policy"),
        ({"name": "x" * 256}, "name"),
        ({"crom": "* * * * *"}, "crom"),
    ],
)
async def test_a_bad_edit_is_422_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient, hook: Hook, change: dict[str, object], field: str
) -> None:
    created = await client.post(
        schedules_url(hook), json={"cron": "0 9 * * *"}, headers=hook.owner.headers
    )
    one = f"{schedules_url(hook)}/{created.json()['id']}"

    response = await client.patch(one, json=change, headers=hook.owner.headers)

    assert response.status_code == 422
    assert field in response.json()["error"]["message"]
    assert (await client.get(one, headers=hook.owner.headers)).json() == created.json()


async def test_another_users_schedule_cannot_be_edited(
    client: httpx.AsyncClient, hook: Hook, make_owner: MakeOwner
) -> None:
    created = await client.post(
        schedules_url(hook), json={"cron": "0 9 * * *"}, headers=hook.owner.headers
    )
    one = f"{schedules_url(hook)}/{created.json()['id']}"
    stranger = await make_owner()

    refused = await client.patch(one, json={"cron": "* * * * *"}, headers=stranger.headers)

    assert refused.status_code == 404
    assert (await client.get(one, headers=hook.owner.headers)).json() == created.json()


async def test_a_schedule_input_must_fit_the_workflows_input_schema(
    client: httpx.AsyncClient, make_hook: MakeHook
) -> None:
    schema = {
        "type": "object",
        "required": ["topic"],
        "properties": {"topic": {"type": "string"}},
    }
    hook = await make_hook(schema=schema)
    headers = hook.owner.headers

    refused = await client.post(
        schedules_url(hook),
        json={"cron": "0 9 * * *", "input": {"topic": 7}},
        headers=headers,
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["field"] == "input.topic"
    assert (await client.get(schedules_url(hook), headers=headers)).json()["items"] == []

    created = await client.post(
        schedules_url(hook),
        json={"cron": "0 9 * * *", "input": {"topic": "news"}},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    one = f"{schedules_url(hook)}/{created.json()['id']}"

    bad_edit = await client.patch(one, json={"input": {}}, headers=headers)
    assert bad_edit.status_code == 422, bad_edit.text
    assert "topic" in bad_edit.json()["error"]["message"]
    assert (await client.get(one, headers=headers)).json()["input"] == {"topic": "news"}
