"""The script check: does the text's script fit the language chosen for it? Pure, on hand-made text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kidrate.languages.i18n import CHILD_LOCALES
from kidrate.red_thread.script_check import (
    ARABIC,
    CYRILLIC,
    ETHIOPIC,
    LANGUAGE_SCRIPTS,
    LATIN,
    Mismatch,
    dominant_script,
    letters_by_script,
    mismatch,
)


@pytest.mark.parametrize(("text", "language"), [
    ("Pappa slår mig när han är arg.", "sv"),
    ("Jag vill träffa mormor", "sv"),
    ("أريد أن أرى جدتي", "ar"),
    ("می‌خواهم مادربزرگم را ببینم", "fa"),
    ("می‌خواهم مادربزرگم را ببینم", "fa_AF"),
    ("Waxaan rabaa inaan arko ayeeyday", "so"),
    ("Хочу побачити бабусю", "uk"),
    ("Želim vidjeti baku", "bs"),
    ("Желим видјети баку", "bs"),
    ("ዓባየይ ክርኢ እደሊ", "ti"),
    ("Ez dixwazim dapîra xwe bibînim", "ku"),
    ("دەمەوێت داپیرەم ببینم", "ckb"),
    ("Mun háliidan oaidnit áhku", "se"),
])
def test_words_in_their_own_script_pass(text, language):
    assert mismatch(text, language) is None


@pytest.mark.parametrize(("text", "language", "found"), [
    ("Pappa slår mig när han är arg.", "ar", LATIN),  # the walk's slip: Swedish words marked as Arabic
    ("Jag går inte till skolan", "fa", LATIN),
    ("Jag går inte till skolan", "ckb", LATIN),
    ("أريد أن أرى جدتي", "sv", ARABIC),
    ("أريد أن أرى جدتي", "ku", ARABIC),  # Kurmanji is written in Latin letters
    ("Хочу побачити бабусю", "pl", CYRILLIC),
    ("ዓባየይ ክርኢ እደሊ", "en", ETHIOPIC),
    ("Hello", "ti", LATIN),
    ("Hello", "uk", LATIN),
])
def test_words_in_another_script_are_questioned(text, language, found):
    result = mismatch(text, language)
    assert isinstance(result, Mismatch)
    assert (result.language, result.found) == (language, found)
    assert found not in result.expected


def test_the_script_most_letters_are_in_decides():
    # A Swedish sentence with one Arabic name in it is still Swedish; the other way round, Arabic.
    assert mismatch("Jag saknar min bror أحمد varje dag", "sv") is None
    assert mismatch("أريد أن أرى Ahmed جدتي", "ar") is None
    assert dominant_script("Jag saknar min bror أحمد varje dag") == LATIN


def test_digits_punctuation_and_emoji_do_not_count():
    assert letters_by_script("12–3 !? 😢 …") == {}
    assert mismatch("12 / 3 😢", "ar") is None
    assert mismatch("12 / 3 😢", "sv") is None
    # Arabic-Indic digits are not letters either: Swedish words with them are Swedish.
    assert mismatch("Jag är ١٢ år", "sv") is None


def test_nothing_to_say_without_text_or_a_known_language():
    assert mismatch("", "sv") is None
    assert mismatch("   ", "ar") is None
    assert mismatch("Pappa slår mig", None) is None
    assert mismatch("Pappa slår mig", "xx") is None


def test_regional_codes_fall_back_to_the_language():
    assert mismatch("Hello there", "fa-IR") is not None
    assert mismatch("سلام", "fa-IR") is None


def test_every_language_of_the_childs_page_has_its_script():
    assert set(CHILD_LOCALES) <= set(LANGUAGE_SCRIPTS)


@given(st.text(alphabet=st.characters(categories=("Ll", "Lu")), min_size=1, max_size=40))
def test_a_text_is_never_questioned_in_the_script_it_is_written_in(text):
    found = dominant_script(text)
    assert found is not None
    for language, scripts in LANGUAGE_SCRIPTS.items():
        if found in scripts:
            assert mismatch(text, language) is None
