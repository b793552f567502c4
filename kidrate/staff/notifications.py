"""Knowing that something arrived: a forgotten password by e-mail, each user's e-mail address and
choice of notices, the admin's view of how e-mail is going, and the counts in the staff menu.

The e-mails themselves are queued and sent by kidrate/notifications/; nothing here waits for a mail
server.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import exists, func, select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from kidrate.extensions import db, rate_limits
from kidrate.models import OutboxMail, User, utcnow
from kidrate.notifications import outbox, status, unread
from kidrate.protection.access import allow, audit, public
from kidrate.protection.accounts import check_password
from kidrate.staff import bp
from kidrate.staff.account import ALL_ROLES
from kidrate.staff.admin import _user_in_org
from kidrate.staff.forms import CheckboxList

# Asking again within this time sends no second e-mail: the first is on its way.
RESET_AGAIN_AFTER = timedelta(minutes=10)


def nothing_if_empty(value: str | None) -> str | None:
    return (value or "").strip() or None


def email_address(_form: FlaskForm, field: EmailField) -> None:
    """An e-mail address, stored trimmed and in lower case."""
    address = outbox.normalise_address(field.data)
    if address is None:
        raise ValidationError(_l("This does not look like an e-mail address."))
    field.data = address


_EMAIL_INPUT = {"autocomplete": "email", "autocapitalize": "none", "spellcheck": "false"}


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Your e-mail address"), validators=[DataRequired(), Length(max=254), email_address],
                       filters=[nothing_if_empty], render_kw=_EMAIL_INPUT)


class EmailForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[Optional(), Length(max=254), email_address],
                       description=_l("Where e-mail notices and a forgotten password's link go. Leave it empty "
                                      "for no e-mail."),
                       filters=[nothing_if_empty], render_kw=_EMAIL_INPUT)


class NotificationsForm(EmailForm):
    password = PasswordField(_l("Your password"), validators=[Optional(), Length(max=200)],
                             description=_l("Needed only when you change the address."),
                             render_kw={"autocomplete": "current-password"})
    notices = CheckboxList(_l("Send me an e-mail when"), validators=[Optional()])


# --- Forgot password? ----------------------------------------------------------------------------


def _reset_asked_lately(user: User) -> bool:
    since = utcnow() - RESET_AGAIN_AFTER
    return bool(db.session.scalar(select(exists().where(
        OutboxMail.user_id == user.id, OutboxMail.kind == "reset", OutboxMail.created_at > since))))


@bp.route("/sign-in/forgot", methods=["GET", "POST"])
@public
@rate_limits.sign_in
def forgot_password():
    """The same answer whether or not the address belongs to an account: an active account with it gets
    an e-mail with a password-reset link (signed when it is sent, never stored)."""
    settings = current_app.config["KIDRATE"]
    form = ForgotPasswordForm()
    if settings.smtp_configured and form.validate_on_submit():
        users = list(db.session.scalars(
            select(User).where(User.email == form.email.data, User.active.is_(True)).order_by(User.id)))
        for user in users:
            if not _reset_asked_lately(user):
                outbox.enqueue(db.session, user, "reset")
            audit("password_reset_requested", user_id=user.id, target="email")
        if not users:
            audit("password_reset_requested", target="unknown")  # never the address
        db.session.commit()
        return render_template("staff/forgot_password.html", form=None, sent=True, configured=True,
                               hours=settings.invite_hours)
    status_code = 400 if request.method == "POST" else 200
    return render_template("staff/forgot_password.html", form=form, sent=False,
                           configured=settings.smtp_configured, hours=settings.invite_hours), status_code


# --- Each user's address and choices ---------------------------------------------------------------


@bp.route("/profile/notifications", methods=["GET", "POST"])
@allow(*ALL_ROLES)
@rate_limits.sign_in  # the form checks a password
def notification_settings():
    user = g.user
    kinds = outbox.choices_for(user.role)
    if request.method == "POST":
        form = NotificationsForm()
    else:
        wanted = [k for k in kinds if k not in (user.notifications_off or [])]
        form = NotificationsForm(email=user.email, notices=wanted)
    form.notices.choices = [(kind, label) for kind, label in kinds.items()]
    if form.validate_on_submit():
        if form.email.data != user.email:
            if not check_password(user, form.password.data or ""):
                form.password.errors.append(_("To change the address, enter your password."))
                return _settings_page(form, 400)
            user.email = form.email.data
            audit("set_email", target=f"user:{user.id}")
        chosen = set(form.notices.data or ())
        kept_off = [k for k in (user.notifications_off or []) if k not in kinds]  # another role's choices stay
        user.notifications_off = sorted({*kept_off, *(k for k in kinds if k not in chosen)})
        db.session.commit()
        flash(_("Your e-mail settings are saved."), "info")
        return redirect(url_for("staff.notification_settings"))
    return _settings_page(form, 400 if request.method == "POST" else 200)


def _settings_page(form: NotificationsForm, status_code: int):
    return render_template("staff/notification_settings.html", form=form, has_choices=bool(form.notices.choices),
                           configured=current_app.config["KIDRATE"].smtp_configured), status_code


# --- The admin's side --------------------------------------------------------------------------------

ERRORS = {
    "connection refused": _l("The mail server refused the connection."),
    "connection closed": _l("The mail server closed the connection."),
    "no answer (timeout)": _l("The mail server did not answer."),
    "tls failed": _l("The encrypted connection (STARTTLS) failed."),
    "starttls not offered": _l("The mail server offers no encrypted connection (STARTTLS)."),
}
ERROR_PREFIXES = {
    "address refused": _l("The mail server refused the address (%(code)s)."),
    "login refused": _l("The mail server refused kidrate's user name or password (%(code)s)."),
    "server answered": _l("The mail server answered with an error (%(code)s)."),
}


def error_label(code: str | None) -> str:
    """What a stored failure means, in the reader's language (unknown ones as stored)."""
    if not code:
        return ""
    if code in ERRORS:
        return str(ERRORS[code])
    for prefix, label in ERROR_PREFIXES.items():
        if code.startswith(prefix):
            return str(label) % {"code": code.removeprefix(prefix).strip() or "?"}
    return code


