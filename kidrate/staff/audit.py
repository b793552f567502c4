"""The audit log for auditors and administrators: their own organisation's events, filtered, a page
at a time, and as CSV. Reading the log is itself logged. The rules are in kidrate/protection/audit.py."""

from __future__ import annotations

from flask import Response, g, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.languages.i18n import language_label
from kidrate.models import Unit, User
from kidrate.protection import audit as rules
from kidrate.protection.access import allow, audit
from kidrate.protection.audit_words import Names, target_words
from kidrate.staff import attachment, bp

READER_ROLES = ("auditor", "admin")


def _users() -> list[User]:
    return list(db.session.scalars(
        select(User).where(User.organisation_id == g.user.organisation_id).order_by(User.display_name, User.id)))


def _names(users: list[User]) -> Names:
    """The reader's organisation's names for the ids in targets: its staff, its units, languages."""
    units = db.session.execute(select(Unit.id, Unit.name).where(Unit.organisation_id == g.user.organisation_id))
    return Names(users={u.id: u.display_name for u in users}, units={uid: name for uid, name in units},
                 language=language_label)


def _filters():
    """(filters, users, errors, the raw values) for the signed-in reader's organisation."""
    users = _users()
    values = {name: request.args.get(name, "") for name in rules.FILTER_NAMES}
    filters, errors = rules.parse_filters(values, [u.id for u in users])
    return filters, users, errors, values


@bp.get("/audit")
@allow(*READER_ROLES)
def audit_log():
    filters, users, errors, values = _filters()
    page, page_error = rules.parse_page(request.args.get("page"))
    if page_error:
        errors.append(page_error)
    rows, total = [], 0
    if not errors:
        organisation_id = g.user.organisation_id
        total = rules.count_events(db.session, organisation_id, filters)
        rows = rules.events_page(db.session, organisation_id, filters, page)
        audit("view_audit", target=f"{filters.describe()} page={page}".strip()[:80])
        db.session.commit()
    pages = max(1, -(-total // rules.PER_PAGE))
    chosen = {k: v for k, v in values.items() if v}
    names = _names(users)
    details = {r.id: target_words(r.target, r.action, names) for r in rows}
    return render_template(
        "staff/audit.html", rows=rows, details=details, total=total, page=page, pages=pages, errors=errors,
        values=values, chosen=chosen, users=users, action_groups=rules.ACTION_GROUPS, per_page=rules.PER_PAGE,
    ), 400 if errors else 200


@bp.get("/audit.csv")
@allow(*READER_ROLES)
def audit_log_csv():
    filters, people, errors, _values = _filters()
    organisation_id = g.user.organisation_id
    if not errors:
        total = rules.count_events(db.session, organisation_id, filters)
        if total > rules.EXPORT_MAX:
            errors.append(_("%(n)s events match; a download holds at most %(max)s. Narrow the filters.",
                            n=total, max=rules.EXPORT_MAX))
    if errors:
        return Response("\n".join(errors) + "\n", status=400, mimetype="text/plain")
    rows = rules.all_events(db.session, organisation_id, filters)
    audit("export_audit", target=f"{filters.describe()} n={len(rows)}".strip()[:80])
    db.session.commit()
    names = _names(people)
    text = rules.events_csv(rows, details=lambda row: target_words(row.target, row.action, names))
    return attachment(text.encode("utf-8-sig"), "text/csv", "kidrate-audit.csv")

