"""Load: many children answering at once, through real gunicorn on PostgreSQL.

Creates a throwaway PostgreSQL database (dropped at the end), migrates it with `kidrate db upgrade`,
seeds cases with live start links (three problems in the child's words each), starts gunicorn with the
production settings (kidrate/gunicorn_conf.py, its token-redacting access log included) on a loopback
port, and then, in the same run:

  1. the child's flow: N clients, each taking a fresh link per flow: GET the page, read its hidden
     fields and the choices, POST the answers (the fields tests/conftest.py child_posts() sends) and
     expect 303 to the thank-you page; optionally with think time between reading and sending;
  2. the same N clients, with the same pattern (two requests a flow, the same think time between them),
     against a trivial endpoint of the same server (/healthz, else a static file).

It prints throughput, p50/p99 latency of GET and POST apart and together, errors, and the ratio of the
child's p99 to the trivial endpoint's p99; then counts in the database that the submissions stored
equal the successful POSTs, none twice and none lost.

Rate limits are set far above the load (KIDRATE_CHILD_LIMIT / KIDRATE_SIGN_IN_LIMIT), and each client
has an address of its own (X-Forwarded-For, trusted from the one proxy hop KIDRATE_TRUSTED_PROXIES=1
declares): the run measures the app, not its limiter refusing one address. Each request is a new
connection with `Connection: close`, as a TLS proxy in front (nginx's default) talks to gunicorn;
pages are asked for compressed as a phone does. The client is one asyncio process; its own CPU use
is printed, so it can be seen not to be the bottleneck.

Budget: p99 < 100 ms at 50 concurrent clients, zero errors, no submission lost or stored twice.
Exits 1 if errors, lost or duplicated submissions occur; timing over budget is printed, not failed.

    .venv/bin/python bench/load.py [--clients 50] [--duration 20] [--think 0] [--workers 4] [--threads 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import URL, make_url

from kidrate import create_app
from kidrate.config import PROJECT_ROOT, load_settings, new_data_key
from kidrate.extensions import db
from kidrate.models import ChildLink, Organisation, Problem, Rating, Submission, Unit, User
from kidrate.protection.accounts import hash_password
from kidrate.red_thread import cases, links

sys.path.insert(0, str(PROJECT_ROOT))  # the test suite's gunicorn helpers: one way to run a server
from tests.servers import start_gunicorn, stop, wait_ready

try:
    import brotli  # installed with flask-compress; lets the client ask for what a phone asks for
except ImportError:  # pragma: no cover
    brotli = None

BUDGET_P99_MS = 100.0
BIN = Path(sys.executable).parent
HIGH_LIMIT = "1000000 per minute"
PROBLEMS = (
    ("Jag blir så rädd när mamma och pappa bråkar att jag skakar.", "family_violence", "Trygg hemma."),
    ("Jag går inte till skolan för att jag måste hålla koll på dem hemma.", "school", "Går till skolan."),
    ("Jag har inga kompisar och sitter mest på rummet.", "child_mental_health", "Någon att vara med."),
)
HIDDEN = re.compile(r'<input\b[^>]*\btype="hidden"[^>]*>')
RADIO = re.compile(r'<input\b[^>]*\btype="radio"[^>]*>')
NAME = re.compile(r'\bname="([^"]+)"')
VALUE = re.compile(r'\bvalue="([^"]*)"')


# --- Database and server -----------------------------------------------------------------------------


def throwaway_database(server: URL) -> URL:
    name = f"kidrate_load_{os.getpid()}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name)


def drop_database(url: URL) -> None:
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def seed(env: dict[str, str], count: int) -> list[str]:
    """`count` cases handed over to open care, each with three problems and a live start link,
    written through the app's own models (so the child's words are encrypted as in production)."""
    app = create_app(load_settings(env))
    tokens = []
    with app.app_context():
        session = db.session
        org = Organisation(name="Lastkommunen")
        authority = Unit(organisation=org, name="Utredning", kind="authority")
        open_care = Unit(organisation=org, name="Öppenvården", kind="open_care")
        session.add_all([org, authority, open_care])
        session.flush()
        password = hash_password(secrets.token_urlsafe(16))
        sw = User(organisation_id=org.id, unit_id=authority.id, username="sw", display_name="Sara",
                  role="social_worker", password_hash=password, locale="sv")
        therapist = User(organisation_id=org.id, unit_id=open_care.id, username="t", display_name="Bo",
                         role="therapist", password_hash=password, locale="sv")
        session.add_all([sw, therapist])
        session.flush()
        for n in range(count):
            case = cases.open_case(session, sw, case_ref=f"LOAD-{n}", age=11, gender="girl", child_language="sv",
                                   family_languages=["sv"], intervention_types=["traditional"],
                                   follow_up_date=date.today() + timedelta(days=60))
            for words, category, goal in PROBLEMS:
                case.problems.append(Problem(source="child", words=words, words_language="sv", category=category,
                                             goal=goal))
            cases.assign(case, therapist)
            _link, token = links.issue(session, case.round("start"), language="sv", created_by_id=therapist.id,
                                       days=14)
            tokens.append(token)
            if n % 500 == 499:
                session.commit()
        session.commit()
        db.session.remove()
    db.engine.dispose()
    return tokens


def server_cpu_seconds(master: int) -> float:
    """CPU time (user + system) of gunicorn's master and its workers so far, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == master or ppid == master:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


