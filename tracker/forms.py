"""Forms: every field labelled, every limit stated, every error shown next to its field."""

from datetime import date
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    Form,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.fields import FormField
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from .accounts import MAX_PASSWORD_LENGTH, password_problem
from .models import InteractionKind, Outcome, ParticipantRole, Stage

STAGE_LABELS = {
    Stage.PHONE_SCREEN: "Phone screen",
    Stage.TECHNICAL: "Technical",
    Stage.ONSITE: "Onsite",
    Stage.FINAL: "Final",
    Stage.OTHER: "Other",
}
OUTCOME_LABELS = {
    Outcome.PENDING: "Pending",
    Outcome.OFFER: "Offer",
    Outcome.ACCEPTED: "Accepted",
    Outcome.DECLINED: "I declined",
    Outcome.REJECTED: "Rejected",
    Outcome.WITHDREW: "Withdrew",
}
ROLE_LABELS = {
    ParticipantRole.INTERVIEWER: "Interviewer",
    ParticipantRole.RECRUITER: "Recruiter",
    ParticipantRole.HIRING_MANAGER: "Hiring manager",
    ParticipantRole.OTHER: "Other",
}
INTEREST_LABELS = {
    1: "1 – not interested",
    2: "2",
    3: "3 – maybe",
    4: "4",
    5: "5 – very interested",
}

NAME_MAX = 200
NOTES_MAX = 10_000


# Control characters nobody types on purpose; PostgreSQL refuses NUL outright.
_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")


def strip(value: str | None) -> str | None:
    """Trim surrounding space and drop invisible control characters."""
    return value.translate(_CONTROL).strip() if isinstance(value, str) else value


def zone_choices() -> list[str]:
    """IANA zones a person would pick: Area/City names and UTC, sorted."""
    skip = (
        "Etc/",
        "SystemV/",
        "posix/",
        "right/",
        "US/",
        "Canada/",
        "Mexico/",
        "Brazil/",
        "Chile/",
    )
    zones = {z for z in available_timezones() if "/" in z and not z.startswith(skip)}
    return ["UTC", *sorted(zones)]


EARLIEST_DATE, LATEST_DATE = date(1950, 1, 1), date(2100, 12, 31)


def plausible_date(form, field) -> None:
    """A date far outside a working life is a typo (and overflows the playbook's sums)."""
    if field.data is not None and not EARLIEST_DATE <= field.data <= LATEST_DATE:
        raise ValidationError(f"Enter a date between {EARLIEST_DATE.year} and {LATEST_DATE.year}.")


def web_url(form, field) -> None:
    """Accept only http and https addresses (no javascript:, data: or relative links)."""
    if not field.data:
        return
    parts = urlsplit(field.data)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValidationError("Enter a web address starting with https:// or http://.")


def acceptable_password(form, field) -> None:
    problem = password_problem(field.data or "")
    if problem:
        raise StopValidation(problem)


class RegisterForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired("Enter your email address."), Email(), Length(max=254)],
        filters=[strip],
    )
    password = PasswordField(
        "Password",
        validators=[InputRequired("Choose a password."), acceptable_password],
        description=f"At least 8 characters; up to {MAX_PASSWORD_LENGTH}. A phrase works well.",
    )
    timezone = SelectField("Time zone", validators=[DataRequired()])
    submit = SubmitField("Create account")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = zone_choices()


class LoginForm(FlaskForm):
    email = EmailField(
        "Email", validators=[DataRequired("Enter your email address.")], filters=[strip]
    )
    password = PasswordField("Password", validators=[InputRequired("Enter your password.")])
    submit = SubmitField("Log in")


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[InputRequired("Enter your current password.")]
    )
    new_password = PasswordField(
        "New password", validators=[InputRequired("Choose a new password."), acceptable_password]
    )
    submit = SubmitField("Change password")


class PasswordCheckForm(FlaskForm):
    """The current password, asked again before a change to how the account logs in."""

    password = PasswordField(
        "Current password", validators=[InputRequired("Enter your current password.")]
    )
    submit = SubmitField("Confirm")


class TwoFactorSetupForm(PasswordCheckForm):
    code = StringField(
        "Code from the app",
        validators=[InputRequired("Enter the 6-digit code the app shows."), Length(max=20)],
        filters=[strip],
    )


class SecondStepForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[InputRequired("Enter the code from your app."), Length(max=40)],
        filters=[strip],
        description="The 6 digits your authenticator app shows, or one of your recovery codes.",
    )
    submit = SubmitField("Log in")


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired("Enter your email address."), Length(max=254)],
        filters=[strip],
    )
    submit = SubmitField("Email me a link")


class NewPasswordForm(FlaskForm):
    new_password = PasswordField(
        "New password", validators=[InputRequired("Choose a new password."), acceptable_password]
    )
    submit = SubmitField("Set the new password")


class ProfileForm(FlaskForm):
    timezone = SelectField("Time zone", validators=[DataRequired()])
    submit = SubmitField("Save")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = zone_choices()


