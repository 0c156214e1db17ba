"""gunicorn settings for the web app on its own (`make serve`): pages only, several workers.

    gunicorn --config python:tracker.gunicorn_conf app:app

The app factory starts no scheduler, so no worker here sends email; `flask --app app
worker` does, in a process of its own. The access log never shows a secret from a URL:
feed tokens, one-click email links and password-reset links are masked, and query
strings (searches name people) are left out.
"""

import gc
import os
import re

from gunicorn.glogging import Logger

bind = [f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"]
# WEB_CONCURRENCY is the conventional knob; the default suits a small 2-core machine.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)
# The app is loaded once and the workers forked from it: they share its memory pages
# (about half the memory of loading it in each). post_fork gives each its own connections.
preload_app = True
# A few threads per worker keep connections alive and overlap database waits.
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS") or 2)
# A request that takes longer than this is killed; its transaction is rolled back.
timeout = 30
graceful_timeout = 20
keepalive = 5
# A worker is replaced after this many requests, so slow leaks cannot accumulate.
max_requests = 10_000
max_requests_jitter = 1_000
# No runtime control socket: it would be shared by every gunicorn of this user.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
# No query string, no referrer: the path (masked), status, size and time in milliseconds.
access_log_format = '%(h)s - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'

SECRET_PATHS = re.compile(r"(/(?:feed|email/action|email/unsubscribe|reset)/)[^\s\"?]*")


def mask(text: str | None) -> str | None:
    """`/feed/abc123.ics` -> `/feed/[token]`: a secret in a URL stays out of the log."""
    return SECRET_PATHS.sub(r"\1[token]", text) if text else text


class MaskingLogger(Logger):
    """gunicorn's logger with every URL-bearing atom masked."""

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f", "{raw_uri}e", "{path_info}e", "{referer}i"):
            if key in atoms:
                atoms[key] = mask(atoms[key])
        return atoms


logger_class = MaskingLogger


def pre_fork(server, worker) -> None:
    """Objects of the preloaded app move to the collector's permanent generation, so a
    worker's garbage collections never touch them and their pages stay shared."""
    gc.freeze()


def post_fork(server, worker) -> None:
    """No database connection may be shared across a fork: each worker opens its own."""
    from app import app
    from tracker.db import db

    with app.app_context():
        db.engine.dispose(close=False)