# --- The client --------------------------------------------------------------------------------------

ACCEPT_ENCODING = "br, gzip" if brotli else "gzip"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


async def fetch(port: int, method: str, path: str, address: str, body: bytes = b"", timeout: float = 30.0) -> Reply:
    """One request on a new connection (Connection: close), timed from connecting to the last byte."""
    start = time.perf_counter()
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    try:
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
                f"Accept-Encoding: {ACCEPT_ENCODING}\r\nAccept-Language: sv\r\nX-Forwarded-For: {address}\r\n")
        if body:
            head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        writer.write(head.encode() + b"\r\n" + body)
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    seconds = time.perf_counter() - start
    head_bytes, _sep, content = raw.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _s, v in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        content = dechunk(content)
    encoding = headers.get("content-encoding")
    if encoding == "gzip":
        content = gzip.decompress(content)
    elif encoding == "br" and brotli:
        content = brotli.decompress(content)
    elif encoding == "deflate":
        content = zlib.decompress(content)
    return Reply(status, headers, content, seconds)


def dechunk(data: bytes) -> bytes:
    out, rest = b"", data
    while rest:
        size_line, _sep, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2:]
    return out


def answers(html: str, rng: random.Random) -> dict[str, str]:
    """The page's hidden fields, and one of the page's own choices for every question on it."""
    form = {}
    for tag in HIDDEN.findall(html):
        name, value = NAME.search(tag), VALUE.search(tag)
        if name:
            form[name.group(1)] = value.group(1) if value else ""
    choices: dict[str, list[str]] = {}
    for tag in RADIO.findall(html):
        name, value = NAME.search(tag), VALUE.search(tag)
        if name and value:
            choices.setdefault(name.group(1), []).append(value.group(1))
    for name, values in choices.items():
        if name.startswith("answer-") or rng.random() < 0.5:  # "good enough" is optional
            form[name] = rng.choice(values)
    return form


