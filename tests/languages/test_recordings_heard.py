"""The admin's page of fixed texts to record: each text as it will be heard (an example in each
placeholder), glossed in the reader's language, in the organisation's own words where it has them."""

from __future__ import annotations

from kidrate.languages.recordings import as_heard, message_key, said_texts
from tests.conftest import sign_in

from .test_languages import po_bytes, upload

QUESTION = "How is it now with:"


def test_as_heard_fills_each_placeholder():
    assert as_heard("%(number)s of %(total)s", {"number": "2", "total": "4"}) == "2 of 4"
    assert as_heard("%(number)s av %(total)s", {"number": "2", "total": "4"}) == "2 av 4"
    assert as_heard("Until %(date)s: 100%%", {"date": "21/12/2026"}) == "Until 21/12/2026: 100%"
    assert as_heard("Hello %(who)s and %(count)d", {}) == "Hello … and …"
    assert as_heard("No placeholder", {"number": "2"}) == "No placeholder"


def _admin(app, make, locale: str):
    admin = make.user("admin")
    client = app.test_client()
    sign_in(client, admin.username)
    with client.session_transaction() as s:
        s["locale"] = locale
    return client


def test_a_swedish_admin_reads_a_somali_page_glossed_in_swedish(app, make):
    client = _admin(app, make, "sv")
    page = client.get("/staff/admin/recordings/so").text
    # The gloss is the Swedish child page's text, with its example: "2 av 4", never "%(number)s".
    assert '<span class="muted" lang="sv" dir="ltr">' in page
    assert "Hur är det nu med:" in page
    assert "2 av 4" in page and "%(number)s" not in page
    # The date example is a real date in the Somali page's numeric form.
    assert "%(date)s" not in page


def test_an_english_admin_on_the_english_page_gets_no_gloss(app, make):
    client = _admin(app, make, "en")
    page = client.get("/staff/admin/recordings/en").text
    assert '<span class="muted" lang="en"' not in page
    assert f'id="m-{message_key(QUESTION)}"' in page and "2 of 4" in page


def test_the_organisations_own_catalogue_is_what_is_heard(app, make):
    client = _admin(app, make, "en")
    own = "Sidee tahay hadda (annaga):"
    assert upload(client, "child", "so", po_bytes("so", {QUESTION: own})).status_code == 302
    page = client.get("/staff/admin/recordings/so").text
    assert own in page
    # Another organisation's admin hears the installation's.
    outsider = make.outsider("admin", "other_admin")
    other = app.test_client()
    sign_in(other, outsider.username)
    assert own not in other.get("/staff/admin/recordings/so").text


def test_said_texts_in_the_order_of_the_sources():
    sources = ['{{ say("Hi") }} {{ _("Not said") }} {{ say( "It\'s \\"fine\\"" ) }} {{ say("Hi") }} {{ unsay("x") }}',
               '{{ say("Good") }}']
    assert said_texts(sources) == ["Hi", 'It\'s "fine"', "Good"]


def test_what_listen_plays_comes_first_in_the_pages_order(app, make):
    client = _admin(app, make, "en")
    page = client.get("/staff/admin/recordings/en").text
    played, other = page.split('id="played"')[1].split('id="other-texts"')
    order = [text for text in ("Hi! How are things for you now?", "How is it now with:", "Good")
             if text in played]
    assert order == ["Hi! How are things for you now?", "How is it now with:", "Good"]
    assert played.index(order[0]) < played.index(order[1]) < played.index(order[2])
    assert "2 of 4" in other and "2 of 4" not in played
    # Every text is still there to record, once.
    assert page.count('<tr id="m-') == len(set(page.split('<tr id="m-')[1:]))
