"""Demo data for `make run`: one organisation, four staff, one case with a live child link.

Seeds only an empty database. On every run it issues a fresh child link for the demo case (the
token of an earlier one cannot be shown again: only its hash is stored).
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kidrate.config import Settings
from kidrate.models import Case, Organisation, Problem, Unit, User
from kidrate.protection.accounts import hash_password
from kidrate.red_thread import cases, links

DEMO_CASE_REF = "DEMO-2026-001"
DEMO_PASSWORD = "demo-kidrate-2026"  # noqa: S105 - printed for the local demo only
DEMO_USERS = (
    ("socialsekreterare", "Sara Socialsekreterare", "social_worker", "authority"),
    ("behandlare", "Bo Behandlare", "therapist", "open_care"),
    ("analytiker", "Ali Analytiker", "analyst", None),
    ("admin", "Anna Admin", "admin", None),
    ("granskare", "Greta Granskare", "auditor", None),
)
DEMO_CHILD_PROBLEMS = (
    ("Jag blir så rädd när mamma och pappa bråkar att jag skakar.", "family_violence",
     "Barnet ska känna sig trygg hemma."),
    ("Jag går inte till skolan för att jag måste hålla koll på dem hemma.", "school",
     "Barnet går till skolan varje dag."),
    ("Jag har inga kompisar och sitter mest på rummet.", "child_mental_health",
     "Barnet har någon att vara med efter skolan."),
)


def _seed(session: Session) -> Case:
    org = Organisation(name="Demokommunen")
    authority = Unit(organisation=org, name="Barn och unga – utredning", kind="authority")
    open_care = Unit(organisation=org, name="Öppenvården Familjestöd", kind="open_care")
    session.add_all([org, authority, open_care])
    session.flush()
    units = {"authority": authority, "open_care": open_care}
    users = {}
    for username, name, role, unit_kind in DEMO_USERS:
        users[role] = User(organisation_id=org.id, unit_id=units[unit_kind].id if unit_kind else None,
                           username=username, display_name=name, role=role,
                           password_hash=hash_password(DEMO_PASSWORD), locale="sv")
    session.add_all(users.values())
    session.flush()
    case = cases.open_case(
        session, users["social_worker"], case_ref=DEMO_CASE_REF, age=11, gender="girl",
        child_language="sv", family_languages=["sv", "ar"], intervention_types=["traditional"],
        follow_up_date=date.today() + timedelta(days=90),
    )
    for words, category, goal in DEMO_CHILD_PROBLEMS:
        case.problems.append(Problem(source="child", words=words, words_language="sv",
                                     category=category, goal=goal))
    case.problems.append(Problem(source="investigation", words="Föräldrarna har svårt att sätta gränser.",
                                 category="parenting", goal="Föräldrarna hittar fungerande rutiner."))
    session.flush()
    cases.assign(case, users["therapist"])
    return case


def ensure_demo(session: Session, settings: Settings) -> str:
    seeded = session.scalar(select(Organisation.id)) is None
    if seeded:
        case = _seed(session)
    else:
        case = session.scalar(select(Case).where(Case.case_ref == DEMO_CASE_REF, Case.status == "assigned"))
    lines = []
    if seeded:
        lines.append("Demo data created.")
    if case is None:
        session.commit()
        return "\n".join([*lines, "The database holds other data; no demo case to link to."])
    due = cases.next_due(case)
    token = None
    if due.round_kind:
        _link, token = links.issue(session, case.round(due.round_kind), language=case.child_language,
                                   created_by_id=case.therapist_id, days=settings.link_days)
    session.commit()
    lines += [
        "",
        f"Demo sign-in ({settings.base_url}/staff/sign-in), password for all: " + DEMO_PASSWORD,
        *(f"  {role:<14} {username}" for username, _n, role, _u in DEMO_USERS),
    ]
    if token:
        lines += ["", f"Child link for {DEMO_CASE_REF} ({due.round_kind}):", f"  {settings.base_url}/r/{token}"]
    return "\n".join(lines)


DEMO_CLIENT_ID = "kidrate-demo"
DEMO_CLIENT_SECRET = "demo-client-secret-not-for-production"  # noqa: S105 - the local demo's provider only


def connect_demo_provider(session: Session, settings: Settings, issuer: str) -> str:
    """The demo organisation signs in through a local identity provider (`make run-oidc`): each demo user
    is linked to the provider's person of the same login name, as an accepted invitation would link them."""
    from kidrate.sign_on import cli as sign_on_cli
    from kidrate.sign_on import identities

    org = session.scalar(select(Organisation).where(Organisation.name == "Demokommunen"))
    if org is None:
        return "No demo organisation: run `kidrate demo` first."
    sign_on_cli.connect(org, issuer, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, "groups", check=False)
    for username, *_rest in DEMO_USERS:
        user = session.scalar(select(User).where(User.username == username))
        if user is not None:
            identities.link(session, user, issuer, f"demo-{username}")
    session.commit()
    return "\n".join([
        f"Demo identity provider: {issuer}",
        f"Sign in at {settings.base_url}/staff/sign-in with \"Logga in via Demokommunen\", then type a demo",
        "username at the provider (" + ", ".join(u for u, *_r in DEMO_USERS) + "); any other name is",
        "refused there, and \"okand\" is known there but not here (kidrate refuses it).",
    ])
