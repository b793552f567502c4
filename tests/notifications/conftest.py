"""A real SMTP server for the notification tests (aiosmtpd on a free loopback port), and the test app
told to send through it."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

from ..servers import free_port


@dataclass
class Received:
    to: list[str]
    raw: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    @property
    def body(self) -> str:
        """The text as a mail client shows it (decoded from quoted-printable)."""
        return self.message.get_body(("plain",)).get_content()

    @property
    def text(self) -> str:
        """Everything that arrived, headers and the decoded body, for looking for what must not be there."""
        body = self.message.get_body(("plain",))
        return self.raw.decode("utf-8", "replace") + "\n" + (body.get_content() if body else "")


@dataclass
class Inbox:
    """What the server received, and addresses it refuses (code 550 or 451)."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(Received(list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.to]


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_settings(app, smtp, monkeypatch):
    """The session's app sends through the test's server (plain SMTP on loopback: no STARTTLS)."""
    settings = dataclasses.replace(app.config["KIDRATE"], smtp_host="127.0.0.1", smtp_port=smtp.port,
                                   smtp_from="kidrate <kidrate@kommun.example>", smtp_starttls=False,
                                   base_url="https://kidrate.kommun.example")
    monkeypatch.setitem(app.config, "KIDRATE", settings)
    return settings


@pytest.fixture
def send_mail(app):
    """`kidrate send-mail --once`, as a timer runs it; its output line."""
    def run(*extra: str) -> str:
        result = app.test_cli_runner().invoke(args=["send-mail", "--once", *extra])
        assert result.exit_code == 0, result.output + repr(result.exception)
        return result.output

    return run
