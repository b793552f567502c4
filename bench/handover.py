"""The closure handover as a page and as a PDF: how long it takes to make, for a full case.

Builds a case like the demo one but with 8 problems in the child's words and all three rounds
answered, closed and handed over, in a temporary SQLite database, and measures (median of several
runs, after one warm-up run each):
  - the HTML handover: gather + compile_handover + rendering templates/handover/document.html
    (the chart included), in Swedish;
  - the PDF handover: kidrate.documents.handover_pdf (WeasyPrint, A4, all pages, archival: PDF/A-3u,
    tagged, the JSON embedded, finished by pikepdf), in Swedish, as the download route makes it;
    the pikepdf finish alone is printed beside it.
Baselines, measured in the same run: rendering a one-line template, and a one-line PDF through the
same WeasyPrint set-up: the floor every page and every PDF pays on this machine.

Budget (wall time): HTML <= 50 ms, PDF <= 1.5 s. CPU time is printed beside it: on a busy machine
the wall time also holds the wait for a processor.

    .venv/bin/python bench/handover.py [--runs 7]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from flask import render_template, render_template_string
from flask_babel import force_locale
from sqlalchemy import select

from kidrate import create_app
from kidrate.config import load_settings
from kidrate.demo import DEMO_CASE_REF, ensure_demo
from kidrate.extensions import db
from kidrate.models import Base, Case, Closure, Problem, Rating, Submission, utcnow
from kidrate.red_thread import cases, documents, links
from kidrate.red_thread.facts import gather
from kidrate.red_thread.handover import compile_handover
from kidrate.staff.handovers import signal_history
from kidrate.vocab import PARTICIPATION

BUDGET_MS = {"html": 50.0, "pdf": 1500.0}
CHILD_WORDS = (
    ("Pappa slår mig när han är arg.", "violence_abuse"),
    ("Jag blir så rädd när mamma och pappa bråkar att jag skakar.", "family_violence"),
    ("Jag går inte till skolan för att jag måste hålla koll på dem hemma.", "school"),
    ("Mamma är ledsen hela tiden och orkar inte laga mat.", "parent_mental_health"),
    ("Pappa accepterar inte att jag är den jag är.", "family_relations"),
    ("Jag vill inte träffa min pappa mer.", "family_relations"),
    ("Jag har inga kompisar och sitter mest på rummet.", "child_mental_health"),
    ("Jag får inte vara med mina kusiner längre.", "honour_violence"),
)
RATINGS = {"start": (2, 3, 1, 4, 5, 3, 2, 6), "follow_up": (4, 4, 3, 4, 6, 5, 3, 7),
           "closure": (7, 6, 5, 4, 8, 6, 3, 9)}


def build(app) -> int:
    """A closed case with 8 problems in the child's words, every round answered; its id."""
    with app.app_context():
        Base.metadata.create_all(db.engine)
        ensure_demo(db.session, app.config["KIDRATE"])
        demo = db.session.scalar(select(Case).where(Case.case_ref == DEMO_CASE_REF))
        case = cases.open_case(db.session, demo.social_worker, case_ref="BENCH-2026-008", age=12, gender="girl",
                               child_language="sv", family_languages=["sv", "ar"],
                               intervention_types=["traditional", "manual_based"], intervention_text="KIBB",
                               follow_up_date=demo.follow_up_date)
        for words, category in CHILD_WORDS:
            case.problems.append(Problem(source="child", words=words, words_language="sv", category=category,
                                         goal="Barnet känner sig tryggt.", worked_with="focus",
                                         goal_attainment="positive_not_met"))
        case.problems.append(Problem(source="investigation", words="Föräldrarna har svårt att sätta gränser.",
                                     category="parenting", goal="Fungerande rutiner.", worked_with="partly",
                                     goal_attainment="unchanged"))
        db.session.flush()
        cases.assign(case, demo.therapist)
        child = [p for p in case.problems if p.source == "child"]
        for kind, values in RATINGS.items():
            rnd = case.round(kind)
            link, _token = links.issue(db.session, rnd, language="sv", created_by_id=None, days=14)
            db.session.flush()
            link.used_at = utcnow()
            submission = Submission(round=rnd, link_id=link.id, added_text="Det är lite bättre nu.")
            submission.ratings = [Rating(problem_id=p.id, answer="rated", value=v) for p, v in
                                  zip(child, values, strict=True)]
            db.session.add(submission)
        case.closure = Closure(reason="goals_met", concern_remaining=True, concern_text="Oro för pappas ilska.",
                               participation={key: "yes" for key in PARTICIPATION},
                               recommendation="Träffa barnet ensam först.")
        cases.send_handover(db.session, case, demo.therapist)
        db.session.commit()
        case_id = case.id
        db.session.remove()
    return case_id


