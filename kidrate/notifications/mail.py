"""Sending the outbox through the organisation's SMTP server, with the standard library's smtplib.

Everything due goes through one connection, one e-mail per user however many notices wait for them:
they all say the same (something new; sign in), in the user's language. A password-reset e-mail is
made apart, its link signed at the moment it is sent (kidrate/protection/accounts.py), so the outbox
never holds a usable link. Every link starts from KIDRATE_BASE_URL, never from a request's Host header.

A failure that may pass (the server away, a 4xx answer) is tried again later, each wait twice the last
(1 minute, up to 6 hours), MAX_ATTEMPTS times in all; an address the server refuses for good (5xx) is
given up at once. Rows are claimed with a conditional UPDATE before anything is sent, so two runs at
the same moment never send one row twice; a run that dies after claiming leaves its rows to the next
run after CLAIM_FOR.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.orm import Session, selectinload

from kidrate.config import Settings
from kidrate.models import OutboxMail, User, utcnow
from kidrate.notifications import outbox
from kidrate.protection.accounts import account_link_token

MAX_ATTEMPTS = 12  # 1, 2, 4 … 256 minutes, then 6 hours twice: the last try about 20 hours after the first
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)
CLAIM_FOR = timedelta(minutes=10)
# A notice this old is no longer news (the server was away for days): it is not sent.
NOTICE_NEWS_FOR = timedelta(days=3)
# Sent and given-up rows are kept this long (for the admin's page), then removed.
KEEP_DONE = timedelta(days=30)
BATCH = 500
TIMEOUT_SECONDS = 20


@dataclass
class Sent:
    """What a run did, in counts only."""

    emails: int = 0  # e-mails the server accepted
    rows: int = 0  # outbox rows they carried
    retrying: int = 0  # rows that failed and wait for another try
    gave_up: int = 0  # rows that failed for good
    dropped: int = 0  # rows not sent: no longer wanted, no address, deactivated or too old
    errors: list[str] = field(default_factory=list)

    def add(self, other: Sent) -> None:
        self.emails += other.emails
        self.rows += other.rows
        self.retrying += other.retrying
        self.gave_up += other.gave_up
        self.dropped += other.dropped
        self.errors += other.errors


def external_url(settings: Settings, endpoint: str, **values: object) -> str:
    """An address at KIDRATE_BASE_URL, built without a request."""
    base = urlsplit(settings.base_url)
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def compose(user: User, kind: str, settings: Settings) -> EmailMessage:
    """The e-mail for a user: a password-reset link, or the one neutral notice (whatever the kind)."""
    with force_locale(user.locale or settings.default_locale):
        if kind == "reset":
            url = external_url(settings, "staff.reset_password", token=account_link_token(user, "reset"))
            subject = _("Choose a new password for kidrate")
            paragraphs = [
                _("Someone asked for a new password for the kidrate account %(username)s.", username=user.username),
                _("Choose your new password here. The link works once, for %(hours)s hours:",
                  hours=settings.invite_hours) + "\n" + url,
                _("If it was not you, do nothing: your password stays as it is."),
            ]
        else:
            url = external_url(settings, "staff.sign_in")
            subject = _("Something new in kidrate")
            paragraphs = [
                _("You have something new in kidrate. Sign in to see it:") + "\n" + url,
                _("You get this e-mail because e-mail notices are on for your account. On your account page "
                  "in kidrate you choose which ones you get."),
            ]
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.smtp_from
    message["To"] = user.email
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=parseaddr(settings.smtp_from)[1].rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    message.set_content("\n\n".join(paragraphs) + "\n\n-- \nkidrate\n")
    return message


def connect(settings: Settings) -> smtplib.SMTP:
    """A connection to the SMTP server, encrypted (STARTTLS, the certificate checked) unless turned off,
    and signed in where a user is set."""
    connection = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_SECONDS)
    try:
        connection.ehlo()
        if settings.smtp_starttls:
            connection.starttls(context=ssl.create_default_context())
            connection.ehlo()
        if settings.smtp_user:
            connection.login(settings.smtp_user, settings.smtp_password)
    except BaseException:
        connection.close()
        raise
    return connection


def describe(error: BaseException) -> str:
    """A failure in a few words of our own: no address, no server text (it may quote the address)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _text in error.recipients.values()})
        return f"address refused {codes[0] if codes else ''}".strip()
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return f"login refused {error.smtp_code}"
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return "starttls not offered"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return "connection closed"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"server answered {error.smtp_code}"
    if isinstance(error, ssl.SSLError):
        return "tls failed"
    if isinstance(error, TimeoutError):
        return "no answer (timeout)"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    return f"{type(error).__name__}"[:80]


