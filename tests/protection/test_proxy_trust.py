"""Whom the rate limits count: the connecting address, unless the operator names how many proxies
stand in front (KIDRATE_TRUSTED_PROXIES); then the address the nearest of them appended. A client
never picks its own count by sending X-Forwarded-For. And production without Redis says, or refuses,
that each process counts alone."""

from __future__ import annotations

import logging
import os
from types import SimpleNamespace

import pytest

from kidrate.config import ConfigError, load_settings, new_data_key

from ..conftest import csrf_token, sign_in

PROXY = {"REMOTE_ADDR": "127.0.0.1"}  # the test client's own address: a proxy on this host


def sign_in_post(client, forwarded: str | None = None, **kwargs):
    token = csrf_token(client.get("/staff/sign-in").text)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post("/staff/sign-in", data={"csrf_token": token, "username": "nobody", "password": "x" * 12},
                       headers=headers, environ_overrides=PROXY, **kwargs).status_code


def child_link(make) -> str:
    sw = make.user("social_worker", username="sw")
    t = make.user("therapist", username="t")
    return make.link(make.case(sw, therapist=t))


def child_get(client, token: str, forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.get(f"/r/{token}", headers=headers, environ_overrides=PROXY).status_code


# --- The setting ------------------------------------------------------------------------------------


def test_trusted_proxies_is_a_whole_number_of_hops_defaulting_to_none(tmp_path):
    base = {"KIDRATE_SECRET_KEY": "k" * 40}
    assert load_settings(base, instance_path=tmp_path).trusted_proxies == 0
    assert load_settings({**base, "KIDRATE_TRUSTED_PROXIES": "2"}, instance_path=tmp_path).trusted_proxies == 2
    for bad in ("-1", "one", "1.5", ""):
        with pytest.raises(ConfigError, match="KIDRATE_TRUSTED_PROXIES"):
            load_settings({**base, "KIDRATE_TRUSTED_PROXIES": bad}, instance_path=tmp_path)
    with pytest.raises(ConfigError, match="KIDRATE_TRUSTED_PROXIES"):
        load_settings(base, instance_path=tmp_path, trusted_proxies=-1)


# --- By default no forwarded header counts ----------------------------------------------------------


def test_rotating_x_forwarded_for_does_not_escape_the_sign_in_limit(small_app, make):
    limited = small_app()
    client = limited.test_client()
    statuses = [sign_in_post(client, f"203.0.113.{n}") for n in range(1, 6)]
    assert statuses == [400, 400, 400, 429, 429]


def test_rotating_x_forwarded_for_does_not_escape_the_childs_limit(small_app, make):
    limited = small_app()
    token = child_link(make)
    client = limited.test_client()
    statuses = [child_get(client, token, f"198.51.100.{n}, 203.0.113.{n}") for n in range(1, 6)]
    assert statuses == [200, 200, 200, 429, 429]


def test_without_trusted_proxies_the_scheme_header_is_ignored_too(small_app, make):
    """X-Forwarded-Proto from an untrusted client does not make the request https."""
    limited = small_app()
    make.user("admin", username="boss")
    client = limited.test_client()
    client.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"
    assert sign_in(client, "boss").status_code == 302
    page = client.post("/staff/admin/users/new", data={
        "csrf_token": csrf_token(client.get("/staff/admin/users/new").text), "username": "nina",
        "display_name": "Nina", "role": "analyst", "unit": "0"})
    assert page.status_code == 200 and "http://localhost/staff/invite/" in page.text


# --- With KIDRATE_TRUSTED_PROXIES=1 the address the proxy appended counts ----------------------------


def test_one_trusted_proxy_counts_the_address_it_appended(small_app, make):
    limited = small_app(trusted_proxies=1)
    client = limited.test_client()
    assert [sign_in_post(client, "203.0.113.7") for _ in range(4)] == [400, 400, 400, 429]
    # Another client behind the same proxy has a count of its own.
    assert sign_in_post(client, "203.0.113.8") == 400
    # A client that writes its own X-Forwarded-For gets it in front of what the proxy appends: the
    # left-most values are the client's invention and change nothing.
    spoofed = [sign_in_post(client, f"10.0.0.{n}, 203.0.113.7") for n in range(1, 4)]
    assert spoofed == [429, 429, 429]
    token = child_link(make)
    assert [child_get(client, token, f"10.1.1.{n}, 198.51.100.5") for n in range(1, 5)] == [200, 200, 200, 429]
    assert child_get(client, token, "198.51.100.6") == 200


def test_one_trusted_proxy_sets_the_scheme(small_app, make):
    """Behind a TLS proxy, links are https and staff forms still work although browsers send no
    Referer (Referrer-Policy: no-referrer)."""
    limited = small_app(trusted_proxies=1, https=True)
    make.user("admin", username="boss")
    client = limited.test_client()
    client.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
    assert sign_in(client, "boss").status_code == 302
    page = client.post("/staff/admin/users/new", data={
        "csrf_token": csrf_token(client.get("/staff/admin/users/new").text), "username": "nina",
        "display_name": "Nina", "role": "analyst", "unit": "0"})
    assert page.status_code == 200 and "https://localhost/staff/invite/" in page.text


# --- Production without Redis -----------------------------------------------------------------------


def test_production_without_redis_warns_at_start(small_app, caplog):
    caplog.set_level(logging.WARNING)
    small_app(env="production")
    assert "KIDRATE_REDIS_URL is not set" in caplog.text
    caplog.clear()
    small_app(env="production", redis_url="redis://127.0.0.1:1/0")
    small_app()  # development: one process on a laptop
    assert "KIDRATE_REDIS_URL is not set" not in caplog.text


@pytest.fixture
def gunicorn_conf(monkeypatch, tmp_path):
    import kidrate.gunicorn_conf as conf

    for name in [n for n in os.environ if n.startswith("KIDRATE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KIDRATE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("KIDRATE_SECRET_KEY", "g" * 40)
    monkeypatch.setenv("KIDRATE_DATA_KEY", new_data_key())
    return conf


def server(workers: int):
    return SimpleNamespace(cfg=SimpleNamespace(workers=workers))


def test_gunicorn_refuses_several_workers_in_production_without_redis(gunicorn_conf, monkeypatch):
    gunicorn_conf.on_starting(server(4))  # development: allowed
    monkeypatch.setenv("KIDRATE_ENV", "production")
    with pytest.raises(RuntimeError, match="KIDRATE_REDIS_URL"):
        gunicorn_conf.on_starting(server(4))
    gunicorn_conf.on_starting(server(1))
    monkeypatch.setenv("KIDRATE_REDIS_URL", "redis://127.0.0.1:6379/0")
    gunicorn_conf.on_starting(server(4))
    monkeypatch.setenv("KIDRATE_TRUSTED_PROXIES", "-1")
    with pytest.raises(RuntimeError, match="KIDRATE_TRUSTED_PROXIES"):  # one clear line, before any worker
        gunicorn_conf.on_starting(server(1))


def test_gunicorn_trusts_no_forwarded_header_itself(gunicorn_conf):
    from gunicorn.config import Config

    config = Config()
    for name in ("forwarded_allow_ips", "secure_scheme_headers", "forwarder_headers"):
        config.set(name, getattr(gunicorn_conf, name))
    assert config.forwarded_allow_ips == [] and config.secure_scheme_headers == {} and config.forwarder_headers == []
