"""Small factories for test data: each makes one thing, with defaults that can be overridden."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kidrate.models import Case, Organisation, Problem, Unit, User, utcnow
from kidrate.protection import two_factor
from kidrate.protection.accounts import hash_password
from kidrate.red_thread import cases, links


class Factory:
    PASSWORD = "correct horse battery"

    def __init__(self, session: Session, app) -> None:
        self.session = session
        self.app = app
        self._org: Organisation | None = None
        self._units: dict[str, Unit] = {}
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def org(self) -> Organisation:
        if self._org is None:
            self._org = Organisation(name="Testkommun")
            self.session.add(self._org)
            self.session.commit()
        return self._org

    def unit(self, kind: str = "authority", name: str | None = None) -> Unit:
        key = name or kind
        if key not in self._units:
            unit = Unit(organisation_id=self.org().id, name=name or f"{kind} unit", kind=kind)
            self.session.add(unit)
            self.session.commit()
            self._units[key] = unit
        return self._units[key]

    def user(self, role: str, unit: Unit | None = None, username: str | None = None, **fields) -> User:
        with self.app.app_context():  # argon2 settings come from the app
            password_hash = hash_password(self.PASSWORD)
        if unit is None and role in {"social_worker", "therapist"}:
            unit = self.unit("authority" if role == "social_worker" else "open_care")
        user = User(
            organisation_id=self.org().id, unit_id=unit.id if unit else None,
            username=username or f"{role}{self._next()}", display_name=f"{role} {self._n}", role=role,
            password_hash=password_hash, locale="en", **fields,
        )
        self.session.add(user)
        self.session.commit()
        return user

    def outsider(self, role: str, username: str, **fields) -> User:
        """A user of a second organisation ("Annan kommun"), who may sign in: for the walls between them."""
        with self.app.app_context():  # argon2 settings come from the app; leaving it ends the session
            password_hash = hash_password(self.PASSWORD)
        other = self.session.scalar(select(Organisation).where(Organisation.name == "Annan kommun"))
        if other is None:
            other = Organisation(name="Annan kommun")
            self.session.add(other)
            self.session.flush()
        user = User(organisation_id=other.id, username=username, display_name=f"{role} {username}", role=role,
                    password_hash=password_hash, locale="en", **fields)
        self.session.add(user)
        self.session.commit()
        return user

    def user_with_totp(self, role: str, **kwargs) -> tuple[User, str, list[str]]:
        """A user with two-factor sign-in on: the user, the TOTP secret and the recovery codes."""
        secret = two_factor.new_secret()
        codes = two_factor.new_recovery_codes()
        user = self.user(role, totp_secret=secret, totp_enabled_at=utcnow(),
                         recovery_codes=[two_factor.recovery_hash(c) for c in codes], **kwargs)
        return user, secret, codes

    def case(self, social_worker: User, *, therapist: User | None = None, words=("Pappa slår mig.",),
             investigation=(), case_ref: str | None = None, **fields) -> Case:
        values = dict(case_ref=case_ref or f"BOU-{self._next()}", age=11, gender="girl", child_language="sv",
                      family_languages=["sv"], intervention_types=["traditional"],
                      follow_up_date=date.today() + timedelta(days=60))
        values.update(fields)
        social_worker = self.session.get(User, social_worker.id)
        case = cases.open_case(self.session, social_worker, **values)
        for w in words:
            case.problems.append(Problem(source="child", words=w, words_language="sv",
                                         category="violence_abuse", goal="Trygg hemma"))
        for w in investigation:
            case.problems.append(Problem(source="investigation", words=w, category="parenting"))
        self.session.flush()
        if therapist is not None:
            cases.assign(case, self.session.get(User, therapist.id))
        self.session.commit()
        return case

    def link(self, case: Case, kind: str = "start", language: str = "en", days: int = 14) -> str:
        case = self.session.get(Case, case.id)  # the test's copy may be detached by a request in between
        _link, token = links.issue(self.session, case.round(kind), language=language, created_by_id=None,
                                   days=days)
        self.session.commit()
        return token
