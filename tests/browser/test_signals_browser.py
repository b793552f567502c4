"""A safety signal reaches the people responsible, in Chromium on a 1366×768 laptop, in Swedish: the
child's low rating on their own phone raises it; the social worker sees it on the case list, the case
page and in the inbox; the therapist acknowledges it with a note (an empty note is refused), and both
then read what was done, by whom and when."""

from __future__ import annotations

import re

from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import Case, SafetySignal, User

from .conftest import LAPTOP, assert_accessible, shot, sign_in

NOTE = "Pratade med barnet enskilt samma dag. Ringde socialsekreteraren och gjorde en orosanmälan."


def _signals(case_id: int) -> list[SafetySignal]:
    db.session.remove()
    return list(db.session.scalars(select(SafetySignal).where(SafetySignal.case_id == case_id)))


def test_a_childs_low_rating_reaches_the_social_worker_and_is_acknowledged_with_a_note(
        make, live_server, phone_without_js, laptop, axe):
    sw = make.user("social_worker", username="signal-sw")
    therapist = make.user("therapist", username="signal-t")
    for user in (sw, therapist):
        db.session.get(User, user.id).locale = "sv"  # the staff's own language: Swedish
    db.session.commit()
    case = make.case(sw, therapist=therapist, words=("Pappa slår mamma när han är full.", "Jag har inga kompisar."),
                     case_ref="BOU-SIGNAL-1")
    lonely = db.session.get(Case, case.id).problems[1]
    lonely.category = "child_mental_health"
    db.session.commit()

    # The child answers on their own phone (no JavaScript: every question on one page): 1 on violence.
    child = phone_without_js.new_page()
    child.goto(f"{live_server}/r/{make.link(db.session.get(Case, case.id), 'start', language='sv')}")
    questions = child.locator("fieldset.question")
    questions.nth(0).locator("input[name^='answer-'][value='1']").check()
    questions.nth(1).locator("input[name^='answer-'][value='6']").check()
    child.locator("button.review").click()
    child.locator("button[value='send']").click()
    child.wait_for_url(re.compile(r"/r/thanks"))
    (signal,) = _signals(case.id)
    assert (signal.kind, signal.value, signal.acknowledged_at) == ("low_violence", 1, None)

    # The social worker sees it: a count on the case list, the signal at the top of the case page.
    social = laptop()
    sign_in(social, "signal-sw")
    social.goto("/staff/cases")
    row = social.locator("tr", has_text="BOU-SIGNAL-1")
    assert "1 säkerhetssignal" in row.inner_text()
    social.goto(f"/staff/cases/{case.id}")
    section = social.locator("section#signals")
    assert section.is_visible()
    box = section.bounding_box()
    assert box["y"] < LAPTOP["height"], "the signal is on the first screen of the case page"
    assert "Pappa slår mamma när han är full." in section.inner_text()
    assert section.locator("li.signal.open").count() == 1
    assert section.locator("textarea, button").count() == 0  # the therapist acknowledges, not the social worker
    shot(social, "signals-1-social-worker-case")
    assert_accessible(axe, social, "the social worker's case page with a signal")
    social.goto("/staff/handovers")
    inbox = social.locator("section#signals")
    assert "BOU-SIGNAL-1" in inbox.inner_text() and inbox.locator(".not-acknowledged").count() == 1
    shot(social, "signals-2-inbox-unhandled")

    # The therapist acknowledges: an empty note is refused with a message beside it, nothing stored.
    care = laptop()
    sign_in(care, "signal-t")
    care.goto(f"/staff/cases/{case.id}")
    item = care.locator(f"li#signal-{signal.id}")
    item.locator("button[type=submit]").click()
    care.wait_for_load_state()
    item = care.locator(f"li#signal-{signal.id}")
    assert item.locator("p.error").is_visible()
    assert item.locator("textarea").get_attribute("aria-invalid") == "true"
    assert _signals(case.id)[0].acknowledged_at is None
    shot(care, "signals-3-empty-note-refused")
    item.locator("textarea").fill(NOTE)
    item.locator("button[type=submit]").click()
    care.wait_for_url(re.compile(rf"/staff/cases/{case.id}#signals$"))
    handled = care.locator("section#signals ul.handled li.signal")
    assert handled.count() == 1 and NOTE in handled.inner_text()
    assert care.locator("section#signals li.signal.open").count() == 0
    shot(care, "signals-4-therapist-acknowledged")
    (signal,) = _signals(case.id)
    assert signal.acknowledged_note == NOTE and signal.acknowledged_by_id == therapist.id

    # The social worker reads what was done, by whom and when, on the case page and in the inbox.
    social.goto(f"/staff/cases/{case.id}")
    text = social.locator("section#signals").inner_text()
    assert NOTE in text and therapist.display_name in text
    social.goto("/staff/handovers")
    assert NOTE in social.locator("section#signals").inner_text()
    shot(social, "signals-5-inbox-handled")
    social.goto("/staff/cases")
    assert "säkerhetssignal" not in social.locator("tr", has_text="BOU-SIGNAL-1").inner_text()
