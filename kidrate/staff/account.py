"""Signing in and out, accepting an invitation, resetting a password, choosing a language."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..accounts import check_password, hash_password, user_for_link_token
from ..extensions import db
from ..models import User
from ..security import allow, audit, public, safe_next, sign_in
from . import bp
from .forms import EmptyForm, ProfileForm, SetPasswordForm, SignInForm

ALL_ROLES = ("social_worker", "therapist", "analyst", "admin", "auditor")
HOME_BY_ROLE = {
    "social_worker": "staff.case_list",
    "therapist": "staff.case_list",
    "analyst": "staff.report",
    "admin": "staff.admin_users",
}


@bp.get("/")
@allow(*ALL_ROLES)
def home():
    return redirect(url_for(HOME_BY_ROLE[g.user.role]))


@bp.route("/sign-in", methods=["GET", "POST"], endpoint="sign_in")
@public
def sign_in_page():
    form = SignInForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data.strip()))
        if check_password(user, form.password.data):
            target = safe_next(request.args.get("next"))
            sign_in(user)
            audit("sign_in", user_id=user.id)
            db.session.commit()
            return redirect(target or url_for("staff.home"))
        audit("sign_in_failed", user_id=user.id if user else None)
        db.session.commit()
        flash(_("Wrong username or password."), "error")
    return render_template("staff/sign_in.html", form=form), 200 if request.method == "GET" else 400


@bp.post("/sign-out")
@allow(*ALL_ROLES)
def sign_out():
    if not EmptyForm().validate_on_submit():
        abort(400)
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("staff.sign_in"))


def _set_password_via_link(token: str, purpose: str):
    user = user_for_link_token(db.session, token, purpose)
    if user is None:
        return render_template("staff/link_invalid.html"), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        user.password_hash = hash_password(form.password.data)
        audit("password_set", user_id=user.id, target=purpose)
        db.session.commit()
        session.clear()
        flash(_("Your password is set. Sign in with it."), "info")
        return redirect(url_for("staff.sign_in"))
    status = 400 if request.method == "POST" else 200
    return render_template("staff/set_password.html", form=form, user=user, purpose=purpose), status


@bp.route("/invite/<token>", methods=["GET", "POST"])
@public
def accept_invite(token: str):
    return _set_password_via_link(token, "invite")


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str):
    return _set_password_via_link(token, "reset")


@bp.route("/profile", methods=["GET", "POST"])
@allow(*ALL_ROLES)
def profile():
    form = ProfileForm(locale=g.user.locale)
    if form.validate_on_submit():
        g.user.locale = form.locale.data
        session["locale"] = form.locale.data
        db.session.commit()
        return redirect(url_for("staff.profile"))
    return render_template("staff/profile.html", form=form)