def timed(work: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time of `work` in milliseconds, after one warm-up run. On a
    shared machine the CPU time shows the work itself; the wall time adds the wait for a processor."""
    work()
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        work()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    instance = Path(tempfile.mkdtemp(prefix="kidrate-bench-"))
    settings = load_settings({}, database_url=f"sqlite:///{instance / 'bench.sqlite3'}", instance_path=instance,
                             secret_key="bench-" + "x" * 40, testing=True)
    app = create_app(settings)
    case_id = build(app)

    with app.test_request_context(), force_locale("sv"):
        case = db.session.get(Case, case_id)

        def html() -> str:
            doc = compile_handover(gather(case), compiled_at=utcnow(), version=1)
            return render_template("handover/document.html", doc=doc)

        def html_baseline() -> str:
            return render_template_string("<p>{{ text }}</p>", text="Hej.")

        doc = case.handovers[-1].document
        try:
            weasyprint = documents._weasyprint()
        except documents.PdfUnavailable as error:
            print(f"WeasyPrint cannot load here ({error}): no PDF figures")
            return 2

        def pdf() -> bytes:
            return documents.handover_pdf(doc, locale="sv", case=case, handover=case.handovers[-1],
                                          signals=signal_history(case))

        def pdf_baseline() -> bytes:
            return weasyprint.HTML(string="<!doctype html><html lang=sv><title>x</title><p>Hej.</p>",
                                   base_url=documents.STATIC_ROOT.as_uri() + "/",
                                   url_fetcher=documents._url_fetcher(weasyprint)).write_pdf()

        html_size = len(html().encode())
        pdf_bytes = pdf()
        # The finish again on the finished PDF: pikepdf reads and writes the whole file all the same.
        finish_ms = timed(lambda: documents.archival_finish(pdf_bytes), args.runs)[0]
        rows = [
            ("HTML handover, ms", timed(html, args.runs * 5), BUDGET_MS["html"], timed(html_baseline, args.runs * 5)),
            ("PDF handover, ms", timed(pdf, args.runs), BUDGET_MS["pdf"], timed(pdf_baseline, args.runs)),
        ]
        try:
            from pypdf import PdfReader  # the test extra

            pages = len(PdfReader(io.BytesIO(pdf_bytes)).pages)
        except ImportError:
            pages = "?"

    print(f"closure handover, 8 problems in the child's words, 3 rounds answered, Swedish; median of "
          f"{args.runs * 5} (HTML) and {args.runs} (PDF) runs")
    print(f"  HTML {html_size / 1024:.1f} KB; PDF {len(pdf_bytes) / 1024:.1f} KB, {pages} pages")
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; "
          f"the archival finish (pikepdf) alone: {finish_ms:.1f} ms")
    print(f"  {'':20}{'wall':>10}{'cpu':>10}{'budget':>10}{'baseline':>10}{'ratio':>9}")
    ok = True
    for label, (wall, cpu), budget, (baseline, _baseline_cpu) in rows:
        ok &= wall <= budget
        print(f"  {label:20}{wall:>10.1f}{cpu:>10.1f}{budget:>10.1f}{baseline:>10.2f}{wall / baseline:>8.1f}x")
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
