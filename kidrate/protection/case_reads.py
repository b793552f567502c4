"""Every response that shows a case's content leaves an audit event, whatever route produced it.

Views record their own, precise events (view_case, view_closure, view_handover, …) and commit them
before they render. This is the net under them: when a staff template is about to be rendered with a
`case` and no audit event for that case has been committed in this request — a form that failed
validation and shows the case page again, say — a "view_case" event naming the page is written first,
in a transaction of its own, so that it stands whatever the view then does with its own. If it cannot
be written, the page is not rendered (the database error becomes the usual try-again page).
"""

from __future__ import annotations

from flask import Flask, before_render_template, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from kidrate.extensions import db
from kidrate.models import AuditEvent, Case

_PENDING = "case_audits_pending"
_COMMITTED = "case_audits_committed"


def _flushed(session: Session, _flush_context) -> None:
    if not has_request_context():
        return
    pending = g.setdefault(_PENDING, set())
    pending.update(obj.case_id for obj in session.new if isinstance(obj, AuditEvent) and obj.case_id is not None)


def _committed(_session: Session) -> None:
    if has_request_context() and g.get(_PENDING):
        g.setdefault(_COMMITTED, set()).update(g.pop(_PENDING))


def _rolled_back(_session: Session) -> None:
    if has_request_context():
        g.pop(_PENDING, None)


def audit_before_showing(_app: Flask, template, context: dict, **_extra) -> None:
    case = context.get("case")
    user = g.get("user")
    if not isinstance(case, Case) or case.id is None or user is None:
        return
    if case.id in g.get(_COMMITTED, ()):
        return
    with Session(db.engine) as own:
        own.add(AuditEvent(organisation_id=case.organisation_id, user_id=user.id, action="view_case",
                           case_id=case.id, target=f"page:{request.endpoint}"[:80]))
        own.commit()
    g.setdefault(_COMMITTED, set()).add(case.id)


def init_app(app: Flask) -> None:
    before_render_template.connect(audit_before_showing, app)
    if not event.contains(Session, "after_flush", _flushed):
        event.listen(Session, "after_flush", _flushed)
        event.listen(Session, "after_commit", _committed)
        event.listen(Session, "after_rollback", _rolled_back)
