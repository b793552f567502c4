"""Static files and compression: versioned addresses, the child's files never cached, compression
only where no CSRF token sits beside typed text, and the staff side's installable shell."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from kidrate.assets import CHILD_ASSETS, STAFF_SHELL, asset_version

from .conftest import sign_in


def static_url(page: str, name: str) -> str:
    match = re.search(rf'(/static/{re.escape(name)}\?v=[0-9a-f]{{12}})', page)
    assert match, f"{name} is not linked with a version"
    return match.group(1)


def test_child_page_and_its_files_come_compressed_and_are_never_cached(client, make):
    sw = make.user("social_worker")
    token = make.link(make.case(sw, therapist=make.user("therapist")), "start", language="sv")
    page = client.get(f"/r/{token}", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    assert page.headers["Cache-Control"] == "no-store"
    html = gzip.decompress(page.data).decode()
    for name in sorted(CHILD_ASSETS):
        asset = client.get(static_url(html, name), headers={"Accept-Encoding": "br, gzip"})
        assert asset.status_code == 200
        assert asset.headers["Content-Encoding"] == "br", name
        assert asset.headers["Cache-Control"] == "no-store", name


def test_staff_pages_are_not_compressed(client, make):
    make.user("social_worker", username="sara")
    sign_in(client, "sara")
    page = client.get("/staff/cases", headers={"Accept-Encoding": "gzip, br"})
    assert page.status_code == 200
    assert "Content-Encoding" not in page.headers


def test_staff_shell_is_cached_for_good_under_its_version(client):
    name = "css/staff.css"
    versioned = client.get(f"/static/{name}?v={asset_version(name)}")
    assert "immutable" in versioned.headers["Cache-Control"]
    stale = client.get(f"/static/{name}?v=000000000000")
    assert stale.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("name", ["../kidrate/config.py", "nothing-here.css", "/etc/passwd"])
def test_asset_version_of_anything_outside_static_is_empty(name):
    assert asset_version(name) == ""


def test_manifest_makes_the_staff_side_installable(client):
    response = client.get("/staff/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.data)
    assert manifest["scope"] == "/staff/" and manifest["start_url"] == "/staff/"
    assert manifest["display"] == "standalone" and manifest["theme_color"]
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200


def test_service_worker_keeps_only_the_static_shell(client):
    response = client.get("/staff/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    shell = json.loads(re.search(r"var SHELL = (\[.*?\]);", response.text).group(1))
    assert len(shell) == len(STAFF_SHELL)
    assert all(url.startswith("/static/") and "?v=" in url for url in shell)
    assert not set(shell) & {f"/static/{name}" for name in CHILD_ASSETS if name != "img/faces.svg"}
    for url in shell:
        assert client.get(url).status_code == 200


def test_the_service_worker_is_registered_for_staff_only(client, make):
    make.user("social_worker", username="sara")
    staff_page = client.get("/staff/sign-in").text
    assert 'rel="manifest"' in staff_page and "js/staff.js" in staff_page
    sw = make.user("social_worker")
    token = make.link(make.case(sw, therapist=make.user("therapist")), "start")
    child_page = client.get(f"/r/{token}").text
    assert "manifest" not in child_page and "serviceWorker" not in child_page and "staff.js" not in child_page


def test_root_leads_to_the_staff_side(client):
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
