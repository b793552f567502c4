"""An organisation's admin changes the catalogues of their own organisation only, and catalogue text is
always text.

The outside test's finding: an admin's upload went into the instance folder and so reached every
organisation's staff and children, unterminated markup in it passed the check, and translations were
rendered as trusted markup (a `<meta http-equiv="refresh">` on the sign-in page, a quote breaking out of
aria-label). Here an upload is the organisation's own; the installation's catalogues (built in and the
operator's instance folder) serve everyone else; and whatever a catalogue says is escaped.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.support import Translations
from flask import render_template
from flask_babel import force_locale, get_babel
from sqlalchemy import select

from kidrate.config import PROJECT_ROOT
from kidrate.extensions import db
from kidrate.languages import catalogues
from kidrate.languages.i18n import child_domain
from kidrate.models import AuditEvent, Organisation, OrganisationCatalogue, Unit, User

from ..conftest import post_form, sign_in
from .test_languages import po_bytes, upload

WARNING_ID = ("The person who helps you will read your answers. If you tell us that you are not safe, "
              "the adults who work here must help you.")
PARENTS = "Dina svar skickas till dina föräldrar."
TOGETHER_ID = "Here is what you have answered. We can look at it together."
REDIRECT = 'Användarnamn<meta http-equiv="refresh" content="0;url=https://attacker.invalid/x" '
PAGE = "/staff/admin/translations"


@pytest.fixture
def orgs(app, make):
    """Two organisations, each with an admin, a social worker, a therapist and a case with a Swedish link."""
    a = make.org()
    b = Organisation(name="Annan kommun")
    db.session.add(b)
    db.session.commit()
    b_unit = {kind: Unit(organisation_id=b.id, name=f"B {kind}", kind=kind) for kind in ("authority", "open_care")}
    db.session.add_all(b_unit.values())
    db.session.commit()
    people = {"a_admin": make.user("admin", username="a_admin"), "a_sw": make.user("social_worker", username="a_sw"),
              "a_t": make.user("therapist", username="a_t")}
    for name, role, unit in (("b_admin", "admin", None), ("b_sw", "social_worker", b_unit["authority"]),
                             ("b_t", "therapist", b_unit["open_care"])):
        user = make.user(role, unit, username=name)
        db.session.get(User, user.id).organisation_id = b.id
        db.session.commit()
        people[name] = user
    case_a = make.case(people["a_sw"], therapist=people["a_t"], words=("Ord A",))
    case_b = make.case(db.session.get(User, people["b_sw"].id), therapist=people["b_t"], words=("Ord B",))
    assert case_b.organisation_id == b.id
    return {"a": a.id, "b": b.id, "link_a": make.link(case_a, language="sv"),
            "link_b": make.link(case_b, language="sv"), "case_a": case_a.id, "case_b": case_b.id}


def staff(app, username: str, locale: str = "sv"):
    client = app.test_client()
    sign_in(client, username)
    with client.session_transaction() as s:
        s["locale"] = locale
    return client


def instance_files(app) -> list[Path]:
    return [p for p in Path(app.instance_path).rglob("*") if p.is_file()]


def events(action: str) -> list[tuple[int | None, str | None]]:
    db.session.remove()
    return [(e.organisation_id, e.target) for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == action))]


# --- Whose catalogue -----------------------------------------------------------------------------


def test_a_child_catalogue_reaches_the_organisations_children_only(app, orgs):
    before = instance_files(app)
    admin = staff(app, "a_admin", "en")
    data = po_bytes("sv", {WARNING_ID: PARENTS, TOGETHER_ID: "Här är dina svar i A."})
    assert upload(admin, "child", "sv", data).status_code == 302
    assert PARENTS in app.test_client().get(f"/r/{orgs['link_a']}").text
    other = app.test_client().get(f"/r/{orgs['link_b']}").text
    assert PARENTS not in other and "Den som hjälper dig läser dina svar" in other
    # A staff member of A signed in on the same browser does not make B's child's page A's.
    a_browser = staff(app, "a_t")
    assert PARENTS not in a_browser.get(f"/r/{orgs['link_b']}").text
    # The page the therapist and the child read together speaks the case's organisation's catalogue.
    assert "Här är dina svar i A." in a_browser.get(f"/staff/cases/{orgs['case_a']}/together?lang=sv").text
    b_together = staff(app, "b_t").get(f"/staff/cases/{orgs['case_b']}/together?lang=sv").text
    assert "Här är dina svar i A." not in b_together and "Här är det du har svarat." in b_together
    assert events("install_translation") == [(orgs["a"], "child:sv")]
    assert instance_files(app) == before


def test_a_staff_catalogue_reaches_the_organisations_staff_only(app, orgs):
    admin = staff(app, "a_admin", "en")
    data = po_bytes("sv", {"Sign out": "Logga ut från A", "Username": "Användarnamn i A"})
    assert upload(admin, "messages", "sv", data, name="messages.po").status_code == 302
    assert "Logga ut från A" in staff(app, "a_t").get("/staff/cases").text
    assert "Logga ut från A" in staff(app, "a_sw").get("/staff/cases").text
    b_page = staff(app, "b_t").get("/staff/cases").text
    assert "Logga ut från A" not in b_page and "Logga ut" in b_page
    signed_out = app.test_client().get("/staff/sign-in").text
    assert "Användarnamn i A" not in signed_out and "Användarnamn" in signed_out
    assert events("install_translation") == [(orgs["a"], "messages:sv")]


def test_the_installations_catalogue_is_not_written_by_an_admin(app, orgs):
    before = instance_files(app)
    admin = staff(app, "a_admin", "en")
    for domain, name in (("child", "child.po"), ("messages", "messages.po")):
        assert upload(admin, domain, "sv", po_bytes("sv", {"Listen": "Lyssna A", "Sign out": "Ut A"}),
                      name=name).status_code == 302
    assert instance_files(app) == before
    assert not (Path(app.instance_path) / "translations" / "sv").exists()
    rows = db.session.scalars(select(OrganisationCatalogue)).all()
    assert {(r.organisation_id, r.domain, r.locale) for r in rows} == {(orgs["a"], "child", "sv"),
                                                                       (orgs["a"], "messages", "sv")}


def test_removal_is_audited_and_only_the_own_organisations_admin_may_remove(app, orgs):
    admin_a = staff(app, "a_admin", "en")
    assert upload(admin_a, "child", "sv", po_bytes("sv", {WARNING_ID: PARENTS})).status_code == 302
    catalogue_id = db.session.scalar(select(OrganisationCatalogue.id))
    admin_b = staff(app, "b_admin", "en")
    assert "This organisation" not in admin_b.get(PAGE).text.split("<section")[0]  # B lists no own catalogue
    response = post_form(admin_b, PAGE, f"{PAGE}/{catalogue_id}/remove")
    assert response.status_code == 404
    assert PARENTS in app.test_client().get(f"/r/{orgs['link_a']}").text
    assert events("remove_translation") == []
    # Without the form's token nothing happens either.
    assert admin_a.post(f"{PAGE}/{catalogue_id}/remove").status_code == 400
    assert post_form(admin_a, PAGE, f"{PAGE}/{catalogue_id}/remove").status_code == 302
    assert PARENTS not in app.test_client().get(f"/r/{orgs['link_a']}").text
    assert events("remove_translation") == [(orgs["a"], "child:sv")]
    assert db.session.scalar(select(OrganisationCatalogue.id)) is None


@pytest.mark.parametrize("suffix", ["abc", "0", "-1", "99999999999999999999"])
def test_a_removal_of_no_catalogue_is_not_found(app, orgs, suffix):
    admin = staff(app, "a_admin", "en")
    response = post_form(admin, PAGE, f"{PAGE}/{suffix}/remove")
    assert response.status_code in (404, 405)


# --- The attack strings ---------------------------------------------------------------------------


@pytest.mark.parametrize(("domain", "msgid", "attack"), [
    ("messages", "Username", REDIRECT),
    ("messages", "Username", "Användarnamn<script>alert(1)</script>"),
    ("messages", "Username", "Användarnamn</label><img src=x onerror=alert(1)>"),
    ("child", "Listen", "Lyssna<!-- "),
    ("child", WARNING_ID, "Dina svar<svg onload=alert(1)"),
])
def test_markup_in_an_upload_is_refused(app, orgs, domain, msgid, attack):
    admin = staff(app, "a_admin", "en")
    response = upload(admin, domain, "sv", po_bytes("sv", {msgid: attack}), name=f"{domain}.po")
    assert response.status_code == 400
    assert db.session.scalar(select(OrganisationCatalogue.id)) is None
    assert events("install_translation") == []


def test_unterminated_markup_does_not_fit_its_source():
    assert not catalogues.translation_fits("Username", REDIRECT)
    assert not catalogues.translation_fits("Listen", "Lyssna</")
    assert catalogues.translation_fits("%(number)s of 10", "%(number)s < 10 av 10")  # a lone < is text


def test_a_quote_in_an_upload_stays_inside_its_attribute(app, orgs):
    admin = staff(app, "a_admin", "en")
    attack = 'Lyssna" autofocus onfocus="location=\'https://attacker.invalid/x\''
    assert upload(admin, "child", "sv", po_bytes("sv", {"Listen": attack})).status_code == 302
    page = app.test_client().get(f"/r/{orgs['link_a']}").text
    assert 'aria-label="Lyssna&#34; autofocus onfocus=&#34;location=&#39;https://attacker.invalid/x&#39;"' in page
    assert 'onfocus="' not in page


# --- Catalogue text is text, whoever wrote it -------------------------------------------------------
# Past any check (a rule that misses something, an operator's file): the page escapes it.


@contextmanager
def catalogue_saying(domain, locale: str, messages: dict[str, str]):
    """The installation's catalogue of a domain, with some messages replaced, for the app's process."""
    catalog = Catalog(locale=locale)
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr)
    mo = BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    crafted = Translations(mo, domain=domain.domain[0])
    crafted.add_fallback(Translations.load(str(PROJECT_ROOT / "translations"), [locale], domain.domain[0]))
    key = (locale, domain.domain[0])
    domain.cache[key] = crafted
    try:
        yield
    finally:
        domain.cache.pop(key, None)


def test_the_sign_in_page_escapes_catalogue_text(app):
    staff_domain = get_babel(app).instance.domain_instance
    with catalogue_saying(staff_domain, "sv", {"Username": REDIRECT, "Sign in": "Logga in<script>alert(1)</script>"}):
        page = app.test_client().get("/staff/sign-in").text
    assert "<meta http-equiv" not in page and "<script>" not in page
    assert "Användarnamn&lt;meta http-equiv=&#34;refresh&#34;" in page
    assert "Logga in&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_childs_page_escapes_catalogue_text_in_text_and_attributes(app, orgs):
    messages = {"Listen": 'Lyssna" onfocus="alert(1)', WARNING_ID: "<script>alert(1)</script>",
                "Hi! How are things for you now?": "Hej<meta http-equiv=\"refresh\" content=\"0\" "}
    with catalogue_saying(child_domain, "sv", messages):
        page = app.test_client().get(f"/r/{orgs['link_a']}").text
    assert 'aria-label="Lyssna&#34; onfocus=&#34;alert(1)"' in page and 'onfocus="' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "Hej&lt;meta" in page and "<meta http-equiv" not in page


def test_an_organisations_catalogue_past_the_check_is_escaped(app, orgs, monkeypatch):
    # The check missed it (as it missed the unterminated tag): the page still shows it as text.
    monkeypatch.setattr(catalogues, "translation_fits", lambda source, translated: True)
    admin = staff(app, "a_admin", "en")
    assert upload(admin, "messages", "sv", po_bytes("sv", {"Sign out": REDIRECT}), name="messages.po"
                  ).status_code == 302
    page = staff(app, "a_t").get("/staff/cases").text
    assert "<meta http-equiv" not in page and "Användarnamn&lt;meta http-equiv=&#34;refresh&#34;" in page


def test_lazy_strings_and_variables_are_escaped(app):
    """Form labels and vocabularies are lazy strings, which call themselves HTML: escaped all the same."""
    from flask_babel import lazy_gettext

    staff_domain = get_babel(app).instance.domain_instance
    template = app.jinja_env.from_string("{{ label }}|{{ _('Page %(page)s of %(pages)s', page=x, pages=y) }}")
    with catalogue_saying(staff_domain, "sv", {"Username": "<i>Namn</i>"}), app.test_request_context():
        html = template.render(label=lazy_gettext("Username"), x="<b>", y='"')
    assert html == "&lt;i&gt;Namn&lt;/i&gt;|Sida &lt;b&gt; av &#34;"


@pytest.mark.parametrize("locale", ["en", "sv"])
def test_the_print_page_counter_keeps_its_markup(app, locale):
    with app.test_request_context(), force_locale(locale):
        html = render_template("handover/_print_base.html", doc={"case": {"case_ref": "BOU<1>"}}, print_css="",
                               generated="1 Jan")
    counter = re.search(r'<span class="print-pages">(.*?)</span>\n', html).group(1)
    assert counter.count('<span class="page-number"></span>') == 1
    assert counter.count('<span class="page-count"></span>') == 1
    assert "BOU&lt;1&gt;" in html


def test_text_outside_html_is_not_escaped(app):
    """A template that is not HTML (the service worker script) gets the translation as it is."""
    with app.test_request_context(), force_locale("sv"):
        text = app.jinja_env.from_string("{% autoescape false %}{{ _('Sign out') }}{% endautoescape %}").render()
    assert text == "Logga ut"


def test_a_review_state_other_than_draft_or_reviewed_is_stored_as_unknown(app, orgs):
    admin = staff(app, "a_admin", "en")
    assert upload(admin, "child", "so", po_bytes("so", {"Listen": "Dhegeyso"}, review="x" * 300)).status_code == 302
    assert db.session.scalars(select(OrganisationCatalogue.review_state)).all() == ["unknown"]
    assert "Review state not given" in admin.get(PAGE).text
