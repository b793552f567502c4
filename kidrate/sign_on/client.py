"""Speaking to an organisation's identity provider with Authlib's Flask client: discovery from the
issuer, the authorization code flow with PKCE (S256), state and nonce kept in the signed session, the
ID token's signature checked against the provider's published keys and its claims (issuer, audience,
expiry, issued-at, nonce) with a bounded clock skew."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from urllib.parse import urlsplit

import requests
from authlib.integrations.flask_client import OAuth
from flask import Flask

from kidrate.models import SignOnProvider

oauth = OAuth()
SCOPES = "openid email profile"
CLOCK_SKEW_SECONDS = 60
TIMEOUT_SECONDS = 10
REQUIRED_METADATA = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


class ProviderError(Exception):
    """The provider cannot be used as configured; args[0] is a key of the admin page's messages."""


def configure(app: Flask) -> None:
    oauth.init_app(app)


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def issuer_problem(issuer: str, *, production: bool) -> str | None:
    """Why an issuer address cannot be one (a key of the admin page's messages), or None. https only,
    but for a provider on this machine outside production (the demo's and the tests')."""
    parts = urlsplit(issuer)
    if origin(issuer) is None or parts.query or parts.fragment or any(c.isspace() for c in issuer):
        return "issuer_form"
    if parts.scheme == "http":
        try:
            loopback = ipaddress.ip_address(parts.hostname).is_loopback
        except ValueError:
            loopback = parts.hostname == "localhost"
        if production or not loopback:
            return "issuer_https"
    return None


def discover(issuer: str) -> dict:
    """The provider's published metadata, checked: it names the same issuer (as OpenID Connect
    Discovery requires), has the endpoints kidrate needs, signs ID tokens with something other than
    "none" and supports PKCE with S256. Raises ProviderError."""
    try:
        response = requests.get(discovery_url(issuer), timeout=TIMEOUT_SECONDS, allow_redirects=False)
        response.raise_for_status()
        metadata = response.json()
    except (requests.RequestException, ValueError):
        raise ProviderError("unreachable") from None
    if not isinstance(metadata, dict) or any(not isinstance(metadata.get(k), str) for k in REQUIRED_METADATA):
        raise ProviderError("not_a_provider")
    if metadata["issuer"] != issuer:
        raise ProviderError("issuer_differs")
    if not _signing_algorithms(metadata):
        raise ProviderError("not_a_provider")
    methods = metadata.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise ProviderError("no_pkce")
    return metadata


def _name(provider: SignOnProvider) -> str:
    # A new name whenever the settings change: Authlib keeps each registered client as it was made.
    settings = "\n".join((provider.issuer, provider.client_id, provider.client_secret, provider.extra_scopes,
                          provider.updated_at.isoformat()))
    return f"org{provider.organisation_id}-{hashlib.sha256(settings.encode()).hexdigest()[:16]}"


def client_for(provider: SignOnProvider):
    """Authlib's client for the organisation's provider, made once per version of its settings."""
    name = _name(provider)
    client = oauth.create_client(name)
    if client is None:
        oauth.register(name, client_id=provider.client_id, client_secret=provider.client_secret,
                       server_metadata_url=discovery_url(provider.issuer),
                       client_kwargs={"scope": " ".join(filter(None, (SCOPES, provider.extra_scopes.strip()))),
                                      "code_challenge_method": "S256", "timeout": TIMEOUT_SECONDS})
        client = oauth.create_client(name)
    return client


def checked_metadata(client, issuer: str) -> dict:
    """The client's discovered metadata, refused unless it names the configured issuer."""
    try:
        metadata = client.load_server_metadata()
    except (requests.RequestException, ValueError):
        raise ProviderError("unreachable") from None
    if metadata.get("issuer") != issuer:
        raise ProviderError("issuer_differs")
    # The algorithms Authlib accepts an ID token's signature in come from here: never "none".
    algorithms = _signing_algorithms(metadata)
    if not algorithms:
        raise ProviderError("not_a_provider")
    metadata["id_token_signing_alg_values_supported"] = algorithms
    return metadata


def _signing_algorithms(metadata: dict) -> list[str]:
    """The ID token signing algorithms the provider publishes, "none" left out (RS256 where it says none,
    as OpenID Connect Discovery makes it the default)."""
    published = metadata.get("id_token_signing_alg_values_supported", ["RS256"])
    if not isinstance(published, list):
        return []
    return [a for a in published if isinstance(a, str) and a and a.lower() != "none"]


def logout_url(provider: SignOnProvider, after: str) -> str | None:
    """Where to end the person's session at the provider too (RP-initiated logout, identified by the
    client id: kidrate keeps no ID token), coming back to `after`; None where the provider has no such
    endpoint or cannot be reached."""
    client = client_for(provider)
    try:
        metadata = checked_metadata(client, provider.issuer)
    except ProviderError:
        return None
    if not isinstance(metadata.get("end_session_endpoint"), str):
        return None
    return client.create_logout_url(post_logout_redirect_uri=after, client_id=provider.client_id)["url"]


_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def origin(url: str) -> str | None:
    """scheme://host[:port] of an address, only when it is exactly that (it goes into a header)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not _HOST.fullmatch(parts.netloc):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def form_origins(provider: SignOnProvider) -> list[str]:
    """Where a kidrate form may end up at the provider (signing out, an invitation's button, unlocking),
    for the page's Content-Security-Policy form-action: the issuer's origin and, once discovered, those of
    its authorization and end-session endpoints. Nothing is fetched here."""
    found = [origin(provider.issuer)]
    client = oauth.create_client(_name(provider))
    metadata = getattr(client, "server_metadata", None) or {}
    found += [origin(metadata[key]) for key in ("authorization_endpoint", "end_session_endpoint")
              if isinstance(metadata.get(key), str)]
    return list(dict.fromkeys(o for o in found if o))
