"""The data model, in the order the red thread runs: who works where, the case and its assignment,
the child's rating rounds and links, closure, the handover back, and the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# The child's words and professionals' free text are encrypted at rest (kidrate/protection/crypto.py); codes,
# dates, numbers and the case reference stay plain, so that reports and search work in SQL.
from kidrate.protection.crypto import EncryptedBytes, EncryptedJSON, EncryptedText


def utcnow() -> datetime:
    """Naive UTC: the same on SQLite (no time zones) and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    # Named constraints, so Alembic can drop and alter them on both databases.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: DateTime(), date: Date(), str: String(200)}


# --- Organisation and staff -------------------------------------------------------------------


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    units: Mapped[list[Unit]] = relationship(back_populates="organisation", order_by="Unit.name")


class Unit(Base):
    __tablename__ = "unit"
    __table_args__ = (CheckConstraint("kind IN ('authority', 'open_care')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    name: Mapped[str]
    kind: Mapped[str] = mapped_column(String(20))

    organisation: Mapped[Organisation] = relationship(back_populates="units")


class User(Base):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("role IN ('social_worker', 'therapist', 'analyst', 'admin', 'auditor')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    # None until the invitation is accepted; the invitation link is bound to this value.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str] = mapped_column(String(10), default="sv")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Two-factor sign-in: the TOTP secret (None until enrolled), the last time step accepted (a code
    # is never accepted twice) and SHA-256 hashes of the unused recovery codes.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText("user_account.totp_secret"))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]
    recovery_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Failed sign-ins in a row, and until when the account is locked after too many.
    failed_sign_ins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]

    # May download record-level data (the per-case SU-X export): an analyst's named permission,
    # granted by an admin, audited.
    may_export_records: Mapped[bool] = mapped_column(default=False)

    # Where e-mail notices and a forgotten password's link go (lower case; None: no e-mail), and the
    # kinds of notice the user has switched off (kidrate/notifications/outbox.py): new kinds start on.
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    notifications_off: Mapped[list[str]] = mapped_column(JSON, default=list)

    unit: Mapped[Unit | None] = relationship()


class StaffSession(Base):
    """A signed-in session's server-side identity: the cookie holds a random id, this row its hash.
    Signing out, deactivation, a new password, a two-factor reset and the tablet hand-over end it,
    and an ended session never comes back, whatever copy of the cookie is presented."""

    __tablename__ = "staff_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(20))
    # The device is in a child's hands (the tablet hand-over): the lock, and the link it opened,
    # live here, not in the cookie.
    locked: Mapped[bool] = mapped_column(default=False)
    hand_over_link_id: Mapped[int | None] = mapped_column(ForeignKey("child_link.id", ondelete="SET NULL"))
    # Signed in through the organisation's identity provider: signing out ends the provider's session
    # too, and the session lasts at most a working day (the provider is asked again after that).
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("sign_on_provider.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship()


class SignOnProvider(Base):
    """An organisation's identity provider (OpenID Connect): its staff sign in there, under the
    provider's own multi-factor rules, instead of with a kidrate password. One per organisation, set by
    its admin; the client secret is encrypted at rest."""

    __tablename__ = "sign_on_provider"
    __table_args__ = (CheckConstraint("mfa_rule IN ('totp', 'refuse')", name="mfa_rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), unique=True)
    issuer: Mapped[str] = mapped_column(String(300))
    client_id: Mapped[str] = mapped_column(String(200))
    client_secret: Mapped[str] = mapped_column(EncryptedText("sign_on_provider.client_secret"))
    # The ID token's claim that identifies the person, stable for as long as they work there: "sub" as
    # OpenID Connect defines it, or e.g. Entra ID's "oid".
    subject_claim: Mapped[str] = mapped_column(String(80), default="sub")
    enabled: Mapped[bool] = mapped_column(default=True)
    # A verified e-mail claim may find the person's kidrate account (the admin's choice: only for a
    # provider that verifies the addresses it vouches for).
    trust_email: Mapped[bool] = mapped_column(default=False)
    # The provider's groups decide role and unit: [{"group": "...", "role": "...", "unit_id": n | None}],
    # the first match wins; empty: kidrate's own user list decides.
    group_claim: Mapped[str] = mapped_column(String(80), default="groups")
    # Scopes asked for beyond "openid email profile" (some providers send groups only when asked).
    extra_scopes: Mapped[str] = mapped_column(String(200), default="")
    group_roles: Mapped[list[dict]] = mapped_column(JSON, default=list)
    # A person a group lets in but with no kidrate account yet gets one (only with group_roles).
    create_users: Mapped[bool] = mapped_column(default=False)
    # Without a multi-factor claim ("mfa" in amr, or one of these acr values): kidrate's own TOTP, or no.
    mfa_acr_values: Mapped[list[str]] = mapped_column(JSON, default=list)
    mfa_rule: Mapped[str] = mapped_column(String(10), default="totp")
    # Staff of the organisation sign in through the provider only; admins keep a password as an audited
    # way back in when the provider fails.
    passwords_off: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserIdentity(Base):
    """A person at an identity provider, linked to a kidrate account: the issuer and a hash of the
    provider's subject identifier (kidrate never needs it in the clear)."""

    __tablename__ = "user_identity"
    __table_args__ = (UniqueConstraint("issuer", "subject_hash", name="uq_user_identity_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    issuer: Mapped[str] = mapped_column(String(300))
    subject_hash: Mapped[str] = mapped_column(String(64))
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class OrganisationCatalogue(Base):
    """An organisation's own reviewed translation catalogue: replaces the installation's catalogue
    of one audience and language for that organisation's staff and children only."""

    __tablename__ = "organisation_catalogue"
    __table_args__ = (UniqueConstraint("organisation_id", "domain", "locale", name="uq_organisation_catalogue"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(20))
    locale: Mapped[str] = mapped_column(String(10))
    # The uploaded .po file as it was checked (messages that did not fit their source left out).
    po: Mapped[bytes] = mapped_column(LargeBinary)
    review_state: Mapped[str] = mapped_column(String(20))
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)
    installed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))


class OutboxMail(Base):
    """An e-mail to a staff member, waiting or sent: to whom, of which kind, and how sending went; never
    what it is about. The message is made from the kind alone when it is sent, so nothing of a child and
    no password-reset link is ever stored here (kidrate/notifications/)."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        CheckConstraint("kind IN ('assigned', 'handover', 'signal', 'follow_up', 'link_expiring', 'amendment', "
                        "'reset')", name="kind"),
        # A notice about one thing is queued once, however often the daily check runs.
        UniqueConstraint("user_id", "kind", "about", name="uq_mail_outbox_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    # Which thing the notice is for, as ids only ("case:12", "link:34"; None for a password reset):
    # what makes it once-only. Never put into the e-mail.
    about: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]
    # Not sent, and never will be: too many failures, refused for good, too old, or no longer wanted.
    gave_up_at: Mapped[datetime | None]
    # Why the last attempt failed, in a few words of the code's own (no address, no content).
    last_error: Mapped[str | None] = mapped_column(String(80))

    user: Mapped[User] = relationship()


# --- The case and the assignment (authority → open care) ---------------------------------------


class Case(Base):
    __tablename__ = "case_record"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'assigned', 'closed')", name="status"),
        CheckConstraint("age BETWEEN 0 AND 20", name="age"),
        CheckConstraint("earlier_episodes IS NULL OR earlier_episodes IN ('no', 'once', 'several', 'unknown')",
                        name="earlier_episodes"),
        # The group report filters closed cases by organisation and closure period.
        Index("ix_case_record_report", "organisation_id", "status", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    # The authority's own case reference: never a name or a personal identity number.
    case_ref: Mapped[str] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    age: Mapped[int]
    gender: Mapped[str] = mapped_column(String(20))
    child_language: Mapped[str] = mapped_column(String(10))
    family_languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    intervention_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    intervention_text: Mapped[str | None] = mapped_column(EncryptedText("case_record.intervention_text"))
    follow_up_date: Mapped[date | None]
    # The child's scale view as the therapist set it; None means "from the child's age".
    scale_view: Mapped[str | None] = mapped_column(String(10))
    # Has the therapist met the child alone? Recorded at follow-up; None: not yet recorded.
    met_child_alone: Mapped[bool | None]
    # SU-X background (questions 1–6): where the child and parents were born (a code of vocab.BORN),
    # the dates referred to open care and started, earlier open-care episodes.
    born: Mapped[str | None] = mapped_column(String(30))
    referred_on: Mapped[date | None]
    started_on: Mapped[date | None]
    earlier_episodes: Mapped[str | None] = mapped_column(String(10))
    # Brought in from an SU-X file (a municipality's history): no child ratings, no child's words.
    imported: Mapped[bool] = mapped_column(default=False)
    authority_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    social_worker_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    open_care_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    therapist_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    assigned_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # When retention removed the case's content, keeping only what group statistics need.
    purged_at: Mapped[datetime | None]

    authority_unit: Mapped[Unit] = relationship(foreign_keys=[authority_unit_id])
    open_care_unit: Mapped[Unit | None] = relationship(foreign_keys=[open_care_unit_id])
    social_worker: Mapped[User] = relationship(foreign_keys=[social_worker_id])
    therapist: Mapped[User | None] = relationship(foreign_keys=[therapist_id])
    problems: Mapped[list[Problem]] = relationship(
        back_populates="case", order_by="(Problem.source, Problem.id)", cascade="all, delete-orphan"
    )
    rounds: Mapped[list[RatingRound]] = relationship(
        back_populates="case", order_by="RatingRound.id", cascade="all, delete-orphan"
    )
    closure: Mapped[Closure | None] = relationship(back_populates="case", cascade="all, delete-orphan")
    handovers: Mapped[list[Handover]] = relationship(
        back_populates="case", order_by="Handover.version", cascade="all, delete-orphan"
    )
    # Read-only: signals are written by red_thread.signals, and go with the case by the database's cascade.
    signals: Mapped[list[SafetySignal]] = relationship(order_by="SafetySignal.id", viewonly=True)

    def round(self, kind: str) -> RatingRound:
        return next(r for r in self.rounds if r.kind == kind)

    def rounds_in_order(self) -> list[RatingRound]:
        return [self.round(kind) for kind in ("start", "follow_up", "closure")]


class Problem(Base):
    __tablename__ = "problem"
    __table_args__ = (
        # "imported": a problem area from an SU-X file, without anyone's words.
        CheckConstraint("source IN ('child', 'investigation', 'imported')", name="source"),
        CheckConstraint("worked_with IS NULL OR worked_with IN ('focus', 'partly', 'no')", name="worked"),
        # A case's problems, and everything the group report reads of them: the report scans this
        # narrow index instead of the rows, which are wide with the encrypted words.
        Index("ix_problem_case_report", "case_id", "source", "category", "worked_with",
              "start_rating", "follow_up_rating", "closure_rating", "withdrawn_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"))
    # "child": named by the child, kept in the child's words; "investigation": found by the authority.
    source: Mapped[str] = mapped_column(String(20))
    words: Mapped[str] = mapped_column(EncryptedText("problem.words"))
    words_language: Mapped[str | None] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(40))
    category_text: Mapped[str | None] = mapped_column(EncryptedText("problem.category_text"))
    goal: Mapped[str | None] = mapped_column(EncryptedText("problem.goal"))
    # Named by the child to the therapist at the start, after the assignment was written.
    added_at_start: Mapped[bool] = mapped_column(default=False)
    # No goal yet, on purpose: the therapist sets it with the child (an open red-thread check until then).
    goal_with_child: Mapped[bool] = mapped_column(default=False)
    # Withdrawn after hand-over (a ProblemAmendment says who, why): kept in the history, never asked again.
    withdrawn_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The therapist's account at closure.
    worked_with: Mapped[str | None] = mapped_column(String(10))
    worked_with_comment: Mapped[str | None] = mapped_column(EncryptedText("problem.worked_with_comment"))
    goal_attainment: Mapped[str | None] = mapped_column(String(20))
    # The child's rating 1–10 in each round, copied from Rating when the child sends
    # (kidrate.rating_summary), so that group statistics need not read every rating.
    start_rating: Mapped[int | None]
    follow_up_rating: Mapped[int | None]
    closure_rating: Mapped[int | None]

    case: Mapped[Case] = relationship(back_populates="problems")
    translations: Mapped[list[ProblemTranslation]] = relationship(
        back_populates="problem", cascade="all, delete-orphan", order_by="ProblemTranslation.language"
    )
    recordings: Mapped[list[Recording]] = relationship(cascade="all, delete-orphan")
    amendments: Mapped[list[ProblemAmendment]] = relationship(
        back_populates="problem", cascade="all, delete-orphan", order_by="ProblemAmendment.id"
    )

    def words_in(self, language: str) -> str | None:
        """The child's words in a language: as said, or as translated by staff; None if neither."""
        if self.words_language in (None, language):
            return self.words
        return next((t.words for t in self.translations if t.language == language), None)


class ProblemAmendment(Base):
    """A visible correction of the assignment after hand-over: the child's words corrected (the earlier
    words kept here), a problem withdrawn, or a problem added. Always with a reason; never a silent edit."""

    __tablename__ = "problem_amendment"
    __table_args__ = (CheckConstraint("kind IN ('words', 'withdraw', 'add')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(EncryptedText("problem_amendment.reason"))
    words_before: Mapped[str | None] = mapped_column(EncryptedText("problem_amendment.words_before"))
    words_language_before: Mapped[str | None] = mapped_column(String(10))
    words_after: Mapped[str | None] = mapped_column(EncryptedText("problem_amendment.words_after"))
    words_language_after: Mapped[str | None] = mapped_column(String(10))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # The role at the time: "the social worker" or "the therapist" amended, whatever the account is later.
    by_role: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    problem: Mapped[Problem] = relationship(back_populates="amendments")
    by: Mapped[User | None] = relationship()


class ProblemTranslation(Base):
    """The child's words put into another language by staff (an interpreter, say). The original stays."""

    __tablename__ = "problem_translation"
    __table_args__ = (UniqueConstraint("problem_id", "language", name="uq_problem_translation_language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(10))
    words: Mapped[str] = mapped_column(EncryptedText("problem_translation.words"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    problem: Mapped[Problem] = relationship(back_populates="translations")


class Recording(Base):
    """A short recording read aloud, for languages the child's device has no voice for: either a
    problem in the child's words (recorded by staff, deleted with the case) or one fixed message of
    the child's catalogue in one language (uploaded by the municipality)."""

    __tablename__ = "recording"
    __table_args__ = (
        CheckConstraint("(problem_id IS NULL) <> (message_key IS NULL)", name="one_subject"),
        # A fixed message is recorded by one organisation, for its own children only.
        CheckConstraint("message_key IS NULL OR organisation_id IS NOT NULL", name="message_organisation"),
        UniqueConstraint("problem_id", "language", name="uq_recording_problem_language"),
        UniqueConstraint("organisation_id", "message_key", "language", name="uq_recording_message_language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    problem_id: Mapped[int | None] = mapped_column(ForeignKey("problem.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    message_key: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(10))
    mime: Mapped[str] = mapped_column(String(40))
    # Loaded only when played: listing recordings never reads their sound.
    data: Mapped[bytes] = mapped_column(EncryptedBytes("recording.data"), deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- The child's rating rounds and one-time links ----------------------------------------------


class RatingRound(Base):
    __tablename__ = "rating_round"
    __table_args__ = (
        UniqueConstraint("case_id", "kind"),
        CheckConstraint("kind IN ('start', 'follow_up', 'closure')", name="kind"),
        CheckConstraint("answered_how IS NULL OR answered_how IN "
                        "('alone', 'with_therapist', 'with_interpreter', 'parent_present', 'unknown')",
                        name="answered_how"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"))
    kind: Mapped[str] = mapped_column(String(20))
    # How the child answered, as the therapist records it: alone, with_therapist, with_interpreter,
    # parent_present or unknown (None: not recorded).
    answered_how: Mapped[str | None] = mapped_column(String(20))
    # Why there is no child rating for this round, when there is none (the therapist's words).
    missing_reason: Mapped[str | None] = mapped_column(EncryptedText("rating_round.missing_reason"))

    case: Mapped[Case] = relationship(back_populates="rounds")
    links: Mapped[list[ChildLink]] = relationship(
        back_populates="round", order_by="ChildLink.id", cascade="all, delete-orphan"
    )
    submission: Mapped[Submission | None] = relationship(back_populates="round", cascade="all, delete-orphan")


class ChildLink(Base):
    __tablename__ = "child_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rating_round.id"), index=True)
    # SHA-256 of the token; the token itself is shown once, to the therapist, and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    language: Mapped[str] = mapped_column(String(10))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    opened_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    round: Mapped[RatingRound] = relationship(back_populates="links")

    def state(self, now: datetime) -> str:
        if self.used_at:
            return "completed"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "opened" if self.opened_at else "issued"


class Submission(Base):
    """The child's answers to one round. One per round, enforced by the database."""

    __tablename__ = "submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rating_round.id"), unique=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("child_link.id"), unique=True)
    # Made on the child's page: a retry of the same submission is recognised as the success it was.
    client_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_text: Mapped[str | None] = mapped_column(EncryptedText("submission.added_text"))

    round: Mapped[RatingRound] = relationship(back_populates="submission")
    ratings: Mapped[list[Rating]] = relationship(back_populates="submission", cascade="all, delete-orphan")
    translations: Mapped[list[SubmissionTranslation]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="SubmissionTranslation.language"
    )


class SubmissionTranslation(Base):
    """What the child added in their own words (Submission.added_text), put into another language by
    staff, for the social worker to read beside the original; the original stays as the child wrote it."""

    __tablename__ = "submission_translation"
    __table_args__ = (UniqueConstraint("submission_id", "language", name="uq_submission_translation_language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(EncryptedText("submission_translation.text"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="translations")


class Rating(Base):
    __tablename__ = "rating"
    __table_args__ = (
        UniqueConstraint("submission_id", "problem_id"),
        CheckConstraint("answer IN ('rated', 'declined', 'dont_know')", name="answer"),
        CheckConstraint(
            "(answer = 'rated' AND value BETWEEN 1 AND 10) OR (answer <> 'rated' AND value IS NULL)",
            name="value",
        ),
        CheckConstraint("good_enough IS NULL OR good_enough BETWEEN 1 AND 10", name="good_enough"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"))
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id"), index=True)
    answer: Mapped[str] = mapped_column(String(20))
    value: Mapped[int | None]
    # Which view of the scale produced the value, and the version of its mapping to 1–10.
    scale_view: Mapped[str] = mapped_column(String(10), default="ten")
    scale_version: Mapped[int] = mapped_column(default=1)
    # At the start: the number at which the child would say it is good enough.
    good_enough: Mapped[int | None]

    submission: Mapped[Submission] = relationship(back_populates="ratings")


# --- Closure and the handover back (open care → authority) -------------------------------------


class SafetySignal(Base):
    """Raised the moment a child's submission holds a sign of danger: a rating of 1 or 2 on a problem
    in the violence categories, or a drop of 3 or more since the last round. It says what happened,
    not what to do. The therapist acknowledges it with a note of what was done; it stays in the case's
    history, with that note, who and when."""

    __tablename__ = "safety_signal"
    __table_args__ = (CheckConstraint("kind IN ('low_violence', 'drop')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"))
    problem_id: Mapped[int] = mapped_column(ForeignKey("problem.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[int]
    previous_value: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # What the therapist did about it, in their words: required when acknowledging (older rows lack it).
    acknowledged_note: Mapped[str | None] = mapped_column(EncryptedText("safety_signal.acknowledged_note"))

    problem: Mapped[Problem] = relationship()
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])


class Closure(Base):
    __tablename__ = "closure"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(40))
    reason_text: Mapped[str | None] = mapped_column(EncryptedText("closure.reason_text"))
    concern_remaining: Mapped[bool]
    concern_text: Mapped[str | None] = mapped_column(EncryptedText("closure.concern_text"))
    new_problems: Mapped[str | None] = mapped_column(EncryptedText("closure.new_problems"))
    participation: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    recommendation: Mapped[str | None] = mapped_column(EncryptedText("closure.recommendation"))
    # Why the handover was sent while a safety signal was still not acknowledged (required then).
    unhandled_signals_reason: Mapped[str | None] = mapped_column(EncryptedText("closure.unhandled_signals_reason"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    case: Mapped[Case] = relationship(back_populates="closure")


class Handover(Base):
    """A sent closure handover: an immutable snapshot. A correction is a new version."""

    __tablename__ = "handover"
    __table_args__ = (UniqueConstraint("case_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)
    version: Mapped[int]
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("handover.id"))
    correction_note: Mapped[str | None] = mapped_column(EncryptedText("handover.correction_note"))
    document: Mapped[dict] = mapped_column(EncryptedJSON("handover.document"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    read_at: Mapped[datetime | None]
    read_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    case: Mapped[Case] = relationship(back_populates="handovers")
    sent_by: Mapped[User] = relationship(foreign_keys=[sent_by_id])


# --- Audit ------------------------------------------------------------------------------------


class AuditEvent(Base):
    """Who did what to which case, when. Never the content, never a token. Only ever inserted."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_case_at", "case_id", "at"),
        Index("ix_audit_event_organisation_at", "organisation_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Whose log this is: the auditor of one organisation sees only its events.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id"))
    target: Mapped[str | None] = mapped_column(String(80))
