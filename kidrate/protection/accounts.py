"""Staff accounts: password hashing (argon2) and invitation / password-reset links (itsdangerous).

An invitation or reset link is signed with a salt of its own purpose, expires, and carries a
fingerprint of the account's password state: once a password is set through it, it no longer
matches and the link is dead.
"""

from __future__ import annotations

import hashlib
import secrets
from contextlib import suppress

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from kidrate.models import User

PASSWORD_MIN_LENGTH = 12
PURPOSES = ("invite", "reset")

_hasher = PasswordHasher()
_fast_hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)  # tests only: argon2 is slow on purpose


def _password_hasher() -> PasswordHasher:
    return _fast_hasher if current_app.config.get("TESTING") else _hasher


def hash_password(password: str) -> str:
    return _password_hasher().hash(password)


_dummy_hashes: dict[PasswordHasher, str] = {}


def check_password(user: User | None, password: str) -> bool:
    """Constant work whether or not the user exists, so timing does not reveal usernames: without an
    account to check, the password is verified against a dummy hash made with the same parameters."""
    hasher = _password_hasher()
    if user is None or not user.password_hash or not user.active:
        if hasher not in _dummy_hashes:
            _dummy_hashes[hasher] = hasher.hash(secrets.token_urlsafe(24))
        with suppress(VerificationError, InvalidHashError):
            hasher.verify(_dummy_hashes[hasher], password)
        return False
    try:
        return hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"kidrate-{purpose}")


def _state(user: User) -> str:
    return hashlib.sha256(f"{user.id}:{user.password_hash}:{user.active}".encode()).hexdigest()[:20]


def account_link_token(user: User, purpose: str) -> str:
    return _serializer(purpose).dumps({"uid": user.id, "state": _state(user)})


def user_for_link_token(session, token: str, purpose: str) -> User | None:
    """The account a link is for, if the link is genuine, unexpired and still matches the account."""
    max_age = current_app.config["KIDRATE"].invite_hours * 3600
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        return None
    user = session.get(User, data["uid"])
    if user is None or not user.active or data.get("state") != _state(user):
        return None
    return user
