"""The platform's side of the API (CONTRACT §11): a `platform` user files and acts for applicants on
the policies it serves, nothing else; `Idempotency-Key` makes each retried request act once."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from storage import idempotency as idem_store
from storage import repo
from tests.filings import filing
from tests.web_support import PASSWORD, T0, Site
from workflow.web import users

HZ = "hz-recognition-2025h1"
LP = "lp-assessment-2022"
PLATFORMS = {"plat_hz": [HZ], "plat_lp": [LP, "yh-recognition-2024"]}


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    site = Site.build(db, monkeypatch)
    for name, served in PLATFORMS.items():
        users.create_user(db, name, PASSWORD, "platform", {"policies": served}, T0)
    return site


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def new_case_body(policy: str, serial: int) -> dict[str, Any]:
    return {"policy": policy, "filing": filing(policy, serial).model_dump(mode="json")}


def post(site: Site, user: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    return site.client().post(path, json=body, headers={**site.auth(user), **headers})


def count(db: Engine, table: Any, **where: Any) -> int:
    stmt = select(func.count()).select_from(table)
    for k, v in where.items():
        stmt = stmt.where(table.c[k] == v)
    with db.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def test_platform_files_and_submits_with_keys_and_each_retry_changes_nothing(site: Site, db: Engine) -> None:
    body = new_case_body(HZ, 21)
    create_key = key()
    first = post(site, "plat_hz", "/api/cases", body, create_key)
    assert first.status_code == 201, first.text
    case_id = first.json()["case"]
    again = post(site, "plat_hz", "/api/cases", body, create_key)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert count(db, repo.cases, id_number=body["filing"]["id_number"]) == 1

    submit_key = key()
    path = f"/api/cases/{case_id}/actions"
    moved = post(site, "plat_hz", path, {"action": "submit"}, submit_key)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["from_state"], moved.json()["to_state"]) == ("draft", "employer_review")
    # The case is in employer_review now, where `submit` is refused; the retry still gets the first answer.
    retried = post(site, "plat_hz", path, {"action": "submit"}, submit_key)
    assert (retried.status_code, retried.json()) == (200, moved.json())
    without_key = post(site, "plat_hz", path, {"action": "submit"}, {})
    assert without_key.status_code == 409  # a request without a key is a new request

    with db.connect() as conn:
        history = repo.case_history(conn, case_id)
    assert [(h.action, h.actor_role, h.actor_id) for h in history] == [
        ("create", "platform", "plat_hz"), ("submit", "platform", "plat_hz")]


def test_same_key_with_another_body_is_refused_and_changes_nothing(site: Site, db: Engine) -> None:
    k = key()
    first = post(site, "plat_hz", "/api/cases", new_case_body(HZ, 22), k)
    assert first.status_code == 201
    other = post(site, "plat_hz", "/api/cases", new_case_body(HZ, 23), k)
    assert other.status_code == 422
    assert other.json()["field"] == "Idempotency-Key" and "another request" in other.json()["detail"]
    assert count(db, repo.cases, id_number=filing(HZ, 23).id_number) == 0
    # The same key on another path is another request too.
    case_id = first.json()["case"]
    assert post(site, "plat_hz", f"/api/cases/{case_id}/actions", {"action": "submit"}, k).status_code == 422
    assert site.wf.case(case_id).state == "draft"


def test_a_refusal_is_stored_and_replayed_too(site: Site) -> None:
    case_id = post(site, "plat_hz", "/api/cases", new_case_body(HZ, 24), key()).json()["case"]
    k = key()
    refused = post(site, "plat_hz", f"/api/cases/{case_id}/actions", {"action": "pay_fee"}, k)
    assert refused.status_code == 409
    again = post(site, "plat_hz", f"/api/cases/{case_id}/actions", {"action": "pay_fee"}, k)
    assert (again.status_code, again.json()) == (409, refused.json())


def test_keys_expire_after_24_hours_and_belong_to_their_user(site: Site) -> None:
    k = key()
    assert post(site, "plat_hz", "/api/cases", new_case_body(HZ, 25), k).status_code == 201
    assert post(site, "admin", "/api/cases", new_case_body(HZ, 26), k).status_code == 201  # another user's key
    site.now = T0 + dt.timedelta(hours=24, seconds=1)
    later = post(site, "plat_hz", "/api/cases", new_case_body(HZ, 27), k)
    assert later.status_code == 201 and "Idempotent-Replayed" not in later.headers
    with site.db.begin() as conn:
        assert idem_store.purge_expired(conn, site.now) == 1  # the admin's; plat_hz's was replaced


@pytest.mark.parametrize("value", ["", "x" * 256, "key with spaces"])
def test_a_malformed_key_is_422_naming_the_header(site: Site, value: str) -> None:
    r = post(site, "plat_hz", "/api/cases", new_case_body(HZ, 28), {"Idempotency-Key": value})
    assert r.status_code == 422 and r.json()["field"] == "Idempotency-Key"


def test_two_platform_scopes_cannot_see_each_others_cases(site: Site) -> None:
    hz_case = post(site, "plat_hz", "/api/cases", new_case_body(HZ, 29), key()).json()["case"]
    lp_case = post(site, "plat_lp", "/api/cases", new_case_body(LP, 30), key()).json()["case"]
    hz_seen, lp_seen = site.visible_ids("plat_hz"), site.visible_ids("plat_lp")
    assert hz_case in hz_seen and lp_case not in hz_seen
    assert lp_case in lp_seen and hz_case not in lp_seen
    assert {site.wf.case(c).policy_id for c in hz_seen} == {HZ}
    for user, other in (("plat_hz", lp_case), ("plat_lp", hz_case)):
        assert site.api(user, "GET", f"/api/cases/{other}").status_code == 404
        assert post(site, user, f"/api/cases/{other}/actions", {"action": "submit"}, key()).status_code == 404
    refused = post(site, "plat_hz", "/api/cases", new_case_body(LP, 31), key())
    assert refused.status_code == 403 and LP in refused.json()["detail"]
    assert [p["id"] for p in site.api("plat_hz", "GET", "/api/policies").json()] == [HZ]


def test_a_platform_takes_only_the_applicants_actions(site: Site) -> None:
    review = site.cases["a_review"]  # a Hangzhou case in employer_review
    refused = post(site, "plat_hz", f"/api/cases/{review}/actions", {"action": "employer_approve"}, key())
    assert refused.status_code == 403 and refused.json()["error"] == "not_permitted"
    actions = site.api("plat_hz", "GET", f"/api/cases/{review}/actions").json()["actions"]
    assert [a["action"] for a in actions] == ["withdraw"]
    notice = site.cases["a_notice"]
    objection = post(site, "plat_hz", f"/api/cases/{notice}/objections", {"reason": "材料造假"}, {})
    assert objection.status_code == 403
    withdrawn = post(site, "plat_hz", f"/api/cases/{review}/actions", {"action": "withdraw"}, key())
    assert withdrawn.status_code == 200 and withdrawn.json()["to_state"] == "withdrawn"


def test_bulk_with_a_key_moves_each_case_once(site: Site, db: Engine) -> None:
    ids = [post(site, "plat_hz", "/api/cases", new_case_body(HZ, s), key()).json()["case"] for s in (32, 33)]
    k = key()
    body = {"case_ids": ids, "action": "submit"}
    first = post(site, "plat_hz", "/api/bulk", body, k)
    assert first.status_code == 200 and first.json()["succeeded"] == 2, first.text
    again = post(site, "plat_hz", "/api/cases/bulk-actions", body, k)
    assert again.json() == first.json()
    for case_id in ids:
        assert count(db, repo.history, case_id=case_id, action="submit") == 1


def test_a_concurrent_retry_makes_one_move(site: Site, db: Engine, backend: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL both requests look for the key before either stores it (held at a barrier); both
    then claim it in their move's transaction: one moves, the other waits on the unique index for its
    commit and replays it. On SQLite every transaction takes the write lock first (BEGIN IMMEDIATE),
    so the two requests run one after the other and the second finds the first's answer."""
    case_id = post(site, "plat_hz", "/api/cases", new_case_body(HZ, 34), key()).json()["case"]
    both_looked = threading.Barrier(2, timeout=20)
    original = idem_store.stored
    looks = iter(range(2))  # only the two first looks wait; the loser's second look does not

    def look_then_wait(*args: Any) -> Any:
        row = original(*args)
        if next(looks, None) is not None:
            both_looked.wait()
        return row

    if backend == "postgresql":
        monkeypatch.setattr(idem_store, "stored", look_then_wait)
    k = key()
    results: list[Any] = [None, None]

    def submit(i: int) -> None:
        results[i] = post(site, "plat_hz", f"/api/cases/{case_id}/actions", {"action": "submit"}, k)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
    assert results[0].json() == results[1].json()
    assert sorted("Idempotent-Replayed" in r.headers for r in results) == [False, True]
    assert count(db, repo.history, case_id=case_id, action="submit") == 1


def test_a_platform_account_may_not_log_into_the_pages(site: Site) -> None:
    # CONTRACT §11: a platform is a program on the API; the admin pages are for the office's people.
    from tests.web_support import csrf_of

    client = site.client()
    r = client.post("/login", data={"username": "plat_hz", "password": PASSWORD,
                                    "csrf_token": csrf_of(client, "/login"), "next": "/"}, follow_redirects=False)
    assert r.status_code == 403 and "平台账号只能通过接口（API）使用" in r.text
    assert "zcflow_session" not in r.cookies
    assert client.get("/cases", follow_redirects=False).status_code in (302, 303, 307)  # still not logged in
    assert site.client().get("/api/cases", headers=site.auth("plat_hz")).status_code == 200  # the API serves it
