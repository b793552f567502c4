"""Closure and sending in Chromium on a 1366×768 laptop, in Swedish: the therapist fills in the closure
form (meeting the child alone and the signal's handling inside it), sees the handover exactly as it will
be sent, is asked to confirm that the case closes and its links stop, and a double click sends once; a
correction makes version 2, and the social worker, on version 1 and in the inbox, is pointed to it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kidrate import vocab
from kidrate.extensions import db
from kidrate.models import Case, Handover, SafetySignal, User, utcnow

from ..red_thread.test_documents import rate
from .conftest import LAPTOP, assert_accessible, shot, sign_in

WORDS = ("Pappa slår mig när han är arg.", "Jag har inga kompisar.")
NOTE = "Samtal med barnet enskilt; orosanmälan gjord samma vecka."


def _handovers(case_id: int) -> list[Handover]:
    db.session.remove()
    return list(db.session.scalars(select(Handover).where(Handover.case_id == case_id).order_by(Handover.version)))


@pytest.fixture
def case_to_close(make) -> dict:
    sw = make.user("social_worker", username="close-sw")
    therapist = make.user("therapist", username="close-t")
    for user in (sw, therapist):
        db.session.get(User, user.id).locale = "sv"
    case = make.case(sw, therapist=therapist, words=WORDS, case_ref="BOU-CLOSE-1")
    hit, lonely = (p.id for p in case.problems)
    problem = db.session.get(Case, case.id).problems[1]
    problem.category, problem.category_text = "other", "Ensamhet"
    db.session.commit()
    rate(case.id, "start", {hit: 2, lonely: 3}, added_text="Jag vill att pappa slutar.")
    rate(case.id, "follow_up", {hit: 5, lonely: 4})
    rate(case.id, "closure", {hit: 8, lonely: 6})
    start = db.session.get(Case, case.id).round("start").submission
    db.session.add(SafetySignal(case_id=case.id, submission_id=start.id, problem_id=hit, kind="low_violence",
                                value=2, created_at=utcnow()))
    db.session.commit()
    signal_id = db.session.scalar(select(SafetySignal.id).where(SafetySignal.case_id == case.id))
    return {"case_id": case.id, "problems": (hit, lonely), "signal_id": signal_id,
            "therapist": therapist.display_name}


def _fill_closure(page, world) -> None:
    for pid in world["problems"]:
        page.check(f"input[name='worked_{pid}'][value='focus']")
        page.check(f"input[name='attain_{pid}'][value='met']")
    page.select_option("select[name='reason']", "goals_met")
    page.check("input[name='concern_remaining'][value='no']")
    for key in vocab.PARTICIPATION:
        page.check(f"input[name='part_{key}'][value='yes']")


def test_preview_confirm_send_once_and_a_correction_the_social_worker_is_pointed_to(
        case_to_close, laptop, axe):
    world = case_to_close
    case_url = f"/staff/cases/{world['case_id']}"
    care = laptop()
    sign_in(care, "close-t")
    care.goto(f"{case_url}/closure")
    form_text = care.locator("main").inner_text()
    assert "Annan: Ensamhet" in form_text and "(Annan)" not in form_text
    # The checks point into this form: meeting the child alone and the signal are answered here.
    assert care.locator("section.checks a[href='#met-alone']").count() == 1
    assert care.locator("section.checks a[href='#signals']").count() == 1
    _fill_closure(care, world)
    care.locator("section.checks a[href='#met-alone']").click()  # a jump within the page, nothing lost
    care.check("#met-alone input[value='yes']")
    care.fill(f"textarea[name='signal_{world['signal_id']}']", NOTE)
    assert care.locator(f"input[name='worked_{world['problems'][0]}'][value='focus']").is_checked()
    shot(care, "closure-1-form-signals")
    care.locator("main form button[type=submit]").click()
    care.wait_for_url(re.compile(r"/closure/preview#check$"))

    # The handover as it will be sent, with the child's words first, the signal's handling, and no version sent.
    preview = care.locator(".handover-preview article.handover")
    assert preview.is_visible() and WORDS[0] in preview.locator("ol.child-problems").inner_text()
    assert NOTE in preview.locator("section.signal-record").inner_text()
    assert _handovers(world["case_id"]) == []
    shot(care, "closure-2-preview-top")
    assert_accessible(axe, care, "the handover preview")
    send = care.locator("section#send")
    send.scroll_into_view_if_needed()
    assert world["therapist"] not in send.inner_text()  # it names the social worker who receives it
    # Sending without ticking the confirmation is refused, with the reason beside the box.
    send.locator("button[type=submit]").click()
    care.wait_for_load_state()
    send = care.locator("section#send")
    assert send.locator(".confirm p.error").is_visible()
    assert _handovers(world["case_id"]) == []
    send.scroll_into_view_if_needed()
    shot(care, "closure-3-confirm-refused")
    # Ticked, a double click sends one version.
    send.locator("input[name='confirm']").check()
    send.locator("button[type=submit]").dblclick()
    care.wait_for_url(re.compile(rf"{case_url}/handovers/1$"))
    assert [h.version for h in _handovers(world["case_id"])] == [1]
    assert db.session.get(Case, world["case_id"]).status == "closed"
    shot(care, "closure-4-sent")

    # A correction, reached from the case page: a new version with a note of what changed.
    care.goto(case_url)
    care.locator(f"a.button[href='{case_url}/closure']",
                 has_text=re.compile(r"Correct the handover|Rätta överlämningen")).click()
    care.fill("textarea[name='recommendation']", "Fråga barnet först, och träffa barnet ensamt.")
    care.locator("main form button[type=submit]").click()
    care.wait_for_url(re.compile(r"/closure/preview#check$"))
    send = care.locator("section#send")
    send.locator("textarea[name='note']").fill("Rekommendationen förtydligad.")
    send.locator("button[type=submit]").click()
    care.wait_for_url(re.compile(rf"{case_url}/handovers/2$"))
    assert [(h.version, h.correction_note) for h in _handovers(world["case_id"])] == [
        (1, None), (2, "Rekommendationen förtydligad.")]

    # The social worker, on version 1 and in the inbox, sees that a newer version exists, and reaches it.
    social = laptop()
    sign_in(social, "close-sw")
    social.goto("/staff/handovers")
    old_row = social.locator("tbody tr.replaced")
    assert old_row.count() == 1 and old_row.locator(f"a[href='{case_url}/handovers/2']").count() == 1
    shot(social, "closure-5-inbox-replaced")
    social.goto(f"{case_url}/handovers/1")
    banner = social.locator("main p.flash.error", has=social.locator(f"a[href='{case_url}/handovers/2']"))
    assert banner.is_visible() and banner.bounding_box()["y"] < LAPTOP["height"]
    shot(social, "closure-6-older-version")
    banner.locator("a").click()
    social.wait_for_url(re.compile(rf"{case_url}/handovers/2$"))
    assert "Rekommendationen förtydligad." in social.locator("main").inner_text()
    shot(social, "closure-7-version-2")


def test_without_javascript_the_send_is_confirmed_by_the_box_and_a_signal_needs_a_reason(
        case_to_close, browser, live_server):
    world = case_to_close
    case_url = f"/staff/cases/{world['case_id']}"
    context = browser.new_context(viewport=LAPTOP, locale="sv-SE", base_url=live_server, java_script_enabled=False)
    try:
        care = context.new_page()
        sign_in(care, "close-t")
        care.goto(f"{case_url}/closure")
        _fill_closure(care, world)  # the signal left without a note: sending then needs a reason
        care.locator("main form button[type=submit]").click()
        care.wait_for_url(re.compile(r"/closure/preview#check$"))
        send = care.locator("section#send")
        assert send.locator("textarea[name='signals_reason']").is_visible()
        send.locator("button[type=submit]").click()
        care.wait_for_load_state()
        send = care.locator("section#send")
        assert send.locator("p.error").count() == 2  # the reason and the confirmation, each beside its field
        # The page has moved to the first field with a message, without a script.
        assert send.locator("textarea[name='signals_reason']").evaluate("e => e === document.activeElement")
        assert _handovers(world["case_id"]) == []
        shot(care, "closure-8-no-js-refused")
        send.locator("textarea[name='signals_reason']").fill("Socialsekreteraren är informerad per telefon.")
        send.locator("input[name='confirm']").check()
        send.locator("button[type=submit]").click()
        care.wait_for_url(re.compile(rf"{case_url}/handovers/1$"))
        (handover,) = _handovers(world["case_id"])
        assert handover.document["unhandled_signals_reason"] == "Socialsekreteraren är informerad per telefon."
        assert "Socialsekreteraren är informerad per telefon." in care.locator("section.signal-record").inner_text()
    finally:
        context.close()
