"""Tokens stay out of logs in query strings too: any parameter whose name holds "token", and a token
path (/r/…, /staff/invite/…, /staff/reset/…) inside a query value, plain or %-encoded; through the
app's loggers and gunicorn's access log alike."""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest

from kidrate.protection.access import RedactTokens, redact

CHILD = "Xq3_ab-9ZZk2LmNo4pQrStUvWxYz0123"  # the shape of a child's token (32 characters)
INVITE = "eyJ1aWQiOjd9.aBcDeF.gHiJkLmNoPqRsTuV"  # the shape of an invitation token (itsdangerous)


@pytest.mark.parametrize(("line", "kept"), [
    (f"GET /staff/sign-in?token={INVITE}&lang=sv HTTP/1.1", "&lang=sv"),
    (f"GET /x?a=1&token={CHILD} HTTP/1.1", "?a=1&"),
    (f"GET /x?Reset_Token={INVITE};b=2", ";b=2"),
    (f"GET /x?form_token={CHILD}#top", "#top"),
    (f"token={CHILD}&view=review", "&view=review"),  # a query string alone (gunicorn's QUERY_STRING)
    (f"GET /staff/sign-in?next=/r/{CHILD}&x=1 HTTP/1.1", "&x=1"),
    (f"GET /staff/sign-in?next=%2Fr%2F{CHILD}&x=1 HTTP/1.1", "&x=1"),
    (f"GET /staff/sign-in?next=%2fstaff%2finvite%2f{INVITE} HTTP/1.1", "HTTP/1.1"),
    (f"GET /r/{CHILD}?lang=ar&view=review HTTP/1.1", "?lang=ar&view=review"),
    (f"GET /r/{CHILD}/audio/3 HTTP/1.1", "/audio/3"),
    (f'"GET /staff/reset/{INVITE}?token={INVITE} HTTP/1.1" 200', "200"),
    # an identity provider's answer: its code (a sign-in until used) and state
    (f"GET /staff/sign-in/provider/callback?code={CHILD}&state={INVITE}&iss=https%3A%2F%2Fidp HTTP/1.1",
     "&iss=https%3A%2F%2Fidp"),
    (f"GET /staff/sign-in/provider/callback?state={INVITE}&session_state={CHILD}&code={CHILD} HTTP/1.1", "HTTP/1.1"),
])
def test_tokens_in_query_strings_are_redacted(line, kept):
    cleaned = redact(line)
    assert CHILD not in cleaned and INVITE not in cleaned, cleaned
    assert "[redacted]" in cleaned and kept in cleaned, cleaned


def test_other_query_strings_stay_readable():
    line = "GET /staff/cases?q=BOU-12&page=2&postcode=1 HTTP/1.1 /staff/report?unit=3&from=2024-01-01"
    assert redact(line) == line


def test_the_logging_filter_redacts_query_tokens():
    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s',
                               ("127.0.0.1", f"GET /staff/sign-in?next=%2Fr%2F{CHILD}&token={INVITE} HTTP/1.1",
                                200), None)
    assert RedactTokens().filter(record) is True
    message = record.getMessage()
    assert CHILD not in message and INVITE not in message and message.startswith("127.0.0.1 - - ")


def test_gunicorns_access_log_redacts_query_tokens():
    """The real gunicorn logger with kidrate's settings: the request line, the path, the query string
    and the referrer in the line it writes hold no token."""
    from gunicorn.config import Config

    from kidrate import gunicorn_conf

    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", gunicorn_conf.access_log_format + ' %(U)s %(q)s "%(f)s"')
    logger = gunicorn_conf.RedactingLogger(config)
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    logger.access_log.addHandler(handler)
    try:
        query = f"next=%2Fr%2F{CHILD}&token={INVITE}"
        environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/r/{CHILD}?{query}", "PATH_INFO": f"/r/{CHILD}",
                   "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
                   "HTTP_REFERER": f"https://kidrate.example/staff/invite/{INVITE}"}
        response = SimpleNamespace(status="200 OK", sent=12, headers=[], response_length=12)
        request = SimpleNamespace(headers=[])
        logger.access(response, request, environ, timedelta(milliseconds=3))
    finally:
        logger.access_log.removeHandler(handler)
    line = written.getvalue()
    assert line.startswith('127.0.0.1 "GET /r/[redacted]?'), line
    assert CHILD not in line and INVITE not in line
    assert line.count("[redacted]") >= 5
