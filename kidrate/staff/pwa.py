"""The staff side as an installable app: a manifest and a service worker that keeps only the static
shell. Both live under /staff/, so the worker's scope never reaches the child's pages under /r/."""

from __future__ import annotations

import hashlib

from flask import Response, json, render_template, url_for
from flask_babel import gettext as _

from kidrate.assets import STAFF_SHELL, asset_version
from kidrate.languages.i18n import html_lang, text_direction
from kidrate.protection.access import public
from kidrate.staff import bp

THEME_COLOUR = "#1f5fa8"


@bp.get("/manifest.webmanifest")
@public
def manifest():
    icons = [{"src": url_for("static", filename="img/icon.svg"), "sizes": "any", "type": "image/svg+xml"}]
    icons += [{"src": url_for("static", filename=f"img/icon-{size}.png"), "sizes": f"{size}x{size}",
               "type": "image/png", "purpose": "any maskable"} for size in (192, 512)]
    body = {
        "name": "kidrate",
        "short_name": "kidrate",
        "description": _("Children's own ratings of their problems, from assignment to closure."),
        "lang": html_lang(),
        "dir": text_direction(),
        "start_url": url_for("staff.home"),
        "scope": url_for("staff.home"),
        "display": "standalone",
        "background_color": "#f6f6f8",
        "theme_color": THEME_COLOUR,
        "icons": icons,
    }
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")


@bp.get("/sw.js")
@public
def service_worker():
    shell = [url_for("static", filename=name) for name in STAFF_SHELL]
    version = hashlib.sha256("".join(asset_version(n) for n in STAFF_SHELL).encode()).hexdigest()[:12]
    script = render_template("staff/sw.js", shell=shell, cache_name=f"kidrate-shell-{version}")
    return Response(script, mimetype="text/javascript")
