"""Audit targets in words: every code the app writes reads as words in Swedish and English."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from kidrate.protection.audit_words import Names, target_words

NAMES = Names(users={6: "Anna Andersson"}, units={3: "Barn och unga"},
              language=lambda code: {"sv": "Swedish", "ar": "Arabic"}.get(code, code))

CASES_EN = [
    ("assign_case", "user:6", "Staff member: Anna Andersson"),
    ("create_user", "user:99", "Staff member no. 99"),  # not one of the reader's organisation
    ("edit_user", "user:6:role,unit", "Staff member: Anna Andersson — changed: role, unit"),
    ("create_unit", "unit:3", "Unit: Barn och unga"),
    ("import_sux", "unit:3:12", "Unit: Barn och unga, 12 rows imported"),
    ("import_sux", "unit:3:1", "Unit: Barn och unga, 1 row imported"),
    ("issue_link", "start:link:17", "Rating at start, link no. 17"),
    ("hand_over_device", "follow_up:link:4", "Rating at follow-up, link no. 4"),
    ("revoke_link", "link:17", "Link no. 17"),
    ("send_handover", "version:2", "Version 2"),
    ("download_handover", "version:1:pdf", "Version 1, PDF"),
    ("add_problem", "problem:5", "Problem no. 5"),
    ("translate_problem", "problem:18:sv", "Problem no. 18, Swedish"),
    ("translate_problem", "added:closure:ar", "The child's added words at closure, Arabic"),
    ("acknowledge_signal", "signal:9", "Safety signal no. 9"),
    ("sign_in_locked", "minutes:15", "Locked for 15 minutes"),
    ("sign_in", "password", "With password"),
    ("sign_in", "totp", "With a two-factor code"),
    ("sign_in_failed", "code", "Wrong two-factor code"),
    ("sign_in_failed", "password", "Wrong username or password"),
    ("recovery_code_used", "sign_in", "At sign-in"),
    ("password_set", "invite", "From an invitation"),
    ("password_reset_requested", "unknown", "No account has that address: nothing was sent"),
    ("download_assignment", "pdf", "PDF"),
    ("download_report", "xlsx", "XLSX"),
    ("record_round", "follow_up", "Follow-up"),
    ("view_together", "ar", "Arabic"),
    ("record_message", "message:0123456789abcdef:ar", "A fixed text of the child's pages, Arabic"),
    ("install_translation", "child:ar", "Child's pages, Arabic"),
    ("remove_translation", "messages:sv", "Staff pages, Swedish"),
    ("search_case_ref", "3", "3 cases found"),
    ("export_sux", "2026-01-01..2026-06-30:40", "Closed 2026-01-01 – 2026-06-30, 40 cases"),
    ("export_sux", "..:1", "Closed … – …, 1 case"),
    ("rotate_key", "120 values", "120 values encrypted again"),
    ("purge", "2 cases, 31 audit events", "2 cases, 31 audit events"),
    ("view_audit", "from=2026-01-01 user:6 case page=2",
     "from 2026-01-01, Staff member: Anna Andersson, a case reference, page 2"),
    ("export_audit", "action=sign_in n=1", "action sign_in, 1 event"),
    ("view_audit", "page=1", "page 1"),
    ("view_closure", "preview", "Preview of the handover"),
]


@pytest.mark.parametrize(("action", "target", "words"), CASES_EN)
def test_targets_in_english(app, action, target, words):
    with app.test_request_context(), force_locale("en"):
        assert target_words(target, action, NAMES) == words


@pytest.mark.parametrize(("action", "target"), [
    ("sign_in", "password"), ("issue_link", "start:link:17"), ("assign_case", "user:6"),
    ("download_handover", "version:1:pdf"), ("search_case_ref", "3")])
def test_no_code_is_left_in_the_words(app, action, target):
    with app.test_request_context(), force_locale("en"):
        words = target_words(target, action, NAMES)
    assert words != target and ":" not in words.replace("Staff member: ", "")


def test_empty_and_unknown_targets(app):
    with app.test_request_context(), force_locale("en"):
        assert target_words(None, "view_case") == ""
        assert target_words("", "view_case") == ""
        # Unknown codes are shown as they are, never lost (escaping is the template's).
        assert target_words("something:new:1", "future_action") == "something:new:1"
        assert target_words("<b>x</b>", "sign_in") == "<b>x</b>"
        # A word only means something for the action that wrote it.
        assert target_words("password", "view_case") == "password"
        assert target_words("user:6:name,password", "edit_user", NAMES) == "user:6:name,password"
        assert target_words("view_audit junk=1", "view_audit") == "view_audit junk=1"
        # Without names: ids only.
        assert target_words("user:6", "assign_case") == "Staff member no. 6"


def test_the_log_page_and_csv_show_words(app, make, client):
    from tests.conftest import sign_in

    auditor = make.user("auditor")
    admin = make.user("admin")
    sign_in(client, admin.username)
    client.get(f"/staff/admin/users/{auditor.id}/edit")
    sign_in(client, auditor.username)
    page = client.get("/staff/audit").text
    assert "With password" in page and ">password<" not in page
    csv_text = client.get("/staff/audit.csv").data.decode("utf-8-sig")
    header, *lines = csv_text.splitlines()
    assert header.endswith(",Target,Details")
    assert any(line.endswith(",password,With password") for line in lines)
