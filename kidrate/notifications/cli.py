"""The notifications room's command: `kidrate send-mail [--once]`.

Each run queues the daily reminders (reminders.py), sends what is due (mail.py) and forgets what was
sent long ago. Without --once it runs again every --every seconds until stopped (a service); with it,
once (a timer). It prints counts only: never an address, never what a notice is about.
"""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import OperationalError

from kidrate.extensions import db
from kidrate.notifications import mail, reminders


def run_once() -> str:
    """One run; a line of counts."""
    settings = current_app.config["KIDRATE"]
    session = db.session
    try:
        queued = reminders.queue_reminders(session)
        sent = mail.send_due(session, settings)
        removed = mail.remove_old(session)
        session.commit()
    finally:
        db.session.remove()
    line = (f"queued {queued.total} reminder(s); sent {sent.emails} e-mail(s) for {sent.rows} notice(s); "
            f"{sent.retrying} to retry, {sent.gave_up} given up, {sent.dropped} not sent; removed {removed} old")
    if sent.errors:
        line += f"; errors: {', '.join(sorted(set(sent.errors)))}"
    return line


@click.command("send-mail", help="Send the e-mail notices that are due (and queue the daily reminders).")
@click.option("--once", is_flag=True, help="Run once and stop (for a timer); otherwise run until stopped.")
@click.option("--every", default=60, show_default=True, type=click.IntRange(min=5),
              help="Seconds between runs, without --once.")
@with_appcontext
def send_mail(once: bool, every: int) -> None:
    if not current_app.config["KIDRATE"].smtp_configured:
        message = "e-mail is not set up (KIDRATE_SMTP_HOST): nothing to send"
        if once:
            click.echo(message)
            return
        raise click.ClickException(message)
    while True:
        try:
            click.echo(run_once())
        except OperationalError as error:
            if once:
                raise
            click.echo(f"database unavailable ({type(error.orig).__name__}); trying again in {every} s", err=True)
        if once:
            return
        time.sleep(every)


COMMANDS = (send_mail,)
