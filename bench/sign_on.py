"""Sign-in through an organisation's identity provider, end to end, beside a password sign-in measured in
the same run.

Starts the real OpenID Provider the tests use (tests/oidc/, Node's oidc-provider) and kidrate under gunicorn
with the production settings on SQLite, connects the organisation to the provider, and times, from a
fresh browser session each time (requests, no cookies kept between runs):

  provider: kidrate's button → the provider's sign-in form → its answer back to kidrate (code exchanged,
            ID token checked against the provider's keys) → kidrate's first page, rendered;
  password: kidrate's sign-in page → the password posted (argon2 check) → the first page, rendered.

The first provider sign-in of a server also reads the provider's discovery document and keys; it is
printed apart. Prints p50/p95 of each and their ratio. No budget is failed on.

    .venv/bin/python bench/sign_on.py [--runs 30]
"""

from __future__ import annotations

import argparse
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' provider and gunicorn helpers

from kidrate import create_app
from kidrate.config import load_settings, new_data_key
from kidrate.extensions import db
from kidrate.models import Organisation, SignOnProvider, Unit, User
from kidrate.protection.accounts import hash_password
from kidrate.sign_on import identities
from tests.oidc.harness import ensure_installed, sign_in_at_provider, start_provider
from tests.oidc.harness import stop as stop_provider
from tests.servers import clean_environment, free_port, run_cli, start_gunicorn, stop, wait_ready

PASSWORD = secrets.token_urlsafe(16)
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def seed(env: dict[str, str], issuer: str) -> int:
    app = create_app(load_settings(env))
    with app.app_context():
        org = Organisation(name="Benchkommunen")
        unit = Unit(organisation=org, name="Öppenvården", kind="open_care")
        db.session.add_all([org, unit])
        db.session.flush()
        user = User(organisation_id=org.id, unit_id=unit.id, username="bo", display_name="Bo Behandlare",
                    role="therapist", password_hash=hash_password(PASSWORD), locale="sv")
        db.session.add_all([user, SignOnProvider(organisation_id=org.id, issuer=issuer, client_id="kidrate",
                                                 client_secret="bench-secret")])  # noqa: S106
        db.session.flush()
        identities.link(db.session, user, issuer, "bo-1")
        db.session.commit()
        org_id = org.id
    db.engine.dispose()
    return org_id


def through_provider(base: str, org_id: int) -> float:
    http = requests.Session()
    started = time.perf_counter()
    start = http.get(f"{base}/staff/sign-in/provider/{org_id}", allow_redirects=False, timeout=30)
    back = sign_in_at_provider(http, start.headers["Location"], "bo")
    home = http.get(back, timeout=30)
    seconds = time.perf_counter() - started
    _check(home)
    return seconds


def with_password(base: str) -> float:
    http = requests.Session()
    started = time.perf_counter()
    page = http.get(f"{base}/staff/sign-in", timeout=30)
    home = http.post(f"{base}/staff/sign-in", data={"csrf_token": CSRF.search(page.text).group(1),
                                                   "username": "bo", "password": PASSWORD}, timeout=30)
    seconds = time.perf_counter() - started
    _check(home)
    return seconds


def _check(home: requests.Response) -> None:
    if home.status_code != 200 or "Bo Behandlare" not in home.text:
        raise RuntimeError(f"not signed in: {home.status_code} at {home.url}")


def summary(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"  {label:44}{len(values):>6}{statistics.median(values) * 1000:>10.1f}{p95 * 1000:>10.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    reason = ensure_installed()
    if reason:
        print(f"cannot run: {reason}")
        return 2
    instance = Path(tempfile.mkdtemp(prefix="kidrate-bench-sign-on-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_environment(KIDRATE_INSTANCE_PATH=str(instance), KIDRATE_SECRET_KEY=secrets.token_urlsafe(48),
                            KIDRATE_DATA_KEY=new_data_key(), KIDRATE_BASE_URL=base,
                            KIDRATE_DATABASE_URL=f"sqlite:///{instance / 'bench.sqlite3'}",
                            KIDRATE_SIGN_IN_LIMIT="100000 per minute")
    provider = start_provider([{"client_id": "kidrate", "client_secret": "bench-secret",
                                "redirect_uris": [f"{base}/staff/sign-in/provider/callback"],
                                "post_logout_redirect_uris": [f"{base}/staff/sign-in"]}],
                              {"bo": {"sub": "bo-1", "name": "Bo", "amr": ["pwd", "mfa"]}}, log_dir=instance)
    server = None
    try:
        run_cli(env, "db", "upgrade")
        org_id = seed(env, provider.issuer)
        server = start_gunicorn(env, instance / "gunicorn.log", port=port)
        wait_ready(server)
        first = through_provider(base, org_id)
        provider_times = [through_provider(base, org_id) for _ in range(args.runs)]
        password_times = [with_password(base) for _ in range(args.runs)]
    finally:
        if server is not None:
            stop(server)
        stop_provider(provider)
        shutil.rmtree(instance, ignore_errors=True)
    print(f"sign-in end to end, gunicorn (1 worker, production settings) on SQLite, the provider on loopback; "
          f"{args.runs} runs each, a fresh browser session each")
    print(f"  {'':44}{'runs':>6}{'p50 ms':>10}{'p95 ms':>10}")
    print(f"  {'the first through the provider (discovery, keys)':44}{1:>6}{first * 1000:>10.1f}")
    print(summary("through the provider", provider_times))
    print(summary("with a password (baseline; argon2 check)", password_times))
    print(f"  ratio provider / password (p50): "
          f"{statistics.median(provider_times) / statistics.median(password_times):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
