"""Keepwarm: the application factory. It configures and registers; it starts nothing."""

import os
from pathlib import Path

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect

from . import config, counts, db, feed, security
from .clock import clock_from_environment, local_today
from .dates import clock_time, local_time, overdue_words, relative_day, short_date

ROOT = Path(__file__).resolve().parent.parent
csrf = CSRFProtect()


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app from the environment (or `test_config`), ready to serve."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    test_config = test_config or {}
    # KEEPWARM_INSTANCE moves the instance folder (a worker process started by a test).
    instance = Path(
        test_config.get("INSTANCE_PATH") or os.environ.get("KEEPWARM_INSTANCE") or app.instance_path
    )
    app.instance_path = str(instance)
    app.config.from_mapping(config.DEFAULTS)
    app.config["MIGRATIONS_DIR"] = ROOT / "migrations"
    app.config.from_mapping(config.from_environment(instance))
    app.config.from_mapping(test_config)
    if "NOW" not in test_config and (clock := clock_from_environment()):
        app.config["NOW"] = clock
    config.follow_base_url(app.config, explicit=test_config)
    config.refuse_unsafe(app.config)

    db.init_app(app)
    csrf.init_app(app)
    security.init_app(app)
    feed.init_app(app)
    counts.init_app(app)
    _register_template_helpers(app)
    _register_error_pages(app)

    from .web import register_blueprints

    register_blueprints(app)

    from . import cli

    cli.init_app(app)
    _trust_proxy(app)
    return app


def _trust_proxy(app: Flask) -> None:
    """Behind a reverse proxy, take the client's address and scheme from its headers.

    Only as many hops as PROXY_FIX_X_* say: with them, request.remote_addr (which the
    login throttle counts by) is the client's address rather than the proxy's.
    """
    hops = {name: app.config.get(name, 0) for name in config.PROXY_HEADERS}
    if any(hops.values()):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(
            app.wsgi_app,
            x_for=hops["PROXY_FIX_X_FOR"],
            x_proto=hops["PROXY_FIX_X_PROTO"],
            x_host=hops["PROXY_FIX_X_HOST"],
        )


def _register_template_helpers(app: Flask) -> None:
    from flask import g
    from flask_login import current_user

    def today():
        """The user's local date, worked out once per request (pages ask for it per row)."""
        if "today" not in g:
            zone = current_user.timezone if current_user.is_authenticated else "UTC"
            g.today = local_today(zone)
        return g.today

    @app.context_processor
    def inject_helpers() -> dict:
        from .forms import OUTCOME_LABELS, ROLE_LABELS, STAGE_LABELS

        return {
            "today": today,
            "stage_labels": STAGE_LABELS,
            "outcome_labels": OUTCOME_LABELS,
            "role_labels": ROLE_LABELS,
        }

    from .web import followup_rows, link, row_links

    app.jinja_env.globals["link"] = link
    app.jinja_env.globals["row_links"] = row_links
    followup_rows.init_app(app)
    app.jinja_env.filters["short_date"] = lambda d: short_date(d, today())
    app.jinja_env.filters["relative_day"] = lambda d: relative_day(d, today())
    app.jinja_env.filters["overdue_words"] = lambda d: overdue_words(d, today())
    app.jinja_env.filters["local_time"] = lambda m: clock_time(
        local_time(m, current_user.timezone if current_user.is_authenticated else "UTC")
    )


def _register_error_pages(app: Flask) -> None:
    def page(status: int, title: str, message: str):
        return render_template("error.html", title=title, message=message), status

    @app.errorhandler(400)
    def bad_request(error):
        return page(400, "Bad request", "The request could not be understood.")

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        security.log_denied(f"CSRF: {error.description}")
        return page(400, "Form expired", "The form was out of date. Go back, reload and try again.")

    @app.errorhandler(404)
    def not_found(error):
        return page(404, "Not found", "There is nothing here, or it is not yours.")

    @app.errorhandler(405)
    def method_not_allowed(error):
        return page(405, "Not allowed", "That action is not available here.")

    @app.errorhandler(413)
    def too_large(error):
        return page(413, "Too large", "What you sent is too large.")

    @app.errorhandler(429)
    def too_many(error):
        return page(
            429, "Too many attempts", "Too many attempts. Wait a few minutes and try again."
        )

    @app.errorhandler(500)
    def server_error(error):
        db.db.session.rollback()
        return page(500, "Something went wrong", "Nothing was saved. Please try again.")