class PersonForm(Form):
    """One person met at an interview; a row left entirely blank is ignored."""

    contact_id = SelectField(
        "Someone you have met before",
        coerce=int,
        default=0,
        choices=[SelectChoice(0, "Someone new")],
        invalid_choice_message="Pick someone from the list, or “Someone new” and type a name.",
    )
    name = StringField("Name", validators=[Length(max=NAME_MAX)], filters=[strip])
    title = StringField("Job title", validators=[Length(max=NAME_MAX)], filters=[strip])
    email = EmailField(
        "Email",
        validators=[
            Optional(),
            Email("Enter an email address like dana@example.com."),
            Length(max=254),
        ],
        filters=[strip],
    )
    phone = StringField("Phone", validators=[Length(max=50)], filters=[strip])
    linkedin_url = StringField(
        "LinkedIn URL", validators=[Length(max=500), web_url], filters=[strip]
    )
    role = SelectField(
        "Role in this interview",
        choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()],
        default=ParticipantRole.INTERVIEWER.value,
    )
    topics = TextAreaField(
        "What you talked about", validators=[Length(max=NOTES_MAX)], filters=[strip]
    )
    remove = BooleanField("Remove this person")

    def validate(self, extra_validators=None) -> bool:
        """A row marked for removal is not saved, so what it holds is not checked either."""
        if self.remove.data:
            return True
        return super().validate(extra_validators)

    def is_blank(self) -> bool:
        return not (
            self.contact_id.data
            or self.name.data
            or self.title.data
            or self.email.data
            or self.phone.data
            or self.linkedin_url.data
            or self.topics.data
        )

    def validate_name(self, field) -> None:
        if (
            not field.data
            and not self.contact_id.data
            and not self.is_blank()
            and not self.remove.data
        ):
            raise ValidationError("Enter the person's name, or leave the whole row empty.")


class InterviewForm(FlaskForm):
    organisation = StringField(
        "Organisation",
        validators=[DataRequired("Enter the organisation's name."), Length(max=NAME_MAX)],
        filters=[strip],
        description="Pick one you have already or type a new name.",
    )
    role = StringField(
        "Role",
        validators=[DataRequired("Enter the role you interviewed for."), Length(max=NAME_MAX)],
        filters=[strip],
    )
    held_on = DateField(
        "Date", validators=[InputRequired("Enter the date of the interview."), plausible_date]
    )
    start_time = TimeField("Time", validators=[Optional()], description="Optional.")
    stage = SelectField(
        "Stage", choices=[SelectChoice(s.value, label) for s, label in STAGE_LABELS.items()]
    )
    outcome = SelectField(
        "Outcome", choices=[SelectChoice(o.value, label) for o, label in OUTCOME_LABELS.items()]
    )
    interest = IntegerField(
        "Interest in this organisation later (1–5)",
        default=3,
        validators=[
            InputRequired("Enter a number from 1 to 5."),
            NumberRange(1, 5, "Enter a number from 1 to 5."),
        ],
    )
    notes = TextAreaField("Notes", validators=[Length(max=NOTES_MAX)], filters=[strip])
    people = FieldList(FormField(PersonForm), min_entries=1, max_entries=50)
    add_person = SubmitField("Add another person")
    submit = SubmitField("Save interview")

    def people_rows(self) -> list[PersonForm]:
        """The rows to save: not blank and not marked for removal."""
        return [e.form for e in self.people if not e.form.is_blank() and not e.form.remove.data]


class OrganisationForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[DataRequired("Enter the organisation's name."), Length(max=NAME_MAX)],
        filters=[strip],
    )
    website = StringField("Website", validators=[Length(max=500), web_url], filters=[strip])
    notes = TextAreaField("Notes", validators=[Length(max=NOTES_MAX)], filters=[strip])
    submit = SubmitField("Save")


class ContactForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[DataRequired("Enter the person's name."), Length(max=NAME_MAX)],
        filters=[strip],
    )
    email = EmailField(
        "Email",
        validators=[
            Optional(),
            Email("Enter an email address like dana@example.com."),
            Length(max=254),
        ],
        filters=[strip],
    )
    phone = StringField("Phone", validators=[Length(max=50)], filters=[strip])
    linkedin_url = StringField(
        "LinkedIn URL", validators=[Length(max=500), web_url], filters=[strip]
    )
    notes = TextAreaField("Notes", validators=[Length(max=NOTES_MAX)], filters=[strip])
    remind = BooleanField("Remind me to follow up with this person", default=True)
    submit = SubmitField("Save")


class MoveForm(FlaskForm):
    """A contact changed jobs: a new position, the current one ends that day."""

    organisation = StringField(
        "New organisation",
        validators=[DataRequired("Enter the organisation's name."), Length(max=NAME_MAX)],
        filters=[strip],
    )
    title = StringField("Job title", validators=[Length(max=NAME_MAX)], filters=[strip])
    started_on = DateField(
        "Started on", validators=[Optional(), plausible_date], description="Optional."
    )
    submit = SubmitField("Record the move")


class ConfirmForm(FlaskForm):
    """A bare form for POST-only actions such as delete and logout: CSRF token only."""

    submit = SubmitField("Confirm")


