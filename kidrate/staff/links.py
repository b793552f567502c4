"""The child's one-time rating links: issuing one (with its QR code and message) and revoking one."""

from __future__ import annotations

import segno
from flask import abort, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from kidrate.extensions import db
from kidrate.languages.i18n import available_child_locales, draft_child_locales
from kidrate.languages.link_message import ADDRESSEES, link_message, suggested_addressee
from kidrate.models import ChildLink
from kidrate.protection.access import allow, audit, case_or_404
from kidrate.red_thread import cases as case_rules
from kidrate.red_thread import links
from kidrate.staff import bp
from kidrate.staff.cases import _language_choices, _render_case
from kidrate.staff.forms import EmptyForm, IssueLinkForm
from kidrate.vocab import ROUND_ORDER


@bp.post("/cases/<int:case_id>/rounds/<kind>/links")
@allow("therapist")
def link_issue(case_id: int, kind: str):
    case = case_or_404(case_id)
    if kind not in ROUND_ORDER or case.status != "assigned":
        abort(404)
    rating_round = case.round(kind)
    if rating_round.submission is not None:
        abort(409)
    form = IssueLinkForm()
    form.language.choices = _language_choices(available_child_locales(), draft_child_locales())
    if not form.validate_on_submit():
        return _render_case(case, status=400)
    if not case_rules.child_problems(case):
        flash(_("There is no problem in the child's words to rate yet."), "error")
        return _render_case(case, status=400)
    settings = current_app.config["KIDRATE"]
    link, token = links.issue(db.session, rating_round, language=form.language.data,
                              created_by_id=g.user.id, days=settings.link_days)
    db.session.flush()
    audit("issue_link", case_id=case.id, target=f"{kind}:link:{link.id}")
    db.session.commit()
    url = url_for("child.questions", token=token, _external=True)
    qr_svg = segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#000", light="#fff",
                                                   svgclass="qr", lineclass=None, omitsize=True)
    # The message to send with the link, in the child's language and the family's: to the child, or to
    # the guardian; the one that fits the child's age first, the other one tap away on the same page.
    languages = [link.language] + [code for code in case.family_languages or []
                                   if code in available_child_locales() and code != link.language]
    last_day = links.shown_last_day(link)
    addressees = sorted(ADDRESSEES, key=lambda who: who != suggested_addressee(case.age))
    messages = [(who, [(code, link_message(url, last_day, code, who)) for code in languages]) for who in addressees]
    # The token is shown in this one response and never again.
    return render_template("staff/link_issued.html", case=case, link=link, url=url, qr_svg=qr_svg,
                           kind=kind, messages=messages)


@bp.post("/cases/<int:case_id>/links/<int:link_id>/revoke")
@allow("therapist")
def link_revoke(case_id: int, link_id: int):
    case = case_or_404(case_id)
    link = db.session.get(ChildLink, link_id)
    if link is None or link.round.case_id != case.id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if links.revoke(link):
        audit("revoke_link", case_id=case.id, target=f"link:{link.id}")
        db.session.commit()
        flash(_("The link is revoked. It can no longer be used."), "info")
    return redirect(url_for("staff.case_view", case_id=case.id, _anchor="rounds"))


