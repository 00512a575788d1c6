"""The applicant's status page (CONTRACT §11): every SMS to an applicant carries a signed, expiring
link `/s/{token}` to a Chinese page about that one case — stage, what to do and by when, the
messages with their dates, whom to call — with no login, no full ID number and nothing about
anyone else; an expired or forged link gets a plain Chinese page. And the incidents page, where
an administrator sees parked webhook events and retries them in bulk."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy.engine import Engine

from notifications.channels.memory import MemoryChannel
from notifications.config import Transports
from notifications.outbox import RetryPolicy, deliver
from notifications.status_link import LINK_TTL, link_key, make_token, read_token
from notifications.webhooks import deliver_webhooks
from states.vocabulary import Role
from storage.webhooks import add_webhook, list_events
from tests.web_support import Site, csrf_of
from tests.webhook_receiver import closed_port_url
from workflow.engine import Actor

LINK = re.compile(r"进度：(\S+/s/(\S+))$")


@pytest.fixture
def site(db: Engine, monkeypatch: pytest.MonkeyPatch) -> Site:
    monkeypatch.setenv("ZCFLOW_PUBLIC_URL", "https://zc.example.cn/")
    monkeypatch.delenv("ZCFLOW_SECRET_KEY", raising=False)
    return Site.build(db, monkeypatch)


def sms_links(site: Site) -> dict[int, str]:
    """Deliver the outbox to memory; the status token in the latest SMS to each case's applicant."""
    memory = MemoryChannel()
    deliver(site.db, site.now, transports=Transports(sms=memory, email=MemoryChannel()))
    links: dict[int, str] = {}
    for m in memory.calls:
        if m.channel == "sms" and m.recipient_role == "applicant":
            found = LINK.search(m.text)
            assert found, m.text
            assert found.group(1).startswith("https://zc.example.cn/s/")
            case_id, outcome = read_token(link_key(site.db), found.group(2), site.now)
            assert outcome == "ok" and case_id is not None
            links[case_id] = found.group(2)
    return links


def test_an_applicants_sms_opens_its_own_status_page(site: Site) -> None:
    links = sms_links(site)
    case_id = site.cases["a_review"]  # submitted, waiting for the employer before the employer cutoff
    case = site.wf.case(case_id)
    page = site.client().get(f"/s/{links[case_id]}")
    assert page.status_code == 200
    html = page.text
    assert "单位审核" in html and "等待" in html  # the stage, and that nothing is asked of the applicant
    assert "截止时间：2025年4月14日" in html  # by when the stage must be done (seed 001: the employer cutoff)
    assert case.id_number not in html and case.id_number[:3] in html  # masked, never in full
    assert case.name not in html and case.name[0] + "*" in html
    assert "咨询电话" in html and re.search(r"href=\"tel:\d+", html)
    assert "已提交" in html  # the message it was sent, with its date
    others = [site.wf.case(c) for k, c in site.cases.items() if k != "a_review"]
    for other in others:
        assert other.id_number[-6:] not in html and f"编号 {other.id} " not in html
    assert 'name="viewport"' in html


def test_a_draft_is_told_to_submit_by_the_filing_cutoff(site: Site) -> None:
    case_id = site.cases["a_draft"]
    token = make_token(link_key(site.db), case_id, site.now)
    html = site.client().get(f"/s/{token}").text
    assert "完成填报并提交申报" in html and "截止时间" in html


def test_an_expired_or_forged_link_gets_a_plain_chinese_page(site: Site) -> None:
    case_id = site.cases["a_review"]
    token = make_token(link_key(site.db), case_id, site.now)
    site.now += LINK_TTL + dt.timedelta(hours=2)
    expired = site.client().get(f"/s/{token}")
    assert expired.status_code == 410 and "链接已过期" in expired.text
    site.now -= LINK_TTL + dt.timedelta(hours=2)
    case_part, expiry, sig = token.split(".")
    other = site.cases["b_review"]
    for forged in (f"{other:x}.{expiry}.{sig}", f"{case_part}.{expiry}.{sig[:-1]}A", "x", "a.b.c", "a..b", "%00"):
        r = site.client().get(f"/s/{forged}")
        assert r.status_code == 404 and "链接无效" in r.text, forged
        assert "Traceback" not in r.text and "王" not in r.text
    assert make_token("another key", case_id, site.now) != token
    r = site.client().get(f"/s/{make_token('another key', case_id, site.now)}")
    assert r.status_code == 404


def test_parked_events_are_an_incident_an_admin_retries_in_bulk(site: Site) -> None:
    with site.db.begin() as conn:
        add_webhook(conn, closed_port_url(), "a-secret-of-16-chars", [], site.now)
    site.wf.fire(site.cases["a_draft"], "submit", Actor(Role.applicant), site.now)
    once = RetryPolicy(max_attempts=1)
    assert deliver_webhooks(site.db, site.now, retry=once, timeout=2).parked == 1
    browser = site.browser("admin")
    page = browser.get("/incidents")
    assert page.status_code == 200 and "失败事件（1）" in page.text and "no answer" in page.text
    assert site.browser("emp_a").get("/incidents").status_code == 403
    r = browser.post("/incidents/retry", data={"csrf_token": csrf_of(browser, "/incidents")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/incidents?requeued=1"
    with site.db.connect() as conn:
        assert [e.status for e in list_events(conn)] == ["pending"]
    assert "没有失败的事件" in browser.get("/incidents?requeued=1").text
