"""An audit event's target in words: "user:6" → "Staff member: Anna Andersson", "start:link:17" →
"Start rating, link 17".

The log stores codes (ids, never content: kidrate/protection/access.py `audit`); a person reading it
should not have to decode them. `target_words` is a pure function of the code, the action and the
names the reader's organisation gives to ids (`Names`, filled by the view); the words come from the
catalogue of the reader's language. A code it does not know is shown as it is, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from kidrate.vocab import ROUND_KINDS


@dataclass(frozen=True)
class Names:
    """What the reader's organisation calls the ids in targets (others' ids are not there to name)."""

    users: Mapping[int, str] = field(default_factory=dict)
    units: Mapping[int, str] = field(default_factory=dict)
    language: Callable[[str], str] = str  # a language code in the reader's words


# Single words a target can be, by the action that wrote it (the same word means different things).
_SIGN_IN_METHODS = {
    "password": _l("With password"),
    "totp": _l("With a two-factor code"),
    "recovery": _l("With a recovery code"),
    "provider+mfa": _l("Through the organisation's identity provider, with its multi-factor sign-in"),
    "provider+totp": _l("Through the organisation's identity provider, then a two-factor code"),
    "provider+recovery": _l("Through the organisation's identity provider, then a recovery code"),
}
_SIGN_IN_STEPS = {
    "password": _l("Wrong username or password"),
    "code": _l("Wrong two-factor code"),
    "locked": _l("The account was locked"),
    "password_off": _l("Passwords are switched off for the organisation"),
}
_PROVIDER_REFUSALS = {
    "provider:unknown_person": _l("Not connected to any account here"),
    "provider:no_group": _l("In no group that gives access"),
    "provider:inactive": _l("The account here is switched off"),
    "provider:no_mfa": _l("The provider did not say it asked for more than one factor"),
    "provider:other_organisation": _l("The account belongs to another organisation"),
    "provider:linked_elsewhere": _l("Already connected to another account"),
    "provider:state": _l("Started elsewhere, too old or used already"),
    "provider:provider_error": _l("The provider did not complete the sign-in"),
    "provider:token": _l("The provider's answer could not be trusted"),
    "provider:unreachable": _l("The provider did not answer"),
    "provider:not_available": _l("Not switched on for the organisation"),
}
_CODE_PURPOSES = {
    "sign_in": _l("At sign-in"),
    "turn_off": _l("To turn two-factor sign-in off"),
    "renew": _l("To renew the recovery codes"),
}
_PASSWORD_PURPOSES = {"invite": _l("From an invitation"), "reset": _l("From a password reset link")}
_RESET_REQUESTS = {"email": _l("A link was sent by e-mail"),
                   "unknown": _l("No account has that address: nothing was sent")}
_FILE_KINDS = {"pdf": "PDF", "json": "JSON", "csv": "CSV", "xlsx": "XLSX"}
_CATALOGUES = {"messages": _l("Staff pages"), "child": _l("Child's pages")}
_CHANGED = {"name": _l("name"), "role": _l("role"), "unit": _l("unit")}
_FILTERS = {"from": _l("from %(value)s"), "to": _l("to %(value)s"), "action": _l("action %(value)s")}

_WORDS_BY_ACTION: dict[str, Mapping[str, object]] = {
    "sign_in": _SIGN_IN_METHODS,
    "sign_in_failed": _SIGN_IN_STEPS,
    "sign_in_refused": _PROVIDER_REFUSALS,
    "sign_on_settings": {"created": _l("Connected for the first time"),
                         "operator": _l("By the installation's operator (kidrate sign-on)")},
    "recovery_code_used": _CODE_PURPOSES,
    "password_set": _PASSWORD_PURPOSES,
    "password_reset_requested": _RESET_REQUESTS,
    "view_closure": {"preview": _l("Preview of the handover")},
}

_INT = r"(\d+)"
_LANG = r"([A-Za-z]{2,3}(?:_[A-Za-z]{2,4})?)"
_ROUND = "(" + "|".join(ROUND_KINDS) + ")"


def _round(kind: str) -> str:
    return str(ROUND_KINDS.get(kind, kind))


def _person(names: Names, user_id: int) -> str:
    name = names.users.get(user_id)
    if name is None:
        return str(_l("Staff member no. %(id)s", id=user_id))
    return str(_l("Staff member: %(name)s", name=name))


def _unit(names: Names, unit_id: int) -> str:
    name = names.units.get(unit_id)
    if name is None:
        return str(_l("Unit no. %(id)s", id=unit_id))
    return str(_l("Unit: %(name)s", name=name))


def _filters(described: str, names: Names) -> str | None:
    """The audit log's own filters (AuditFilters.describe, then "page=N" or "n=N")."""
    parts = []
    for word in described.split():
        key, _sep, value = word.partition("=")
        if word.startswith("user:") and word[5:].isdigit():
            parts.append(_person(names, int(word[5:])))
        elif word == "case":
            parts.append(str(_l("a case reference")))
        elif key == "page" and value.isdigit():
            parts.append(str(_l("page %(page)s", page=value)))
        elif key == "n" and value.isdigit():
            parts.append(str(ngettext("%(num)s event", "%(num)s events", int(value))))
        elif key in _FILTERS and value:
            parts.append(str(_FILTERS[key] % {"value": value}))
        else:
            return None
    return ", ".join(parts)


