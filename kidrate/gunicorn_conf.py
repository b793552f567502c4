"""gunicorn settings for production: `gunicorn -c kidrate/gunicorn_conf.py "kidrate:create_app()"`.

The access log never holds a child's link or an invitation token: paths are redacted before
gunicorn formats the line. Behind a TLS proxy on the same host, X-Forwarded-Proto from 127.0.0.1 is
trusted (gunicorn's default), so links the app prints are https.
"""

from __future__ import annotations

import os

from gunicorn.glogging import Logger

from kidrate.security import RedactTokens, redact

bind = os.environ.get("KIDRATE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("KIDRATE_WORKERS", "4"))
threads = int(os.environ.get("KIDRATE_THREADS", "4"))
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
limit_request_line = 4094
# No shared control socket in the home folder: two kidrate servers on one host would share it.
control_socket_disable = True


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.addFilter(RedactTokens())

    def access(self, resp, req, environ, request_time) -> None:
        clean = dict(environ)
        for key in ("RAW_URI", "PATH_INFO", "REQUEST_URI"):
            if key in clean:
                clean[key] = redact(clean[key])
        super().access(resp, req, clean, request_time)


logger_class = RedactingLogger
