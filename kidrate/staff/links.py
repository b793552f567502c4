"""The child's one-time rating links: issuing one, the page that shows it (with its QR code and
message), and revoking one.

Issuing is a POST that redirects to the link's own page (post-redirect-get): reloading that page
never issues or revokes anything. The token is not in the database (only its hash) nor in any staff
URL: the issuing browser keeps it sealed in its session cookie (red_thread/links.py seal_token), so
the page can show it again for SHOW_AGAIN_MINUTES, to that session only. A new link while one is
live asks to confirm first, naming the link it will stop.
"""

from __future__ import annotations

from datetime import timedelta

import segno
from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from kidrate.extensions import db
from kidrate.languages.i18n import available_child_locales, draft_child_locales
from kidrate.languages.link_message import ADDRESSEES, link_message, suggested_addressee
from kidrate.models import Case, ChildLink, utcnow
from kidrate.protection import crypto
from kidrate.protection.access import allow, audit, case_or_404, current_staff_session
from kidrate.red_thread import cases as case_rules
from kidrate.red_thread import links
from kidrate.staff import bp
from kidrate.staff.cases import _language_choices, _render_case
from kidrate.staff.forms import EmptyForm, IssueLinkForm
from kidrate.vocab import ROUND_ORDER

# In the signed session cookie: link id → its token, sealed. A few at most, the newest kept.
SHOWN = "shown_links"
SHOWN_KEEP = 4


def _issue_form(case: Case, language: str | None = None) -> IssueLinkForm:
    form = IssueLinkForm()
    available = available_child_locales()
    form.language.choices = _language_choices(available, draft_child_locales())
    if not form.is_submitted():
        wanted = language or case.child_language
        form.language.data = wanted if wanted in available else "sv"
    return form


def _remember(link: ChildLink, token: str) -> None:
    row = current_staff_session()
    if row is None:
        return
    until = link.created_at + timedelta(minutes=links.SHOW_AGAIN_MINUTES)
    sealed = links.seal_token(crypto.current_keyring().current, token, link_id=link.id, session_id=row.id,
                              until=until)
    kept = session.get(SHOWN)
    kept = {k: v for k, v in kept.items() if isinstance(v, str)} if isinstance(kept, dict) else {}
    kept[str(link.id)] = sealed
    session[SHOWN] = dict(list(kept.items())[-SHOWN_KEEP:])


def _shown_token(link: ChildLink) -> tuple[str, object] | None:
    """The token and until when it can be shown, if this session issued the link a short while ago."""
    row = current_staff_session()
    kept = session.get(SHOWN)
    if row is None or not isinstance(kept, dict) or link.created_by_id != g.user.id:
        return None
    return links.open_sealed_token(crypto.known_keys(), kept.get(str(link.id)), link, session_id=row.id)


def _round_or_404(case: Case, kind: str):
    if kind not in ROUND_ORDER or case.status != "assigned":
        abort(404)
    return case.round(kind)


@bp.post("/cases/<int:case_id>/rounds/<kind>/links")
@allow("therapist")
def link_issue(case_id: int, kind: str):
    case = case_or_404(case_id)
    rating_round = _round_or_404(case, kind)
    if rating_round.submission is not None:
        flash(_("The child has already answered this round. A new link is not needed."), "error")
        return redirect(url_for("staff.case_view", case_id=case.id, _anchor=f"round-{kind}"), code=303)
    form = _issue_form(case)
    if not form.validate_on_submit():
        return _render_case(case, status=400)
    if not case_rules.child_problems(case):
        flash(_("There is no problem in the child's words to rate yet."), "error")
        return _render_case(case, status=400)
    live = links.live(rating_round)
    # A live link stops only when the therapist confirmed stopping that very link: a resent form, a
    # second tab or a double click never revokes a link the therapist has not seen named.
    if live is not None and (request.form.get("confirm") != "yes"
                             or request.form.get("replaces") != str(live.id)):
        return render_template("staff/link_confirm.html", case=case, kind=kind, live=live,
                               language=form.language.data, form=form,
                               showable=_shown_token(live) is not None)
    settings = current_app.config["KIDRATE"]
    link, token = links.issue(db.session, rating_round, language=form.language.data,
                              created_by_id=g.user.id, days=settings.link_days)
    db.session.flush()
    if live is not None:
        audit("revoke_link", case_id=case.id, target=f"link:{live.id}")
    audit("issue_link", case_id=case.id, target=f"{kind}:link:{link.id}")
    db.session.commit()
    _remember(link, token)
    return redirect(url_for("staff.link_view", case_id=case.id, link_id=link.id), code=303)


@bp.get("/cases/<int:case_id>/links/<int:link_id>")
@allow("therapist")
def link_view(case_id: int, link_id: int):
    case = case_or_404(case_id)
    link = db.session.get(ChildLink, link_id)
    if link is None or link.round.case_id != case.id:
        abort(404)
    audit("view_link", case_id=case.id, target=f"link:{link.id}")
    db.session.commit()
    now = utcnow()
    state = link.state(now)
    shown = _shown_token(link) if state in {"issued", "opened"} else None
    context = {"case": case, "link": link, "kind": link.round.kind, "state": state, "shown": shown is not None,
               "show_minutes": links.SHOW_AGAIN_MINUTES}
    if shown is not None:
        token, until = shown
        url = url_for("child.questions", token=token, _external=True)
        context.update(url=url, shown_until=until, qr_svg=_qr(url), messages=_messages(case, link, url))
    elif case.status == "assigned" and link.round.submission is None:
        context["issue_form"] = _issue_form(case, link.language)
        context["live"] = links.live(link.round, now)
    return render_template("staff/link_issued.html", **context)


def _qr(url: str) -> str:
    return segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#000", light="#fff",
                                                 svgclass="qr", lineclass=None, omitsize=True)


def _messages(case: Case, link: ChildLink, url: str):
    """The message to send with the link, in the child's language and the family's: to the child, or to
    the guardian; the one that fits the child's age first, the other one tap away on the same page."""
    languages = [link.language] + [code for code in case.family_languages or []
                                   if code in available_child_locales() and code != link.language]
    last_day = links.shown_last_day(link)
    addressees = sorted(ADDRESSEES, key=lambda who: who != suggested_addressee(case.age))
    return [(who, [(code, link_message(url, last_day, code, who)) for code in languages]) for who in addressees]


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
    return redirect(url_for("staff.case_view", case_id=case.id, _anchor=f"round-{link.round.kind}"))
