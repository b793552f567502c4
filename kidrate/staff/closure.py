"""Closing an intervention: the therapist's closure form, the handover exactly as it will be sent, and
sending it to the social worker (a correction later is a new version, with a note of what changed).

The closure form holds everything the therapist records at closure, whether they met the child alone
and what was done about each safety signal not yet handled included, so nothing sends them off a
half-filled form. Sending closes the case and stops its links: the first send asks to confirm it, a
signal not handled asks for a reason, and a second press of the button sends nothing twice."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, IntegerField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import HiddenInput

from kidrate.extensions import db
from kidrate.models import Case, Closure, Problem, SafetySignal, utcnow
from kidrate.protection.access import allow, audit, case_or_404
from kidrate.red_thread import cases as case_rules
from kidrate.red_thread import signals as signal_rules
from kidrate.red_thread.facts import gather
from kidrate.red_thread.handover import as_sent, compile_handover
from kidrate.staff import bp
from kidrate.staff.cases import _ratings_table, refuse_if_purged
from kidrate.staff.forms import TEXT_MAX, closure_form_for
from kidrate.vocab import PARTICIPATION, ROUND_ORDER


class SendHandoverForm(FlaskForm):
    """Sending (or correcting) the handover. Which fields are required depends on the case: the view
    says so (`_send_errors`), so that the rules sit in one place with their messages."""

    # The version this press sends: a second press of the same page finds it sent, and sends nothing.
    version = IntegerField(widget=HiddenInput(), validators=[Optional()])
    confirm = BooleanField(_l("I have checked the handover. Close the case, stop the child's links and send it "
                              "to the social worker."))
    signals_reason = TextAreaField(_l("Why send it while a safety signal is not handled?"),
                                   validators=[Optional(), Length(max=TEXT_MAX)],
                                   description=_l("The social worker reads this in the handover, beside the "
                                                  "signal."))
    note = TextAreaField(_l("What was corrected"), validators=[Optional(), Length(max=TEXT_MAX)],
                         description=_l("Say what changed from the version sent before. The social worker "
                                        "reads this at the top of the new version."))


def _closable_case(case_id: int) -> Case:
    case = case_or_404(case_id)
    if case.status == "draft":
        abort(404)
    return case


@bp.route("/cases/<int:case_id>/closure", methods=["GET", "POST"])
@allow("therapist")
def closure_edit(case_id: int):
    case = _closable_case(case_id)
    if (refused := refuse_if_purged(case)) is not None:
        return refused
    # A problem withdrawn after hand-over is not accounted for at closure (the handover lists it as withdrawn).
    problems = [p for p in case.problems if p.withdrawn_at is None]
    unhandled = signal_rules.open_signals(db.session, case)
    form = closure_form_for(problems, unhandled, data=_closure_data(case) if request.method == "GET" else None)
    if form.validate_on_submit():
        _save_closure(case, problems, form)
        handled = _handle_signals(case, unhandled, form)
        audit("save_closure", case_id=case.id)
        db.session.commit()
        if handled:
            flash(ngettext("%(num)s safety signal is acknowledged, with what was done.",
                           "%(num)s safety signals are acknowledged, with what was done.", handled), "info")
        flash(_("The closure is saved. Check the handover below: it is shown exactly as it will be sent."), "info")
        # An explicit fragment: a browser would otherwise keep the form's (#met-alone, say) on the new page.
        return redirect(url_for("staff.closure_preview", case_id=case.id, _anchor="check"))
    if request.method == "GET":
        # The closure page shows the case's content (the child's words and ratings): a read, as the case page.
        audit("view_closure", case_id=case.id)
        db.session.commit()
    status = 400 if request.method == "POST" else 200
    return render_template(
        "staff/closure.html", case=case, form=form, problems=problems, ratings=_ratings_table(case),
        round_order=ROUND_ORDER, unhandled=unhandled,
    ), status


def _closure_data(case: Case) -> dict:
    data: dict[str, object] = {"met_alone": {True: "yes", False: "no"}.get(case.met_child_alone)}
    closure = case.closure
    if closure:
        data.update(
            reason=closure.reason, reason_text=closure.reason_text,
            concern_remaining="yes" if closure.concern_remaining else "no",
            concern_text=closure.concern_text, new_problems=closure.new_problems,
            recommendation=closure.recommendation,
        )
        data.update({f"part_{k}": v for k, v in (closure.participation or {}).items()})
    elif case.round("follow_up").submission is not None:
        # What the case already shows: the child rated at follow-up. The therapist may still change it.
        data["part_follow_up"] = "yes"
    for p in case.problems:
        data[f"worked_{p.id}"] = p.worked_with
        data[f"comment_{p.id}"] = p.worked_with_comment
        data[f"attain_{p.id}"] = p.goal_attainment
    return data


def _save_closure(case: Case, problems: list[Problem], form) -> None:
    closure = case.closure or Closure(case=case)
    closure.reason = form.reason.data
    closure.reason_text = (form.reason_text.data or "").strip() or None
    closure.concern_remaining = form.concern_remaining.data == "yes"
    closure.concern_text = (form.concern_text.data or "").strip() or None
    closure.new_problems = (form.new_problems.data or "").strip() or None
    closure.recommendation = (form.recommendation.data or "").strip() or None
    closure.participation = {key: form[f"part_{key}"].data for key in PARTICIPATION}
    db.session.add(closure)
    for p in problems:
        p.worked_with = form[f"worked_{p.id}"].data
        p.worked_with_comment = (form[f"comment_{p.id}"].data or "").strip() or None
        p.goal_attainment = form[f"attain_{p.id}"].data if p.goal else None
    if form.met_alone.data in ("yes", "no"):  # left unanswered, what the case holds stays
        if case.met_child_alone != (form.met_alone.data == "yes"):
            audit("record_met_alone", case_id=case.id)
        case.met_child_alone = form.met_alone.data == "yes"


def _handle_signals(case: Case, unhandled: list[SafetySignal], form) -> int:
    """Acknowledge each signal whose note the therapist wrote in the closure form; how many."""
    count = 0
    for signal in unhandled:
        note = (form[f"signal_{signal.id}"].data or "").strip()
        if note and signal_rules.acknowledge(signal, g.user.id, note):
            audit("acknowledge_signal", case_id=case.id, target=f"signal:{signal.id}")
            count += 1
    return count


# --- The handover as it will be sent, and sending it ----------------------------------------------


def _preview_document(case: Case) -> dict:
    """The handover compiled from the case as it is now, as sending would compile it (closed now, live
    links revoked, the next version), and not stored."""
    now = utcnow()
    previous = case.handovers[-1] if case.handovers else None
    return compile_handover(as_sent(gather(case, now), now), compiled_at=now,
                            version=previous.version + 1 if previous else 1,
                            replaces_version=previous.version if previous else None)


def _render_preview(case: Case, form: SendHandoverForm, status: int = 200):
    document = _preview_document(case)
    # The version this page shows, also after a refused send (whatever the refused form held).
    form.version.data, form.version.raw_data = document["version"], None
    if not form.is_submitted() and case.closure is not None:
        form.signals_reason.data = case.closure.unhandled_signals_reason
    unhandled = [s for s in document["signals"] if not s["handled_at"]]
    return render_template("staff/closure_preview.html", case=case, doc=document, form=form,
                           unhandled=unhandled, previous=case.handovers[-1] if case.handovers else None), status


def _refuse_before_closure(case: Case):
    """Nothing to check or send for a purged case, or before the closure form is saved: say so."""
    if (refused := refuse_if_purged(case)) is not None:
        return refused
    if case.closure is None:
        flash(_("Fill in and save the closure form first."), "error")
        return redirect(url_for("staff.closure_edit", case_id=case.id))
    return None


@bp.get("/cases/<int:case_id>/closure/preview")
@allow("therapist")
def closure_preview(case_id: int):
    case = _closable_case(case_id)
    if (refused := _refuse_before_closure(case)) is not None:
        return refused
    audit("view_closure", case_id=case.id, target="preview")
    db.session.commit()
    return _render_preview(case, SendHandoverForm(formdata=None))


def _send_errors(case: Case, form: SendHandoverForm, unhandled: bool) -> bool:
    """Put a message on each field this send needs and lacks; True if any."""
    if not case.handovers and not form.confirm.data:
        form.confirm.errors.append(_("Tick the box to confirm: the case closes and the child's links stop."))
    if case.handovers and not (form.note.data or "").strip():
        form.note.errors.append(_("Say what was corrected before sending a new version."))
    if unhandled and not (form.signals_reason.data or "").strip():
        form.signals_reason.errors.append(_("A safety signal is not handled: acknowledge it with what was done, "
                                            "or say why you send the handover anyway."))
    return bool(form.confirm.errors or form.note.errors or form.signals_reason.errors)


@bp.post("/cases/<int:case_id>/handover")
@allow("therapist")
def handover_send(case_id: int):
    case = _closable_case(case_id)
    if (refused := _refuse_before_closure(case)) is not None:
        return refused
    form = SendHandoverForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash(_("The handover is not sent. See the marked fields below."), "error")
        return _render_preview(case, form, status=400)
    latest = case.handovers[-1] if case.handovers else None
    if latest is not None and form.version.data is not None and form.version.data <= latest.version:
        # The same page pressed again (a double click, a reload): it was sent; nothing is sent twice.
        flash(_("Version %(version)s of the handover is sent.", version=latest.version), "info")
        return redirect(url_for("staff.handover_view", case_id=case.id, version=latest.version))
    unhandled = bool(signal_rules.open_signals(db.session, case))
    if _send_errors(case, form, unhandled):
        flash(_("The handover is not sent. See the marked fields below."), "error")
        return _render_preview(case, form, status=400)
    # Kept on the closure, so that a correction sent while the signal is still unhandled offers it again.
    case.closure.unhandled_signals_reason = (form.signals_reason.data or "").strip() if unhandled else None
    note = (form.note.data or "").strip() if latest is not None else None
    handover = case_rules.send_handover(db.session, case, g.user, note)
    try:
        db.session.flush()
    except IntegrityError:
        # Another press of the button sent this version a moment ago (the database allows one).
        db.session.rollback()
        sent = db.session.get(Case, case_id).handovers[-1]
        flash(_("Version %(version)s of the handover is sent.", version=sent.version), "info")
        return redirect(url_for("staff.handover_view", case_id=case_id, version=sent.version))
    audit("send_handover", case_id=case.id, target=f"version:{handover.version}")
    db.session.commit()
    flash(_("The handover is sent to the social worker.") if handover.version == 1 else
          _("Version %(version)s is sent to the social worker.", version=handover.version), "info")
    return redirect(url_for("staff.handover_view", case_id=case.id, version=handover.version))
