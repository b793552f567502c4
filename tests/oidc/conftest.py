"""Fixtures for tests against a real OpenID Provider (tests/oidc/harness.py). Tests elsewhere use them
by importing the fixture: `from tests.oidc.conftest import start_oidc_provider  # noqa: F401`."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .harness import Provider, ensure_installed, start_provider, stop


@pytest.fixture
def start_oidc_provider(tmp_path) -> Iterator[Callable[[list[dict], dict[str, dict]], Provider]]:
    """A callable `(clients, accounts) -> Provider` starting the provider on a free loopback port; every
    provider it started is stopped at teardown. Skips when Node.js/npm or the provider's packages are
    missing (the reason says what to install)."""
    reason = ensure_installed()
    if reason:
        pytest.skip(reason)
    started: list[Provider] = []

    def start(clients: list[dict], accounts: dict[str, dict]) -> Provider:
        provider = start_provider(clients, accounts, log_dir=tmp_path)
        started.append(provider)
        return provider

    yield start
    for provider in started:
        stop(provider)
