"""kidrate.sign_on.rules on its own: who gets in through an identity provider, the claims read from an
ID token, and the admin's group lines. Pure functions: no app, no database."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kidrate.sign_on.rules import (
    ROLES,
    Account,
    Decision,
    GroupRole,
    Person,
    Rules,
    decide,
    group_lines,
    group_role,
    parse_group_lines,
    person_from_claims,
    provider_did_mfa,
)

ORG, OTHER_ORG = 1, 2
MFA = ("pwd", "mfa")


@pytest.fixture(autouse=True)
def clean_database():
    """Overrides the suite's database cleaning: nothing here touches the app or the database."""
    yield


def account(id=10, organisation_id=ORG, active=True, role="social_worker", unit_id=None):
    return Account(id=id, organisation_id=organisation_id, active=active, role=role, unit_id=unit_id)


def person(**kw):
    return Person(**{"subject": "sub-1", "email": "ann@example.org", "amr": MFA, **kw})


def rules(**kw):
    return Rules(**{"organisation_id": ORG, **kw})


# decide(): which account ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("linked", "invited", "signs_in", "link"), [
    (account(), None, account(), False),            # linked already: no new link
    (None, account(id=11), account(id=11), True),   # an invitation links
    (account(), account(), account(), False),       # an invitation for the linked account itself
])
def test_linked_or_invited_account_signs_in(linked, invited, signs_in, link):
    assert decide(person(), rules(), linked=linked, invited=invited) == Decision(account=signs_in, link=link)


def test_person_linked_to_another_account_than_the_invited_one_is_refused():
    got = decide(person(), rules(trust_email=True, create_users=True), linked=account(id=10),
                 invited=account(id=11), by_email=account(id=10))
    assert got == Decision(refused="linked_elsewhere")


@pytest.mark.parametrize(("trust", "verified", "found"), [
    (True, True, True), (True, False, False), (False, True, False), (False, False, False)])
def test_e_mail_links_only_when_trusted_and_verified(trust, verified, found):
    by_email = account(id=12)
    got = decide(person(email_verified=verified), rules(trust_email=trust), linked=None, by_email=by_email)
    assert got == (Decision(account=by_email, link=True) if found else Decision(refused="unknown_person"))


def test_linked_and_invited_accounts_win_over_the_e_mail_match():
    linked, invited, by_email = account(id=10), account(id=11), account(id=12)
    trusted, verified = rules(trust_email=True), person(email_verified=True)
    assert decide(verified, trusted, linked=linked, by_email=by_email).account == linked
    assert decide(verified, trusted, linked=None, invited=invited, by_email=by_email).account == invited


@pytest.mark.parametrize("which", ["linked", "invited", "by_email"])
def test_account_of_another_organisation_is_refused(which):
    accounts = {"linked": None, "invited": None, "by_email": None, which: account(organisation_id=OTHER_ORG)}
    got = decide(person(email_verified=True), rules(trust_email=True, create_users=True,
                                                   group_roles=(GroupRole("staff", "therapist"),)),
                 **accounts)
    assert got == Decision(refused="other_organisation")


STAFF = (GroupRole("staff", "therapist", 3),)


@pytest.mark.parametrize(("create_users", "group_roles", "created"), [
    (False, (), False), (True, (), False),  # create_users alone: no group says which role
    (False, STAFF, False), (True, STAFF, True)])
def test_a_person_without_an_account_is_created_only_with_create_users_and_a_matching_group(
        create_users, group_roles, created):
    got = decide(person(groups=("staff",)), rules(create_users=create_users, group_roles=group_roles), linked=None)
    assert got == (Decision(account=None, link=False, create=True, role="therapist", unit_id=3, totp=False)
                   if created else Decision(refused="unknown_person"))


@pytest.mark.parametrize("groups", [(), ("other",), ("STAFF",)])
def test_configured_groups_refuse_a_person_in_none_of_them_even_when_linked(groups):
    r = rules(create_users=True, group_roles=(GroupRole("staff", "therapist"),))
    assert decide(person(groups=groups), r, linked=account()) == Decision(refused="no_group")


