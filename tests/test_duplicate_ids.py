"""No staff page repeats an id (a label, aria-describedby or skip link pointing at the wrong element; axe
`duplicate-id`): pages with several forms, each with its CSRF field, the case pages, the lists."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

import pytest

from tests.conftest import sign_in


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: Counter[str] = Counter()

    def handle_starttag(self, tag, attrs) -> None:
        for name, value in attrs:
            if name == "id" and value is not None:
                self.ids[value] += 1


def duplicate_ids(html: str) -> list[str]:
    parser = _Ids()
    parser.feed(html)
    return sorted(i for i, n in parser.ids.items() if n > 1)


def test_the_checker_finds_a_duplicate():
    assert duplicate_ids('<input id="csrf_token"><form><input id="csrf_token"></form><p id="x">') == ["csrf_token"]


@pytest.fixture
def world(app, make):
    social = make.user("social_worker", username="sw")
    therapist = make.user("therapist", username="t")
    make.user("admin", username="admin")
    make.user("analyst", username="analyst")
    make.user("auditor", username="auditor")
    draft = make.case(social, case_ref="DRAFT-1", words=("Ett", "Två"), investigation=("Tre",))
    open_case = make.case(social, therapist=therapist, case_ref="OPEN-1", words=("Ett", "Två"))
    make.link(open_case, "start")
    return {"draft": draft.id, "open": open_case.id}


PAGES = {
    "sw": ["/staff/cases", "/staff/cases?q=d", "/staff/cases/new", "/staff/cases/{draft}", "/staff/handovers",
           "/staff/profile"],
    "t": ["/staff/cases", "/staff/cases?due=link", "/staff/cases/{open}", "/staff/cases/{open}/closure"],
    "admin": ["/staff/admin/users", "/staff/admin/users/new", "/staff/admin/units", "/staff/admin/translations",
              "/staff/admin/recordings/so", "/staff/audit"],
    "analyst": ["/staff/report"],
    "auditor": ["/staff/audit"],
}


@pytest.mark.parametrize("who", sorted(PAGES))
def test_no_staff_page_repeats_an_id(app, world, who):
    client = app.test_client()
    sign_in(client, who)
    for path in PAGES[who]:
        url = path.format(**world)
        page = client.get(url)
        assert page.status_code == 200, (url, page.status_code)
        assert page.text.count("<form") >= 1, url
        assert duplicate_ids(page.text) == [], url


def test_the_sign_in_page_has_no_repeated_id(app, client):
    assert duplicate_ids(client.get("/staff/sign-in").text) == []
