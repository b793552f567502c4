"""The link between a person at an identity provider and a kidrate account, and an organisation's
provider and rules as kidrate.sign_on.rules reads them."""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kidrate.models import Organisation, SignOnProvider, User, UserIdentity, utcnow
from kidrate.sign_on.rules import Account, GroupRole, Rules


def subject_hash(issuer: str, subject: str) -> str:
    return hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()


def provider_of(session: Session, organisation_id: int) -> SignOnProvider | None:
    return session.scalar(select(SignOnProvider).where(SignOnProvider.organisation_id == organisation_id))


def sign_in_choices(session: Session) -> list[tuple[int, str]]:
    """(organisation id, organisation name) of every organisation whose staff may sign in through its
    provider, for the sign-in page. The names are the installation operator's, not an admin's."""
    return [(org_id, name) for org_id, name in session.execute(
        select(Organisation.id, Organisation.name)
        .join(SignOnProvider, SignOnProvider.organisation_id == Organisation.id)
        .where(SignOnProvider.enabled).order_by(Organisation.name))]


def enabled_provider(session: Session, organisation_id: int) -> SignOnProvider | None:
    """The organisation's provider, where its staff may sign in through it."""
    provider = provider_of(session, organisation_id)
    return provider if provider is not None and provider.enabled else None


def passwords_off(session: Session, user: User) -> bool:
    """The user's organisation signs in through its provider only."""
    provider = enabled_provider(session, user.organisation_id)
    return provider is not None and provider.passwords_off


def rules_of(provider: SignOnProvider) -> Rules:
    return Rules(
        organisation_id=provider.organisation_id,
        trust_email=provider.trust_email,
        group_roles=tuple(GroupRole(r["group"], r["role"], r.get("unit_id")) for r in provider.group_roles or ()),
        create_users=provider.create_users,
        mfa_acr_values=tuple(provider.mfa_acr_values or ()),
        mfa_rule=provider.mfa_rule,
    )


def account_of(user: User | None) -> Account | None:
    if user is None:
        return None
    return Account(id=user.id, organisation_id=user.organisation_id, active=user.active, role=user.role,
                   unit_id=user.unit_id)


def _identity(session: Session, issuer: str, subject: str) -> UserIdentity | None:
    return session.scalar(select(UserIdentity).where(UserIdentity.issuer == issuer,
                                                     UserIdentity.subject_hash == subject_hash(issuer, subject)))


def linked_user(session: Session, issuer: str, subject: str) -> User | None:
    identity = _identity(session, issuer, subject)
    return identity.user if identity is not None else None


def identity_of(session: Session, user: User) -> UserIdentity | None:
    return session.scalar(select(UserIdentity).where(UserIdentity.user_id == user.id))


def link(session: Session, user: User, issuer: str, subject: str) -> UserIdentity:
    """Link the person to the account (an account has one link: a new one replaces the old). Not committed."""
    unlink(session, user)
    identity = UserIdentity(user_id=user.id, issuer=issuer, subject_hash=subject_hash(issuer, subject))
    session.add(identity)
    return identity


def unlink(session: Session, user: User) -> int:
    """Remove the account's link to a person at a provider; how many there were. Not committed."""
    return session.execute(delete(UserIdentity).where(UserIdentity.user_id == user.id)).rowcount


def used(session: Session, issuer: str, subject: str) -> None:
    identity = _identity(session, issuer, subject)
    if identity is not None:
        identity.last_used_at = utcnow()
