"""The reference page for bench/load.py: bare Flask, Flask-SQLAlchemy and Jinja, no auth.

It lists the same 50 contacts as Keepwarm's first contacts page, from the same database,
with one query and a template, so the load figures show Keepwarm's throughput as a
fraction of what the stack itself manages.
"""

import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
db = SQLAlchemy(app)
OWNER = int(os.environ.get("REFERENCE_USER_ID", "1"))
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Contacts</title></head>
<body><h1>Contacts</h1><ul>
{% for contact in contacts %}
  <li><a href="/contacts/{{ contact.id }}">{{ contact.name }}</a> {{ contact.email }}</li>
{% endfor %}
</ul></body></html>"""
# Compiled once, as render_template does for a template file (render_template_string
# would compile it again on every request).
TEMPLATE = app.jinja_env.from_string(PAGE)


@app.get("/")
def contacts():
    rows = db.session.execute(
        text(
            "SELECT id, name, email FROM contact WHERE user_id = :owner ORDER BY name, id LIMIT 50"
        ),
        {"owner": OWNER},
    ).all()
    return TEMPLATE.render(contacts=rows)
