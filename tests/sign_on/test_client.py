"""The provider client's own checks that need no provider: which issuer addresses may be one, which origins
go into a page's form-action, and which signing algorithms an ID token may use."""

from __future__ import annotations

import pytest

from kidrate.sign_on.client import _signing_algorithms, issuer_problem, origin


@pytest.mark.parametrize(("issuer", "production", "problem"), [
    ("https://login.microsoftonline.com/00000000-0000/v2.0", True, None),
    ("https://kc.kommun.se/realms/socialtjanst", True, None),
    ("http://127.0.0.1:8080/realms/demo", False, None),
    ("http://localhost:8080", False, None),
    ("http://127.0.0.1:8080", True, "issuer_https"),        # production: https only
    ("http://idp.kommun.se", False, "issuer_https"),         # plain http beyond this machine
    ("https://idp.kommun.se?x=1", True, "issuer_form"),
    ("https://idp.kommun.se/#a", True, "issuer_form"),
    ("https://a.se;script-src *", True, "issuer_form"),      # would reach the CSP header
    ("https://user@idp.kommun.se", True, "issuer_form"),
    ("ftp://idp.kommun.se", True, "issuer_form"),
    ("https://idp.kommun.se/realms/a b", True, "issuer_form"),
    ("", True, "issuer_form"),
])
def test_issuer_addresses(issuer, production, problem):
    assert issuer_problem(issuer, production=production) == problem


def test_an_origin_is_exactly_scheme_host_and_port():
    assert origin("https://login.example.se:8443/realms/x?y=1") == "https://login.example.se:8443"
    assert origin("https://a.se;b") is None and origin("javascript:alert(1)") is None


@pytest.mark.parametrize(("published", "kept"), [
    (["RS256", "none"], ["RS256"]),
    (["none"], []),
    (["NONE", "ES256"], ["ES256"]),
    ("RS256", []),                    # not a list: not a provider's metadata
    (None, []),
])
def test_an_id_token_is_never_accepted_unsigned(published, kept):
    assert _signing_algorithms({"id_token_signing_alg_values_supported": published}) == kept


def test_rs256_where_the_provider_names_no_algorithm():
    assert _signing_algorithms({}) == ["RS256"]
