"""The sign-in page offers Svenska and English; the choice lasts (a cookie) until someone signs in, when
their own language setting applies."""

from __future__ import annotations

from kidrate.extensions import db
from kidrate.models import User
from tests.conftest import csrf_token


def test_the_sign_in_page_speaks_swedish_until_english_is_chosen(app, client):
    page = client.get("/staff/sign-in")
    assert '<html lang="sv"' in page.text and "Logga in" in page.text
    assert 'href="/staff/sign-in?lang=en" lang="en" hreflang="en">English</a>' in page.text
    assert '<span aria-current="true" lang="sv"><strong>Svenska</strong></span>' in page.text
    chosen = client.get("/staff/sign-in?lang=en")
    assert chosen.status_code == 302 and chosen.headers["Location"] == "/staff/sign-in"
    cookie = chosen.headers["Set-Cookie"]
    assert cookie.startswith("kidrate_locale=en;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    english = client.get("/staff/sign-in")
    assert '<html lang="en"' in english.text and "Sign in" in english.text
    assert 'href="/staff/sign-in?lang=sv" lang="sv" hreflang="sv">Svenska</a>' in english.text
    # Other pages before signing in follow the choice too.
    assert '<html lang="en"' in client.get("/staff/forgot-password").text
    # Back to Swedish.
    client.get("/staff/sign-in?lang=sv")
    assert '<html lang="sv"' in client.get("/staff/sign-in").text


def test_the_choice_keeps_where_the_person_was_going(app, client):
    response = client.get("/staff/sign-in?lang=en&next=/staff/audit")
    assert response.headers["Location"] == "/staff/sign-in?next=/staff/audit"
    page = client.get("/staff/sign-in?next=/staff/audit")
    assert 'href="/staff/sign-in?lang=sv&amp;next=/staff/audit"' in page.text


def test_an_unknown_language_changes_nothing(app, client):
    for bad in ("de", "", "<script>", "sv%00"):
        response = client.get(f"/staff/sign-in?lang={bad}")
        assert response.status_code == 302 and "Set-Cookie" not in response.headers, bad
    client.set_cookie("kidrate_locale", "xx")
    assert '<html lang="sv"' in client.get("/staff/sign-in").text


def test_after_sign_in_the_users_own_language_applies(app, make, client):
    user = make.user("analyst")  # the factory's users speak English
    db.session.get(User, user.id).locale = "sv"
    db.session.commit()
    client.get("/staff/sign-in?lang=en")
    page = client.get("/staff/sign-in")
    assert '<html lang="en"' in page.text
    client.post("/staff/sign-in", data={"csrf_token": csrf_token(page.text), "username": user.username,
                                        "password": make.PASSWORD})
    assert '<html lang="sv"' in client.get("/staff/report").text
