"""Does the script of a text fit the language it is said to be in? A pure check, no Flask.

Staff type the child's words and choose "the language the words are in". The choice decides how the
child's page shows them (right-to-left for Arabic, say) and which voice reads them aloud. Swedish words
marked as Arabic reached a child right-to-left; `mismatch` catches that kind of slip before it is
stored: the letters of the text are counted per script, and when most of them are in a script the
chosen language is not written in, the person is asked to check.

Only letters count (digits, punctuation, spaces and emoji are the same in every script). A language not
listed in LANGUAGE_SCRIPTS is never questioned.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass

LATIN = "latin"
ARABIC = "arabic"
CYRILLIC = "cyrillic"
ETHIOPIC = "ethiopic"
GREEK = "greek"
HEBREW = "hebrew"
OTHER = "other"

# The scripts each language of the child's page (kidrate/languages/i18n.py CHILD_LOCALES) is written in.
# Bosnian is written in both Latin and Cyrillic; Kurmanji (ku) in Latin, Sorani (ckb) in Arabic script.
LANGUAGE_SCRIPTS: dict[str, frozenset[str]] = {
    "sv": frozenset({LATIN}), "en": frozenset({LATIN}), "so": frozenset({LATIN}), "ku": frozenset({LATIN}),
    "pl": frozenset({LATIN}), "es": frozenset({LATIN}), "fi": frozenset({LATIN}), "tr": frozenset({LATIN}),
    "se": frozenset({LATIN}), "de": frozenset({LATIN}), "fr": frozenset({LATIN}),
    "ar": frozenset({ARABIC}), "fa": frozenset({ARABIC}), "fa_AF": frozenset({ARABIC}),
    "ckb": frozenset({ARABIC}), "ps": frozenset({ARABIC}), "ur": frozenset({ARABIC}),
    "ti": frozenset({ETHIOPIC}), "am": frozenset({ETHIOPIC}),
    "uk": frozenset({CYRILLIC}), "ru": frozenset({CYRILLIC}), "bs": frozenset({LATIN, CYRILLIC}),
    "sr": frozenset({LATIN, CYRILLIC}), "el": frozenset({GREEK}), "he": frozenset({HEBREW}),
}

# The first word of a letter's Unicode name says its script ("ARABIC LETTER BEH", "LATIN SMALL LETTER
# A WITH RING ABOVE", "ETHIOPIC SYLLABLE HA"); Persian's and Urdu's extra letters are named ARABIC too.
_NAME_SCRIPTS = {"LATIN": LATIN, "ARABIC": ARABIC, "CYRILLIC": CYRILLIC, "ETHIOPIC": ETHIOPIC,
                 "GREEK": GREEK, "HEBREW": HEBREW}


@dataclass(frozen=True)
class Mismatch:
    """The text is mostly in `found`, which the chosen `language` is not written in."""

    language: str
    found: str
    expected: frozenset[str]


def script_of(char: str) -> str | None:
    """The script of one character if it is a letter (or a combining mark of one), else None."""
    if not unicodedata.category(char).startswith(("L", "M")):
        return None
    name = unicodedata.name(char, "")
    return _NAME_SCRIPTS.get(name.split(" ", 1)[0], OTHER) if name else OTHER


def letters_by_script(text: str) -> Counter[str]:
    """How many letters of the text are in each script (marks not counted: they ride on a letter)."""
    return Counter(script for char in text if unicodedata.category(char).startswith("L")
                   and (script := script_of(char)) is not None)


def dominant_script(text: str) -> str | None:
    """The script most of the text's letters are in; None for a text without letters."""
    counts = letters_by_script(text)
    if not counts:
        return None
    return counts.most_common(1)[0][0]


def base_language(code: str | None) -> str | None:
    """"fa_AF" and "fa-AF" are looked up as themselves first, then as "fa"."""
    if not code:
        return None
    code = code.replace("-", "_")
    return code if code in LANGUAGE_SCRIPTS else code.split("_", 1)[0]


def mismatch(text: str, language: str | None) -> Mismatch | None:
    """A Mismatch when most letters of `text` are in a script `language` is not written in, else None.

    Text without letters, an unknown language or no language at all: None (nothing to say)."""
    code = base_language(language)
    expected = LANGUAGE_SCRIPTS.get(code or "")
    found = dominant_script(text or "")
    if expected is None or found is None or found in expected:
        return None
    return Mismatch(language=language or "", found=found, expected=expected)
