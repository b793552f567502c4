"""The child's link: one page for every unusable link, strict validation, exactly one submission."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kidrate.extensions import db
from kidrate.models import ChildLink, Rating, Submission, utcnow
from kidrate.red_thread.links import hash_token

GONE = "be used any more"


@pytest.fixture
def child_case(make):
    sw = make.user("social_worker")
    therapist = make.user("therapist")
    case = make.case(sw, therapist=therapist, words=("Pappa slår mig.", "Jag har inga kompisar."))
    return case


def form_token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def answers_for(case, values=("3", "declined")) -> dict:
    ids = [p.id for p in case.problems if p.source == "child"]
    return {f"answer-{pid}": v for pid, v in zip(ids, values, strict=True)}


def stored() -> tuple[int, int]:
    return (db.session.scalar(select(func.count(Submission.id))),
            db.session.scalar(select(func.count(Rating.id))))


def test_page_shows_each_problem_in_the_childs_words_with_ten_choices_and_declining(client, make, child_case):
    token = make.link(child_case)
    page = client.get(f"/r/{token}?view=ten")
    assert page.status_code == 200
    assert "Pappa slår mig." in page.text and "Jag har inga kompisar." in page.text
    for pid in (p.id for p in child_case.problems):
        assert len(re.findall(rf'name="answer-{pid}" value="(?:10|[1-9])"', page.text)) == 10
        assert f'name="answer-{pid}" value="declined"' in page.text
    assert 'name="added_text"' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in page.text


def test_opening_the_link_consumes_nothing(client, make, child_case):
    token = make.link(child_case)
    for _ in range(3):
        assert client.get(f"/r/{token}").status_code == 200
    link = db.session.scalar(select(ChildLink))
    assert link.used_at is None and link.opened_at is not None


def test_token_is_stored_only_as_its_hash(make, child_case):
    token = make.link(child_case)
    link = db.session.scalar(select(ChildLink))
    assert link.token_hash == hash_token(token) and token not in link.token_hash
    assert len(token) >= 32  # 192 random bits


def test_submission_stores_ratings_and_consumes_link_then_redirects_to_thanks(client, make, child_case):
    token = make.link(child_case)
    page = client.get(f"/r/{token}")
    data = {"form_token": form_token(page.text), "added_text": "Det är bättre nu.", **answers_for(child_case)}
    response = client.post(f"/r/{token}", data=data)
    assert response.status_code == 303 and "/r/thanks" in response.headers["Location"]
    assert token not in response.headers["Location"]
    assert client.get(response.headers["Location"]).status_code == 200
    ratings = {r.problem_id: (r.answer, r.value) for r in db.session.scalars(select(Rating))}
    first, second = (p.id for p in child_case.problems)
    assert ratings == {first: ("rated", 3), second: ("declined", None)}
    assert db.session.scalar(select(Submission.added_text)) == "Det är bättre nu."
    assert db.session.scalar(select(ChildLink.used_at)) is not None


def test_second_submission_is_already_sent_and_changes_nothing(client, make, child_case):
    token = make.link(child_case)
    page = client.get(f"/r/{token}")
    data = {"form_token": form_token(page.text), **answers_for(child_case)}
    assert client.post(f"/r/{token}", data=data).status_code == 303
    again = client.post(f"/r/{token}", data={**data, **answers_for(child_case, ("10", "10"))})
    assert again.status_code == 200 and "Already sent" in again.text
    assert stored() == (1, 2)
    assert sorted(v for v in db.session.scalars(select(Rating.value)) if v) == [3]


BAD_INPUTS = {
    "missing answer": lambda ids: {f"answer-{ids[0]}": "4"},
    "nothing at all": lambda ids: {},
    "out of range high": lambda ids: {f"answer-{i}": "11" for i in ids},
    "out of range zero": lambda ids: {f"answer-{i}": "0" for i in ids},
    "negative": lambda ids: {f"answer-{i}": "-3" for i in ids},
    "not an integer": lambda ids: {f"answer-{i}": "5.5" for i in ids},
    "words": lambda ids: {f"answer-{i}": "ten" for i in ids},
    "unicode digit": lambda ids: {f"answer-{i}": "٥" for i in ids},
    "problem of another case": lambda ids: {**{f"answer-{i}": "5" for i in ids}, "answer-999999": "5"},
    "oversize text": lambda ids: {**{f"answer-{i}": "5" for i in ids}, "added_text": "x" * 2001},
    "nul in text": lambda ids: {**{f"answer-{i}": "5" for i in ids}, "added_text": "a\x00b"},
}


@pytest.mark.parametrize("case_name", sorted(BAD_INPUTS))
def test_every_bad_input_is_refused_with_a_message_and_stores_nothing(client, make, child_case, case_name):
    token = make.link(child_case)
    page = client.get(f"/r/{token}")
    ids = [p.id for p in child_case.problems]
    response = client.post(f"/r/{token}", data={"form_token": form_token(page.text), **BAD_INPUTS[case_name](ids)})
    assert response.status_code == 400
    assert 'role="alert"' in response.text
    assert stored() == (0, 0)
    assert db.session.scalar(select(ChildLink.used_at)) is None
    # and the link still works afterwards
    good = {"form_token": form_token(page.text), **{f"answer-{i}": "5" for i in ids}}
    assert client.post(f"/r/{token}", data=good).status_code == 303


def test_a_problem_of_another_case_cannot_be_rated_through_this_link(client, make, child_case):
    other = make.case(child_case.social_worker, therapist=child_case.therapist, words=("Annat barn.",))
    token = make.link(child_case)
    page = client.get(f"/r/{token}")
    ids = [p.id for p in child_case.problems]
    data = {"form_token": form_token(page.text), f"answer-{ids[0]}": "5", f"answer-{other.problems[0].id}": "5"}
    assert client.post(f"/r/{token}", data=data).status_code == 400
    assert stored() == (0, 0)


@pytest.mark.parametrize("form_value", [None, "", "forged", "ImFiYyI.Zz.badsignature"])
def test_missing_or_wrong_form_token_is_refused(client, make, child_case, form_value):
    token = make.link(child_case)
    data = answers_for(child_case)
    if form_value is not None:
        data["form_token"] = form_value
    response = client.post(f"/r/{token}", data=data)
    assert response.status_code == 400
    assert stored() == (0, 0)


def test_form_token_of_one_link_does_not_work_for_another(client, make, child_case):
    first = make.link(child_case, "start")
    second = make.link(child_case, "follow_up")
    stolen = form_token(client.get(f"/r/{first}").text)
    response = client.post(f"/r/{second}", data={"form_token": stolen, **answers_for(child_case)})
    assert response.status_code == 400 and stored() == (0, 0)


def _expire(token: str) -> None:
    link = db.session.scalar(select(ChildLink).where(ChildLink.token_hash == hash_token(token)))
    link.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def _revoke(token: str) -> None:
    link = db.session.scalar(select(ChildLink).where(ChildLink.token_hash == hash_token(token)))
    link.revoked_at = utcnow()
    db.session.commit()


def test_unknown_malformed_expired_revoked_and_used_links_all_look_the_same(client, make, child_case):
    expired, revoked, used = make.link(child_case, "start"), make.link(child_case, "follow_up"), None
    _expire(expired)
    _revoke(revoked)
    used = make.link(child_case, "closure")
    page = client.get(f"/r/{used}")
    client.post(f"/r/{used}", data={"form_token": form_token(page.text), **answers_for(child_case)})

    bodies = set()
    for token in ["A" * 32, "short", "../../etc/passwd", "%00", expired, revoked, used]:
        response = client.get(f"/r/{token}", headers={"Accept-Language": "en"})
        assert response.status_code == 404, token
        assert GONE in response.text
        bodies.add(response.text)
    assert len(bodies) == 1


@pytest.mark.parametrize("spoil", [_expire, _revoke])
def test_posting_to_an_expired_or_revoked_link_stores_nothing(client, make, child_case, spoil):
    token = make.link(child_case)
    page = client.get(f"/r/{token}")
    spoil(token)
    response = client.post(f"/r/{token}", data={"form_token": form_token(page.text), **answers_for(child_case)})
    assert response.status_code == 404 and GONE in response.text
    assert stored() == (0, 0)


def test_issuing_a_new_link_revokes_the_live_one(client, make, child_case):
    old = make.link(child_case)
    new = make.link(child_case)
    assert client.get(f"/r/{old}").status_code == 404
    assert client.get(f"/r/{new}").status_code == 200


def test_page_is_in_the_links_language(client, make, child_case):
    sv = client.get(f"/r/{make.link(child_case, 'start', language='sv')}")
    assert 'lang="sv"' in sv.text and "Jag vill inte svara" in sv.text
    en = client.get(f"/r/{make.link(child_case, 'follow_up', language='en')}")
    assert 'lang="en"' in en.text and "I don&#39;t want to answer" in en.text  # catalogue text is escaped


def test_staff_session_is_not_needed_and_no_cookie_is_set(client, make, child_case):
    token = make.link(child_case)
    page = client.get(f"/r/{token}")
    assert "Set-Cookie" not in page.headers
    response = client.post(f"/r/{token}", data={"form_token": form_token(page.text), **answers_for(child_case)})
    assert "Set-Cookie" not in response.headers
