"""A social worker on a laptop signs in through the organisation's identity provider in Chromium: kidrate's
sign-in page, the provider's own login form (a real OpenID Provider on loopback, tests/oidc/), back in
kidrate on the case list; signing out ends the provider's session too. An unknown person is refused on a
clear page; an invitation's button links the invited account; all of it works with JavaScript off.
The live app's base URL is its own address, so the redirect URIs kidrate sends are the ones registered."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from kidrate.extensions import db
from kidrate.models import SignOnProvider, StaffSession, User, UserIdentity
from kidrate.protection.accounts import account_link_token
from kidrate.sign_on import identities
from tests.oidc.conftest import start_oidc_provider  # noqa: F401
from tests.oidc.harness import Provider

from ..servers import free_port
from .conftest import LAPTOP, shot

SECRET = "kidrate-browser-client-secret"
ACCOUNTS = {
    "sara": {"sub": "sara-1", "email": "sara@kommun.example", "email_verified": True, "name": "Sara Lind",
             "groups": ["kidrate-sw"], "amr": ["pwd", "mfa"]},
    "bo": {"sub": "bo-5", "name": "Bo Ek", "groups": [], "amr": ["pwd", "mfa"]},
    "okand": {"sub": "okand-9", "email": "okand@kommun.example", "email_verified": True, "name": "Okänd",
              "groups": [], "amr": ["pwd", "mfa"]},
}
PROVIDER_LOGIN = "Sign in at the test provider"  # the provider's own pages (tests/oidc/provider/provider.mjs)
PROVIDER_LOGOUT = "Sign out of the test provider?"


@dataclass
class Site:
    base: str
    app: object
    idp: Provider
    org_name: str


@pytest.fixture
def site(small_app, start_oidc_provider, make):  # noqa: F811
    """kidrate served on a free port with that address as its base URL, and the organisation's provider
    registered with kidrate's callback and post-logout addresses there."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = small_app(base_url=base, sign_in_limit="1000 per minute")
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        idp = start_oidc_provider([{"client_id": "kidrate", "client_secret": SECRET,
                                    "redirect_uris": [f"{base}/staff/sign-in/provider/callback"],
                                    "post_logout_redirect_uris": [f"{base}/staff/sign-in"]}], ACCOUNTS)
        org = make.org()
        db.session.add(SignOnProvider(organisation_id=org.id, issuer=idp.issuer, client_id="kidrate",
                                      client_secret=SECRET, extra_scopes="groups"))
        db.session.commit()
        yield Site(base, app, idp, org.name)
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(params=[True, False], ids=["javascript", "no-javascript"])
def laptop(request, browser, site):
    """A laptop in Swedish; with JavaScript on and off."""
    context = browser.new_context(viewport=LAPTOP, locale="sv-SE", base_url=site.base,
                                  java_script_enabled=request.param)
    context.tag = "js" if request.param else "nojs"
    yield context
    context.close()


def social_worker(make, username: str = "sara", **fields) -> User:
    user = make.user("social_worker", username=username, email="sara@kommun.example", **fields)
    user.locale = "sv"  # her own choice of language after signing in
    db.session.commit()
    return user


def at_provider_sign_in(page, login: str) -> None:
    """The provider's own login form is open: fill it and send it."""
    assert page.locator("h1").inner_text() == PROVIDER_LOGIN, page.url
    page.fill("input[name=login]", login)
    page.get_by_role("button", name="Sign in").click()


def linked_social_worker(make, site) -> User:
    sara = social_worker(make)
    identities.link(db.session, db.session.get(User, sara.id), site.idp.issuer, "sara-1")  # an earlier invitation
    db.session.commit()
    return sara