def _refused_for_good(error: BaseException) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _text in error.recipients.values())
    return False


def _due(now: datetime):
    return and_(OutboxMail.sent_at.is_(None), OutboxMail.gave_up_at.is_(None), OutboxMail.next_attempt_at <= now)


def _claim(session: Session, now: datetime) -> list[OutboxMail]:
    """The due rows this run sends, oldest first: claimed in one conditional UPDATE (a row another run
    claimed first is no longer due), committed before anything is sent."""
    ids = list(session.scalars(select(OutboxMail.id).where(_due(now)).order_by(OutboxMail.id).limit(BATCH)))
    if not ids:
        return []
    claimed = list(session.execute(
        update(OutboxMail).where(OutboxMail.id.in_(ids), _due(now))
        .values(next_attempt_at=now + CLAIM_FOR).returning(OutboxMail.id)
        .execution_options(synchronize_session=False)
    ).scalars())
    session.commit()
    return list(session.scalars(
        select(OutboxMail).where(OutboxMail.id.in_(claimed)).order_by(OutboxMail.id)
        .options(selectinload(OutboxMail.user)).execution_options(populate_existing=True)))


def _why_not(row: OutboxMail, now: datetime, settings: Settings) -> str | None:
    user = row.user
    if not user.active:
        return "deactivated"
    if not user.email:
        return "no address"
    if not outbox.wants(user, row.kind):
        return "not wanted"
    news_for = timedelta(hours=settings.invite_hours) if row.kind == "reset" else NOTICE_NEWS_FOR
    if row.created_at < now - news_for:
        return "too old"
    return None


def _failed(row: OutboxMail, error: str, now: datetime, result: Sent, *, for_good: bool = False) -> None:
    row.attempts += 1
    row.last_error = error[:80]
    if for_good or row.attempts >= MAX_ATTEMPTS:
        row.gave_up_at = now
        result.gave_up += 1
    else:
        row.next_attempt_at = now + min(FIRST_WAIT * 2 ** (row.attempts - 1), LONGEST_WAIT)
        result.retrying += 1


def send_batch(session: Session, settings: Settings, now: datetime | None = None,
               connector: Callable[[Settings], smtplib.SMTP] = connect) -> tuple[Sent, bool]:
    """Send up to BATCH due rows. Returns what was done, and whether more may be due (a full batch
    that the server took)."""
    now = now or utcnow()
    result = Sent()
    rows = _claim(session, now)
    groups: dict[tuple[int, bool], list[OutboxMail]] = {}
    for row in rows:
        reason = _why_not(row, now, settings)
        if reason is not None:
            row.gave_up_at = now
            row.last_error = reason
            result.dropped += 1
        else:
            groups.setdefault((row.user_id, row.kind == "reset"), []).append(row)
    session.commit()

    connection: smtplib.SMTP | None = None
    pending = list(groups.items())
    try:
        while pending:
            (_user_id, reset), group = pending.pop(0)
            message = compose(group[0].user, "reset" if reset else "notice", settings)
            try:
                if connection is None:
                    connection = connector(settings)
                connection.send_message(message)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
                # This message; the connection goes on.
                for row in group:
                    _failed(row, describe(error), now, result, for_good=_refused_for_good(error))
                result.errors.append(describe(error))
            except (OSError, smtplib.SMTPException) as error:
                # The server is away or the connection broke: every row of this run waits for a later one.
                for _key, rest in [((0, reset), group), *pending]:
                    for row in rest:
                        _failed(row, describe(error), now, result)
                result.errors.append(describe(error))
                pending = []
                connection = None  # no QUIT on a broken connection
            else:
                for row in group:
                    row.attempts += 1
                    row.sent_at = now
                    row.last_error = None
                result.emails += 1
                result.rows += len(group)
            session.commit()
    finally:
        if connection is not None:
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                connection.close()
    more = len(rows) == BATCH and not result.retrying and not result.gave_up
    return result, more


def send_due(session: Session, settings: Settings, now: datetime | None = None,
             connector: Callable[[Settings], smtplib.SMTP] = connect) -> Sent:
    """Send everything due, a batch at a time."""
    total = Sent()
    while True:
        result, more = send_batch(session, settings, now, connector)
        total.add(result)
        if not more:
            return total


def remove_old(session: Session, now: datetime | None = None) -> int:
    """Forget sent and given-up rows older than KEEP_DONE (the caller commits)."""
    before = (now or utcnow()) - KEEP_DONE
    done_at = func.coalesce(OutboxMail.sent_at, OutboxMail.gave_up_at)
    return session.execute(delete(OutboxMail).where(done_at.is_not(None), done_at < before)
                           .execution_options(synchronize_session=False)).rowcount
