"""Signing in through an organisation's identity provider, against a real OpenID Provider on loopback
(Node's oidc-provider, tests/oidc/): the person's browser is a requests session at the provider and the
Flask test client at kidrate; kidrate's own calls (discovery, token, keys) reach the real provider.
Skipped, saying why, where Node.js cannot be installed."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import AuditEvent, SignOnProvider, StaffSession, User, UserIdentity
from kidrate.protection.accounts import account_link_token
from tests.conftest import csrf_token, english, post_form, sign_in
from tests.oidc.conftest import start_oidc_provider  # noqa: F401
from tests.oidc.harness import confirm_logout, sign_in_at_provider

BASE = "http://127.0.0.1:5000"  # the test app's KIDRATE_BASE_URL
CALLBACK = f"{BASE}/staff/sign-in/provider/callback"
SECRET = "kidrate-test-client-secret"
ACCOUNTS = {
    "anna": {"sub": "anna-1", "email": "Anna@Kommun.example", "email_verified": True, "name": "Anna Ek",
             "groups": ["kidrate-therapists"], "amr": ["pwd", "mfa"]},
    "bo": {"sub": "bo-2", "email": "bo@kommun.example", "email_verified": False, "name": "Bo",
           "groups": ["kidrate-sw"], "amr": ["pwd"]},
    "cilla": {"sub": "cilla-3", "email": "cilla@kommun.example", "email_verified": True, "name": "Cilla",
              "groups": ["other"], "amr": ["pwd", "mfa"]},
    "dan": {"sub": "dan-4", "email": "dan@kommun.example", "email_verified": True, "name": "Dan",
            "groups": [], "amr": ["pwd"], "acr": "loa3"},
}


@pytest.fixture
def idp(start_oidc_provider):  # noqa: F811
    return start_oidc_provider([{"client_id": "kidrate", "client_secret": SECRET, "redirect_uris": [CALLBACK],
                                 "post_logout_redirect_uris": [f"{BASE}/staff/sign-in"]}], ACCOUNTS)


@pytest.fixture
def connect(make, idp):
    """The organisation's provider, saved as the admin page saves it; returns it for changes."""
    def save(**rules) -> SignOnProvider:
        provider = SignOnProvider(organisation_id=make.org().id, issuer=idp.issuer, client_id="kidrate",
                                  client_secret=SECRET, extra_scopes="groups", **rules)
        db.session.add(provider)
        db.session.commit()
        return provider
    return save


def through_provider(client, login: str, start: str | None = None, http: requests.Session | None = None):
    """Start at kidrate (the start address, or an invitation's button), sign in at the provider, and bring
    the answer back to kidrate: kidrate's response to the callback."""
    start = start or f"/staff/sign-in/provider/{db.session.scalar(select(SignOnProvider.organisation_id))}"
    to_provider = client.get(start)
    assert to_provider.status_code == 302, to_provider.text
    back = sign_in_at_provider(http or requests.Session(), to_provider.headers["Location"], login)
    assert back.startswith(CALLBACK), back
    return client.get(back.removeprefix(BASE))


def signed_in_as(client) -> User | None:
    page = client.get("/staff/profile")
    if page.status_code != 200:
        return None
    with client.session_transaction() as s:
        return db.session.get(User, s.get("uid"))