@bp.get("/admin/email")
@allow("admin")
def admin_email():
    organisation_id = g.user.organisation_id
    settings = current_app.config["KIDRATE"]
    without_address = db.session.scalar(
        select(func.count(User.id)).where(User.organisation_id == organisation_id, User.active.is_(True),
                                          User.email.is_(None))) or 0
    return render_template(
        "staff/admin_email.html", configured=settings.smtp_configured, settings=settings,
        counts=status.counts(db.session, organisation_id), failures=status.recent_failures(db.session, organisation_id),
        without_address=without_address, error_label=error_label,
        kind_labels={"reset": _("Password reset"), **{k: _("Notice") for k in outbox.NOTICES}})


@bp.route("/admin/users/<int:user_id>/email", methods=["GET", "POST"])
@allow("admin")
def admin_user_email(user_id: int):
    user = _user_in_org(user_id)
    form = EmailForm() if request.method == "POST" else EmailForm(email=user.email)
    if form.validate_on_submit():
        if form.email.data != user.email:
            user.email = form.email.data
            audit("set_email", target=f"user:{user.id}")
            db.session.commit()
        flash(_("The e-mail address of %(name)s is saved.", name=user.display_name), "info")
        return redirect(url_for("staff.admin_users"))
    status_code = 400 if request.method == "POST" else 200
    return render_template("staff/admin_user_email.html", form=form, user=user), status_code


# --- The counts in the staff menu -------------------------------------------------------------------


class MenuCounts:
    def __init__(self, handovers: int, new_cases: set[int]) -> None:
        self.handovers = handovers
        self.new_cases = new_cases


def menu_counts() -> MenuCounts:
    """Unread handovers (a social worker) and new cases (a therapist), once per request."""
    if "menu_counts" not in g:
        user = g.get("user")
        if user is None:
            g.menu_counts = MenuCounts(0, set())
        else:
            g.menu_counts = MenuCounts(unread.unread_handovers(db.session, user), unread.new_case_ids(db.session, user))
    return g.menu_counts


@bp.app_context_processor
def _menu_counts() -> dict:
    return {"menu_counts": menu_counts}
