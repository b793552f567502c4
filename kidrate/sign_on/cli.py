"""The sign-on room's commands.

`kidrate sign-on`: the installation's operator connects one organisation's identity provider from the
environment (a single-organisation deployment keeps its settings where its other secrets are), never
from arguments that `ps` would show: KIDRATE_OIDC_ORGANISATION, KIDRATE_OIDC_ISSUER,
KIDRATE_OIDC_CLIENT_ID, KIDRATE_OIDC_CLIENT_SECRET, optionally KIDRATE_OIDC_SCOPES. Run it again after
changing them. The organisation's admin sets who gets in (groups, e-mail, multi-factor) on the admin page.
"""

from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from kidrate.extensions import db
from kidrate.models import AuditEvent, Organisation, SignOnProvider, utcnow
from kidrate.sign_on import client


def connect(organisation: Organisation, issuer: str, client_id: str, client_secret: str, scopes: str = "",
            *, check: bool = True) -> SignOnProvider:
    """The organisation's provider row made or brought up to date (its admin's rules kept). Not committed."""
    problem = client.issuer_problem(issuer, production=current_app.config["KIDRATE"].production)
    if problem is None and check:
        try:
            client.discover(issuer)
        except client.ProviderError as error:
            problem = error.args[0]
    if problem is not None:
        raise click.ClickException(f"the issuer {issuer!r} cannot be used: {problem}")
    provider = db.session.scalar(select(SignOnProvider).where(SignOnProvider.organisation_id == organisation.id))
    if provider is None:
        provider = SignOnProvider(organisation_id=organisation.id)
        db.session.add(provider)
    provider.issuer, provider.client_id, provider.client_secret = issuer, client_id, client_secret
    provider.extra_scopes = " ".join(scopes.split())
    provider.enabled = True
    provider.updated_at = utcnow()
    db.session.add(AuditEvent(organisation_id=organisation.id, action="sign_on_settings", target="operator"))
    return provider


@click.command("sign-on", help="Connect an organisation's identity provider from KIDRATE_OIDC_* in the environment.")
@with_appcontext
def sign_on() -> None:
    wanted = {name: os.environ.get(f"KIDRATE_OIDC_{name}", "").strip()
              for name in ("ORGANISATION", "ISSUER", "CLIENT_ID", "CLIENT_SECRET")}
    missing = [f"KIDRATE_OIDC_{name}" for name, value in wanted.items() if not value]
    if missing:
        raise click.UsageError(f"set {', '.join(missing)}")
    organisation = db.session.scalar(select(Organisation).where(Organisation.name == wanted["ORGANISATION"]))
    if organisation is None:
        raise click.UsageError(f"no organisation named {wanted['ORGANISATION']!r}")
    connect(organisation, wanted["ISSUER"], wanted["CLIENT_ID"], wanted["CLIENT_SECRET"],
            os.environ.get("KIDRATE_OIDC_SCOPES", ""))
    db.session.commit()
    click.echo(f"{organisation.name}: staff may sign in through {wanted['ISSUER']}")


COMMANDS = (sign_on,)