def actions() -> list[tuple[str, str | None]]:
    db.session.remove()
    return [(e.action, e.target) for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def link_identity(user: User, subject: str, issuer: str) -> None:
    from kidrate.sign_on import identities
    identities.link(db.session, db.session.get(User, user.id), issuer, subject)
    db.session.commit()


# --- Who gets in ------------------------------------------------------------------------------------


def test_an_invitation_links_the_person_and_then_the_provider_alone_signs_them_in(app, make, connect, client):
    connect()
    anna = make.user("therapist")
    anna.password_hash = None  # invited, not yet accepted
    db.session.commit()
    with app.app_context():
        token = account_link_token(db.session.get(User, anna.id), "invite")
    english(client)
    invite = client.get(f"/staff/invite/{token}")
    assert "Sign in through Testkommun" in invite.text  # the invitation offers the provider
    start = client.post(f"/staff/invite/{token}/provider", data={"csrf_token": csrf_token(invite.text)})
    assert start.status_code == 302
    back = sign_in_at_provider(requests.Session(), start.headers["Location"], "anna")
    done = client.get(back.removeprefix(BASE))
    assert done.status_code == 302 and signed_in_as(client).id == anna.id
    assert ("identity_linked", f"user:{anna.id}") in actions()
    assert ("sign_in", "provider+mfa") in actions()
    identity = db.session.scalar(select(UserIdentity))
    assert identity.user_id == anna.id and "anna-1" not in identity.subject_hash  # only a hash is kept
    # The invitation is spent: its link no longer opens.
    assert client.get(f"/staff/invite/{token}").status_code == 404
    # Next time, a fresh browser: the provider alone.
    other = app.test_client()
    assert through_provider(other, "anna").status_code == 302 and signed_in_as(other).id == anna.id


def test_an_unknown_person_is_refused_with_a_clear_page_and_an_audit_event(make, connect, client):
    connect()
    make.user("therapist")
    english(client)
    refused = through_provider(client, "anna")
    assert refused.status_code == 403
    assert "not connected to an account here" in refused.text
    assert signed_in_as(client) is None
    assert ("sign_in_refused", "provider:unknown_person") in actions()
    assert db.session.scalar(select(User).where(User.username.like("anna%"))) is None  # nobody made silently


def test_a_verified_email_finds_the_account_only_where_the_admin_trusts_it(app, make, connect):
    provider = connect()
    anna = make.user("therapist", email="anna@kommun.example")
    assert through_provider(app.test_client(), "anna").status_code == 403  # not trusted: refused
    provider.trust_email = True
    db.session.merge(provider)
    db.session.commit()
    client = app.test_client()
    assert through_provider(client, "anna").status_code == 302 and signed_in_as(client).id == anna.id
    make.user("social_worker", email="bo@kommun.example")
    assert through_provider(app.test_client(), "bo").status_code == 403  # bo's address is not verified


# The provider's ID tokens live an hour: moved two hours back (and the clock skew allowed), one has expired.
@pytest.mark.parametrize("tamper", [{"aud": "someone-else"}, {"exp_offset": -2 * 3600 - 120}, {"nonce": "not-the-one"},
                                    {"iss": "https://idp.example"}], ids=["audience", "expired", "nonce", "issuer"])
def test_an_id_token_that_does_not_hold_is_refused(make, connect, idp, client, tamper):
    connect()
    anna = make.user("therapist")
    link_identity(anna, "anna-1", idp.issuer)
    idp.tamper_next_id_token(**tamper)
    english(client)
    refused = through_provider(client, "anna")
    assert refused.status_code == 400 and "could not be trusted" in refused.text
    assert signed_in_as(client) is None
    assert ("sign_in_refused", "provider:token") in actions()


def test_a_replayed_answer_is_refused(make, connect, idp, client):
    connect()
    anna = make.user("therapist")
    link_identity(anna, "anna-1", idp.issuer)
    to_provider = client.get(f"/staff/sign-in/provider/{anna.organisation_id}")
    back = sign_in_at_provider(requests.Session(), to_provider.headers["Location"], "anna").removeprefix(BASE)
    assert client.get(back).status_code == 302
    client.post("/staff/sign-out", data={"csrf_token": csrf_token(client.get("/staff/profile").text)})
    english(client)
    again = client.get(back)
    assert again.status_code == 400 and "Start again" in again.text
    assert signed_in_as(client) is None
    # and a state made up by someone else, in a browser that started nothing
    forged = parse_qs(urlsplit(back).query)
    assert client.get(f"/staff/sign-in/provider/callback?code={forged['code'][0]}&state=x").status_code == 400


def test_groups_decide_role_and_unit_at_every_sign_in(app, make, connect, idp):
    open_care = make.unit("open_care", "Öppenvården Norr")
    connect(group_roles=[{"group": "kidrate-therapists", "role": "therapist", "unit_id": open_care.id}])
    anna = make.user("social_worker")  # kidrate says social worker; the municipality's groups say therapist
    link_identity(anna, "anna-1", idp.issuer)
    client = app.test_client()
    assert through_provider(client, "anna").status_code == 302
    db.session.remove()
    anna = db.session.get(User, anna.id)
    assert (anna.role, anna.unit_id) == ("therapist", open_care.id)
    assert ("role_from_groups", f"user:{anna.id}:role,unit") in actions()
    cilla = make.user("therapist", email="cilla@kommun.example")
    link_identity(cilla, "cilla-3", idp.issuer)
    english(client := app.test_client())
    refused = through_provider(client, "cilla")  # in no group that gives access
    assert refused.status_code == 403 and "not in a group" in refused.text


def test_a_group_may_make_the_account_where_the_organisation_turned_that_on(app, make, connect):
    open_care = make.unit("open_care", "Öppenvården")
    connect(group_roles=[{"group": "kidrate-therapists", "role": "therapist", "unit_id": open_care.id}],
            create_users=True)
    client = app.test_client()
    assert through_provider(client, "anna").status_code == 302
    anna = signed_in_as(client)
    assert (anna.username, anna.display_name, anna.role, anna.unit_id, anna.email, anna.password_hash) == (
        "anna@kommun.example", "Anna Ek", "therapist", open_care.id, "anna@kommun.example", None)
    assert ("create_user", f"user:{anna.id}") in actions()


def test_without_the_providers_multi_factor_kidrate_asks_its_own_or_refuses(app, make, connect, idp):
    provider = connect()
    bo, _secret, _codes = make.user_with_totp("social_worker")
    link_identity(bo, "bo-2", idp.issuer)
    client = app.test_client()
    second = through_provider(client, "bo")  # amr: pwd only
    assert second.status_code == 302 and second.headers["Location"].endswith("/staff/sign-in/code")
    assert signed_in_as(client) is None  # not before the code
    provider.mfa_rule = "refuse"
    db.session.merge(provider)
    db.session.commit()
    english(client := app.test_client())
    refused = through_provider(client, "bo")
    assert refused.status_code == 403 and "more than one factor" in refused.text
    assert ("sign_in_refused", "provider:no_mfa") in actions()
    # an assurance level the organisation names as multi-factor counts
    dan = make.user("therapist")
    link_identity(dan, "dan-4", idp.issuer)
    assert through_provider(app.test_client(), "dan").status_code == 403
    provider.mfa_acr_values = ["loa3"]
    db.session.merge(provider)
    db.session.commit()
    client = app.test_client()
    assert through_provider(client, "dan").status_code == 302 and signed_in_as(client).id == dan.id


def test_a_deactivated_account_is_refused_and_its_old_session_ends(app, make, connect, idp, client):
    connect()
    anna = make.user("therapist")
    link_identity(anna, "anna-1", idp.issuer)
    assert through_provider(client, "anna").status_code == 302
    db.session.get(User, anna.id).active = False
    db.session.commit()
    assert signed_in_as(client) is None
    english(fresh := app.test_client())
    assert through_provider(fresh, "anna").status_code == 403


def test_a_session_through_the_provider_lasts_a_working_day(app, make, connect, idp, client):
    from datetime import timedelta
    connect()
    anna = make.user("therapist")
    link_identity(anna, "anna-1", idp.issuer)
    assert through_provider(client, "anna").status_code == 302
    row = db.session.scalar(select(StaffSession).where(StaffSession.ended_at.is_(None)))
    assert row.provider_id is not None
    row.created_at -= timedelta(hours=11)
    db.session.commit()
    assert signed_in_as(client) is None
    db.session.remove()
    assert db.session.get(StaffSession, row.id).end_reason == "provider_again"


def test_signing_out_ends_the_session_at_the_provider_too(app, make, connect, idp, client):
    connect()
    anna = make.user("therapist")
    link_identity(anna, "anna-1", idp.issuer)
    browser = requests.Session()
    assert through_provider(client, "anna", http=browser).status_code == 302
    out = client.post("/staff/sign-out", data={"csrf_token": csrf_token(client.get("/staff/profile").text)})
    ending = out.headers["Location"]
    assert ending.startswith(idp.issuer) and "client_id=kidrate" in ending and "id_token_hint" not in ending
    assert confirm_logout(browser, ending).startswith(f"{BASE}/staff/sign-in")
    assert signed_in_as(client) is None
    # the provider asks again: its session ended too
    again = client.get(f"/staff/sign-in/provider/{anna.organisation_id}")
    with pytest.raises(AssertionError):
        sign_in_at_provider(browser, again.headers["Location"], "nobody-known")
    # a password session signs out here only
    password_user = make.user("therapist")
    other = app.test_client()
    sign_in(other, password_user.username)
    out = other.post("/staff/sign-out", data={"csrf_token": csrf_token(other.get("/staff/profile").text)})
    assert out.headers["Location"] == "/staff/sign-in"


def test_passwords_switched_off_leave_admins_an_audited_way_back(app, make, connect):
    connect(passwords_off=True)
    therapist = make.user("therapist")
    admin = make.user("admin")
    client = app.test_client()
    english(client)
    refused = sign_in(client, therapist.username)
    assert refused.status_code == 400 and "own account service" in refused.text
    assert signed_in_as(client) is None
    assert sign_in(admin_client := app.test_client(), admin.username).status_code == 302
    assert signed_in_as(admin_client).id == admin.id
    assert ("password_recovery", None) in actions()


# --- The admin's page -------------------------------------------------------------------------------


def test_the_admin_connects_the_provider_and_it_is_checked_first(app, make, idp):
    admin = make.user("admin")
    make.unit("open_care", "Öppenvården")
    client = app.test_client()
    sign_in(client, admin.username)
    page = "/staff/admin/sign-on"
    assert CALLBACK in client.get(page).text  # what to give the provider
    fields = {"enabled": "y", "issuer": idp.issuer + "/wrong", "client_id": "kidrate", "client_secret": SECRET,
              "group_claim": "groups", "group_roles_text": "kidrate-therapists = therapist, Öppenvården\nx = boss",
              "mfa_rule": "totp", "passwords_off": "y"}
    refused = post_form(client, page, page, fields)
    assert refused.status_code == 400
    assert "did not answer" in refused.text and "Line 2" in refused.text and "once someone" in refused.text
    assert db.session.scalar(select(SignOnProvider)) is None  # nothing stored
    fields.update(issuer=idp.issuer, group_roles_text="kidrate-therapists = therapist, Öppenvården")
    del fields["passwords_off"]
    saved = post_form(client, page, page, fields)
    assert saved.status_code == 302
    provider = db.session.scalar(select(SignOnProvider))
    assert provider.client_secret == SECRET and provider.group_roles[0]["role"] == "therapist"
    shown = client.get(page).text
    assert SECRET not in shown and "kidrate-therapists = therapist, Öppenvården" in shown
    assert [target for action, target in actions() if action == "sign_on_settings"] == ["created"]
    fields.update(client_secret="a-new-secret", trust_email="y")
    assert post_form(client, page, page, fields).status_code == 302
    assert [target for action, target in actions() if action == "sign_on_settings"][-1] == "email,secret"
    # the sign-in page offers the organisation's provider, named by the installation's name for it
    assert "Sign in through Testkommun" in (english(anon := app.test_client()) or anon.get("/staff/sign-in").text)


def test_an_admin_of_another_organisation_changes_nothing_here(app, make, connect):
    provider = connect()
    outsider = make.outsider("admin", "other-admin")
    client = app.test_client()
    sign_in(client, outsider.username)
    assert "Testkommun" not in client.get("/staff/admin/sign-on").text
    db.session.remove()
    assert db.session.get(SignOnProvider, provider.id).issuer == provider.issuer


def test_the_admin_sees_and_removes_a_persons_connection(app, make, connect, idp):
    connect()
    anna = make.user("therapist")
    admin = make.user("admin")
    link_identity(anna, "anna-1", idp.issuer)
    anna_browser = app.test_client()
    assert through_provider(anna_browser, "anna").status_code == 302
    client = app.test_client()
    sign_in(client, admin.username)
    page = f"/staff/admin/users/{anna.id}/edit"
    assert "Connected to an account at the identity provider" in client.get(page).text
    assert post_form(client, page, f"/staff/admin/users/{anna.id}/identity/remove").status_code == 302
    assert db.session.scalar(select(UserIdentity)) is None
    assert ("identity_unlinked", f"user:{anna.id}") in actions()
    assert signed_in_as(anna_browser) is None  # the session through the connection ended
    english(again := app.test_client())
    assert through_provider(again, "anna").status_code == 403  # not connected any more


# --- A device handed to a child -------------------------------------------------------------------------


def test_a_device_handed_over_unlocks_only_by_the_same_person_signing_in_again_now(app, make, connect, idp):
    connect()
    sw = make.user("social_worker")
    anna = make.user("therapist")
    anna.password_hash = None  # signs in through the provider only
    db.session.commit()
    link_identity(anna, "anna-1", idp.issuer)
    link_identity(make.user("therapist"), "cilla-3", idp.issuer)
    case = make.case(sw, therapist=anna, child_language="sv")
    client, device_browser = app.test_client(), requests.Session()
    assert through_provider(client, "anna", http=device_browser).status_code == 302
    page = client.get(f"/staff/cases/{case.id}")
    assert client.post(f"/staff/cases/{case.id}/rounds/start/hand-over",
                       data={"csrf_token": csrf_token(page.text)}).status_code == 303
    english(client)
    locked = client.get("/staff/cases")
    assert locked.status_code == 423 and "Unlock by signing in again" in locked.text
    assert f"form-action 'self' {idp.issuer}" in locked.headers["Content-Security-Policy"]
    assert 'name="password"' not in locked.text  # no password to give
    # The provider's session on the device is not enough: it asks for the sign-in again (prompt=login).
    start = client.post("/staff/unlock/provider", data={"csrf_token": csrf_token(locked.text)})
    assert "prompt=login" in start.headers["Location"] and "max_age=0" in start.headers["Location"]
    # A child who signs in as someone else at the provider unlocks nothing.
    back = sign_in_at_provider(requests.Session(), start.headers["Location"], "cilla")
    refused = client.get(back.removeprefix(BASE))
    assert refused.status_code == 403 and "does not unlock this device" in refused.text
    assert client.get("/staff/cases").status_code == 423
    # A locked device signs nobody in through the ordinary button either.
    assert client.get(f"/staff/sign-in/provider/{anna.organisation_id}").status_code == 423
    locked = client.get("/staff/cases")
    start = client.post("/staff/unlock/provider", data={"csrf_token": csrf_token(locked.text)})
    back = sign_in_at_provider(device_browser, start.headers["Location"], "anna")
    unlocked = client.get(back.removeprefix(BASE))
    assert unlocked.status_code == 302 and f"/staff/cases/{case.id}" in unlocked.headers["Location"]
    assert client.get(f"/staff/cases/{case.id}").status_code == 200
    assert [a for a, _t in actions() if a.startswith("unlock")] == ["unlock_failed", "unlock_device"]


def test_the_organisation_may_name_another_claim_for_the_person(app, make, connect, idp):
    connect(subject_claim="email")  # a provider whose stable identifier is not "sub"
    anna = make.user("therapist")
    link_identity(anna, "Anna@Kommun.example", idp.issuer)  # the claim as the provider writes it
    client = app.test_client()
    assert through_provider(client, "anna").status_code == 302 and signed_in_as(client).id == anna.id
    english(other := app.test_client())
    refused = through_provider(other, "dan")  # dan's claim is there too, but linked to nobody
    assert refused.status_code == 403


def test_pages_whose_forms_end_at_the_provider_allow_it_in_their_form_action(app, make, connect, idp):
    connect()
    anna = make.user("therapist")
    link_identity(anna, "anna-1", idp.issuer)
    client = app.test_client()
    assert through_provider(client, "anna").status_code == 302
    policy = client.get("/staff/profile").headers["Content-Security-Policy"]
    assert f"form-action 'self' {idp.issuer};" in policy  # the sign-out button ends at the provider
    password_user = make.user("therapist")
    other = app.test_client()
    sign_in(other, password_user.username)
    assert "form-action 'self';" in other.get("/staff/profile").headers["Content-Security-Policy"]
    invited = make.user("therapist")
    invited.password_hash = None
    db.session.commit()
    with app.app_context():
        token = account_link_token(db.session.get(User, invited.id), "invite")
    policy = app.test_client().get(f"/staff/invite/{token}").headers["Content-Security-Policy"]
    assert f"form-action 'self' {idp.issuer};" in policy


# --- The operator's command -----------------------------------------------------------------------------


def test_the_operator_connects_an_organisation_from_the_environment(app, make, idp, monkeypatch):
    anna = make.user("therapist")
    link_identity(anna, "anna-1", idp.issuer)
    runner = app.test_cli_runner()
    missing = runner.invoke(args=["sign-on"])
    assert missing.exit_code != 0 and "KIDRATE_OIDC_ISSUER" in missing.output
    for name, value in (("ORGANISATION", "Testkommun"), ("ISSUER", idp.issuer + "/nowhere"), ("CLIENT_ID", "kidrate"),
                        ("CLIENT_SECRET", SECRET), ("SCOPES", "groups")):
        monkeypatch.setenv(f"KIDRATE_OIDC_{name}", value)
    refused = runner.invoke(args=["sign-on"])
    assert refused.exit_code != 0 and "unreachable" in refused.output
    assert db.session.scalar(select(SignOnProvider)) is None
    monkeypatch.setenv("KIDRATE_OIDC_ISSUER", idp.issuer)
    done = runner.invoke(args=["sign-on"])
    assert done.exit_code == 0, done.output
    assert SECRET not in done.output
    db.session.remove()
    provider = db.session.scalar(select(SignOnProvider))
    assert (provider.issuer, provider.client_secret, provider.extra_scopes) == (idp.issuer, SECRET, "groups")
    assert ("sign_on_settings", "operator") in actions()
    client = app.test_client()
    assert through_provider(client, "anna").status_code == 302 and signed_in_as(client).id == anna.id


def test_groups_never_take_the_last_administrators_role(app, make, connect, idp):
    connect(group_roles=[{"group": "kidrate-therapists", "role": "therapist", "unit_id": make.unit("open_care").id}])
    admin = make.user("admin")
    link_identity(admin, "anna-1", idp.issuer)  # anna is in kidrate-therapists at the provider
    assert through_provider(app.test_client(), "anna").status_code == 302
    db.session.remove()
    assert db.session.get(User, admin.id).role == "admin"  # kept: the organisation's only administrator
    make.user("admin")
    assert through_provider(app.test_client(), "anna").status_code == 302
    db.session.remove()
    assert db.session.get(User, admin.id).role == "therapist"  # with another administrator, the groups decide
