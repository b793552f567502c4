"""The child's link page: issuing redirects to the link's own page (a reload changes nothing), the token
is shown again only to the session that issued it and only for a while, never stored or put in a staff
URL; a new link while one is live asks to confirm, naming the link it stops. And the tablet hand-over
ends on giving the device back."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import AuditEvent, ChildLink, utcnow
from kidrate.protection import crypto
from kidrate.red_thread import links

from ..conftest import child_posts, csrf_token, sign_in
from ..factories import Factory

LINK_URL = re.compile(r'id="child-link" class="linkbox" readonly value="http://localhost/r/([A-Za-z0-9_-]{32})"')
WORDS = ("Jag vill inte vara hemma.", "Ingen lyssnar på mig.")


@pytest.fixture
def case(make: Factory):
    therapist = make.user("therapist", username="tess")
    return make.case(make.user("social_worker", username="sw"), therapist=therapist, words=WORDS)


def therapist_client(app, username: str = "tess"):
    client = app.test_client()
    sign_in(client, username)
    return client


def issue(client, case_id: int, **extra):
    token = csrf_token(client.get(f"/staff/cases/{case_id}").text)
    return client.post(f"/staff/cases/{case_id}/rounds/start/links",
                       data={"csrf_token": token, "language": "sv", **extra})


def all_links() -> list[ChildLink]:
    db.session.remove()
    return list(db.session.scalars(select(ChildLink).order_by(ChildLink.id)))


def audit_targets() -> list[str]:
    db.session.remove()
    return [f"{a.action} {a.target}" for a in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def session_cookie(app, client) -> dict:
    cookie = client.get_cookie("kidrate_session")
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def test_issuing_redirects_to_the_links_page_and_a_reload_changes_nothing(app, case):
    client = therapist_client(app)
    response = issue(client, case.id)
    assert response.status_code == 303
    (link,) = all_links()
    assert response.headers["Location"] == f"/staff/cases/{case.id}/links/{link.id}"
    first = client.get(response.headers["Location"])
    assert first.status_code == 200
    token = LINK_URL.search(first.text).group(1)
    assert links.hash_token(token) == link.token_hash
    assert 'data-copy="child-link"' in first.text  # the link's own copy button
    assert "<svg" in first.text
    for _ in range(3):  # reloads: the same link, nothing issued or revoked
        again = client.get(response.headers["Location"])
        assert LINK_URL.search(again.text).group(1) == token
    (still,) = all_links()
    assert still.state(utcnow()) == "issued"
    assert [t for t in audit_targets() if t.startswith(("issue_link", "revoke_link"))] == [
        f"issue_link start:link:{link.id}"]


def test_the_token_is_nowhere_but_on_the_page(app, case):
    client = therapist_client(app)
    location = issue(client, case.id).headers["Location"]
    token = LINK_URL.search(client.get(location).text).group(1)
    assert token not in location
    assert not any(token in t for t in audit_targets())
    # In the cookie only sealed: neither the token nor anything that reads as it.
    kept = session_cookie(app, client)
    assert token not in json.dumps(kept)
    (sealed,) = kept["shown_links"].values()
    assert crypto.stored_key_id(sealed) is not None
    # The database holds its hash only.
    (link,) = all_links()
    assert link.token_hash == links.hash_token(token) and token not in repr(vars(link))


def test_another_session_or_a_later_look_sees_the_state_but_not_the_link(app, case, monkeypatch):
    client = therapist_client(app)
    location = issue(client, case.id).headers["Location"]
    assert LINK_URL.search(client.get(location).text)

    elsewhere = therapist_client(app)  # the same therapist, another browser
    page = elsewhere.get(location)
    assert page.status_code == 200 and not LINK_URL.search(page.text) and "/r/" not in page.text
    assert "can no longer be shown" in page.text and "Created, not opened yet" in page.text

    (link,) = all_links()
    later = link.created_at + timedelta(minutes=links.SHOW_AGAIN_MINUTES, seconds=1)
    monkeypatch.setattr(links, "utcnow", lambda: later)
    page = client.get(location)
    assert not LINK_URL.search(page.text) and "can no longer be shown" in page.text


def test_signing_out_ends_the_showing(app, case):
    client = therapist_client(app)
    location = issue(client, case.id).headers["Location"]
    kept = client.get_cookie("kidrate_session").value
    client.post("/staff/sign-out", data={"csrf_token": csrf_token(client.get(location).text)})
    sign_in(client, "tess")
    assert not LINK_URL.search(client.get(location).text)
    # An old copy of the cookie, sealed token and all, opens nothing either: its session has ended.
    client.set_cookie("kidrate_session", kept)
    assert client.get(location).status_code == 302


def test_other_therapists_and_social_workers_do_not_reach_the_link_page(app, make, case):
    location = issue(therapist_client(app), case.id).headers["Location"]
    make.user("therapist", username="other")
    assert therapist_client(app, "other").get(location).status_code == 404
    assert therapist_client(app, "sw").get(location).status_code == 403


def test_a_new_link_while_one_is_live_asks_first_and_stops_only_the_named_one(app, case):
    client = therapist_client(app)
    issue(client, case.id)
    (old,) = all_links()

    asked = issue(client, case.id)  # the form on the case page: no confirmation yet
    assert asked.status_code == 200
    assert "the old one stops working" in asked.text
    assert f'name="replaces" value="{old.id}"' in asked.text
    assert len(all_links()) == 1 and all_links()[0].revoked_at is None

    # A confirmation naming another link (a second tab, an old page) asks again.
    again = issue(client, case.id, confirm="yes", replaces=str(old.id + 100))
    assert again.status_code == 200 and len(all_links()) == 1

    done = issue(client, case.id, confirm="yes", replaces=str(old.id))
    assert done.status_code == 303
    first, second = all_links()
    assert first.state(utcnow()) == "revoked" and second.state(utcnow()) == "issued"
    assert done.headers["Location"].endswith(f"/links/{second.id}")
    assert f"revoke_link link:{first.id}" in audit_targets()

    # The same confirmation sent again (back and resend) does not stop the new link.
    resent = issue(client, case.id, confirm="yes", replaces=str(old.id))
    assert resent.status_code == 200 and len(all_links()) == 2
    assert all_links()[1].revoked_at is None


def test_the_confirmation_works_without_any_script(app, case):
    client = therapist_client(app)
    issue(client, case.id)
    asked = issue(client, case.id)
    form = re.search(r'<form method="post" action="([^"]+/rounds/start/links)"[^>]*>(.*?)</form>', asked.text, re.S)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(2)))
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.group(2)).group(1)
    fields["csrf_token"] = csrf
    assert fields["confirm"] == "yes"
    # The language can be changed here (a new link is often wanted in another language); the one asked
    # for first is chosen.
    assert re.search(r'<option selected value="sv">|<option value="sv" selected>', form.group(2))
    fields["language"] = "en"
    assert client.post(form.group(1), data=fields).status_code == 303
    assert [lk.language for lk in all_links()] == ["sv", "en"]


def test_bad_input_stores_nothing(app, case):
    client = therapist_client(app)
    assert issue(client, case.id, language="zz").status_code == 400
    assert client.post(f"/staff/cases/{case.id}/rounds/start/links", data={"language": "sv"}).status_code == 400
    assert client.get(f"/staff/cases/{case.id}/links/999").status_code == 404
    assert all_links() == []


def test_the_case_list_and_the_case_page_name_a_links_state_alike(app, case):
    client = therapist_client(app)
    issue(client, case.id)
    case_page = client.get(f"/staff/cases/{case.id}").text
    case_list = client.get("/staff/cases").text
    assert "Created, not opened yet" in case_page and "Created, not opened yet" in case_list
    assert "link sent" not in case_list


def test_the_therapists_case_page_starts_with_what_is_due(app, case):
    html = therapist_client(app).get(f"/staff/cases/{case.id}").text
    due = html.index('id="next"')
    assert due < html.index('id="problems-section"') < html.index('id="rounds-section"')
    assert html.index(f'action="/staff/cases/{case.id}/rounds/start/links"') < html.index('id="problems-section"')
    assert "Hand this device to the child" in html[due:html.index('id="problems-section"')]


def test_the_social_workers_case_page_keeps_its_parts(app, case):
    html = therapist_client(app, "sw").get(f"/staff/cases/{case.id}").text
    assert 'id="next"' not in html
    assert WORDS[0] in html and 'id="rounds"' in html


# --- Sealing, pure -------------------------------------------------------------------------------


def test_a_sealed_token_opens_only_for_its_link_session_and_time():
    key = bytes(range(32))
    keys = {crypto.key_id(key): key}
    token = "A" * 32
    link = ChildLink(id=7, token_hash=links.hash_token(token))
    now = utcnow()
    sealed = links.seal_token(key, token, link_id=7, session_id=3, until=now + timedelta(minutes=30))
    assert links.open_sealed_token(keys, sealed, link, session_id=3, now=now) == (token, now + timedelta(minutes=30))
    assert links.open_sealed_token(keys, sealed, link, session_id=4, now=now) is None
    assert links.open_sealed_token(keys, sealed, ChildLink(id=8, token_hash=link.token_hash), session_id=3,
                                   now=now) is None
    assert links.open_sealed_token(keys, sealed, link, session_id=3, now=now + timedelta(minutes=30)) is None
    assert links.open_sealed_token(keys, sealed[:-2] + "AA", link, session_id=3, now=now) is None
    assert links.open_sealed_token(keys, None, link, session_id=3, now=now) is None
    assert links.open_sealed_token(keys, "not sealed", link, session_id=3, now=now) is None
    other = ChildLink(id=7, token_hash=links.hash_token("B" * 32))  # a sealed token of another link
    assert links.open_sealed_token(keys, sealed, other, session_id=3, now=now) is None


# --- The tablet hand-over ends on giving the device back -------------------------------------------


def test_a_handed_over_device_ends_on_giving_it_back_and_a_reload_shows_the_same(app, case):
    client = therapist_client(app)
    page = client.get(f"/staff/cases/{case.id}")
    response = client.post(f"/staff/cases/{case.id}/rounds/start/hand-over",
                           data={"csrf_token": csrf_token(page.text)})
    token = response.headers["Location"].rsplit("/", 1)[1]
    ids = [p.id for p in all_links()[0].round.case.problems]
    child_posts(client, token, dict.fromkeys(ids, "5"), dict.fromkeys(ids, "5"))
    for url in ("/r/thanks?lang=sv", "/r/thanks?lang=sv", "/r/open", "/r/sent", f"/r/{token}"):
        end = client.get(url)
        assert "tillbaka surfplattan eller datorn" in end.text or "tablet or computer back" in end.text, url
        assert "open your link" not in end.text and "öppna din länk" not in end.text.lower(), url
        assert 'href="/staff/"' in end.text
    locked = client.get("/staff/")
    assert locked.status_code == 423 and "answers have arrived" in locked.text

    # On the child's own device, the same addresses say what they always did.
    own = app.test_client()
    assert "tablet or computer" not in own.get("/r/thanks?lang=en").text
    assert "open your link again" in own.get("/r/open?lang=en").text


def test_a_reload_half_way_on_a_handed_over_device_asks_to_give_it_back(app, case):
    client = therapist_client(app)
    page = client.get(f"/staff/cases/{case.id}")
    client.post(f"/staff/cases/{case.id}/rounds/start/hand-over", data={"csrf_token": csrf_token(page.text)})
    halfway = client.get("/r/open?lang=en")
    assert "open your link" not in halfway.text and "Thank you" not in halfway.text
    # The questions can start again here, with the hand-over's own link (sealed for this locked session).
    (link,) = all_links()
    again = re.search(r'<a class="button" href="/r/([A-Za-z0-9_-]{32})\?lang=en">', halfway.text)
    assert again and links.hash_token(again.group(1)) == link.token_hash
    assert client.get(f"/r/{again.group(1)}").status_code == 200

    # Unlocked, the session ends, and with it the link and the way back in.
    page = client.get("/staff/")
    client.post("/staff/unlock", data={"csrf_token": csrf_token(page.text), "password": Factory.PASSWORD})
    after = client.get("/r/open?lang=en")
    assert 'class="button"' not in after.text and "open your link again" in after.text


def test_how_an_answered_round_was_answered_is_asked_at_the_top_until_recorded(app, make, case):
    token = make.link(case, "start", language="sv")
    child = app.test_client()
    page = child.get(f"/r/{token}").text
    ids = [int(i) for i in dict.fromkeys(re.findall(r'name="answer-(\d+)"', page))]
    child_posts(child, token, dict.fromkeys(ids, "6"), dict.fromkeys(ids, "6"))
    client = therapist_client(app)
    html = client.get(f"/staff/cases/{case.id}").text
    top = html[html.index('id="next"'):html.index('id="problems-section"')]
    assert 'id="answered-how-start-next"' in top
    assert f'action="/staff/cases/{case.id}/rounds/follow_up/links"' in top  # and the next round's link
    token_field = csrf_token(html)
    client.post(f"/staff/cases/{case.id}/rounds/start/answered",
                data={"csrf_token": token_field, "answered_how": "alone", "missing_reason": ""})
    html = client.get(f"/staff/cases/{case.id}").text
    assert 'id="answered-how-start-next"' not in html[html.index('id="next"'):html.index('id="problems-section"')]
