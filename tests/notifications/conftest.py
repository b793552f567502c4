"""A real SMTP server for the notification tests (aiosmtpd on a free loopback port), and the test app
told to send through it."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import ssl
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

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


def self_signed_certificate(folder) -> tuple[str, str]:
    """A certificate for 127.0.0.1 that no system trusts: (certificate file, key file)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kidrate test mail server")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


class TlsSmtpServer(SmtpServer):
    """A server that speaks only after STARTTLS, and only to kidrate's user with its password."""

    USER, PASSWORD = "kidrate", "smtp-password-for-tests"

    def __init__(self, folder) -> None:
        super().__init__()
        self.cert_file, key_file = self_signed_certificate(folder)
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(self.cert_file, key_file)
        self.logins: list[tuple[bytes, bool]] = []

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = auth_data.login == self.USER.encode() and auth_data.password == self.PASSWORD.encode()
        self.logins.append((auth_data.login, ok))
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, tls_context=self.tls,
                                     require_starttls=True, authenticator=self.authenticate, auth_required=True,
                                     auth_require_tls=True)
        self.controller.start()


@pytest.fixture
def tls_smtp(tmp_path):
    server = TlsSmtpServer(tmp_path)
    server.start()
    yield server
    server.stop()