@dataclass
class Run:
    """What the clients saw: every request as (kind, start, seconds), the errors, the links sent."""

    samples: list[tuple[str, float, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sent: list[tuple[str, float]] = field(default_factory=list)  # (token, start of its POST) answered 303
    out_of_links: bool = False

    def latencies(self, kind: str, window: tuple[float, float]) -> list[float]:
        """Seconds of the requests of one kind ("GET", "POST" or "" for all) started in the window."""
        return [seconds for k, start, seconds in self.samples
                if (not kind or k == kind) and window[0] <= start < window[1]]


async def child_client(n: int, port: int, tokens: list[str], end: float, think: float, run: Run) -> None:
    rng = random.Random(n)
    address = f"10.{n // 250 % 250}.{n % 250}.{1 + n // 62500 % 250}"
    if think:
        await asyncio.sleep(rng.uniform(0, think))  # children arrive spread out, not all at one instant
    while time.monotonic() < end:
        if not tokens:
            run.out_of_links = True
            return
        token = tokens.pop()
        try:
            started = time.monotonic()
            page = await fetch(port, "GET", f"/r/{token}", address)
            run.samples.append(("GET", started, page.seconds))
            if page.status != 200:
                run.errors.append(f"GET {page.status}")
                continue
            form = answers(page.body.decode(), rng)
            if think:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think)  # reading and choosing
            started = time.monotonic()
            sent = await fetch(port, "POST", f"/r/{token}", address, urlencode(form).encode())
            run.samples.append(("POST", started, sent.seconds))
            if sent.status == 303 and "/r/thanks" in sent.headers.get("location", ""):
                run.sent.append((token, started))
            else:
                run.errors.append(f"POST {sent.status}")
        except (OSError, TimeoutError, ValueError, IndexError) as error:
            run.errors.append(type(error).__name__)


async def trivial_client(n: int, port: int, path: str, end: float, think: float, run: Run) -> None:
    """The same pattern as a child (two requests, the think time between them), on the trivial endpoint."""
    rng = random.Random(n)
    address = f"10.{n // 250 % 250}.{n % 250}.1"
    if think:
        await asyncio.sleep(rng.uniform(0, think))
    while time.monotonic() < end:
        for step in range(2):
            if step and think:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
            try:
                started = time.monotonic()
                reply = await fetch(port, "GET", path, address)
                run.samples.append(("GET", started, reply.seconds))
                if reply.status != 200:
                    run.errors.append(f"GET {reply.status}")
            except (OSError, TimeoutError, ValueError, IndexError) as error:
                run.errors.append(type(error).__name__)


async def cpu_during(master: int, window: tuple[float, float]) -> tuple[float, float]:
    """CPU seconds of gunicorn (all its processes) and of this load generator inside the window."""
    await asyncio.sleep(max(0.0, window[0] - time.monotonic()))
    server, client = server_cpu_seconds(master), time.process_time()
    await asyncio.sleep(max(0.0, window[1] - time.monotonic()))
    return server_cpu_seconds(master) - server, time.process_time() - client


@dataclass
class Measured:
    child: Run
    child_window: tuple[float, float]
    child_cpu: tuple[float, float]
    trivial: Run
    trivial_window: tuple[float, float]
    trivial_cpu: tuple[float, float]
    trivial_path: str


async def drive(args, port: int, tokens: list[str], master: int) -> Measured:
    """The child's flow (warm-up, then the measured window, one continuous run), then the trivial endpoint."""
    trivial_path = "/healthz"
    with contextlib.suppress(OSError, TimeoutError, ValueError, IndexError):
        probe = await fetch(port, "GET", trivial_path, "127.0.0.1")
        if probe.status != 200 or b'"ok"' not in probe.body:
            trivial_path = "/static/css/child.css"

    child, begin = Run(), time.monotonic()
    child_window = (begin + args.warmup, begin + args.warmup + args.duration)
    *_done, child_cpu = await asyncio.gather(
        *(child_client(n, port, tokens, child_window[1], args.think, child) for n in range(args.clients)),
        cpu_during(master, child_window))

    trivial, begin = Run(), time.monotonic()
    trivial_window = (begin + args.warmup, begin + args.warmup + args.duration)
    *_done, trivial_cpu = await asyncio.gather(
        *(trivial_client(n, port, trivial_path, trivial_window[1], args.think, trivial)
          for n in range(args.clients)),
        cpu_during(master, trivial_window))
    return Measured(child, child_window, child_cpu, trivial, trivial_window, trivial_cpu, trivial_path)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile in milliseconds (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] * 1000


# --- Main --------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients (default 50)")
    parser.add_argument("--duration", type=float, default=20.0,
                        help="measured seconds of the child's flow, and again of the trivial endpoint (default 20)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean seconds a child takes between the page and sending (0.5x-1.5x; default 0)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker; >1 is gthread (default 1)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first (default 2)")
    parser.add_argument("--links", type=int, default=0, help="links to seed (default: enough for the run)")
    parser.add_argument("--postgres", default=os.environ.get("KIDRATE_BENCH_PG_SERVER",
                                                             "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--redis-url", default="", help="count rate limits in Redis, as production does")
    args = parser.parse_args()
    # Enough links for 100 flows a second (far above what two cores serve) or, with think time, for each
    # client sending as often as its shortest think allows; the report says if they ran out.
    seconds = args.duration + args.warmup
    rate = 100.0 if not args.think else min(100.0, args.clients / (0.5 * args.think))
    links_needed = args.links or int(seconds * rate) + args.clients

    url = throwaway_database(make_url(args.postgres))
    instance = Path(tempfile.mkdtemp(prefix="kidrate-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIDRATE_")}
    env.update(KIDRATE_DATABASE_URL=url.render_as_string(hide_password=False),
               KIDRATE_SECRET_KEY=secrets.token_urlsafe(48), KIDRATE_DATA_KEY=new_data_key(),
               KIDRATE_INSTANCE_PATH=str(instance), KIDRATE_CHILD_LIMIT=HIGH_LIMIT, KIDRATE_SIGN_IN_LIMIT=HIGH_LIMIT,
               KIDRATE_TRUSTED_PROXIES="1",
               **({"KIDRATE_REDIS_URL": args.redis_url} if args.redis_url else {}))
    try:
        return run(args, env, url, instance, links_needed)
    finally:
        drop_database(url)
        shutil.rmtree(instance, ignore_errors=True)


def run(args, env: dict[str, str], url: URL, instance: Path, links_needed: int) -> int:
    migrated = subprocess.run([str(BIN / "kidrate"), "db", "upgrade"], env=env, cwd=PROJECT_ROOT,
                              capture_output=True, text=True, check=False)
    if migrated.returncode != 0:
        print(migrated.stdout, migrated.stderr)
        return 2
    started = time.monotonic()
    tokens = seed(env, links_needed)
    seeding = time.monotonic() - started
    random.Random(0).shuffle(tokens)
    server = start_gunicorn(env, instance / "gunicorn.log", args.workers, args.threads)
    try:
        try:
            wait_ready(server)
        except AssertionError as error:
            print(error)
            return 2
        measured = asyncio.run(drive(args, server.port, tokens, server.process.pid))
    finally:
        stop(server)
    return report(args, url, links_needed, seeding, measured)


def report(args, url: URL, seeded: int, seeding: float, m: Measured) -> int:
    child, trivial = m.child, m.trivial
    get, post = child.latencies("GET", m.child_window), child.latencies("POST", m.child_window)
    both, base = get + post, trivial.latencies("GET", m.trivial_window)
    cores, load = os.cpu_count() or 1, os.getloadavg()[0]
    kind = f"gthread, {args.threads} threads each" if args.threads > 1 else "sync"
    think = (f"{args.think:.1f} s mean (0.5x-1.5x, uniform) between reading the page and sending; "
             f"clients start spread over {args.think:.1f} s" if args.think
             else "none (each client sends as soon as it has read the page, then takes the next link)")
    print(f"load: {args.clients} clients, {args.duration:.0f} s measured after {args.warmup:.0f} s warm-up; "
          f"gunicorn {args.workers} workers ({kind}); PostgreSQL; {cores} CPUs, load average {load:.1f}")
    print(f"  think time: {think}")
    print(f"  rate limits set high for the run: KIDRATE_CHILD_LIMIT and KIDRATE_SIGN_IN_LIMIT = {HIGH_LIMIT}, "
          f"counted in {'Redis ' + args.redis_url if args.redis_url else 'memory per worker'}; "
          f"one X-Forwarded-For address per client")
    print(f"  seeded {seeded} cases with live links in {seeding:.1f} s; a new connection per request; "
          f"Accept-Encoding: {ACCEPT_ENCODING}; the page's CSS, script and images are not fetched")
    print()
    print(f"  {'':34}{'requests':>9}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for label, values in (("child: GET the page", get), ("child: POST the answers", post),
                          ("child: GET and POST together", both), (f"trivial: GET {m.trivial_path}", base)):
        print(f"  {label:34}{len(values):>9}{len(values) / args.duration:>8.1f}{percentile(values, 50):>9.1f}"
              f"{percentile(values, 99):>9.1f}{max(values, default=0) * 1000:>9.1f}")
    flows = sum(1 for _token, started in child.sent if m.child_window[0] <= started < m.child_window[1])
    print(f"  child flows completed: {flows} ({flows / args.duration:.1f} per s)")
    print(f"  p99 child (GET and POST) / p99 trivial: {percentile(both, 99) / percentile(base, 99):.1f}x")
    for label, (server, client) in (("child", m.child_cpu), ("trivial", m.trivial_cpu)):
        print(f"  CPU during the {label} window: gunicorn {server / args.duration:.2f} cores, "
              f"load generator {client / args.duration:.2f} cores (of {cores})")
    if child.out_of_links:
        print("  NOTE: the seeded links ran out before the end; pass a larger --links")

    errors = child.errors + trivial.errors
    engine = create_engine(url)
    with engine.connect() as conn:
        submissions = conn.scalar(select(func.count()).select_from(Submission))
        rounds = conn.scalar(select(func.count(func.distinct(Submission.round_id))))
        ratings = conn.scalar(select(func.count()).select_from(Rating))
        stored = set(conn.scalars(select(ChildLink.token_hash).join(Submission, Submission.link_id == ChildLink.id)))
    engine.dispose()
    acknowledged = {links.hash_token(token) for token, _started in child.sent}
    lost, unacknowledged = len(acknowledged - stored), len(stored - acknowledged)
    duplicated, partial = submissions - rounds, submissions * len(PROBLEMS) - ratings
    print()
    print(f"  errors: {len(errors)}" + (f" ({', '.join(sorted(set(errors))[:6])})" if errors else ""))
    print(f"  database: {submissions} submissions for {len(child.sent)} successful POSTs (warm-up included); "
          f"lost {lost}, duplicated {duplicated}, incomplete {partial}, stored without a 303 {unacknowledged}")

    p99 = percentile(both, 99)
    correct = not errors and lost == duplicated == partial == unacknowledged == 0 and submissions == len(child.sent)
    print(f"  budget: p99 < {BUDGET_P99_MS:.0f} ms at {args.clients} clients: "
          f"{'within' if p99 < BUDGET_P99_MS else 'OVER'} ({p99:.1f} ms, not failed on); "
          f"zero errors, none lost or duplicated: {'yes' if correct else 'NO'}")
    return 0 if correct else 1


if __name__ == "__main__":
    raise SystemExit(main())
