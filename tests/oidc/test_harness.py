"""Self-tests of the OpenID Provider harness, no kidrate app involved: the provider is real (discovery,
code flow with PKCE, signed ID token with the account's claims, amr and acr), it refuses what it should,
and its knobs (tampered ID token, logout confirmation) work. The redirect_uri is never contacted."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from .harness import Provider, ProviderError, confirm_logout, sign_in_at_provider

REDIRECT_URI = "http://127.0.0.1:9/cb"
POST_LOGOUT_URI = "http://127.0.0.1:9/signed-out"
CLIENT = {"client_id": "kidrate-test", "client_secret": "test-client-secret-" + "x" * 24,
          "redirect_uris": [REDIRECT_URI], "post_logout_redirect_uris": [POST_LOGOUT_URI]}
POST_CLIENT = {**CLIENT, "client_id": "kidrate-test-post", "token_endpoint_auth_method": "client_secret_post"}
ANNA = {"sub": "anna-sub-1", "email": "anna@example.org", "email_verified": True, "name": "Anna Test",
        "groups": ["kidrate-therapists"], "amr": ["pwd", "mfa"], "acr": "urn:kidrate:test:mfa"}
ACCOUNTS = {"anna": ANNA}
SCOPE = "openid email profile groups"


@pytest.fixture
def provider(start_oidc_provider) -> Provider:
    return start_oidc_provider([CLIENT, POST_CLIENT], ACCOUNTS)


class Flow:
    """One authorization request's secrets, as a relying party keeps them."""

    def __init__(self, provider: Provider, client: dict = CLIENT, **extra: str) -> None:
        self.provider, self.client = provider, client
        self.state, self.nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()
        params = {"response_type": "code", "client_id": client["client_id"], "redirect_uri": REDIRECT_URI,
                  "scope": SCOPE, "state": self.state, "nonce": self.nonce, "code_challenge": challenge,
                  "code_challenge_method": "S256", **extra}
        self.authorize_url = f"{provider.discovery()['authorization_endpoint']}?{urlencode(params)}"

    def callback(self, http: requests.Session, login: str = "anna") -> dict[str, str]:
        location = sign_in_at_provider(http, self.authorize_url, login)
        assert location.startswith(REDIRECT_URI + "?"), location
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    def tokens(self, code: str) -> dict:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                "code_verifier": self.verifier}
        auth = None
        if self.client.get("token_endpoint_auth_method") == "client_secret_post":
            data |= {"client_id": self.client["client_id"], "client_secret": self.client["client_secret"]}
        else:
            auth = (self.client["client_id"], self.client["client_secret"])
        answer = requests.post(self.provider.discovery()["token_endpoint"], data=data, auth=auth, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def id_token_claims(self, id_token: str) -> dict:
        jwks = requests.get(self.provider.discovery()["jwks_uri"], timeout=10).json()
        token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
        return token.claims


def test_discovery_describes_a_real_provider(provider):
    meta = provider.discovery()
    assert meta["issuer"] == provider.issuer == f"http://127.0.0.1:{provider.port}"
    assert meta["jwks_uri"].startswith(provider.issuer)
    assert meta["end_session_endpoint"].startswith(provider.issuer)
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert {"openid", "email", "profile", "groups"} <= set(meta["scopes_supported"])
    assert {"client_secret_basic", "client_secret_post"} <= set(meta["token_endpoint_auth_methods_supported"])
    published = requests.get(meta["jwks_uri"], timeout=10).json()
    assert published == provider.public_jwks
    assert requests.get(f"{provider.issuer}/__test__/health", timeout=10).text == "ok"


@pytest.mark.parametrize("client", [CLIENT, POST_CLIENT], ids=["client_secret_basic", "client_secret_post"])
def test_code_flow_with_pkce_gives_a_verified_id_token(provider, client):
    flow = Flow(provider, client)
    http = requests.Session()
    back = flow.callback(http)
    assert back["state"] == flow.state
    assert back["iss"] == provider.issuer
    tokens = flow.tokens(back["code"])
    claims = flow.id_token_claims(tokens["id_token"])
    assert claims["iss"] == provider.issuer
    assert claims["aud"] == client["client_id"]
    assert claims["nonce"] == flow.nonce
    assert claims["exp"] > time.time() + 3000
    for name in ("sub", "email", "email_verified", "name", "groups", "amr", "acr"):
        assert claims[name] == ANNA[name], name

    # the provider's session signs the same browser in again without its form
    again = Flow(provider, client)
    assert again.callback(http)["state"] == again.state


def test_code_flow_without_pkce_is_refused(provider):
    flow = Flow(provider, code_challenge="", code_challenge_method="")
    location = sign_in_at_provider(requests.Session(), flow.authorize_url, "anna")
    back = parse_qs(urlsplit(location).query)
    assert location.startswith(REDIRECT_URI) and back["error"] == ["invalid_request"], location


def test_unknown_login_name_is_refused_at_the_form(provider):
    with pytest.raises(ProviderError, match="Unknown login name: mallory"):
        sign_in_at_provider(requests.Session(), Flow(provider).authorize_url, "mallory")


def test_tamper_knob_changes_the_next_id_token_once(provider):
    http = requests.Session()
    provider.tamper_next_id_token(aud="someone-else", exp_offset=-3600)
    flow = Flow(provider)
    tampered = flow.id_token_claims(flow.tokens(flow.callback(http)["code"])["id_token"])
    assert tampered["aud"] == "someone-else"
    assert tampered["exp"] < time.time() < tampered["exp"] + 3600  # expired, an hour's lifetime as usual
    assert tampered["exp"] - tampered["iat"] == 3600
    assert tampered["nonce"] == flow.nonce and tampered["sub"] == ANNA["sub"]

    flow = Flow(provider)
    normal = flow.id_token_claims(flow.tokens(flow.callback(http)["code"])["id_token"])
    assert normal["aud"] == CLIENT["client_id"]
    assert normal["exp"] > time.time()


def test_logout_confirmation_returns_to_the_post_logout_uri(provider):
    http = requests.Session()
    flow = Flow(provider)
    id_token = flow.tokens(flow.callback(http)["code"])["id_token"]
    end_session = provider.discovery()["end_session_endpoint"]
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "bye"})
    location = confirm_logout(http, f"{end_session}?{query}")
    assert location == f"{POST_LOGOUT_URI}?state=bye"

    # signed out: the next authorization asks for the login form again
    with pytest.raises(ProviderError, match="Unknown login name"):
        sign_in_at_provider(http, Flow(provider).authorize_url, "nobody")


def test_a_wider_scope_later_is_consented_without_a_page(provider):
    http = requests.Session()
    narrow = Flow(provider, scope="openid email")
    claims = narrow.id_token_claims(narrow.tokens(narrow.callback(http)["code"])["id_token"])
    assert "groups" not in claims and claims["email"] == ANNA["email"]

    wide = Flow(provider)  # the signed-in session meets the consent prompt: granted by the harness's provider
    claims = wide.id_token_claims(wide.tokens(wide.callback(http)["code"])["id_token"])
    assert claims["groups"] == ANNA["groups"] and claims["amr"] == ANNA["amr"]
