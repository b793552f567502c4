"""The staff side: sign-in, cases and assignments, rating links, closure, handovers, administration.

Every route here is denied by default (see protection.access.enforce_access): it must be marked public or
name the roles allowed.
"""

from __future__ import annotations

from flask import Blueprint, Response

bp = Blueprint("staff", __name__, url_prefix="/staff")


def attachment(body: bytes | str, mimetype: str, filename: str) -> Response:
    """A file to download (no-store, like every staff response: see security)."""
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


from kidrate.staff import (  # noqa: E402,F401  (routes register on import)
    account,
    admin,
    assignment,
    cases,
    closure,
    documents,
    handovers,
    languages,
    links,
    notifications,
    pwa,
    recordings,
    rounds,
    sign_on,
    sux,
    tablet,
    together,
)
from kidrate.staff.audit import audit_log as _audit_log  # noqa: E402,F401  (the audit log's routes)
from kidrate.staff.report import report as _group_report  # noqa: E402,F401  (the group report's routes)
