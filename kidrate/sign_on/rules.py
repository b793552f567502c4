"""Who gets in through an identity provider, and how: pure functions of the ID token's claims, the
organisation's rules and the accounts kidrate already has."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ROLES = ("social_worker", "therapist", "analyst", "admin", "auditor")
# RFC 8176: "mfa" says more than one factor was used.
MFA_AMR = "mfa"


@dataclass(frozen=True)
class Person:
    """What the provider says of the person signing in (from a validated ID token)."""

    subject: str
    email: str | None = None
    email_verified: bool = False
    name: str | None = None
    groups: tuple[str, ...] = ()
    amr: tuple[str, ...] = ()
    acr: str | None = None


@dataclass(frozen=True)
class Account:
    """What kidrate knows of an account that may be the person."""

    id: int
    organisation_id: int
    active: bool
    role: str
    unit_id: int | None


@dataclass(frozen=True)
class GroupRole:
    group: str
    role: str
    unit_id: int | None = None


@dataclass(frozen=True)
class Rules:
    """One organisation's rules for its provider (kidrate.models.SignOnProvider)."""

    organisation_id: int
    trust_email: bool = False
    group_roles: tuple[GroupRole, ...] = ()
    create_users: bool = False
    mfa_acr_values: tuple[str, ...] = ()
    mfa_rule: str = "totp"  # without the provider's multi-factor: "totp" (kidrate's own) or "refuse"


@dataclass(frozen=True)
class Decision:
    """refused is None: the account (or a new one, account None and create) signs in; role and unit
    set by a group where groups decide; totp: kidrate's own second step is asked. Else refused names
    why (a key of REFUSALS in the views), and nothing changes."""

    refused: str | None = None
    account: Account | None = None
    link: bool = False
    create: bool = False
    role: str | None = None
    unit_id: int | None = None
    totp: bool = False


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def person_from_claims(claims: Mapping[str, object], group_claim: str = "groups",
                       subject_claim: str = "sub") -> Person | None:
    """The person from a validated ID token's claims; None without a subject (the claim the organisation
    named, a non-empty string). Other claims of the wrong type count as absent."""
    subject = claims.get(subject_claim or "sub")
    if not isinstance(subject, str) or not subject:
        return None
    email = claims.get("email")
    acr = claims.get("acr")
    name = next((v for v in (claims.get("name"), claims.get("preferred_username")) if isinstance(v, str) and v), None)
    return Person(
        subject=subject,
        email=email.strip().lower() if isinstance(email, str) and email.strip() else None,
        email_verified=claims.get("email_verified") is True,
        name=name,
        groups=_strings(claims.get(group_claim)) if group_claim else (),
        amr=_strings(claims.get("amr")),
        acr=acr if isinstance(acr, str) else None,
    )


def provider_did_mfa(person: Person, rules: Rules) -> bool:
    """The provider says it asked for more than one factor: "mfa" among the methods (amr), or an
    assurance level (acr) the organisation named as multi-factor."""
    return MFA_AMR in person.amr or (person.acr is not None and person.acr in rules.mfa_acr_values)


def group_role(person: Person, rules: Rules) -> GroupRole | None:
    """The first of the organisation's group rules the person's groups match."""
    return next((rule for rule in rules.group_roles if rule.group in person.groups), None)


def decide(person: Person, rules: Rules, *, linked: Account | None, invited: Account | None = None,
           by_email: Account | None = None) -> Decision:
    """Who signs in. linked: the account already linked to this person; invited: the account whose
    invitation started this sign-in; by_email: the organisation's account with the person's e-mail."""
    if linked is not None and invited is not None and linked.id != invited.id:
        return Decision(refused="linked_elsewhere")
    account, link = linked, False
    if account is None and invited is not None:
        account, link = invited, True
    if account is None and rules.trust_email and person.email_verified and by_email is not None:
        account, link = by_email, True
    if account is not None and account.organisation_id != rules.organisation_id:
        return Decision(refused="other_organisation")
    match = group_role(person, rules)
    if rules.group_roles and match is None:
        return Decision(refused="no_group")
    if account is None and not (rules.create_users and match is not None):
        return Decision(refused="unknown_person")
    if account is not None and not account.active:
        return Decision(refused="inactive")
    totp = not provider_did_mfa(person, rules)
    if totp and rules.mfa_rule == "refuse":
        return Decision(refused="no_mfa")
    return Decision(account=account, link=link, create=account is None, role=match.role if match else None,
                    unit_id=match.unit_id if match else None, totp=totp)


def parse_group_lines(text: str, units: Mapping[str, int]) -> tuple[tuple[GroupRole, ...], list[tuple[int, str]]]:
    """The admin's group rules, one a line: `group = role` or `group = role, unit name` (blank lines and
    lines starting with # are skipped). Returns the rules and (line number, problem) for each line that
    is not one: problems are "form" (no "="), "role" (not a role), "unit" (not a unit of the organisation)
    or "twice" (the group already has a rule)."""
    found: list[GroupRole] = []
    problems: list[tuple[int, str]] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        group, equals, rest = _split_rule(line)
        role, _comma, unit = (part.strip() for part in rest.partition(","))
        if not equals or not group or not role:
            problems.append((number, "form"))
        elif role not in ROLES:
            problems.append((number, "role"))
        elif unit and unit not in units:
            problems.append((number, "unit"))
        elif group in seen:
            problems.append((number, "twice"))
        else:
            seen.add(group)
            found.append(GroupRole(group, role, units[unit] if unit else None))
    return tuple(found), problems


def _split_rule(line: str) -> tuple[str, str, str]:
    """(group, "=", role and unit) at the "=" a role follows: a group may be "CN=…,OU=…" and a unit's name
    may hold "=" too. Without such an "=", at the last one (the role is then reported as not one)."""
    at = [i for i, c in enumerate(line) if c == "="]
    for i in at:
        if line[i + 1:].partition(",")[0].strip() in ROLES:
            return line[:i].strip(), "=", line[i + 1:]
    if not at:
        return line, "", ""
    return line[:at[-1]].strip(), "=", line[at[-1] + 1:]


def group_lines(rules: Iterable[GroupRole], unit_names: Mapping[int, str]) -> str:
    """The rules written back as the admin writes them (parse_group_lines reads them again)."""
    return "\n".join(f"{r.group} = {r.role}" + (f", {unit_names[r.unit_id]}" if r.unit_id in unit_names else "")
                     for r in rules)
