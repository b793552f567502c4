"""Staff forms (Flask-WTF: CSRF on every one). Labels are lazy so they render in the reader's language."""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from kidrate.notifications.outbox import normalise_address
from kidrate.protection.accounts import PASSWORD_MIN_LENGTH
from kidrate.vocab import (
    CLOSURE_REASONS,
    CLOSURE_REASONS_NEEDING_TEXT,
    GENDERS,
    GOAL_ATTAINMENT,
    INTERVENTION_TYPES,
    INTERVENTIONS_NEEDING_TEXT,
    PARTICIPATION,
    PROBLEM_CATEGORIES,
    ROLES,
    UNIT_KINDS,
    WORKED_WITH,
    YES_PARTLY_NO,
    choices,
)

TEXT_MAX = 2000
# Case references look like "2026-1234" or "BoU 123/26": a personal identity number must not fit.
CASE_REF_SHAPE = re.compile(r"^[A-Za-z0-9ÅÄÖåäö][A-Za-z0-9ÅÄÖåäö /._:-]{1,38}$")
PERSONAL_NUMBER = re.compile(r"(?<!\d)(\d{2})?\d{6}[-+ ]?\d{4}(?!\d)")


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SignInForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=PASSWORD_MIN_LENGTH, max=200,
                                           message=_l("Use at least 12 characters."))],
        render_kw={"autocomplete": "new-password"},
    )
    repeat = PasswordField(_l("Repeat the password"), validators=[DataRequired()],
                           render_kw={"autocomplete": "new-password"})

    def validate_repeat(self, field: PasswordField) -> None:
        if field.data != self.password.data:
            raise ValidationError(_l("The passwords do not match."))


class CodeForm(FlaskForm):
    """The second step of signing in, and turning two-factor off or renewing recovery codes: a code
    from the app or one of the recovery codes."""

    code = StringField(_l("Code"), validators=[DataRequired(message=_l("Enter the code.")), Length(max=40)],
                       description=_l("The 6-digit code from your authenticator app, or one of your recovery "
                                      "codes."),
                       render_kw={"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false"})


