"""gunicorn settings for production: `gunicorn -c kidrate/gunicorn_conf.py "kidrate:create_app()"`.

The access log never holds a child's link or an invitation token: paths and query strings are
redacted before gunicorn formats the line. gunicorn trusts no forwarded header itself (its default
trusts X-Forwarded-Proto, SCRIPT_NAME and PATH_INFO from any loopback client): the app alone does,
from as many proxies as KIDRATE_TRUSTED_PROXIES names (README, *Running in production*).

In production without KIDRATE_REDIS_URL, gunicorn refuses to start more than one worker: each would
count rate limits on its own.
"""

from __future__ import annotations

import os

from gunicorn.glogging import Logger

from kidrate.config import ConfigError, load_settings
from kidrate.protection.access import RedactTokens, redact

bind = os.environ.get("KIDRATE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("KIDRATE_WORKERS", "4"))
threads = int(os.environ.get("KIDRATE_THREADS", "4"))
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
limit_request_line = 4094
# No shared control socket in the home folder: two kidrate servers on one host would share it.
control_socket_disable = True
# No forwarded header is gunicorn's to trust: KIDRATE_TRUSTED_PROXIES (ProxyFix in the app) decides.
# Empty settings, not only no trusted address: a Unix socket's peer would be trusted whatever the list.
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}
forwarder_headers = ""


def on_starting(server) -> None:
    """Before any worker starts: refuse several workers that would each count rate limits alone."""
    try:
        settings = load_settings()
    except ConfigError as error:
        raise RuntimeError(str(error)) from None  # one clear line, not a traceback per worker
    if settings.production and not settings.redis_url and server.cfg.workers > 1:
        raise RuntimeError(
            f"{server.cfg.workers} workers without KIDRATE_REDIS_URL: each would count rate limits on its own, "
            "so a client would get the sign-in and child limits once per worker. Set KIDRATE_REDIS_URL, "
            "or run one worker (KIDRATE_WORKERS=1).")


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.addFilter(RedactTokens())

    def access(self, resp, req, environ, request_time) -> None:
        clean = dict(environ)
        # The request line (%(r)s) is built from RAW_URI, query string included; the rest for other formats.
        for key in ("RAW_URI", "PATH_INFO", "REQUEST_URI", "QUERY_STRING", "HTTP_REFERER"):
            if isinstance(clean.get(key), str):
                clean[key] = redact(clean[key])
        super().access(resp, req, clean, request_time)


logger_class = RedactingLogger
