"""kidrate: the child's story as a red thread through social services.

create_app builds the app as a list of small configure_* steps, each doing one thing.
"""

from __future__ import annotations

from urllib.parse import quote_from_bytes

from flask import Flask, Request, g, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.routing import IntegerConverter

from kidrate.config import LOCAL_ZONE, PROJECT_ROOT, Settings, load_settings
from kidrate.extensions import babel, csrf, db, rate_limits


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(
        __name__,
        instance_path=str(settings.instance_path),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    for step in (
        configure_settings,
        configure_proxies,
        configure_encryption,
        configure_database,
        configure_i18n,
        configure_rate_limits,
        configure_security,
        configure_assets,
        configure_blueprints,
        configure_notifications,
        configure_sign_on,
        configure_errors,
        configure_cli,
    ):
        step(app, settings)
    return app


def configure_settings(app: Flask, settings: Settings) -> None:
    app.config.update(
        KIDRATE=settings,
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        SESSION_COOKIE_NAME="kidrate_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,
        PERMANENT_SESSION_LIFETIME=settings.idle_minutes * 60,
        MAX_CONTENT_LENGTH=1024 * 1024,
        MAX_FORM_MEMORY_SIZE=256 * 1024,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the (idle-limited) session
        # Flask-WTF's strict check over HTTPS wants a same-origin Referer, which browsers never send here
        # (Referrer-Policy: no-referrer, kept so a child's link never leaks): it would refuse every form.
        # The token, tied to the signed session, and SameSite=Lax are the protection.
        WTF_CSRF_SSL_STRICT=False,
        PREFERRED_URL_SCHEME="https" if settings.https else "http",
        # A municipality's reviewed catalogues override the built-in ones (see catalogues.py).
        BABEL_TRANSLATION_DIRECTORIES=f"{PROJECT_ROOT / 'translations'};{settings.instance_path / 'translations'}",
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_DEFAULT_TIMEZONE=LOCAL_ZONE.key,
    )
    settings.instance_path.mkdir(parents=True, exist_ok=True)


def configure_proxies(app: Flask, settings: Settings) -> None:
    """Forwarded headers count only from the proxies the operator names (KIDRATE_TRUSTED_PROXIES hops in
    front): then the client address and scheme the nearest of them saw replace the connection's. By
    default none is trusted, so no client picks the address its rate limits count under."""
    hops = settings.trusted_proxies
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)


def configure_encryption(app: Flask, settings: Settings) -> None:
    from kidrate.protection import crypto

    keyring = crypto.Keyring.of(settings.data_key, settings.old_data_keys)
    app.extensions[crypto.EXTENSION] = keyring
    crypto.configure(keyring)


def configure_database(app: Flask, settings: Settings) -> None:
    db.init_app(app, settings.database_url)


def configure_i18n(app: Flask, settings: Settings) -> None:
    from kidrate import vocab
    from kidrate.languages import catalogues, i18n

    overrides = settings.instance_path / "translations"
    catalogues.compile_overrides(overrides)
    app.extensions["kidrate.child_locales"] = catalogues.child_locales(overrides)
    app.extensions["kidrate.child_drafts"] = catalogues.draft_child_locales(overrides)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.configure_catalogues(app)  # an organisation's own catalogues; catalogue text always escaped
    app.jinja_env.globals.update(
        html_lang=i18n.html_lang,
        text_direction=i18n.text_direction,
        language_name=i18n.language_name,
        language_label=i18n.language_label,
        lang_attrs=i18n.lang_attrs,
        draft_child_locales=i18n.draft_child_locales,
        vocab=vocab,
    )
    app.jinja_env.filters.update(language_label=i18n.language_label, isodateformat=i18n.format_iso_date)
    app.jinja_env.policies["ext.i18n.trimmed"] = True


def configure_rate_limits(app: Flask, settings: Settings) -> None:
    # Before configure_security, so a refused request costs no CSRF check or database read.
    from kidrate.child import bp as child_bp
    from kidrate.staff import bp as staff_bp

    rate_limits.init_app(app, settings)
    rate_limits.limit_sign_in_posts(app, staff_bp, settings.sign_in_limit)
    rate_limits.limit_every_route(app, child_bp, settings.child_limit)


def configure_security(app: Flask, settings: Settings) -> None:
    from kidrate.protection import access, case_reads

    csrf.init_app(app)
    app.before_request(access.enforce_access)
    app.after_request(access.set_security_headers)
    access.configure_log_redaction(app)
    case_reads.init_app(app)


def configure_assets(app: Flask, settings: Settings) -> None:
    from kidrate import assets

    assets.configure_assets(app)


