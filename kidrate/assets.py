"""Static files: versioned addresses, what may be cached, and what is compressed.

Every static URL carries a hash of the file's content (`?v=…`), so the staff side's service worker
and the browser can keep a file as long as it exists and still never serve a stale one.

The child's own files are never kept: a shared family tablet must not hold a trace of the page in
its cache. Compression is limited to the child's pages and static files: staff pages carry CSRF
tokens beside text a user typed, the mix that BREACH-style attacks on compressed responses need.
"""

from __future__ import annotations

import hashlib
from functools import cache

from flask import Flask, Response, request
from flask_compress import Compress

from kidrate.config import PROJECT_ROOT

STATIC_ROOT = PROJECT_ROOT / "static"
# Loaded by the child's pages: served with no-store, like the pages themselves.
CHILD_ASSETS = frozenset({"css/child.css", "js/child.js", "img/faces.svg"})
# The staff side's installable shell, cached by its service worker.
STAFF_SHELL = ("css/staff.css", "js/staff.js", "img/faces.svg", "img/icon.svg",
               "img/icon-192.png", "img/icon-512.png")

compress = Compress()


@cache
def asset_version(filename: str) -> str:
    path = (STATIC_ROOT / filename).resolve()
    if not path.is_relative_to(STATIC_ROOT.resolve()) or not path.is_file():
        return ""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _add_version(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values and "v" not in values:
        version = asset_version(values["filename"])
        if version:
            values["v"] = version


def _cache_policy(response: Response) -> Response:
    if request.endpoint != "static":
        return response
    filename = (request.view_args or {}).get("filename", "")
    if filename in CHILD_ASSETS:
        response.headers["Cache-Control"] = "no-store"
    elif request.args.get("v") and request.args.get("v") == asset_version(filename):
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    return response


def _compress_child_and_static(response: Response) -> Response:
    if request.endpoint == "static" or request.blueprint == "child":
        return compress.after_request(response)
    return response


def configure_assets(app: Flask) -> None:
    app.config.update(COMPRESS_REGISTER=False, COMPRESS_ALGORITHM=["br", "gzip"], COMPRESS_MIN_SIZE=256,
                      COMPRESS_MIMETYPES=["text/html", "text/css", "text/javascript", "application/javascript",
                                          "application/json", "image/svg+xml", "application/manifest+json"])
    compress.init_app(app)
    app.url_defaults(_add_version)
    # after_request runs in reverse order of registration: compression runs last, on final bytes.
    app.after_request(_compress_child_and_static)
    app.after_request(_cache_policy)


