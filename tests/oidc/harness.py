"""A real OpenID Provider for tests: Node's oidc-provider (tests/oidc/provider/provider.mjs) on a free
loopback port, its packages installed with `npm ci` from the committed lock, started in a process group
of its own with its output in a log file, always stopped; driven over plain HTTP with `requests`
(its sign-in form, its logout confirmation, its test knobs)."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
from joserfc.jwk import RSAKey

from ..servers import free_port

PROVIDER_DIR = Path(__file__).resolve().parent / "provider"
PROVIDER_SCRIPT = PROVIDER_DIR / "provider.mjs"
LOCK_FILE = PROVIDER_DIR / "package-lock.json"
INSTALLED_MARKER = PROVIDER_DIR / "node_modules" / ".package-lock.json"  # written by npm ci
NODE_MAJOR_MIN = 20
READY_TIMEOUT = 20.0
HTTP_TIMEOUT = 10.0


class ProviderError(AssertionError):
    """The provider answered something a step did not expect (its page is in the message)."""


# -- Node and its packages -------------------------------------------------------------------------------


def node_missing_reason() -> str | None:
    """None when `node` (major >= 20) and `npm` are on PATH, else what is missing and how to get it."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if not path)
        return (f"the OpenID Provider tests need Node.js >= {NODE_MAJOR_MIN} with npm: {missing} not on PATH "
                "(install them, e.g. `apt-get install nodejs npm`)")
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True,  # noqa: S603 - node from PATH, fixed argument
                                 timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"the OpenID Provider tests need Node.js >= {NODE_MAJOR_MIN}: `node --version` failed ({exc})"
    found = re.match(r"v(\d+)\.", version)
    if not found or int(found.group(1)) < NODE_MAJOR_MIN:
        return (f"the OpenID Provider tests need Node.js >= {NODE_MAJOR_MIN}, found {version or 'no version'} "
                "(install a newer Node.js)")
    return None


def _installed() -> bool:
    return INSTALLED_MARKER.exists() and INSTALLED_MARKER.stat().st_mtime >= LOCK_FILE.stat().st_mtime


def ensure_installed() -> str | None:
    """`npm ci` in PROVIDER_DIR when node_modules is missing or older than package-lock.json, under a
    file lock so that two pytest processes do not install at once. None when ready, else the reason."""
    reason = node_missing_reason()
    if reason:
        return reason
    if _installed():
        return None
    with (PROVIDER_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if _installed():  # another process installed while this one waited
                return None
            try:
                done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],  # noqa: S607 - npm from PATH, fixed arguments
                                      cwd=PROVIDER_DIR, capture_output=True, text=True, timeout=600, check=False)
            except (OSError, subprocess.SubprocessError) as exc:
                return f"`npm ci` in {PROVIDER_DIR} could not run ({exc}); run it there by hand"
            if done.returncode != 0 or not INSTALLED_MARKER.exists():
                tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
                return (f"`npm ci` in {PROVIDER_DIR} failed with {done.returncode} (it needs the npm registry); "
                        f"run it there by hand:\n{tail}")
            INSTALLED_MARKER.touch()
            return None
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# -- the provider's process ------------------------------------------------------------------------------


@functools.cache
def _signing_key() -> dict:
    """One private RSA signing JWK per test process (generating one costs a little time)."""
    key = RSAKey.generate_key(2048, {"use": "sig", "alg": "RS256"}, private=True, auto_kid=True)
    return key.as_dict(private=True)


def new_jwks() -> dict:
    return {"keys": [dict(_signing_key())]}


@dataclass
class Provider:
    issuer: str
    port: int
    process: subprocess.Popen
    jwks: dict  # the private JWK set the provider signs with
    log: Path
    clients: list[dict] = field(default_factory=list)
    accounts: dict[str, dict] = field(default_factory=dict)

    @property
    def public_jwks(self) -> dict:
        private = {"d", "p", "q", "dp", "dq", "qi"}
        return {"keys": [{k: v for k, v in key.items() if k not in private} for key in self.jwks["keys"]]}

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def discovery(self) -> dict:
        answer = requests.get(self.discovery_url, timeout=HTTP_TIMEOUT)
        answer.raise_for_status()
        return answer.json()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def tamper_next_id_token(self, **claims) -> None:
        """The next token response's id_token is re-signed with the provider's key and these claims
        replaced: e.g. aud="someone-else", nonce="wrong", iss="...", exp_offset=-3600 (shifts exp and iat),
        a claim given as None is removed. Only once: the token after it is normal again."""
        answer = requests.post(f"{self.issuer}/__test__/tamper-next-id-token", json=claims, timeout=HTTP_TIMEOUT)
        if answer.status_code != 200:
            raise ProviderError(f"tamper knob refused {claims}: {answer.status_code} {answer.text[:500]}")


