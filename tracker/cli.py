"""Commands: `flask --app app serve | worker | send-due | create-user | demo-data` (and `db`)."""

import click
from email_validator import EmailNotValidError, validate_email
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import accounts
from .db import db
from .forms import zone_choices


@click.command("serve")
@click.option("--host", envvar="HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="PORT", default=5000, type=int, show_default=True)
@click.option("--threads", default=8, show_default=True)
@click.option(
    "--no-scheduler",
    is_flag=True,
    help="Serve pages only; reminders are sent by a separate `worker` process.",
)
@with_appcontext
def serve_command(host: str, port: int, threads: int, no_scheduler: bool) -> None:
    """Serve the app with waitress, a production WSGI server, and the scheduler beside it.

    Ctrl-C stops both.
    """
    from waitress import serve

    from .scheduler import BackgroundRunner

    app = current_app._get_current_object()
    runner = None
    _log_to_stderr()
    if not no_scheduler:
        runner = BackgroundRunner(app, say=click.echo)
        runner.start()
    click.echo(f"Keepwarm is running at http://{host}:{port}/  (Ctrl-C to stop)")
    try:
        serve(app, host=host, port=port, threads=threads, ident="keepwarm")
    finally:
        if runner is not None:
            runner.stop()


def _log_to_stderr() -> None:
    """Logins, refusals, job outcomes and errors on stderr, in UTC, one line each."""
    from .security import configure_logging

    configure_logging()


@click.command("worker")
@with_appcontext
def worker_command() -> None:
    """Run the scheduler in this process (reminder emails). SIGTERM or Ctrl-C stops it."""
    from .scheduler import run_worker

    _log_to_stderr()
    run_worker(current_app._get_current_object(), say=lambda text: click.echo(text, err=True))


@click.command("send-due")
@with_appcontext
def send_due_command() -> None:
    """Plan today's digests and send everything due in the outbox, once, now."""
    from . import jobs

    reaped = jobs.reap_leases()
    planned = jobs.plan_digests()
    sent = jobs.dispatch_outbox()
    if reaped:
        click.echo(f"Returned {reaped} email(s) whose sender had stopped mid-send.")
    click.echo(f"Planned {planned} digest(s).")
    click.echo(f"Outbox: {sent}.")


@click.command("create-user")
@click.argument("email")
@click.option("--timezone", default="UTC", show_default=True)
@click.password_option()
@with_appcontext
def create_user_command(email: str, timezone: str, password: str) -> None:
    """Create an account from the command line."""
    email = email.strip()
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise click.BadParameter(str(error), param_hint="EMAIL") from error
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
@click.option(
    "--contacts",
    type=click.IntRange(1, 1_000_000),
    help="Instead of the story, this many generated people, written in bulk (benchmarks).",
)
@with_appcontext
def demo_data_command(email: str, password: str, timezone: str, contacts: int | None) -> None:
    """Fill an account with realistic organisations, interviews and people (once)."""
    from .demo import fill_demo_account
    from .demo_bulk import fill_sized_account

    if timezone not in zone_choices():
        raise click.BadParameter(f"unknown time zone {timezone!r}", param_hint="--timezone")
    user = accounts.find_user_by_email(email)
    if user is None:
        user = accounts.create_user(email, password, timezone)
        click.echo(f"Created {email} with password {password!r}.")
    counts = fill_sized_account(user, contacts) if contacts else fill_demo_account(user)
    db.session.commit()
    if not counts["interviews"]:
        click.echo(f"{email} already has interviews; nothing was added.")
        return
    click.echo(
        f"Added {counts['interviews']} interviews at {counts['organisations']} organisations "
        f"with {counts['contacts']} people to {email}."
    )


@click.command("check-deploy")
@with_appcontext
def check_deploy_command() -> None:
    """Check this configuration is fit to serve the public; exit 1 with the reasons if not.

    Run it with the production environment (SECRET_KEY, BASE_URL, SMTP_*, FLASK_DEBUG).
    """
    from .config import deploy_problems

    problems = deploy_problems(current_app.config)
    if problems:
        click.echo("Not ready for production:", err=True)
        for problem in problems:
            click.echo(f"  - {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"Ready for production at {current_app.config['BASE_URL']}.")


def init_app(app: Flask) -> None:
    for command in (
        serve_command,
        worker_command,
        send_due_command,
        create_user_command,
        demo_data_command,
        check_deploy_command,
    ):
        app.cli.add_command(command)
