"""Closure and sending, through the web interface as the therapist uses it: the closure form records
meeting the child alone and each unhandled signal's handling; saving leads to the handover exactly as it
will be sent (stored nowhere); sending asks to confirm, needs a reason while a signal is unhandled, and
never sends twice; a correction is a new version the social worker is pointed to; staff translate what
the child added, and the handover shows it beside the child's own words."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest
from sqlalchemy import func, select

from kidrate import vocab
from kidrate.extensions import db
from kidrate.models import AuditEvent, Case, ChildLink, Handover, SafetySignal, User, utcnow
from kidrate.red_thread.checks import SIGNAL_UNHANDLED, check_case
from kidrate.red_thread.facts import ClosureFact, SignalFact
from kidrate.red_thread.handover import as_sent, compile_handover

from ..conftest import csrf_token, post_form, sign_in
from .test_documents import flat, rate
from .test_handover import COMPILED, make_facts, rated, submitted

ADDED = "أريد أن أرى جدتي"
ADDED_SV = "Jag vill träffa min mormor."
NOTE = "Pratade med barnet enskilt. Gjorde en orosanmälan samma dag."
REASON = "Socialsekreteraren är informerad per telefon; signalen hanteras i utredningen."


# --- Pure: the check, the document, the facts as sending leaves them ---------------------------------

def signal(handled: bool, problem_id: int = 1) -> SignalFact:
    return SignalFact(id=7, problem_id=problem_id, kind="low_violence", value=1, raised_at=COMPILED,
                      words="Pappa slår mig.", words_language="sv",
                      handled_at=COMPILED if handled else None, handled_by="Bo" if handled else None,
                      note=NOTE if handled else None)


def test_an_unhandled_signal_is_the_first_open_check_and_a_handled_one_is_none():
    found = check_case(make_facts(signals=(signal(False),)), date(2026, 3, 1))
    assert (found[0].code, found[0].problem_id, found[0].anchor) == (SIGNAL_UNHANDLED, 1, "signals")
    assert SIGNAL_UNHANDLED not in [f.code for f in check_case(make_facts(signals=(signal(True),)), date(2026, 3, 1))]


def test_the_document_lists_every_signal_with_its_handling_and_the_reason_only_while_one_is_unhandled():
    closure = ClosureFact(reason="goals_met", concern_remaining=False, unhandled_signals_reason=REASON)
    doc = compile_handover(make_facts(signals=(signal(True), signal(False, 2)), closure=closure),
                           compiled_at=COMPILED)
    assert [(s["problem_id"], s["note"], s["handled_by"], bool(s["handled_at"])) for s in doc["signals"]] == [
        (1, NOTE, "Bo", True), (2, None, None, False)]
    assert doc["unhandled_signals_reason"] == REASON
    assert {"code": SIGNAL_UNHANDLED, "problem_id": 2, "round": None} in doc["open_checks"]
    handled = compile_handover(make_facts(signals=(signal(True),), closure=closure), compiled_at=COMPILED)
    assert handled["unhandled_signals_reason"] is None  # a stale reason is not carried


def test_as_sent_closes_now_and_revokes_live_links_only():
    waiting = replace(submitted("follow_up", {}, links=("expired", "opened")), submitted_at=None)
    facts = make_facts(rounds={"start": submitted("start", {1: rated(3)}), "follow_up": waiting})
    sent = as_sent(facts, COMPILED)
    assert sent.closed_at == COMPILED and sent.rounds["follow_up"].link_states == ("expired", "revoked")
    assert sent.rounds["start"].link_states == ("completed",)
    assert compile_handover(sent, compiled_at=COMPILED)["rounds"]["follow_up"]["submitted_at"] is None
    already = replace(facts, closed_at=COMPILED.replace(day=2))
    assert as_sent(already, COMPILED) is already


# --- Through the web interface ---------------------------------------------------------------------

@pytest.fixture
def world(app, make):
    sw = make.user("social_worker", username="sw")
    therapist = make.user("therapist", username="t")
    case = make.case(sw, therapist=therapist, words=("Pappa slår mig.", "Jag är ensam."),
                     case_ref="BOU-2026-300")
    hit, alone = (p.id for p in case.problems)
    alone_problem = db.session.get(Case, case.id).problems[1]
    alone_problem.category, alone_problem.category_text = "other", "Ensamhet"
    db.session.commit()
    rate(case.id, "start", {hit: 1, alone: 6}, added_text=ADDED)
    rate(case.id, "follow_up", {hit: 4, alone: 6})
    # The child's answer raised a signal, as the child's page does (red_thread.signals.record_signals).
    start = db.session.get(Case, case.id).round("start").submission
    db.session.add(SafetySignal(case_id=case.id, submission_id=start.id, problem_id=hit, kind="low_violence",
                                value=1, created_at=utcnow()))
    db.session.commit()
    token = make.link(db.session.get(Case, case.id), "closure")  # live: sending stops it
    return {"case_id": case.id, "hit": hit, "alone": alone, "token": token}


def _client(app, username: str):
    client = app.test_client()
    sign_in(client, username)
    return client


def _closure(world, **extra) -> dict:
    data = {"reason": "goals_met", "concern_remaining": "no", "recommendation": "Fråga barnet först.",
            **{f"part_{k}": "yes" for k in vocab.PARTICIPATION}}
    for pid in (world["hit"], world["alone"]):
        data.update({f"worked_{pid}": "focus", f"attain_{pid}": "met"})
    data.update(extra)
    return data


def _signal_id(world) -> int:
    return db.session.scalar(select(SafetySignal.id).where(SafetySignal.case_id == world["case_id"]))


def _handovers() -> list[Handover]:
    db.session.remove()
    return list(db.session.scalars(select(Handover).order_by(Handover.version)))


def test_the_closure_form_shows_the_category_as_everywhere_and_links_its_checks_to_itself(app, world):
    t = _client(app, "t")
    page = t.get(f"/staff/cases/{world['case_id']}/closure").text
    text = flat(page)
    assert "(Other: Ensamhet)" in text and "(Other)" not in text
    # Meeting the child alone and the signal are both answered in this form: their checks point here.
    assert 'href="#met-alone"' in page and 'href="#signals"' in page
    assert 'id="met-alone"' in page and 'id="signals"' in page
    assert f'name="signal_{_signal_id(world)}"' in page


def test_a_follow_up_the_child_rated_is_already_marked_as_done_with_the_child(app, world, make):
    checked = re.compile(r'<input checked [^>]*name="part_follow_up"[^>]*value="yes"')
    first = _client(app, "t").get(f"/staff/cases/{world['case_id']}/closure").text
    assert checked.search(first)
    # Without a follow-up rating nothing is assumed.
    other = make.case(db.session.get(User, db.session.get(Case, world["case_id"]).social_worker_id),
                      therapist=db.session.get(User, db.session.get(Case, world["case_id"]).therapist_id))
    page = _client(app, "t").get(f"/staff/cases/{other.id}/closure").text
    assert 'name="part_follow_up"' in page and not checked.search(page)


def test_saving_keeps_what_was_typed_when_something_is_missing(app, world):
    t = _client(app, "t")
    url = f"/staff/cases/{world['case_id']}/closure"
    data = _closure(world, met_alone="yes", recommendation="Mitt långa svar som inte får försvinna.")
    del data[f"worked_{world['hit']}"]
    refused = post_form(t, url, url, data)
    assert refused.status_code == 400 and "Mitt långa svar som inte får försvinna." in refused.text
    assert re.search(r'<input[^>]*checked[^>]*value="yes"[^>]*>|<input[^>]*value="yes"[^>]*checked', refused.text)
    assert db.session.get(Case, world["case_id"]).closure is None


def test_the_closure_form_records_meeting_alone_and_what_was_done_about_the_signal(app, world):
    t = _client(app, "t")
    url = f"/staff/cases/{world['case_id']}/closure"
    sid = _signal_id(world)
    response = post_form(t, url, url, _closure(world, met_alone="yes", **{f"signal_{sid}": NOTE}))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/staff/cases/{world['case_id']}/closure/preview#check")
    db.session.remove()
    case = db.session.get(Case, world["case_id"])
    assert case.met_child_alone is True and case.closure is not None
    signal = db.session.get(SafetySignal, sid)
    assert signal.acknowledged_note == NOTE and signal.acknowledged_by.username == "t"
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case.id)))
    assert {"save_closure", "record_met_alone", "acknowledge_signal"} <= actions


def test_the_preview_is_the_handover_as_it_will_be_sent_and_stores_nothing(app, world):
    t = _client(app, "t")
    url = f"/staff/cases/{world['case_id']}/closure"
    post_form(t, url, url, _closure(world, met_alone="yes", **{f"signal_{_signal_id(world)}": NOTE}))
    preview = t.get(f"{url}/preview")
    assert preview.status_code == 200
    assert _handovers() == [] and db.session.get(Case, world["case_id"]).status == "assigned"
    assert app.test_client().get(f"/r/{world['token']}").status_code == 200  # the link still works
    text = flat(preview.text)
    assert "Preview, not sent" in text
    assert "the case is closed, the child's links stop working" in text

    sent = post_form(t, f"{url}/preview", f"/staff/cases/{world['case_id']}/handover", {"confirm": "y"})
    assert sent.status_code == 302
    view = _client(app, "sw").get(f"/staff/cases/{world['case_id']}/handovers/1").text

    def article(page: str) -> str:
        return re.search(r'<article class="handover">.*?</article>', page, flags=re.S).group(0)

    # The same document, rendered the same way: what the therapist checked is what the social worker reads.
    assert article(preview.text) == article(view)
    assert NOTE in article(view)


def test_sending_asks_to_confirm_and_stores_nothing_until_it_is_given(app, world):
    t = _client(app, "t")
    url = f"/staff/cases/{world['case_id']}/closure"
    post_form(t, url, url, _closure(world, **{f"signal_{_signal_id(world)}": NOTE}))
    refused = post_form(t, f"{url}/preview", f"/staff/cases/{world['case_id']}/handover", {"version": "1"})
    assert refused.status_code == 400
    assert "Tick the box to confirm: the case closes and the child's links stop." in flat(refused.text)
    assert '<article class="handover">' in refused.text  # the preview again, to send from
    assert _handovers() == [] and db.session.get(Case, world["case_id"]).status == "assigned"
    assert app.test_client().get(f"/r/{world['token']}").status_code == 200


def test_a_signal_not_handled_needs_a_reason_which_the_handover_keeps(app, world):
    t = _client(app, "t")
    url = f"/staff/cases/{world['case_id']}/closure"
    send = f"/staff/cases/{world['case_id']}/handover"
    post_form(t, url, url, _closure(world))
    preview = flat(t.get(f"{url}/preview").text)
    assert "1 safety signal is not handled." in preview
    assert "A safety signal is not handled (no note of what was done): “Pappa slår mig.”" in preview
    refused = post_form(t, f"{url}/preview", send, {"confirm": "y", "signals_reason": "  "})
    assert refused.status_code == 400 and "or say why you send the handover anyway" in flat(refused.text)
    assert _handovers() == []

    assert post_form(t, f"{url}/preview", send, {"confirm": "y", "signals_reason": REASON}).status_code == 302
    (handover,) = _handovers()
    doc = handover.document
    assert doc["unhandled_signals_reason"] == REASON
    assert [(s["kind"], s["value"], s["handled_at"]) for s in doc["signals"]] == [("low_violence", 1, None)]
    assert {"code": "signal_unhandled", "problem_id": world["hit"], "round": None} in doc["open_checks"]
    text = flat(_client(app, "sw").get(f"/staff/cases/{world['case_id']}/handovers/1").text)
    assert ("Not acknowledged by the therapist. Sent with a signal not handled. "
            f"The therapist's reason: {REASON}") in text
    assert "A safety signal is not handled (no note of what was done): “Pappa slår mig.”" in text  # open checks


def test_a_second_press_sends_nothing_twice(app, world):
    t = _client(app, "t")
    url = f"/staff/cases/{world['case_id']}/closure"
    send = f"/staff/cases/{world['case_id']}/handover"
    post_form(t, url, url, _closure(world, **{f"signal_{_signal_id(world)}": NOTE}))
    token = csrf_token(t.get(f"{url}/preview").text)
    data = {"csrf_token": token, "version": "1", "confirm": "y"}
    first, second = t.post(send, data=data), t.post(send, data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert first.headers["Location"].endswith(f"/staff/cases/{world['case_id']}/handovers/1")
    assert [h.version for h in _handovers()] == [1]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "send_handover")) == 1
    assert app.test_client().get(f"/r/{world['token']}").status_code == 404  # sending stopped the link
    assert db.session.scalars(select(ChildLink.revoked_at).where(ChildLink.revoked_at.is_not(None))).first()


def test_a_correction_is_a_new_version_with_a_note_and_the_social_worker_is_pointed_to_it(app, world):
    t = _client(app, "t")
    case_url = f"/staff/cases/{world['case_id']}"
    url = f"{case_url}/closure"
    send = f"{case_url}/handover"
    post_form(t, url, url, _closure(world, **{f"signal_{_signal_id(world)}": NOTE}))
    post_form(t, f"{url}/preview", send, {"confirm": "y", "version": "1"})
    # The therapist finds the correction from the case page.
    case_page = t.get(case_url).text
    assert f'href="{url}"' in case_page
    closure_page = flat(t.get(url).text)
    assert "Version 1 was sent" in closure_page and "Check and send a corrected version" in closure_page
    post_form(t, url, url, _closure(world, recommendation="Fråga barnet först, ensam."))
    preview = flat(t.get(f"{url}/preview").text)
    assert "as version 2" in preview and "Send version 2" in preview
    refused = post_form(t, f"{url}/preview", send, {"version": "2", "note": ""})
    assert refused.status_code == 400 and "Say what was corrected before sending a new version." in flat(refused.text)
    assert [h.version for h in _handovers()] == [1]
    assert post_form(t, f"{url}/preview", send, {"version": "2", "note": "Rekommendationen förtydligad."}
                     ).status_code == 302
    versions = _handovers()
    assert [(h.version, h.correction_note) for h in versions] == [(1, None), (2, "Rekommendationen förtydligad.")]
    assert versions[1].document["closure"]["recommendation"] == "Fråga barnet först, ensam."

    sw = _client(app, "sw")
    old = sw.get(f"{case_url}/handovers/1").text
    assert "There is a newer version of this handover." in old and f'href="{case_url}/handovers/2"' in old
    inbox = sw.get("/staff/handovers").text
    assert f'href="{case_url}/handovers/2"' in inbox
    assert re.search(r"1 Replaced Read version 2", flat(inbox)), flat(inbox)
    assert "2 (corrects version 1)" in flat(inbox)
    assert "There is a newer version" not in sw.get(f"{case_url}/handovers/2").text


def test_preview_and_send_are_the_case_therapists_only(app, world, make):
    make.user("therapist", username="t2")
    for who, code in (("sw", 403), ("t2", 404)):
        client = _client(app, who)
        assert client.get(f"/staff/cases/{world['case_id']}/closure/preview").status_code == code
        token = csrf_token(client.get("/staff/profile").text)
        assert client.post(f"/staff/cases/{world['case_id']}/handover",
                           data={"csrf_token": token, "confirm": "y"}).status_code == code
    t = _client(app, "t")
    # Without a saved closure there is nothing to preview yet.
    response = t.get(f"/staff/cases/{world['case_id']}/closure/preview")
    assert response.status_code == 302 and response.headers["Location"].endswith("/closure")
    assert _handovers() == []


# --- What the child added, translated by staff ---------------------------------------------------------

def test_staff_translate_what_the_child_added_and_the_handover_shows_it_after_the_original(app, world):
    t = _client(app, "t")
    case_url = f"/staff/cases/{world['case_id']}"
    action = f"{case_url}/rounds/start/added-text/translation"
    page = t.get(case_url).text
    assert f'action="{action}"' in page
    empty = post_form(t, case_url, action, {"language": "sv", "text": " "})
    assert empty.status_code == 302
    assert "Write the translation." in flat(t.get(case_url).text)
    assert post_form(t, case_url, action, {"language": "xx", "text": ADDED_SV}).status_code == 302
    submission = db.session.get(Case, world["case_id"]).round("start").submission
    assert submission.translations == []

    assert post_form(t, case_url, action, {"language": "sv", "text": ADDED_SV}).status_code == 302
    db.session.remove()
    submission = db.session.get(Case, world["case_id"]).round("start").submission
    assert [(tr.language, tr.text, tr.created_by_id is not None) for tr in submission.translations] == [
        ("sv", ADDED_SV, True)]
    assert submission.added_text == ADDED  # the child's own words stay as written
    page = flat(t.get(case_url).text)
    assert re.search(rf"The child added: “{ADDED}” Staff translation into Swedish: “{re.escape(ADDED_SV)}”", page), page

    url = f"{case_url}/closure"
    post_form(t, url, url, _closure(world, **{f"signal_{_signal_id(world)}": NOTE}))
    post_form(t, f"{url}/preview", f"{case_url}/handover", {"confirm": "y"})
    (handover,) = _handovers()
    assert handover.document["child_added_words"][0]["translations"] == [{"language": "sv", "text": ADDED_SV}]
    view = _client(app, "sw").get(f"{case_url}/handovers/1").text
    text = flat(view)
    assert text.index(ADDED) < text.index(ADDED_SV)
    assert re.search(rf"Start: “{ADDED}” Staff translation into Swedish: “{re.escape(ADDED_SV)}”", text), text
    # The translation is marked as Swedish where it stands; the reader's label around it is not.
    assert re.search(rf'<span class="translation">[^<]*<bdi class="child-words translated" lang="sv" dir="auto">'
                     rf"{re.escape(ADDED_SV)}</bdi>", view)


def test_only_the_therapist_translates_and_only_words_the_child_added(app, world, make):
    case_url = f"/staff/cases/{world['case_id']}"
    sw = _client(app, "sw")
    token = csrf_token(sw.get("/staff/profile").text)
    assert sw.post(f"{case_url}/rounds/start/added-text/translation",
                   data={"csrf_token": token, "language": "sv", "text": ADDED_SV}).status_code == 403
    t = _client(app, "t")
    token = csrf_token(t.get("/staff/profile").text)
    for kind in ("follow_up", "closure", "nonsense"):  # nothing added there, or no such round
        assert t.post(f"{case_url}/rounds/{kind}/added-text/translation",
                      data={"csrf_token": token, "language": "sv", "text": ADDED_SV}).status_code == 404
    assert t.post(f"{case_url}/rounds/start/added-text/translation",
                  data={"language": "sv", "text": ADDED_SV}).status_code == 400  # no CSRF token
    assert db.session.get(Case, world["case_id"]).round("start").submission.translations == []
    assert db.session.scalar(select(User.id).where(User.username == "t"))


def test_a_too_long_reason_or_a_forged_version_is_refused_with_a_message_and_nothing_sent(app, world):
    t = _client(app, "t")
    url = f"/staff/cases/{world['case_id']}/closure"
    send = f"/staff/cases/{world['case_id']}/handover"
    post_form(t, url, url, _closure(world))
    for data in ({"confirm": "y", "signals_reason": "x" * 2001}, {"confirm": "y", "signals_reason": REASON,
                                                                 "version": "not a number"}):
        refused = post_form(t, f"{url}/preview", send, data)
        assert refused.status_code == 400 and "The handover is not sent." in flat(refused.text)
        assert re.search(r'name="version"[^>]*value="1"|value="1"[^>]*name="version"', refused.text)
    assert _handovers() == [] and db.session.get(Case, world["case_id"]).status == "assigned"
