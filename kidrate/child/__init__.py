"""The child's pages: public, reached only through a one-time link, no login, no trace."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("child", __name__, url_prefix="/r")

from kidrate.child import views  # noqa: E402,F401  (routes register on import)