def test_group_sets_role_and_unit_of_an_existing_account_and_without_group_rules_they_stay_unset():
    r = rules(group_roles=(GroupRole("leads", "admin", 7),))
    got = decide(person(groups=("leads",)), r, linked=account(role="therapist", unit_id=None))
    assert got == Decision(account=account(role="therapist"), role="admin", unit_id=7)
    assert decide(person(groups=("leads",)), rules(), linked=account()) == Decision(account=account())


def test_first_matching_group_rule_wins_whatever_the_order_of_the_persons_groups():
    r = rules(group_roles=(GroupRole("a", "analyst", 1), GroupRole("b", "admin", 2), GroupRole("c", "auditor")))
    p = person(groups=("c", "b"))
    assert group_role(p, r) == GroupRole("b", "admin", 2)
    assert (decide(p, r, linked=account()).role, decide(p, r, linked=account()).unit_id) == ("admin", 2)
    assert group_role(person(groups=("x",)), r) is None


@pytest.mark.parametrize("which", ["linked", "invited", "by_email"])
def test_inactive_account_is_refused(which):
    accounts = {"linked": None, "invited": None, "by_email": None, which: account(active=False)}
    got = decide(person(email_verified=True), rules(trust_email=True), **accounts)
    assert got == Decision(refused="inactive")


# decide(): the second factor --------------------------------------------------------------------------------

@pytest.mark.parametrize(("amr", "acr", "acr_values", "did"), [
    (("pwd", "mfa"), None, (), True),
    (("mfa",), "basic", (), True),
    (("pwd", "otp"), None, (), False),          # only "mfa" itself counts among the methods
    (("pwd",), "urn:gold", ("urn:gold", "2"), True),
    (("pwd",), "urn:silver", ("urn:gold",), False),
    ((), None, ("urn:gold",), False),
    (("MFA",), None, (), False),
])
def test_provider_did_mfa(amr, acr, acr_values, did):
    r = rules(mfa_acr_values=acr_values)
    p = person(amr=amr, acr=acr)
    assert provider_did_mfa(p, r) is did
    assert decide(p, rules(mfa_acr_values=acr_values, mfa_rule="totp"), linked=account()) == (
        Decision(account=account(), totp=not did))
    assert decide(p, rules(mfa_acr_values=acr_values, mfa_rule="refuse"), linked=account()) == (
        Decision(account=account(), totp=False) if did else Decision(refused="no_mfa"))


def test_refusals_come_before_the_mfa_check():
    refuse = rules(mfa_rule="refuse")
    assert decide(person(amr=()), refuse, linked=account(active=False)).refused == "inactive"
    assert decide(person(amr=()), refuse, linked=None).refused == "unknown_person"


# person_from_claims() ---------------------------------------------------------------------------------------

def test_all_claims_read():
    claims = {"sub": "abc", "email": "  Ann.Smith@Example.ORG ", "email_verified": True, "name": "Ann",
              "groups": ["staff", "leads"], "amr": ["pwd", "mfa"], "acr": "urn:gold"}
    assert person_from_claims(claims) == Person(subject="abc", email="ann.smith@example.org", email_verified=True,
                                                name="Ann", groups=("staff", "leads"), amr=("pwd", "mfa"),
                                                acr="urn:gold")


@pytest.mark.parametrize("claims", [
    {"email": 5, "email_verified": "true", "name": ["Ann"], "groups": {"staff": 1}, "amr": 3, "acr": 2},
    {"email": "   ", "email_verified": 1, "name": None, "groups": None, "amr": None, "acr": None},
    {"email": None, "email_verified": "yes", "groups": 7, "amr": {"mfa": True}, "acr": ["urn:gold"]},
    {},
])
def test_claims_of_the_wrong_type_count_as_absent(claims):
    assert person_from_claims({"sub": "abc", **claims}) == Person(subject="abc")


def test_lists_keep_only_their_strings():
    p = person_from_claims({"sub": "abc", "groups": ["staff", 3, None, "leads"], "amr": ("mfa", 1)})
    assert (p.groups, p.amr) == (("staff", "leads"), ("mfa",))


def test_single_string_group_and_amr_are_one_item():
    p = person_from_claims({"sub": "abc", "groups": "staff", "amr": "mfa"})
    assert (p.groups, p.amr) == (("staff",), ("mfa",))