class DatabaseId(IntegerConverter):
    """`<int:…>` in every route: an id past the database's integer range is simply not found
    (a 404 from routing), never a database error."""

    def __init__(self, url_map, fixed_digits: int = 0, min: int | None = 1, max: int | None = 2**31 - 1,
                 signed: bool = False) -> None:
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def configure_blueprints(app: Flask, settings: Settings) -> None:
    from kidrate.child import bp as child_bp
    from kidrate.health import bp as health_bp
    from kidrate.protection.access import public
    from kidrate.staff import bp as staff_bp

    app.url_map.converters["int"] = DatabaseId
    app.register_blueprint(staff_bp)
    app.register_blueprint(child_bp)
    app.register_blueprint(health_bp)

    # Staff live under /staff/, so that their service worker's scope never covers the child's /r/.
    @app.get("/")
    @public
    def root():
        return redirect(url_for("staff.home"))


def configure_notifications(app: Flask, settings: Settings) -> None:
    """E-mail notices: the red thread's events queue them (sent by `kidrate send-mail`)."""
    from kidrate import notifications

    notifications.init_app(app)


class CheckedRequest(Request):
    """Malformed input that werkzeug or Flask-WTF would trip over (a 500) becomes ordinary input or a 400."""

    _PRINTABLE = "".join(map(chr, range(0x21, 0x7F)))

    def __init__(self, environ, *args, **kwargs) -> None:
        super().__init__(environ, *args, **kwargs)
        if not self.query_string.isascii():
            # Raw bytes past ASCII in the query (gunicorn refuses them, the development server does not):
            # escaped as a browser would, they decode like any other %-escape instead of raising.
            self.query_string = quote_from_bytes(self.query_string, safe=self._PRINTABLE).encode("ascii")

    def _load_form_data(self) -> None:
        from gunicorn.http.errors import ParseException  # gunicorn serves kidrate (README)

        try:
            super()._load_form_data()
        except (ParseException, OSError) as error:
            # The body could not be read: a malformed chunked body (gunicorn raises while the form is read)
            # or a client gone mid-body. The client's fault, not the server's.
            self._no_form()
            raise BadRequest("the request body could not be read") from error
        if None in self.__dict__["form"] or None in self.__dict__["files"]:
            # A multipart part without a name: Flask-WTF and the child's form would fail on its key.
            self._no_form()
            raise BadRequest("a form part without a name")

    def _no_form(self) -> None:
        self.__dict__["form"] = self.parameter_storage_class()
        self.__dict__["files"] = self.parameter_storage_class()


def configure_sign_on(app: Flask, settings: Settings) -> None:
    """Signing in through an organisation's identity provider (OpenID Connect, Authlib's client)."""
    from kidrate.sign_on import client

    client.configure(app)


def configure_errors(app: Flask, settings: Settings) -> None:
    from flask_wtf.csrf import CSRFError
    from sqlalchemy import exc as sa_exc

    app.request_class = CheckedRequest

    def for_child() -> bool:
        return request.blueprint == "child" or request.path.startswith("/r/")

    def error_page(code: int, reason: str | None = None):
        # The child's pages speak the child's language and reveal nothing; staff get a short reason.
        if for_child():
            from kidrate.child.views import child_error_page

            return child_error_page(code)
        return render_template("staff/error.html", code=code, reason=reason), code

    def database_unavailable(error: Exception) -> bool:
        """The database is down, unreachable, read-only, full or busy (not a bug): worth trying again."""
        if isinstance(error, sa_exc.DBAPIError):
            return error.connection_invalidated or isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError)
        return isinstance(error, sa_exc.TimeoutError | sa_exc.DisconnectionError)

    def discard_transaction() -> None:
        try:
            db.session.rollback()
        except sa_exc.SQLAlchemyError:
            db.session.remove()  # the connection is gone with it; the pool makes a new one next time

    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError):
        return error_page(400, "csrf")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return error_page(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        if database_unavailable(error):
            # Nothing was stored: the transaction never reached the database or is rolled back. The driver's
            # first line only (no SQL, no parameters: they may hold what a child wrote).
            cause = getattr(error, "orig", None) or error
            app.logger.warning("database unavailable: %s: %s", type(cause).__name__,
                               (str(cause).splitlines() or [""])[0][:200])
            discard_transaction()
            g.user = None  # expired by the rollback and not to be reloaded now: the page shows no menu
            if for_child() and request.accept_mimetypes.best == "application/json":
                return jsonify(status="retry"), 503  # child.js waits and sends the same answers again
            return error_page(503, "database")
        if isinstance(error, sa_exc.DataError):
            # The database refused a value that got past the forms (PostgreSQL: a NUL character, a number
            # out of range): the request was at fault, and nothing of it is kept.
            app.logger.warning("request refused by the database: %s", type(getattr(error, "orig", error)).__name__)
            discard_transaction()
            return error_page(400)
        # The traceback goes to the server log (tokens redacted), never to the page.
        app.logger.exception("unhandled error")
        discard_transaction()
        return error_page(500)


def configure_cli(app: Flask, settings: Settings) -> None:
    from kidrate.cli import register

    register(app)
