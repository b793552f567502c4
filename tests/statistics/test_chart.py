"""The report's charts: drawn only from what suppression lets through; with nothing to draw, no empty
grid but a reason (too few, or nothing counted)."""

from __future__ import annotations

from kidrate.statistics.chart import NOTHING, TOO_FEW, bar_chart, slope_chart
from kidrate.statistics.suppression import Hidden


def test_a_bar_chart_draws_shown_counts_and_names_hidden_ones():
    chart = bar_chart("Problem areas", "Cases per area", [("Skola", 12), ("Hemma", Hidden.SMALL), ("<b>", 0)])
    assert chart.title == "Problem areas" and chart.empty is None
    svg = str(chart.svg)
    assert svg.count("<rect") == 1 and "≤4" in svg and "&lt;b&gt;" in svg and "<b>" not in svg
    assert "<title>Problem areas</title>" in svg


def test_a_bar_chart_of_hidden_counts_only_is_too_few():
    chart = bar_chart("Reasons", "Cases per reason", [("Klart", Hidden.SMALL), ("Flytt", Hidden.HIDDEN),
                                                      ("Annat", 0)])
    assert chart.svg is None and chart.empty == TOO_FEW


def test_a_bar_chart_with_nothing_counted_says_so():
    assert bar_chart("Reasons", "d", [("Klart", 0), ("Flytt", None)]).empty == NOTHING
    assert bar_chart("Reasons", "d", []).empty == NOTHING


def test_a_slope_chart_leaves_out_hidden_areas():
    chart = slope_chart("Change", "d", ("Start", "Closure"),
                        [("Skola", 3.0, 7.5), ("Hemma", Hidden.SMALL, Hidden.SMALL)])
    svg = str(chart.svg)
    assert chart.empty is None and "Skola 3 → 7.5" in svg and "Hemma" not in svg


def test_a_slope_chart_with_every_area_hidden_is_too_few():
    chart = slope_chart("Change", "d", ("Start", "Closure"),
                        [("Skola", Hidden.SMALL, Hidden.SMALL), ("Hemma", Hidden.HIDDEN, None)])
    assert chart.svg is None and chart.empty == TOO_FEW
    assert slope_chart("Change", "d", ("Start", "Closure"), [("Skola", None, None)]).empty == NOTHING


def test_the_report_page_titles_each_chart_and_says_when_there_is_nothing(app, make, client):
    from tests.conftest import sign_in

    analyst = make.user("analyst")
    sign_in(client, analyst.username)
    page = client.get("/staff/report").text
    titles = [part.split("</h2>")[0] for part in page.split('class="chart-title">')[1:]]
    assert len(titles) == 3 and all(titles)
    assert page.count("Nothing to show: no closed case matches the filters.") == 3
    assert "<svg" not in page