INTERACTION_LABELS = {
    InteractionKind.EMAIL: "Email",
    InteractionKind.CALL: "Call",
    InteractionKind.COFFEE: "Coffee",
    InteractionKind.MESSAGE: "Message",
    InteractionKind.MEETING: "Meeting",
    InteractionKind.OTHER: "Other",
}


class DoneForm(FlaskForm):
    """Done, optionally saying what was done (which logs an interaction)."""

    kind = SelectField(
        "How",
        choices=[SelectChoice(k.value, label) for k, label in INTERACTION_LABELS.items()],
        default=InteractionKind.EMAIL.value,
    )
    note = TextAreaField(
        "What you did (optional)", validators=[Length(max=NOTES_MAX)], filters=[strip]
    )
    submit = SubmitField("Done")


class SnoozeForm(FlaskForm):
    period = SelectField(
        "Snooze for",
        choices=[
            SelectChoice("week", "1 week"),
            SelectChoice("month", "1 month"),
            SelectChoice("date", "Until a date"),
        ],
        default="week",
    )
    until = DateField("Until", validators=[Optional()])
    submit = SubmitField("Snooze")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if valid and self.period.data == "date" and self.until.data is None:
            self.until.errors.append("Pick the date to snooze until.")
            return False
        return valid


class FollowUpForm(FlaskForm):
    """A manual follow-up, or the editable parts of any follow-up."""

    title = StringField(
        "What to do",
        validators=[Length(max=300)],
        filters=[strip],
        description="For example: Send Dana the article about team topologies.",
    )
    due_on = DateField("Due on", validators=[InputRequired("Enter the date it is due.")])
    due_time = TimeField("Time", validators=[Optional()], description="Optional.")
    note = TextAreaField("Note", validators=[Length(max=NOTES_MAX)], filters=[strip])
    submit = SubmitField("Save follow-up")


class InteractionForm(FlaskForm):
    kind = SelectField(
        "Kind",
        choices=[SelectChoice(k.value, label) for k, label in INTERACTION_LABELS.items()],
        default=InteractionKind.EMAIL.value,
    )
    occurred_on = DateField("Date", validators=[InputRequired("Enter the date.")])
    note = TextAreaField("Note", validators=[Length(max=NOTES_MAX)], filters=[strip])
    submit = SubmitField("Log interaction")


class DaysField(IntegerField):
    """A whole number of days, with a plain message when the text is not one."""

    def process_formdata(self, valuelist: list) -> None:
        if not valuelist:
            return
        text = valuelist[0].strip() if isinstance(valuelist[0], str) else valuelist[0]
        if text == "":
            self.data = None
            return
        try:
            self.data = int(text)
        except (TypeError, ValueError):
            self.data = None
            raise ValueError("Enter a whole number of days, like 7.") from None

    def pre_validate(self, form) -> None:
        if self.process_errors:
            raise StopValidation()  # One message is enough: the range adds nothing.


def days(label: str, low: int, high: int, description: str = "") -> DaysField:
    message = f"Enter a whole number from {low} to {high}."
    return DaysField(
        label,
        validators=[InputRequired(message), NumberRange(low, high, message)],
        description=description,
    )


DIGEST_HOURS = [SelectChoice(hour, f"{hour:02d}:00") for hour in range(24)]


def hour_or_none(value) -> int | None:
    """The hour posted; None for text that is not one, which the choices then refuse."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# The playbook numbers on the settings page, in the order they are shown.
PLAYBOOK_FIELDS = (
    "thank_you_after_days",
    "stale_after_days",
    "feedback_after_days",
    "status_check_after_days",
    "first_check_in_days",
    "second_check_in_days",
    "repeat_check_in_days",
)


class SettingsForm(FlaskForm):
    """The daily digest and every number of the follow-up playbook."""

    digest_enabled = BooleanField("Send me a daily digest email when something is due")
    digest_hour = SelectField(
        "Send the digest at",
        coerce=hour_or_none,
        choices=DIGEST_HOURS,
        invalid_choice_message="Pick an hour from the list.",
    )
    thank_you_after_days = days(
        "Thank-you note: days after the interview", 0, 60, "0 means the same day."
    )
    stale_after_days = days(
        "Don't plan anything already more than N days overdue",
        0,
        365,
        "Logging an old interview then adds no pile of overdue reminders.",
    )
    feedback_after_days = days("Ask for feedback N days after a rejection", 1, 365)
    status_check_after_days = days("Status check N days after an interview with no news", 1, 365)
    first_check_in_days = days(
        "First check-in N days after",
        1,
        3650,
        "After an interview you declined, withdrew from, were offered or rejected at.",
    )
    second_check_in_days = days("Second check-in N days after", 1, 3650)
    repeat_check_in_days = days("Then every N days", 1, 3650)
    submit = SubmitField("Save settings")

    def validate_second_check_in_days(self, field) -> None:
        first = self.first_check_in_days.data
        if isinstance(first, int) and isinstance(field.data, int) and field.data <= first:
            raise ValidationError("Make the second check-in later than the first.")
