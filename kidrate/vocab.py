"""The field's vocabularies (SU-X 2021, NUSO, BBIC) as stable codes with translatable labels.

Codes are stored; labels are rendered in the reader's language. The Swedish catalogue carries the
official Swedish wording of each term.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLES = {
    "social_worker": _l("Social worker"),
    "therapist": _l("Therapist"),
    "analyst": _l("Analyst"),
    "admin": _l("Administrator"),
    "auditor": _l("Auditor"),
}

UNIT_KINDS = {
    "authority": _l("Authority (investigation)"),
    "open_care": _l("Open care"),
}

GENDERS = {
    "girl": _l("Girl"),
    "boy": _l("Boy"),
    "other": _l("Other gender identity"),
    "not_stated": _l("Not stated"),
}

# SU-X 2021 question 7.
PROBLEM_CATEGORIES = {
    "violence_abuse": _l("Subjected to violence/abuse"),
    "family_violence": _l("Violence in the family"),
    "honour_violence": _l("Honour-related violence and/or oppression"),
    "family_relations": _l("Relationship problems in the family"),
    "parenting": _l("Shortcomings in parenting capacity"),
    "parent_mental_health": _l("Shortcomings in the home due to a parent's mental ill-health"),
    "parent_intellectual_disability": _l(
        "Shortcomings in the home due to a parent's intellectual disability"
    ),
    "parent_substance_abuse": _l("Shortcomings in the home due to a parent's substance abuse"),
    "child_mental_health": _l("The child's mental ill-health"),
    "behaviour": _l("Behavioural problems"),
    "school": _l("School problems"),
    "criminality": _l("Own criminality"),
    "substance_abuse": _l("Own substance abuse"),
    "other": _l("Other"),
}
VIOLENCE_CATEGORIES = frozenset({"violence_abuse", "family_violence", "honour_violence"})

# SU-X 2021 question 8 (several allowed).
INTERVENTION_TYPES = {
    "traditional": _l("Traditional family treatment"),
    "crisis_support": _l("Crisis support after a report of concern about violence against a child"),
    "manual_based": _l("Other manual-based method"),
    "other": _l("Other non-manual-based intervention"),
}
INTERVENTIONS_NEEDING_TEXT = frozenset({"manual_based", "other"})

# SU-X 2021 question 10 / NUSO table 3.
CLOSURE_REASONS = {
    "goals_met": _l("The goal(s) have been fully or partly met"),
    "not_meeting_needs": _l("The intervention does not meet the child's needs"),
    "guardian_interrupted": _l("Interrupted unplanned on the guardian's initiative"),
    "child_interrupted": _l("Interrupted unplanned on the child's initiative"),
    "transferred": _l("Transferred to another intervention or provider"),
    "no_capacity_for_change": _l("Ended by social services due to lack of capacity for change"),
    "never_started": _l("The intervention never started"),
    "other": _l("Other reasons"),
}
CLOSURE_REASONS_NEEDING_TEXT = frozenset({"not_meeting_needs", "other"})

# BBIC goal attainment.
GOAL_ATTAINMENT = {
    "met": _l("Positive change and goals met"),
    "positive_not_met": _l("Positive change but goals not met"),
    "unchanged": _l("Unchanged situation"),
    "negative": _l("Negative change"),
}

WORKED_WITH = {
    "focus": _l("Yes, as a focus"),
    "partly": _l("Partly"),
    "no": _l("No"),
}

# The three dimensions of the child's participation (Heimer & Forsgren).
PARTICIPATION = {
    "commissioner": _l("The child as commissioner: what the child named was one of the main tasks"),
    "follow_up": _l("Follow-up was done with the child: the child said whether things got better"),
    "support": _l("The child got support of their own as part of the intervention"),
}
YES_PARTLY_NO = {"yes": _l("Yes"), "partly": _l("Partly"), "no": _l("No")}

ROUND_KINDS = {
    "start": _l("Start"),
    "follow_up": _l("Follow-up"),
    "closure": _l("Closure"),
}
ROUND_ORDER = ("start", "follow_up", "closure")

# How the child answered a round, as the therapist records it (RatingRound.answered_how).
ANSWERED_HOW = {
    "alone": _l("Alone"),
    "with_therapist": _l("With the therapist"),
    "with_interpreter": _l("With an interpreter"),
    "parent_present": _l("With a parent present"),
    "unknown": _l("Not known"),
}

# The same words on the case list, the case page and the link's page: each says what it means for the child.
LINK_STATES = {
    "issued": _l("Created, not opened yet"),
    "opened": _l("Opened, not answered yet"),
    "completed": _l("Completed"),
    "expired": _l("Expired"),
    "revoked": _l("Revoked"),
}

# Why a rating is missing from a round, as the handover explains it.
RATING_STATES = {
    "rated": _l("Rated"),
    "declined": _l("The child chose not to answer"),
    "dont_know": _l("The child did not know"),
    "not_asked": _l("Not asked (added after this round)"),
    "not_issued": _l("No link was issued"),
    "pending": _l("Link sent, not answered yet"),
    "expired": _l("The link expired unanswered"),
    "revoked": _l("The link was revoked unanswered"),
}


def choices(vocabulary: dict) -> list[tuple[str, object]]:
    """(code, label) pairs for a form field."""
    return list(vocabulary.items())


# SU-X 2021 questions 3–4: where the child and the parents were born (Case.born).
BORN = {
    "sweden_both_parents_sweden": _l("Born in Sweden, both parents born in Sweden"),
    "sweden_one_parent_abroad": _l("Born in Sweden, one parent born abroad"),
    "sweden_both_parents_abroad": _l("Born in Sweden, both parents born abroad"),
    "europe": _l("Born elsewhere in Europe"),
    "outside_europe": _l("Born outside Europe"),
    "unknown": _l("Not known"),
}

# SU-X 2021 question 6: earlier open-care episodes (Case.earlier_episodes).
EARLIER_EPISODES = {
    "no": _l("No"),
    "once": _l("Yes, once"),
    "several": _l("Yes, several times"),
    "unknown": _l("Not known"),
}
