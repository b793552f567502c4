"""The child's page on a slow phone connection, measured in the real browser (Debian's Chromium).

Serves the app with the demo case (four problems in the child's words) on a local port, throttles the
browser to slow 3G (400 kbit/s down and up, 400 ms round trip), and measures:
  - the first load: bytes on the wire (compressed, headers included), requests, first contentful paint;
  - a submission: bytes and requests from pressing "send" to the thank-you page.
The baseline, measured in the same run under the same throttling, is a bare HTML page of one line:
the floor any page pays on this connection.

Budget: first load <= 30 KB compressed, <= 5 requests, first contentful paint <= 1.5 s.

    .venv/bin/python bench/child_page.py [--runs 5]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import threading
import uuid
from pathlib import Path

from sqlalchemy import select
from werkzeug.serving import make_server

from kidrate import create_app
from kidrate.config import load_settings
from kidrate.demo import DEMO_CASE_REF, DEMO_CHILD_PROBLEMS, ensure_demo
from kidrate.extensions import db
from kidrate.models import Base, Case, Problem
from kidrate.protection.access import public
from kidrate.red_thread import cases, links

BUDGET = {"kb": 30.0, "requests": 5, "fcp_ms": 1500.0}
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}
CHROMIUM = "/usr/bin/chromium"


def serve():
    instance = Path(tempfile.mkdtemp(prefix="kidrate-bench-"))
    settings = load_settings({}, database_url=f"sqlite:///{instance / 'bench.sqlite3'}", instance_path=instance,
                             secret_key="bench-" + "x" * 40, testing=True)
    app = create_app(settings)

    @app.get("/bench-baseline")
    @public
    def baseline():
        return "<!doctype html><html lang=sv><title>x</title><p>Hej.</p>"

    with app.app_context():
        Base.metadata.create_all(db.engine)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    return app, settings, base


def new_link(app, settings, base: str) -> str:
    """A fresh case like the demo one (four problems in the child's words) with a start link."""
    with app.app_context():
        ensure_demo(db.session, settings)
        demo = db.session.scalar(select(Case).where(Case.case_ref == DEMO_CASE_REF))
        case = cases.open_case(db.session, demo.social_worker, case_ref=f"BENCH-{uuid.uuid4().hex[:8]}", age=11,
                               gender="girl", child_language="sv", family_languages=["sv"],
                               intervention_types=["traditional"], follow_up_date=demo.follow_up_date)
        for words, category, goal in DEMO_CHILD_PROBLEMS:
            case.problems.append(Problem(source="child", words=words, words_language="sv", category=category,
                                         goal=goal))
        db.session.flush()
        cases.assign(case, demo.therapist)
        _link, token = links.issue(db.session, case.round("start"), language="sv", created_by_id=None,
                                   days=settings.link_days)
        db.session.commit()
        db.session.remove()
    return f"{base}/r/{token}"


class Wire:
    """Counts requests and bytes on the wire (as received, compressed, with headers) through CDP."""

    def __init__(self, cdp) -> None:
        self.requests = 0
        self.bytes = 0
        self.urls: list[str] = []
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.loadingFinished", self._finished)

    def _sent(self, event) -> None:
        if not event["request"]["url"].startswith("data:"):
            self.requests += 1
            self.urls.append(event["request"]["url"].split("?")[0])

    def _finished(self, event) -> None:
        self.bytes += int(event["encodedDataLength"])

    def reset(self) -> None:
        self.requests, self.bytes, self.urls = 0, 0, []


def fcp(page) -> float:
    return page.evaluate("""() => new Promise(resolve => {
        const seen = performance.getEntriesByName('first-contentful-paint');
        if (seen.length) return resolve(seen[0].startTime);
        new PerformanceObserver(list => resolve(list.getEntries()[0].startTime))
            .observe({type: 'paint', buffered: true});
    })""")


def one_run(browser, url: str, baseline_url: str) -> dict:
    context = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    wire = Wire(cdp)

    page.goto(baseline_url, wait_until="load")
    baseline = {"bytes": wire.bytes, "requests": wire.requests, "fcp_ms": fcp(page)}

    wire.reset()
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    first = {"bytes": wire.bytes, "requests": wire.requests, "fcp_ms": fcp(page), "urls": list(wire.urls)}

    # Answer every question as a child would, step by step, then send.
    steps = page.locator("fieldset.question").count()
    for _ in range(steps):
        page.locator("fieldset.step:visible input[name^='answer-'][value='5']").tap()
        page.locator("button.next").tap()
    page.locator("button.next").tap()
    wire.reset()
    page.locator("button.send").tap()
    page.wait_for_url("**/r/thanks**")
    page.wait_for_load_state("networkidle")
    sent = {"bytes": wire.bytes, "requests": wire.requests}
    context.close()
    return {"baseline": baseline, "first": first, "sent": sent}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
        return 2
    from playwright.sync_api import sync_playwright

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app, settings, base = serve()
    runs = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for _ in range(args.runs):
            runs.append(one_run(browser, new_link(app, settings, base), f"{base}/bench-baseline"))
        browser.close()

    def median(part: str, key: str) -> float:
        return statistics.median(r[part][key] for r in runs)

    first_kb, first_req, first_fcp = median("first", "bytes") / 1024, median("first", "requests"), \
        median("first", "fcp_ms")
    base_kb, base_fcp = median("baseline", "bytes") / 1024, median("baseline", "fcp_ms")
    sent_kb, sent_req = median("sent", "bytes") / 1024, median("sent", "requests")
    print(f"child page, slow 3G (400 kbit/s, 400 ms RTT), 360x640, median of {args.runs} runs")
    names = ["page" if "/r/" in u else Path(u).name for u in runs[-1]["first"]["urls"]]  # never print a token
    print(f"  requests of the first load: {', '.join(names)}")
    print(f"  {'':26}{'measured':>10}{'budget':>10}{'baseline':>10}{'ratio':>8}")
    rows = [
        ("first load, KB on wire", first_kb, BUDGET["kb"], base_kb),
        ("first load, requests", first_req, BUDGET["requests"], median("baseline", "requests")),
        ("first contentful paint, ms", first_fcp, BUDGET["fcp_ms"], base_fcp),
    ]
    ok = True
    for label, value, budget, baseline in rows:
        ok &= value <= budget
        print(f"  {label:26}{value:>10.1f}{budget:>10.1f}{baseline:>10.1f}{value / baseline:>7.2f}x")
    print(f"  {'submission, KB on wire':26}{sent_kb:>10.1f}{'':>10}{'':>10}")
    print(f"  {'submission, requests':26}{sent_req:>10.0f}")
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
