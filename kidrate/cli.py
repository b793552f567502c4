"""The `kidrate` command: run, demo, create-user, db upgrade (plus Flask's own commands)."""

from __future__ import annotations

import click
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from kidrate.config import PROJECT_ROOT
from kidrate.extensions import db


def alembic_config(url: str | None = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url or str(db.engine.url.render_as_string(hide_password=False)))
    return config


def register(app: Flask) -> None:
    """One `kidrate` command: the frame's own (db, demo, create-user) and each room's."""
    from kidrate.notifications import cli as notifications_cli
    from kidrate.protection import cli as protection_cli
    from kidrate.sign_on import cli as sign_on_cli
    from kidrate.statistics import cli as statistics_cli

    for command in (db_group, demo, demo_sign_on, create_user, *statistics_cli.COMMANDS, *protection_cli.COMMANDS,
                    *notifications_cli.COMMANDS, *sign_on_cli.COMMANDS):
        app.cli.add_command(command)


@click.group("db", help="Database schema migrations (Alembic).")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Migrate the database to the newest schema.")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    alembic_command.upgrade(alembic_config(), revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade", help="Migrate the database back to an earlier schema.")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    alembic_command.downgrade(alembic_config(), revision)


@db_group.command("current", help="Show the database's schema revision.")
@with_appcontext
def db_current() -> None:
    alembic_command.current(alembic_config())


@click.command("demo", help="Seed demo data into an empty database and print logins and a child link.")
@with_appcontext
def demo() -> None:
    from kidrate.demo import ensure_demo

    report = ensure_demo(db.session, current_app.config["KIDRATE"])
    click.echo(report)


@click.command("demo-sign-on", help="Connect the demo organisation to a local identity provider (not in production).")
@click.option("--issuer", required=True)
@with_appcontext
def demo_sign_on(issuer: str) -> None:
    from kidrate.demo import connect_demo_provider

    if current_app.config["KIDRATE"].production:
        raise click.UsageError("the demo's identity provider is not for production")
    click.echo(connect_demo_provider(db.session, current_app.config["KIDRATE"], issuer))


@click.command("create-user", help="Create a staff account and print its invitation link.")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--role", type=click.Choice(["social_worker", "therapist", "analyst", "admin", "auditor"]), required=True)
@click.option("--unit", "unit_name", default=None, help="Unit name (social workers and therapists).")
@click.option("--organisation", "organisation_name", default=None, help="Organisation name (created if new).")
@with_appcontext
def create_user(username: str, display_name: str, role: str, unit_name: str | None,
                organisation_name: str | None) -> None:
    from kidrate.models import Organisation, Unit, User
    from kidrate.protection.accounts import account_link_token

    session = db.session
    if session.scalar(select(User).where(User.username == username)):
        raise click.UsageError(f"the username {username!r} is taken")
    org = session.scalar(select(Organisation).order_by(Organisation.id))
    if organisation_name:
        org = session.scalar(select(Organisation).where(Organisation.name == organisation_name))
        if org is None:
            org = Organisation(name=organisation_name)
            session.add(org)
            session.flush()
    if org is None:
        raise click.UsageError("no organisation yet: pass --organisation NAME")
    unit = None
    if role in {"social_worker", "therapist"}:
        if not unit_name:
            raise click.UsageError("social workers and therapists need --unit")
        unit = session.scalar(select(Unit).where(Unit.organisation_id == org.id, Unit.name == unit_name))
        if unit is None:
            raise click.UsageError(f"no unit named {unit_name!r} in {org.name}")
        wanted = "authority" if role == "social_worker" else "open_care"
        if unit.kind != wanted:
            raise click.UsageError(f"a {role} belongs in a unit of kind {wanted}")
    user = User(organisation_id=org.id, unit=unit,
                username=username, display_name=display_name, role=role)
    session.add(user)
    session.commit()
    settings = current_app.config["KIDRATE"]
    click.echo(f"{settings.base_url}/staff/invite/{account_link_token(user, 'invite')}")


def main() -> None:
    from kidrate import create_app

    FlaskGroup(create_app=lambda: create_app(), help="kidrate: the child's story as a red thread.")()
