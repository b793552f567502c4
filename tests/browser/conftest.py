"""Browser tests: Playwright driving the system's Chromium (Debian's package) against a live server.

Skipped, with the reason printed, where Chromium or Playwright is absent. No browser is downloaded.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(config, items):
    reason = None
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        reason = "browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "browser tests need the playwright package"
    if reason:
        print(f"\nSKIPPING browser tests: {reason}")
        for item in items:
            if "tests/browser" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser, live_server):
    """A small phone held upright, with touch; every request the page makes is recorded."""
    context = browser.new_context(viewport={"width": 360, "height": 640}, has_touch=True, is_mobile=True,
                                  device_scale_factor=2)
    context.requests = []
    context.on("request", lambda request: context.requests.append(request.url))
    yield context
    context.close()


@pytest.fixture
def phone_without_js(browser, live_server):
    context = browser.new_context(viewport={"width": 360, "height": 640}, has_touch=True, is_mobile=True,
                                  java_script_enabled=False)
    context.requests = []
    context.on("request", lambda request: context.requests.append(request.url))
    yield context
    context.close()


@pytest.fixture
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}
# Every rule axe runs by default: WCAG 2.x A and AA and the best practices (landmarks, one main, one h1,
# headings in order, …); only the experimental rules are left out. The child's pages pass all of them.
AXE_EVERY_RULE = {"resultTypes": ["violations"]}


def assert_accessible(axe, page, what: str, *, every_rule: bool = False) -> None:
    results = axe.run(page, options=AXE_EVERY_RULE if every_rule else AXE_OPTIONS)
    assert results.violations_count == 0, f"{what}:\n{results.generate_report()}"
    if every_rule:  # axe no longer checks this itself
        ids = page.eval_on_selector_all("[id]", "els => els.map(e => e.id)")
        assert len(ids) == len(set(ids)), f"{what}: an id twice: {sorted(i for i in ids if ids.count(i) > 1)}"


@pytest.fixture
def child_link(make, live_server):
    """The address of a fresh one-time link for a new case with these problems in the child's words."""
    def create(language="sv", age=11, kind="start", words=("Pappa skriker.", "Jag är ensam.")):
        sw = make.user("social_worker")
        case = make.case(sw, therapist=make.user("therapist"), words=words, age=age)
        return f"{live_server}/r/{make.link(case, kind, language=language)}"
    return create


def stored_ratings() -> list[tuple]:
    """(value, answer, view) of every stored rating, in a stable order."""
    from sqlalchemy import select

    from kidrate.extensions import db
    from kidrate.models import Rating

    db.session.remove()
    return sorted(db.session.execute(select(Rating.value, Rating.answer, Rating.scale_view)).all(),
                  key=lambda r: (r[1], r[0] or 0))


# --- Staff on a laptop -----------------------------------------------------------------------------

LAPTOP = {"width": 1366, "height": 768}
# Screenshots to look at, where KIDRATE_SHOTS says (a temporary folder by default).
SHOTS = Path(os.environ.get("KIDRATE_SHOTS") or Path(tempfile.gettempdir()) / "kidrate-shots")


@pytest.fixture
def laptop(browser, live_server):
    """Opens pages on a 1366×768 laptop, in Swedish, each in a context of its own (one person each)."""
    contexts = []

    def open_one():
        context = browser.new_context(viewport=LAPTOP, locale="sv-SE", base_url=live_server)
        contexts.append(context)
        return context.new_page()
    yield open_one
    for context in contexts:
        context.close()


def sign_in(page, username: str) -> None:
    from ..factories import Factory

    page.goto("/staff/sign-in")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", Factory.PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/staff/"))


def shot(page, name: str, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)
