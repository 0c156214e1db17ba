"""Settings: the daily digest, the follow-up playbook's numbers, and a test email."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..db import db
from ..forms import PLAYBOOK_FIELDS, ConfirmForm, SettingsForm
from ..mail import enqueue_test_email
from .feed import panel as feed_panel

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    form = SettingsForm(obj=current_user)
    if form.validate_on_submit():
        user = current_user.record()
        user.digest_enabled = form.digest_enabled.data
        user.digest_hour = form.digest_hour.data
        for name in PLAYBOOK_FIELDS:
            setattr(user, name, form[name].data)
        db.session.commit()
        flash("Settings saved. New follow-ups are planned with these numbers.", "success")
        return redirect(url_for("settings.index"))
    return (
        render_template(
            "settings/index.html",
            form=form,
            playbook_fields=PLAYBOOK_FIELDS,
            feed=feed_panel(current_user),
        ),
        400 if form.errors else 200,
    )


@bp.post("/test-email")
@login_required
def test_email():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    enqueue_test_email(current_user.record())
    db.session.commit()
    flash(
        f"A test email to {current_user.email} is queued; it is listed below.",
        "success",
    )
    return redirect(url_for("delivery.index"))