class EnrolForm(FlaskForm):
    code = StringField(_l("Code from the app"),
                       validators=[DataRequired(message=_l("Enter the code.")), Length(max=20)],
                       description=_l("The 6 digits the app shows for kidrate now."),
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"})


class ProfileForm(FlaskForm):
    locale = SelectField(_l("Interface language"), choices=[("sv", "Svenska"), ("en", "English")])


class EmptyForm(FlaskForm):
    """A button that changes something: CSRF only."""


class CaseForm(FlaskForm):
    case_ref = StringField(
        _l("Case reference"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("Your own case reference only. Never a name or a personal identity number."),
        render_kw={"autocomplete": "off"},
    )
    age = IntegerField(_l("Age at referral"), validators=[InputRequired(), NumberRange(min=0, max=20)])
    gender = SelectField(_l("Gender (as the child states it)"), choices=choices(GENDERS))
    child_language = SelectField(_l("The child's language"))
    family_languages = CheckboxList(_l("The family's language(s)"), validators=[Optional()])
    intervention_types = CheckboxList(_l("Intervention type(s)"), choices=choices(INTERVENTION_TYPES),
                                      validators=[DataRequired(message=_l("Choose at least one."))])
    # No Optional(): it would stop the chain on an empty field, validate_intervention_text too.
    intervention_text = StringField(_l("Name of the method or intervention"), validators=[Length(max=200)])
    follow_up_date = DateField(_l("Planned follow-up date"), validators=[Optional()])

    def validate_case_ref(self, field: StringField) -> None:
        value = (field.data or "").strip()
        if PERSONAL_NUMBER.search(value):
            raise ValidationError(_l("This looks like a personal identity number. Use the case reference."))
        if not CASE_REF_SHAPE.match(value):
            raise ValidationError(_l("Use letters, digits, spaces and - / . _ : only."))
        field.data = value

    def validate_intervention_text(self, field: StringField) -> None:
        if set(self.intervention_types.data or ()) & INTERVENTIONS_NEEDING_TEXT and not (field.data or "").strip():
            raise ValidationError(_l("Name the method or intervention."))

    def validate_follow_up_date(self, field: DateField) -> None:
        if field.data and field.data < date.today():
            raise ValidationError(_l("The follow-up date cannot be in the past."))


class ProblemForm(FlaskForm):
    # Ids of their own: the case page also holds the translation form, whose fields share these names.
    source = SelectField(choices=[("child", "child"), ("investigation", "investigation")])
    # dir="auto": words typed in Arabic, say, run right to left in the box as they will on the child's page.
    words = TextAreaField(_l("The problem"), validators=[DataRequired(), Length(max=TEXT_MAX)], id="problem-words",
                          render_kw={"dir": "auto"})
    words_language = SelectField(_l("Language of these words"), validators=[Optional()], id="problem-words-language")
    # Starts on "Choose…": a category forgotten must not be recorded as the first one (violence).
    category = SelectField(_l("Category (SU-X)"), choices=[("", _l("Choose…")), *choices(PROBLEM_CATEGORIES)],
                           validators=[DataRequired(message=_l("Choose a category."))], id="problem-category")
    category_text = StringField(_l("Other: which?"), validators=[Optional(), Length(max=200)],
                                id="problem-category-text")
    goal = TextAreaField(_l("Goal"), validators=[Optional(), Length(max=TEXT_MAX)], id="problem-goal")
    goal_with_child = BooleanField(_l("The goal is to be set with the child"), id="problem-goal-with-child")
    # Ticked after the script check's warning: the words are in the chosen language all the same.
    script_confirmed = BooleanField(_l("Yes, the words are in the language chosen"), id="problem-script-confirmed")

    def validate(self, extra_validators=None) -> bool:
        # Here, not in validate_<field>: a field's Optional() stops its chain when empty, inline checks too
        # (which is how "Other" without its description and a child's problem without a goal got through).
        valid = super().validate(extra_validators)
        if self.category.data == "other" and not (self.category_text.data or "").strip():
            self.category_text.errors = [*self.category_text.errors, _l("Say which problem this is.")]
            valid = False
        if self.source.data == "child" and not (self.goal.data or "").strip() and not self.goal_with_child.data:
            self.goal.errors = [*self.goal.errors,
                                _l("Write the goal, or tick that the goal is to be set with the child.")]
            valid = False
        return valid


class ProblemAddedForm(ProblemForm):
    """A problem added after hand-over: an amendment both sides see, so it says why."""

    reason = TextAreaField(_l("Why is it added now?"), validators=[DataRequired(), Length(max=TEXT_MAX)],
                           id="problem-reason")


class CorrectWordsForm(FlaskForm):
    words = TextAreaField(_l("The corrected words"), validators=[DataRequired(), Length(max=TEXT_MAX)],
                          id="correct-words", render_kw={"dir": "auto"})
    words_language = SelectField(_l("Language of these words"), validators=[Optional()], id="correct-words-language")
    reason = TextAreaField(_l("Why are the words corrected?"), validators=[DataRequired(), Length(max=TEXT_MAX)],
                           id="correct-reason")
    script_confirmed = BooleanField(_l("Yes, the words are in the language chosen"), id="correct-script-confirmed")


class WithdrawProblemForm(FlaskForm):
    reason = TextAreaField(_l("Why is the problem withdrawn?"), validators=[DataRequired(), Length(max=TEXT_MAX)],
                           id="withdraw-reason")


class AssignForm(FlaskForm):
    therapist = SelectField(_l("Therapist in open care"), coerce=int,
                            validators=[InputRequired(message=_l("Choose a therapist."))])
    # Set only by the confirmation page, which shows the assignment as the therapist will receive it.
    confirmed = HiddenField()


class IssueLinkForm(FlaskForm):
    language = SelectField(_l("Language of the child's page"))


class ClosureForm(FlaskForm):
    """The fixed part of the closure form; per-problem fields are added by closure_form_for()."""

    reason = SelectField(_l("Closure reason"), choices=choices(CLOSURE_REASONS))
    # No Optional() on the two below: it would stop the chain on an empty field, their validate_* checks too.
    reason_text = TextAreaField(_l("Say why or which"), validators=[Length(max=TEXT_MAX)])
    concern_remaining = RadioField(_l("Is there serious concern remaining at closure?"),
                                   choices=[("yes", _l("Yes")), ("no", _l("No"))],
                                   validators=[InputRequired(message=_l("Answer yes or no."))])
    concern_text = TextAreaField(_l("What concern remains"), validators=[Length(max=TEXT_MAX)])
    new_problems = TextAreaField(_l("New problems found during the intervention"),
                                 validators=[Optional(), Length(max=TEXT_MAX)])
    recommendation = TextAreaField(_l("Recommendation if the child returns"),
                                   validators=[Optional(), Length(max=TEXT_MAX)])
    # Recorded here so that answering it never takes the therapist away from a half-filled form.
    met_alone = RadioField(_l("Have you met the child alone during the intervention?"),
                           choices=[("yes", _l("Yes")), ("no", _l("No"))], validators=[Optional()])

    def validate_reason_text(self, field: TextAreaField) -> None:
        if self.reason.data in CLOSURE_REASONS_NEEDING_TEXT and not (field.data or "").strip():
            raise ValidationError(_l("This closure reason needs an explanation."))

    def validate_concern_text(self, field: TextAreaField) -> None:
        if self.concern_remaining.data == "yes" and not (field.data or "").strip():
            raise ValidationError(_l("Describe the concern that remains."))


class CorrectionForm(FlaskForm):
    note = TextAreaField(_l("What was corrected"), validators=[DataRequired(), Length(max=TEXT_MAX)])


class NewUserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(min=3, max=80)])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=choices(ROLES))
    unit = SelectField(_l("Unit"), coerce=int, validators=[Optional()])
    email = EmailField(_l("E-mail address"), validators=[Optional(), Length(max=254)],
                       description=_l("For e-mail notices and a forgotten password. It can be added later."),
                       filters=[lambda value: (value or "").strip() or None],
                       render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"})

    def validate_username(self, field: StringField) -> None:
        if not re.fullmatch(r"[a-z0-9._-]{3,80}", field.data or ""):
            raise ValidationError(_l("Use lower-case letters, digits and . _ - only."))

    def validate_email(self, field: EmailField) -> None:
        field.data = normalise_address(field.data)
        if field.data is None:
            raise ValidationError(_l("This does not look like an e-mail address."))


class EditUserForm(FlaskForm):
    """An admin changes a staff member's name, role and unit (kidrate/staff/admin.py checks the rules)."""

    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=choices(ROLES))
    unit = SelectField(_l("Unit"), coerce=int, validators=[Optional()])
    # Only asked when admins change their own role: ticked, they mean it.
    confirm_own_role = BooleanField(_l("Yes, change my own role: I will no longer be an administrator."))


