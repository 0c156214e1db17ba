"""Keepwarm and a bare Flask app in one WSGI process, for bench/pages.py.

Under `/bare/<size>` a bare Flask app (no session, no login, no database) answers with
`size` bytes; everything else is Keepwarm as app.py builds it. Served by one gunicorn
worker, both go through the same server, sockets and access log, so the bare route's
time is the floor that the server and Flask put under every Keepwarm page.
"""

from functools import cache

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from app import app as keepwarm

bare = Flask("bare")


@cache
def payload(size: int) -> bytes:
    return b"x" * size


@bare.get("/<int:size>")
def same_bytes(size: int) -> bytes:
    return payload(size)


app = DispatcherMiddleware(keepwarm, {"/bare": bare})
