"""The calendar feed by its secret URL, the per-follow-up .ics download, and new feed URLs."""

import logging
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from .. import agenda, calendar, feed
from ..clock import local_today
from ..db import db
from ..forms import ConfirmForm
from ..models import FollowUp, User
from . import owned_or_404

bp = Blueprint("feed", __name__)
log = logging.getLogger("keepwarm.feed")

FEED_FILENAME = "keepwarm-follow-ups.ics"


def _feed_url(token: str) -> str:
    return f"{current_app.config['BASE_URL']}/feed/{token}.ics"


@bp.get("/feed/<token>.ics")
def subscription(token: str) -> ResponseReturnValue:
    """The feed. Unknown, old and malformed tokens all get the same 404 (never 401,
    which would make calendar apps ask for a password)."""
    subscriber = feed.subscriber_for(token)
    if subscriber is None:
        return _miss(token)
    rendered = feed.current_feed(subscriber)
    response = Response(rendered.body, mimetype="text/calendar")
    response.set_etag(rendered.etag)
    response.last_modified = rendered.last_modified
    # Calendar apps may keep a copy but must ask again (ETag, Last-Modified) every time.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Content-Disposition"] = f'attachment; filename="{FEED_FILENAME}"'
    return response.make_conditional(request)


def _miss(token: str) -> ResponseReturnValue:
    """Count the miss against the address (well-formed tokens only: the others cannot
    match and cost no query); too many in the window get 429 instead of 404."""
    address = request.remote_addr or "unknown"
    log.warning(
        "calendar feed: unknown token from %s", address.replace("\r", " ").replace("\n", " ")[:100]
    )
    if not feed.TOKEN_SHAPE.fullmatch(token):
        abort(404)
    db.session.rollback()  # end the read, so the write below starts its own transaction
    wait = feed.record_miss(address)
    db.session.commit()
    if wait:
        page = render_template(
            "error.html",
            title="Too many attempts",
            message="Too many unknown calendar addresses from your network. Try again later.",
        )
        return page, 429, {"Retry-After": str(wait), "Referrer-Policy": "no-referrer"}
    abort(404)


@bp.get("/follow-ups/<int:follow_up_id>/calendar.ics")
@login_required
def download(follow_up_id: int) -> Response:
    """One follow-up as a one-event .ics file, with the same UID as in the feed."""
    follow_up = owned_or_404(FollowUp, follow_up_id)
    user: User = current_user
    item = agenda.describe([follow_up], local_today(user.timezone))[0]
    body = calendar.calendar_bytes(
        [item],
        current_app.config["BASE_URL"],
        zone=user.timezone,
        alarm_hour=user.digest_hour,
    )
    response = Response(body, mimetype="text/calendar")
    filename = f"keepwarm-follow-up-{follow_up.id}.ics"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.post("/settings/calendar-feed")
@login_required
def new_url() -> ResponseReturnValue:
    """A new feed URL: the old one answers 404 from this commit on."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    had_one = current_user.feed_token_hash is not None
    feed.new_token(current_user.record())
    db.session.commit()
    action = "rotated" if had_one else "created"
    log.info("calendar feed address %s for user %s", action, current_user.id)
    if had_one:
        flash("New feed address made. The old one has stopped working.", "success")
    return redirect(url_for("settings.index") + "#calendar-feed")


@dataclass(frozen=True)
class FeedPanel:
    """What the Settings page shows about the feed."""

    active: bool
    created_on: date | None = None
    https_url: str | None = None
    webcal_url: str | None = None
    google_url: str | None = None


def panel(user: User) -> FeedPanel:
    """The feed's state for Settings, with its addresses when the token can be read back."""
    created = user.feed_token_created_at
    created_on = created.astimezone(ZoneInfo(user.timezone)).date() if created else None
    token = feed.current_token(user)
    if token is None:
        return FeedPanel(active=user.feed_token_hash is not None, created_on=created_on)
    https_url = _feed_url(token)
    webcal_url = "webcal://" + https_url.split("://", 1)[1]
    return FeedPanel(
        active=True,
        created_on=created_on,
        https_url=https_url,
        webcal_url=webcal_url,
        google_url="https://calendar.google.com/calendar/render?cid=" + quote(webcal_url, safe=""),
    )