class SignOnForm(FlaskForm):
    """An admin connects the organisation's identity provider (kidrate/staff/sign_on.py checks it)."""

    enabled = BooleanField(_l("Staff may sign in through the provider"), default=True)
    issuer = StringField(_l("Issuer address"), validators=[DataRequired(), Length(max=300)],
                         description=_l("As the provider gives it; kidrate reads the rest from "
                                        "/.well-known/openid-configuration."))
    client_id = StringField(_l("Client ID"), validators=[DataRequired(), Length(max=200)])
    client_secret = PasswordField(_l("Client secret"), validators=[Length(max=500)],
                                  description=_l("Kept encrypted. Leave empty to keep the one saved."))
    subject_claim = StringField(_l("Claim that identifies the person"), validators=[Length(max=80)], default="sub",
                                description=_l("“sub” as OpenID Connect defines it; for Microsoft Entra ID, “oid” "
                                               "stays the same across the organisation's services."))
    extra_scopes = StringField(_l("Further scopes to ask for"), validators=[Length(max=200)],
                               description=_l("Besides openid, email and profile; for example groups."))
    trust_email = BooleanField(_l("Match a person to their account here by an e-mail address the provider has "
                                  "verified"),
                               description=_l("Only for a provider that checks the addresses it vouches for. "
                                              "Otherwise each person connects through their invitation."))
    group_claim = StringField(_l("Claim with the person's groups"), validators=[Length(max=80)], default="groups")
    group_roles_text = TextAreaField(
        _l("Groups that give access"),
        description=_l("One a line: “group = role” or “group = role, unit”. The first line that matches decides "
                       "the role and unit at every sign-in. Empty: the user list here decides."))
    create_users = BooleanField(_l("Create an account at the first sign-in for a person whose group gives access"))
    mfa_acr_text = StringField(_l("Assurance levels (acr) that mean more than one factor"),
                               validators=[Length(max=500)],
                               description=_l("Separated by spaces. “mfa” in the sign-in methods (amr) always counts."))
    mfa_rule = RadioField(_l("When the provider does not say it asked for more than one factor"),
                          choices=[("totp", _l("Ask for kidrate's own two-factor code")),
                                   ("refuse", _l("Refuse the sign-in"))], default="totp")
    passwords_off = BooleanField(_l("Staff sign in through the provider only (administrators keep their "
                                    "password as a way back in; each such sign-in is logged)"))


class UnitForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=choices(UNIT_KINDS))


def closure_form_for(problems: list, signals: list = (), **kwargs: object) -> ClosureForm:
    """The closure form for a case: the fixed fields plus, per problem, whether it was worked with
    and (where it has a goal) BBIC goal attainment; the three participation dimensions; and, per safety
    signal not yet handled, what was done about it (filled in, it acknowledges the signal)."""

    class CaseClosureForm(ClosureForm):
        pass

    for s in signals:
        setattr(CaseClosureForm, f"signal_{s.id}", TextAreaField(
            _l("What was done about this signal"), validators=[Optional(), Length(max=TEXT_MAX)]))

    for p in problems:
        setattr(CaseClosureForm, f"worked_{p.id}", RadioField(
            _l("Was it worked with?"), choices=choices(WORKED_WITH),
            validators=[InputRequired(message=_l("Answer for every problem."))]))
        setattr(CaseClosureForm, f"comment_{p.id}", TextAreaField(
            _l("Comment"), validators=[Optional(), Length(max=TEXT_MAX)]))
        if p.goal:
            setattr(CaseClosureForm, f"attain_{p.id}", RadioField(
                _l("Goal attainment (BBIC)"), choices=choices(GOAL_ATTAINMENT),
                validators=[InputRequired(message=_l("Assess every goal."))]))
    for key, label in PARTICIPATION.items():
        setattr(CaseClosureForm, f"part_{key}", RadioField(
            label, choices=choices(YES_PARTLY_NO),
            validators=[InputRequired(message=_l("Answer for each dimension."))]))
    return CaseClosureForm(**kwargs)


class ProblemTranslationForm(FlaskForm):
    """The child's words put into another language, by an interpreter, say. The original stays."""

    # Ids of their own: the case page also holds the add-problem and link forms, with the same names.
    problem = SelectField(_l("Problem"), coerce=int, id="translation-problem")
    language = SelectField(_l("Language"), id="translation-language")
    words = TextAreaField(_l("The child's words in this language"),
                          validators=[DataRequired(), Length(max=TEXT_MAX)], id="translation-words")


class AddedTextTranslationForm(FlaskForm):
    """What the child added in their own words, put into a staff language for the social worker. The
    original stays, and comes first wherever both are shown."""

    language = SelectField(_l("Into"))
    text = TextAreaField(_l("Translation of the child's words"),
                         validators=[DataRequired(message=_l("Write the translation.")), Length(max=TEXT_MAX)])


class CatalogueUploadForm(FlaskForm):
    domain = SelectField(_l("Catalogue"), choices=[("child", _l("The child's pages")), ("messages", _l("Staff"))])
    language = SelectField(_l("Language"))
    file = FileField(_l("Reviewed .po file"), validators=[FileRequired(message=_l("Choose a file."))])
