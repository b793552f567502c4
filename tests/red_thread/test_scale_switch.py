"""Carrying a child's choices across a change of view: the scale's own mapping (every view stores 1–10),
exact or asked again, never guessed (pure functions, no app)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kidrate.red_thread.scale import (
    SCALE,
    SIX_VALUES,
    TWO_STEP,
    VIEW_VALUES,
    VIEWS,
    AskAgain,
    carry_answers,
    field_name,
    map_choice,
    map_good_enough,
    read_choice,
    two_step_choice,
)


@pytest.mark.parametrize("value", SIX_VALUES)
@pytest.mark.parametrize(("from_view", "to_view"), [("two_step", "six"), ("six", "two_step"), ("six", "ten"),
                                                    ("two_step", "ten"), ("ten", "six"), ("ten", "two_step")])
def test_the_six_shared_values_map_exactly_between_every_pair_of_views(value, from_view, to_view):
    assert map_choice(str(value), to_view) == str(value)
    assert map_good_enough(str(value), to_view) == str(value)


@pytest.mark.parametrize("value", [2, 4, 7, 9])
@pytest.mark.parametrize("to_view", ["six", "two_step"])
def test_a_ladder_value_the_simpler_views_lack_has_no_place_there(value, to_view):
    assert map_choice(str(value), to_view) is None
    assert map_good_enough(str(value), to_view) is None
    assert map_choice(str(value), "ten") == str(value)


@pytest.mark.parametrize("choice", ["", "declined", "dont_know"])
@pytest.mark.parametrize("to_view", VIEWS)
def test_nothing_and_not_answering_stay_as_they_are_in_every_view(choice, to_view):
    assert map_choice(choice, to_view) == choice


@pytest.mark.parametrize("half", ["good/", "not_good/", "/little"])
def test_half_a_two_step_answer_stays_only_in_the_two_step_view(half):
    assert map_choice(half, "two_step") == half
    assert map_choice(half, "six") is None and map_choice(half, "ten") is None


@given(st.sampled_from(VIEWS), st.sampled_from(VIEWS), st.sampled_from([*map(str, SCALE), "declined", "dont_know"]))
def test_a_mapped_choice_is_always_the_same_choice_and_comes_back_unchanged(from_view, to_view, choice):
    if choice.isdigit() and int(choice) not in VIEW_VALUES[from_view]:
        return
    mapped = map_choice(choice, to_view)
    assert mapped in (choice, None)
    if mapped is not None:
        assert map_choice(mapped, from_view) == choice


def test_two_step_choice_gives_both_steps_of_a_value_and_one_step_of_a_half():
    for parts, value in TWO_STEP.items():
        assert two_step_choice(str(value)) == parts
    assert two_step_choice("good/") == ("good", "")
    assert two_step_choice("/quite") == ("", "quite")
    assert two_step_choice("7") == ("", "") and two_step_choice("declined") == ("", "")
    assert two_step_choice("evil/<script>") == ("", "")


def test_read_choice_takes_only_choices_of_the_view_they_were_made_in():
    assert read_choice({field_name(1): "7"}, 1, "ten") == "7"
    assert read_choice({field_name(1): "07"}, 1, "ten") == "7"
    assert read_choice({field_name(1): "7"}, 1, "six") is None
    assert read_choice({field_name(1): "11"}, 1, "ten") is None
    assert read_choice({field_name(1): "٥"}, 1, "ten") is None
    assert read_choice({field_name(1): "declined"}, 1, "six") == "declined"
    assert read_choice({}, 1, "ten") == ""
    assert read_choice({"good-1": "good", "amount-1": "quite"}, 1, "two_step") == "8"
    assert read_choice({"good-1": "not_good"}, 1, "two_step") == "not_good/"
    assert read_choice({"amount-1": "little"}, 1, "two_step") == "/little"
    assert read_choice({"good-1": "great"}, 1, "two_step") is None
    assert read_choice({"good-1": "good"}, 1, "six") == ""  # not a field of that view


def test_carrying_from_the_ladder_to_six_faces_asks_again_only_where_there_is_no_exact_place():
    form = {field_name(1): "7", "enough-1": "9", field_name(2): "8", "enough-2": "10",
            field_name(3): "declined", field_name(4): "2"}
    carried = carry_answers(form, [1, 2, 3, 4, 5], from_view="ten", to_view="six", ask_good_enough=True)
    assert carried.view == "six"
    assert carried.chosen == {1: "", 2: "8", 3: "declined", 4: "", 5: ""}
    assert carried.enough == {1: "", 2: "10", 3: "", 4: "", 5: ""}
    assert carried.ask_again == (AskAgain(1, "answer", "7"), AskAgain(1, "enough", "9"),
                                 AskAgain(4, "answer", "2"))
    assert not carried.invalid


def test_carrying_between_two_steps_and_six_faces_is_exact_both_ways():
    form = {"good-1": "good", "amount-1": "little", field_name(2): "dont_know", "enough-1": "8"}
    six = carry_answers(form, [1, 2], from_view="two_step", to_view="six", ask_good_enough=True)
    assert six.chosen == {1: "6", 2: "dont_know"} and six.enough == {1: "8", 2: ""} and six.ask_again == ()
    back = carry_answers({field_name(1): "6", field_name(2): "dont_know", "enough-1": "8"}, [1, 2],
                         from_view="six", to_view="two_step", ask_good_enough=True)
    assert back.chosen == {1: "6", 2: "dont_know"} and back.ask_again == ()
    assert two_step_choice(back.chosen[1]) == ("good", "little")


def test_the_same_view_keeps_everything_even_half_answers():
    form = {"good-1": "not_good", field_name(2): "3"}
    carried = carry_answers(form, [1, 2], from_view="two_step", to_view="two_step")
    assert carried.chosen == {1: "not_good/", 2: "3"} and carried.ask_again == ()


def test_a_half_answer_is_asked_again_in_another_view():
    carried = carry_answers({"good-1": "good"}, [1], from_view="two_step", to_view="ten")
    assert carried.chosen == {1: ""} and carried.ask_again == (AskAgain(1, "answer", "good/"),)


def test_what_is_no_choice_is_left_out_and_said_so():
    form = {field_name(1): "11", "enough-2": "0", field_name(2): "5"}
    carried = carry_answers(form, [1, 2], from_view="ten", to_view="ten", ask_good_enough=True)
    assert carried.invalid and carried.chosen == {1: "", 2: "5"} and carried.enough == {1: "", 2: ""}
    assert carried.ask_again == ()


def test_good_enough_is_not_read_where_the_round_does_not_ask_it():
    carried = carry_answers({field_name(1): "5", "enough-1": "7"}, [1], from_view="ten", to_view="six")
    assert carried.chosen == {1: "5"} and carried.enough == {1: ""} and carried.ask_again == ()


def test_an_unknown_view_is_refused():
    with pytest.raises(ValueError):
        carry_answers({}, [1], from_view="eleven", to_view="six")
