"""Commands: `flask --app app serve | create-user | demo-data` (and Flask-Migrate's `db`)."""

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import accounts
from .db import db
from .forms import zone_choices


@click.command("serve")
@click.option("--host", envvar="HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="PORT", default=5000, type=int, show_default=True)
@click.option("--threads", default=8, show_default=True)
@with_appcontext
def serve_command(host: str, port: int, threads: int) -> None:
    """Serve the app with waitress, a production WSGI server. Ctrl-C stops it."""
    from waitress import serve

    app = current_app._get_current_object()
    click.echo(f"Keepwarm is running at http://{host}:{port}/  (Ctrl-C to stop)")
    serve(app, host=host, port=port, threads=threads, ident="keepwarm")


@click.command("create-user")
@click.argument("email")
@click.option("--timezone", default="UTC", show_default=True)
@click.password_option()
@with_appcontext
def create_user_command(email: str, timezone: str, password: str) -> None:
    """Create an account from the command line."""
    if timezone not in zone_choices():
        raise click.BadParameter(f"unknown time zone {timezone!r}", param_hint="--timezone")
    problem = accounts.password_problem(password)
    if problem:
        raise click.BadParameter(problem, param_hint="password")
    if accounts.find_user_by_email(email):
        raise click.ClickException(f"an account for {email} already exists")
    user = accounts.create_user(email, password, timezone)
    db.session.commit()
    click.echo(f"Created user {user.email}.")


@click.command("demo-data")
@click.option("--email", default="demo@example.com", show_default=True)
@click.option("--password", default="keepwarm-demo", show_default=True)
@click.option("--timezone", default="Europe/London", show_default=True)
@with_appcontext
def demo_data_command(email: str, password: str, timezone: str) -> None:
    """Fill an account with realistic organisations, interviews and people."""
    from .demo import fill_demo_account

    user = accounts.find_user_by_email(email)
    if user is None:
        user = accounts.create_user(email, password, timezone)
        click.echo(f"Created {email} with password {password!r}.")
    counts = fill_demo_account(user)
    db.session.commit()
    click.echo(
        f"Added {counts['interviews']} interviews at {counts['organisations']} organisations "
        f"with {counts['contacts']} people to {email}."
    )


def init_app(app: Flask) -> None:
    for command in (serve_command, create_user_command, demo_data_command):
        app.cli.add_command(command)