def target_words(target: str | None, action: str = "", names: Names | None = None) -> str:
    """The target of an audit event in the reader's words; the code itself where it is not known."""
    if not target:
        return ""
    names = names or Names()
    words = _WORDS_BY_ACTION.get(action, {}).get(target)
    if words is not None:
        return str(words)

    if m := re.fullmatch(rf"user:{_INT}", target):
        return _person(names, int(m[1]))
    if m := re.fullmatch(rf"user:{_INT}:((?:name|role|unit)(?:,(?:name|role|unit))*)", target):
        changed = ", ".join(str(_CHANGED[part]) for part in m[2].split(","))
        return str(_l("%(person)s — changed: %(what)s", person=_person(names, int(m[1])), what=changed))
    if m := re.fullmatch(rf"unit:{_INT}", target):
        return _unit(names, int(m[1]))
    if m := re.fullmatch(rf"unit:{_INT}:{_INT}", target):  # an SU-X import: the unit and the rows taken in
        return str(ngettext("%(unit)s, %(num)s row imported", "%(unit)s, %(num)s rows imported",
                                 int(m[2]), unit=_unit(names, int(m[1]))))
    if m := re.fullmatch(rf"problem:{_INT}", target):
        return str(_l("Problem no. %(id)s", id=m[1]))
    if m := re.fullmatch(rf"problem:{_INT}:{_LANG}", target):
        return str(_l("Problem no. %(id)s, %(language)s", id=m[1], language=names.language(m[2])))
    if m := re.fullmatch(rf"added:{_ROUND}:{_LANG}", target):
        return str(_l("The child's added words at %(round)s, %(language)s", round=_round(m[1]).lower(),
                      language=names.language(m[2])))
    if m := re.fullmatch(rf"version:{_INT}", target):
        return str(_l("Version %(version)s", version=m[1]))
    if m := re.fullmatch(rf"version:{_INT}:(pdf|json)", target):
        return str(_l("Version %(version)s, %(format)s", version=m[1], format=_FILE_KINDS[m[2]]))
    if m := re.fullmatch(rf"link:{_INT}", target):
        return str(_l("Link no. %(id)s", id=m[1]))
    if m := re.fullmatch(rf"{_ROUND}:link:{_INT}", target):
        return str(_l("Rating at %(round)s, link no. %(id)s", round=_round(m[1]).lower(), id=m[2]))
    if m := re.fullmatch(rf"signal:{_INT}", target):
        return str(_l("Safety signal no. %(id)s", id=m[1]))
    if m := re.fullmatch(rf"minutes:{_INT}", target):
        return str(ngettext("Locked for %(num)s minute", "Locked for %(num)s minutes", int(m[1])))
    if m := re.fullmatch(rf"message:([0-9a-f]{{6,64}}):{_LANG}", target):
        return str(_l("A fixed text of the child's pages, %(language)s", language=names.language(m[2])))
    if m := re.fullmatch(rf"(messages|child):{_LANG}", target):
        return str(_l("%(catalogue)s, %(language)s", catalogue=_CATALOGUES[m[1]], language=names.language(m[2])))
    if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})?\.\.(\d{4}-\d{2}-\d{2})?:(\d+)", target):  # an SU-X export
        return str(ngettext("Closed %(first)s – %(last)s, %(num)s case",
                                 "Closed %(first)s – %(last)s, %(num)s cases", int(m[3]),
                                 first=m[1] or "…", last=m[2] or "…"))

    if action in ("record_round",) and target in ROUND_KINDS:
        return _round(target)
    if action in ("view_together", "view_message_recordings") and re.fullmatch(_LANG, target):
        return names.language(target)
    if action in ("download_assignment", "download_report") and target in _FILE_KINDS:
        return _FILE_KINDS[target]
    if action == "search_case_ref" and target.isdigit():
        return str(ngettext("%(num)s case found", "%(num)s cases found", int(target)))
    if action == "rotate_key" and (m := re.fullmatch(r"(\d+) values", target)):
        return str(ngettext("%(num)s value encrypted again", "%(num)s values encrypted again", int(m[1])))
    if action == "purge" and (m := re.fullmatch(r"(\d+) cases, (\d+) audit events", target)):
        return str(_l("%(cases)s, %(events)s", cases=ngettext("%(num)s case", "%(num)s cases", int(m[1])),
                      events=ngettext("%(num)s audit event", "%(num)s audit events", int(m[2]))))
    if action in ("view_audit", "export_audit") and (described := _filters(target, names)) is not None:
        return described
    return target