def test_group_claim_name_is_honoured():
    claims = {"sub": "abc", "groups": ["from-groups"], "roles": ["from-roles"]}
    assert person_from_claims(claims, group_claim="roles").groups == ("from-roles",)
    assert person_from_claims(claims).groups == ("from-groups",)
    assert person_from_claims(claims, group_claim="").groups == ()


def test_name_falls_back_to_preferred_username_and_the_subject_must_be_a_string():
    assert person_from_claims({"sub": "s", "preferred_username": "ann"}) == Person(subject="s", name="ann")
    assert person_from_claims({"sub": 42}) is None and person_from_claims({"sub": ""}) is None
    assert person_from_claims({"name": "ann"}) is None


def test_the_organisation_names_the_claim_that_identifies_the_person():
    claims = {"sub": "pairwise-per-app", "oid": "00000000-aaaa"}
    assert person_from_claims(claims, subject_claim="oid").subject == "00000000-aaaa"
    assert person_from_claims(claims).subject == "pairwise-per-app"
    assert person_from_claims({"sub": "s"}, subject_claim="oid") is None
    assert person_from_claims({"sub": "s", "name": "", "preferred_username": "ann"}).name == "ann"
    assert person_from_claims({"sub": "s", "name": 5, "preferred_username": "ann"}).name == "ann"


# parse_group_lines() and group_lines() ----------------------------------------------------------------------

UNITS = {"North team": 1, "South": 2}


def test_group_lines_with_comments_blank_lines_and_distinguished_names():
    text = "# groups from the directory\n\n  CN=a,OU=b = therapist, North team  \nstaff=social_worker\n   # x=admin\n"
    assert parse_group_lines(text, UNITS) == (
        (GroupRole("CN=a,OU=b", "therapist", 1), GroupRole("staff", "social_worker", None)), [])


@pytest.mark.parametrize(("line", "problem"), [
    ("staff social_worker", "form"),
    ("= therapist", "form"),
    ("staff =", "form"),
    ("staff = , North team", "form"),
    ("staff = boss", "role"),
    ("staff = Therapist", "role"),
    ("staff = therapist, Nowhere", "unit"),
    ("staff = therapist, north team", "unit"),
])
def test_bad_line(line, problem):
    assert parse_group_lines(line, UNITS) == ((), [(1, problem)])


def test_unit_name_with_an_equals_sign():  # the "=" a role follows splits the line, not the last one
    got = parse_group_lines("staff = therapist, Team A=B", {"Team A=B": 5})
    assert got == ((GroupRole("staff", "therapist", 5),), [])


def test_problems_carry_their_line_numbers_and_good_lines_still_count():
    text = "# rules\nstaff = therapist\n\nbad line\nstaff = admin, South\nleads = king\nleads = admin, South\n" \
           "ops = analyst, Mars\n"
    assert parse_group_lines(text, UNITS) == (
        (GroupRole("staff", "therapist"), GroupRole("leads", "admin", 2)),
        [(4, "form"), (5, "twice"), (6, "role"), (8, "unit")])


def test_every_role_is_accepted():
    text = "\n".join(f"g{i} = {role}" for i, role in enumerate(ROLES))
    assert parse_group_lines(text, {}) == (tuple(GroupRole(f"g{i}", role) for i, role in enumerate(ROLES)), [])


def test_group_lines_writes_what_the_admin_would():
    names = {1: "North team", 2: "South"}
    got = group_lines([GroupRole("CN=a,OU=b", "therapist", 1), GroupRole("staff", "admin")], names)
    assert got == "CN=a,OU=b = therapist, North team\nstaff = admin"
    assert group_lines([], names) == ""


unit_name = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=12).map(
    str.strip).filter(lambda s: s and "=" not in s)
group_name = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=20).map(
    str.strip).filter(lambda s: s and not s.startswith("#"))


@settings(max_examples=200, deadline=None, database=None)
@given(names=st.lists(unit_name, max_size=4, unique=True), data=st.data())
def test_group_lines_round_trip(names, data):
    unit_names = dict(enumerate(names, start=1))
    groups = data.draw(st.lists(group_name, max_size=6, unique=True))
    found = tuple(GroupRole(g, data.draw(st.sampled_from(ROLES)), data.draw(st.sampled_from([None, *unit_names])))
                  for g in groups)
    units = {name: unit_id for unit_id, name in unit_names.items()}
    assert parse_group_lines(group_lines(found, unit_names), units) == (found, [])