def _launch(config: dict, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "OIDC_TEST_CONFIG": json.dumps({**config, "port": port})}
    node = shutil.which("node") or "node"
    with log.open("ab") as out:
        return subprocess.Popen([node, str(PROVIDER_SCRIPT)],  # noqa: S603 - node from PATH, our own script
                                cwd=PROVIDER_DIR, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _wait_ready(provider: Provider, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if provider.process.poll() is not None:
            raise ProviderError(f"the OpenID Provider exited with {provider.process.returncode}:\n"
                                f"{provider.log_tail()}")
        try:
            if requests.get(provider.discovery_url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise ProviderError(f"the OpenID Provider on port {provider.port} was not ready after {timeout} s:\n"
                        f"{provider.log_tail()}")


def start_provider(clients: list[dict], accounts: dict[str, dict], *, log_dir: Path | None = None,
                   jwks: dict | None = None, timeout: float = READY_TIMEOUT) -> Provider:
    """Start the provider with these clients ({client_id, client_secret, redirect_uris,
    post_logout_redirect_uris, optionally token_endpoint_auth_method}) and accounts (login name ->
    {sub, email, email_verified, name, groups, amr, acr}); wait until its discovery answers."""
    jwks = jwks or new_jwks()
    config = {"clients": clients, "accounts": accounts, "jwks": jwks}
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="oidc-provider-"))
    for attempt in range(3):  # the free port may be taken between finding it and node binding it
        port = free_port()
        log = log_dir / f"oidc-provider-{port}.log"
        provider = Provider(f"http://127.0.0.1:{port}", port, _launch(config, port, log), jwks, log,
                            clients, accounts)
        try:
            _wait_ready(provider, timeout)
            return provider
        except ProviderError:
            stop(provider)
            if attempt == 2 or "EADDRINUSE" not in provider.log_tail():
                raise
    raise AssertionError("unreachable")


def stop(provider: Provider) -> None:
    """SIGTERM to the provider's process group, then SIGKILL if it lingers; always waits for it."""
    process = provider.process
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


# -- driving it over HTTP --------------------------------------------------------------------------------


class _Forms(HTMLParser):
    """The forms of a page: id, action, method and their named input fields (with the buttons that
    name a form through form="...")."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._current: dict | None = None
        self.error_text: list[str] = []
        self._in_error = False

    def handle_starttag(self, tag, attrs):
        attr = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = {"id": attr.get("id"), "action": attr.get("action", ""),
                             "method": attr.get("method", "get").lower(), "fields": {}, "buttons": {}}
            self.forms.append(self._current)
        elif tag in ("input", "button") and attr.get("name"):
            owner = self._current
            if attr.get("form"):
                owner = next((f for f in self.forms if f["id"] == attr["form"]), owner)
            if owner is not None:
                kind = "buttons" if tag == "button" or attr.get("type") == "submit" else "fields"
                owner[kind][attr["name"]] = attr.get("value", "")
        if attr.get("id") == "error":
            self._in_error = True

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None
        if tag in ("p", "pre"):
            self._in_error = False

    def handle_data(self, data):
        if self._in_error:
            self.error_text.append(data)


def _forms(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _follow(http: requests.Session, answer: requests.Response,
            provider_origin: tuple[str, str]) -> str | requests.Response:
    """Follow the provider's redirects one at a time: the first Location outside the provider (a string),
    or the provider's first page that is not a redirect (a response)."""
    for _ in range(20):
        if not answer.is_redirect:
            return answer
        location = urljoin(answer.url, answer.headers["Location"])
        if _origin(location) != provider_origin:
            return location
        answer = http.get(location, allow_redirects=False, timeout=HTTP_TIMEOUT)
    raise ProviderError(f"too many redirects at the provider, the last to {answer.url}")


def sign_in_at_provider(http: requests.Session, authorize_url: str, login: str) -> str:
    """Open an authorization URL at the provider, sign in there with this login name (when the
    provider asks: a session of `http` that is already signed in goes straight back) and return the
    first Location that leaves the provider: the relying party's redirect_uri with code and state, or
    with error=... . Nothing outside the provider is requested. An unknown login name, or an error page
    of the provider, raises ProviderError."""
    origin = _origin(authorize_url)
    step = _follow(http, http.get(authorize_url, allow_redirects=False, timeout=HTTP_TIMEOUT), origin)
    if isinstance(step, str):
        return step
    form = next((f for f in _forms(step.text).forms if "login" in f["fields"]), None)
    if step.status_code != 200 or form is None:
        raise ProviderError(f"no sign-in form at {step.url} ({step.status_code}):\n{step.text[:2000]}")
    answer = http.post(urljoin(step.url, form["action"]), data={**form["fields"], "login": login},
                       allow_redirects=False, timeout=HTTP_TIMEOUT)
    if not answer.is_redirect:
        page = _forms(answer.text)
        raise ProviderError(f"sign-in as {login!r} refused ({answer.status_code}): "
                            f"{''.join(page.error_text).strip() or answer.text[:2000]}")
    step = _follow(http, answer, origin)
    if isinstance(step, str):
        return step
    raise ProviderError(f"the provider stopped at {step.url} ({step.status_code}):\n{step.text[:2000]}")


def confirm_logout(http: requests.Session, end_session_url: str) -> str:
    """Open the provider's end-session URL, confirm its form (logout=yes with its xsrf field) and return
    the Location it sends back to (the post_logout_redirect_uri, with state when one was given)."""
    origin = _origin(end_session_url)
    step = _follow(http, http.get(end_session_url, allow_redirects=False, timeout=HTTP_TIMEOUT), origin)
    if isinstance(step, str):
        return step
    form = next((f for f in _forms(step.text).forms if "xsrf" in f["fields"]), None)
    if step.status_code != 200 or form is None:
        raise ProviderError(f"no logout confirmation at {step.url} ({step.status_code}):\n{step.text[:2000]}")
    answer = http.post(urljoin(step.url, form["action"]), data={**form["fields"], "logout": "yes"},
                       allow_redirects=False, timeout=HTTP_TIMEOUT)
    step = _follow(http, answer, origin)
    if isinstance(step, str):
        return step
    if step.status_code == 200 and urlsplit(step.url).path.endswith("/session/end/success"):
        return step.url  # no post_logout_redirect_uri: the provider's own "signed out" page
    raise ProviderError(f"the logout stopped at {step.url} ({step.status_code}):\n{step.text[:2000]}")
