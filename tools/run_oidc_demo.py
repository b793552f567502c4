"""`make run-oidc`: the demo (`make run`) with a local identity provider of its own, so that a newcomer
can see staff sign in through "their municipality's" provider: the OpenID Provider the tests use
(tests/oidc/provider, Node's oidc-provider from the committed npm lock), on a free loopback port, with one
person per demo user (login name = the demo username) and "okand", whom kidrate does not know.

The demo database must be migrated and seeded first (the Makefile does both). Stops the provider when
kidrate's server stops."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' provider harness: one way to run it

from kidrate.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_USERS
from tests.oidc.harness import ensure_installed, start_provider, stop

KIDRATE = str(Path(sys.executable).with_name("kidrate"))


def main() -> int:
    port = os.environ.get("PORT", "5000")
    base = os.environ.get("KIDRATE_BASE_URL", f"http://127.0.0.1:{port}").rstrip("/")
    reason = ensure_installed()
    if reason:
        print(f"The demo's identity provider cannot start: {reason}", file=sys.stderr)
        return 1
    people = {username: {"sub": f"demo-{username}", "name": name, "email": f"{username}@demokommunen.invalid",
                         "email_verified": True, "groups": [], "amr": ["pwd", "mfa"]}
              for username, name, _role, _unit in DEMO_USERS}
    people["okand"] = {"sub": "demo-okand", "name": "Okänd Person", "amr": ["pwd", "mfa"]}
    client = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
              "redirect_uris": [f"{base}/staff/sign-in/provider/callback"],
              "post_logout_redirect_uris": [f"{base}/staff/sign-in"]}
    provider = start_provider([client], people)
    try:
        subprocess.run([KIDRATE, "demo-sign-on", "--issuer", provider.issuer], check=True)  # noqa: S603
        return subprocess.run([KIDRATE, "run", "--host", "127.0.0.1", "--port", port], check=False).returncode  # noqa: S603
    except KeyboardInterrupt:
        return 0
    finally:
        stop(provider)


if __name__ == "__main__":
    raise SystemExit(main())