def signed_in_through_provider(page, site, tag: str) -> None:
    """From kidrate's sign-in page (Swedish, then English by its language choice, then Swedish again)
    through the provider's login form to the case list."""
    page.goto("/staff/sign-in")
    assert page.locator("html").get_attribute("lang") == "sv"  # Swedish before anyone signs in
    shot(page, f"sign-on-{tag}-1-sign-in-sv", full_page=True)
    assert page.get_by_role("heading", name="Logga in via din organisation").is_visible()
    assert page.get_by_role("link", name=f"Logga in via {site.org_name}").is_visible()
    page.get_by_role("link", name="English").click()  # the page's own language choice
    page.wait_for_url(re.compile(r"/staff/sign-in$"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("link", name=f"Sign in through {site.org_name}").is_visible()
    shot(page, f"sign-on-{tag}-2-sign-in-en", full_page=True)
    page.get_by_role("link", name="Svenska").click()
    page.wait_for_url(re.compile(r"/staff/sign-in$"))

    page.get_by_role("link", name=f"Logga in via {site.org_name}").click()
    page.wait_for_url(f"{site.idp.issuer}/**")
    shot(page, f"sign-on-{tag}-3-provider-login")
    at_provider_sign_in(page, "sara")
    page.wait_for_url(f"{site.base}/staff/cases")
    assert page.locator("html").get_attribute("lang") == "sv"  # her own language now
    assert page.get_by_role("button", name="Logga ut").is_visible()
    shot(page, f"sign-on-{tag}-4-case-list", full_page=True)
    db.session.remove()
    assert db.session.scalar(select(StaffSession.provider_id)) is not None  # the session came from the provider


def test_a_social_worker_signs_in_through_the_provider(make, site, laptop):
    linked_social_worker(make, site)
    signed_in_through_provider(laptop.new_page(), site, laptop.tag)


def test_signing_out_ends_the_session_at_the_provider_too(make, site, laptop):
    linked_social_worker(make, site)
    page, tag = laptop.new_page(), laptop.tag
    signed_in_through_provider(page, site, tag)

    page.get_by_role("button", name="Logga ut").click()
    page.wait_for_url(f"{site.idp.issuer}/**")
    assert page.locator("h1").inner_text() == PROVIDER_LOGOUT
    shot(page, f"sign-on-{tag}-5-provider-logout")
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(re.compile(re.escape(f"{site.base}/staff/sign-in") + r"(\?state=[^&]+)?$"))  # Authlib's state
    assert page.get_by_text("Du har loggat ut.").is_visible()
    shot(page, f"sign-on-{tag}-6-signed-out", full_page=True)
    page.goto("/staff/cases")
    assert urlsplit(page.url).path == "/staff/sign-in"  # kidrate's session is over

    # The provider's session ended too: its button asks for the login again.
    page.get_by_role("link", name=f"Logga in via {site.org_name}").click()
    page.wait_for_url(f"{site.idp.issuer}/**")
    assert page.locator("h1").inner_text() == PROVIDER_LOGIN and page.locator("input[name=login]").is_visible()
    shot(page, f"sign-on-{tag}-7-provider-login-again")


def test_an_unknown_person_is_refused_on_a_clear_page(make, site, laptop):
    social_worker(make)  # someone else; the person "okand" has no account here
    page = laptop.new_page()
    page.goto("/staff/sign-in?lang=en")  # the language choice's own link
    page.get_by_role("link", name=f"Sign in through {site.org_name}").click()
    page.wait_for_url(f"{site.idp.issuer}/**")
    with page.expect_response(re.compile(r"/staff/sign-in/provider/callback")) as answer:
        at_provider_sign_in(page, "okand")
    assert answer.value.status == 403
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Not signed in"
    assert page.get_by_role("alert").inner_text().startswith(
        "Your account at your organisation is not connected to an account here. Ask your organisation's "
        "kidrate administrator for an invitation")
    shot(page, f"sign-on-{laptop.tag}-refused", full_page=True)
    page.get_by_role("link", name="Back to signing in").click()
    page.wait_for_url(f"{site.base}/staff/sign-in")
    assert page.get_by_role("link", name=f"Sign in through {site.org_name}").is_visible()
    db.session.remove()
    assert db.session.scalar(select(UserIdentity.id)) is None and db.session.scalar(select(StaffSession.id)) is None


def invitation(make, site) -> tuple[User, str]:
    sara = social_worker(make)
    sara.password_hash = None  # invited, not yet accepted
    db.session.commit()
    with site.app.app_context():  # signed with the live app's secret key
        return sara, account_link_token(db.session.get(User, sara.id), "invite")


def test_an_invitations_button_links_the_invited_account(make, site, laptop):
    sara, token = invitation(make, site)
    page = laptop.new_page()
    page.goto(f"/staff/invite/{token}")
    shot(page, f"sign-on-{laptop.tag}-invitation", full_page=True)
    page.get_by_role("button", name=f"Logga in via {site.org_name}").click()
    page.wait_for_url(f"{site.idp.issuer}/**")
    at_provider_sign_in(page, "sara")
    page.wait_for_url(f"{site.base}/staff/cases")
    shot(page, f"sign-on-{laptop.tag}-invited-case-list")
    db.session.remove()
    assert db.session.scalar(select(UserIdentity.user_id)) == sara.id
    assert page.goto(f"/staff/invite/{token}").status == 404  # the invitation is spent



def test_a_tablet_handed_to_a_child_unlocks_by_the_therapist_signing_in_again(make, site, browser, laptop):
    """A therapist with no kidrate password hands a tablet to a child: the locked page offers signing in
    again at the provider, which asks for the sign-in anew (its own session on the device is not enough)."""
    sw = social_worker(make, username="sw2")
    bo = make.user("therapist", username="bo")
    bo.password_hash, bo.locale = None, "sv"
    db.session.commit()
    identities.link(db.session, db.session.get(User, bo.id), site.idp.issuer, "bo-5")
    db.session.commit()
    case = make.case(sw, therapist=db.session.get(User, bo.id), child_language="sv", case_ref="BOU-SSO-1")
    tablet = browser.new_context(viewport={"width": 768, "height": 1024}, has_touch=True, locale="sv-SE",
                                 base_url=site.base, java_script_enabled=laptop.tag == "js")
    try:
        page = tablet.new_page()
        page.goto("/staff/sign-in")
        page.get_by_role("link", name=f"Logga in via {site.org_name}").click()
        at_provider_sign_in(page, "bo")
        page.wait_for_url(f"{site.base}/staff/cases")
        page.goto(f"/staff/cases/{case.id}")
        page.locator("form.hand-over button").click()
        page.wait_for_url(re.compile(r"/r/[A-Za-z0-9_-]{32}$"))
        page.goto(f"/staff/cases/{case.id}")  # the child wanders back to the staff side: locked
        assert page.get_by_role("heading", name="Enheten är låst").is_visible()
        assert page.locator("input[name=password]").count() == 0  # bo has no password to give
        shot(page, f"sign-on-{laptop.tag}-8-tablet-locked", full_page=True)
        page.get_by_role("button", name="Lås upp genom att logga in igen").click()
        page.wait_for_url(f"{site.idp.issuer}/**")
        at_provider_sign_in(page, "bo")  # asked again, though the provider knew bo on this device
        page.wait_for_url(re.compile(rf"/staff/cases/{case.id}#rounds$"))
        assert page.get_by_text("BOU-SSO-1").first.is_visible()
        shot(page, f"sign-on-{laptop.tag}-9-tablet-unlocked")
    finally:
        tablet.close()
