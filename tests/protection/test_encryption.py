"""Encryption at rest: after a whole case, a copy of the database shows none of the child's words or
the professionals' free text; the app reads them back; an altered, foreign or moved value refuses to
decrypt with an error that names the column and key, never the content; rotate-key moves every value
to a new key; the group report and search by case reference still work."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, text

from kidrate import create_app
from kidrate.config import load_settings, new_data_key
from kidrate.extensions import db
from kidrate.models import (
    AuditEvent,
    Base,
    Case,
    Closure,
    Problem,
    ProblemTranslation,
    Recording,
    SafetySignal,
    SignOnProvider,
    Submission,
    User,
)
from kidrate.protection import crypto
from kidrate.protection.cli import encrypted_columns
from kidrate.statistics.report import ReportFilters, compute_tables

from ..conftest import csrf_token, post_form, sign_in

CASE_REF = "BOU-2026-42"
SECRETS = {
    "intervention_text": "Trygghetscirkeln för Amir",
    "words": "Pappa slår mig när han är arg.",
    "other_words": "Kusinerna bestämmer över mig.",
    "category_text": "Kusinernas kontroll",
    "goal": "Att jag känner mig trygg hemma.",
    "investigation": "Föräldrarna bråkar inför barnen.",
    "investigation_before": "Föräldrarna grälar hemma.",
    "amendment_reason": "Skrev fel i utredningens beskrivning.",
    "translation": "Dad hits me when he is angry.",
    "missing_reason": "Barnet var på sjukhus den veckan.",
    "added_text": "Jag är rädd när det blir mörkt.",
    "comment": "Vi pratade om pappas ilska varje vecka.",
    "reason_text": "Familjen flyttade till Malmö.",
    "concern_text": "Oro för pappas ilska kvarstår.",
    "new_problems": "Barnet har slutat äta frukost.",
    "recommendation": "Träffa barnet ensam först.",
    "correction_note": "Rättade flyttorten.",
    "added_translation": "I am scared when it gets dark.",
    "signals_reason": "Socialsekreteraren ringdes upp om signalen.",
    "signal_note": "Samtal med barnet ensam om pappas slag.",
    "totp_secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "client_secret": "kommunens-hemliga-klientnyckel",
}
# Fragments too: a value must not leak a part of the text either.
FRAGMENTS = ("slår mig", "Pappa sl", "sjukhus", "Malmö", "frukost", "Kusiner", "JBSWY3DP", "hemliga")
SOUND = b"\x1a\x45\xdf\xa3" + b"kidrate test recording " * 40

ENCRYPTED = {
    "user_account": {"totp_secret"},
    "sign_on_provider": {"client_secret"},
    "case_record": {"intervention_text"},
    "problem": {"words", "category_text", "goal", "worked_with_comment"},
    "problem_translation": {"words"},
    "problem_amendment": {"reason", "words_before", "words_after"},
    "recording": {"data"},
    "rating_round": {"missing_reason"},
    "submission": {"added_text"},
    "submission_translation": {"text"},
    "safety_signal": {"acknowledged_note"},
    "closure": {"reason_text", "concern_text", "new_problems", "recommendation", "unhandled_signals_reason"},
    "handover": {"document", "correction_note"},
}


def _link(client, case_id: int, kind: str) -> str:
    response = post_form(client, f"/staff/cases/{case_id}", f"/staff/cases/{case_id}/rounds/{kind}/links",
                         {"language": "en"}, follow_redirects=True)
    assert response.status_code == 200
    return re.search(r'value="http://localhost(/r/[A-Za-z0-9_-]{32})"', response.text).group(1)


def _child_answers(client, url: str, value: str, added: str = "") -> None:
    page = client.get(url)
    form_token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
    ids = re.findall(r'name="answer-(\d+)" value="10"', page.text)
    response = client.post(url, data={"form_token": form_token, "added_text": added,
                                      **{f"answer-{pid}": value for pid in ids}})
    assert response.status_code == 303, response.text


@pytest.fixture
def world(app, make):
    """A whole case through the web interface, with every kind of free text filled in."""
    make.user("social_worker", username="sara")
    therapist = make.user("therapist", username="bo")
    make.user("analyst", username="ana")
    social, open_care, child = app.test_client(), app.test_client(), app.test_client()

    sign_in(social, "sara")
    response = post_form(social, "/staff/cases/new", "/staff/cases/new", {
        "case_ref": CASE_REF, "age": "12", "gender": "boy", "child_language": "sv", "family_languages": ["sv"],
        "intervention_types": ["manual_based"], "intervention_text": SECRETS["intervention_text"],
        "follow_up_date": (date.today() + timedelta(days=30)).isoformat()})
    assert response.status_code == 302, response.text
    case_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = f"/staff/cases/{case_id}"
    for data in ({"source": "child", "words": SECRETS["words"], "words_language": "sv",
                  "category": "violence_abuse", "goal": SECRETS["goal"]},
                 {"source": "child", "words": SECRETS["other_words"], "words_language": "sv", "category": "other",
                  "category_text": SECRETS["category_text"], "goal_with_child": "y"},
                 {"source": "investigation", "words": SECRETS["investigation_before"], "category": "family_relations"}):
        assert post_form(social, page, f"{page}/problems", data).status_code == 302
    assert post_form(social, page, f"{page}/assign",
                     {"therapist": str(therapist.id), "confirmed": "yes"}).status_code == 302
    # A correction after hand-over is an amendment: the earlier words and the reason are kept, encrypted.
    described = next(p.id for p in db.session.get(Case, case_id).problems if p.source == "investigation")
    db.session.remove()
    correct = f"{page}/problems/{described}/correct"
    assert post_form(social, correct, correct, {"words": SECRETS["investigation"],
                                                "reason": SECRETS["amendment_reason"]}).status_code == 302

    sign_in(open_care, "bo")
    case = db.session.get(Case, case_id)
    first = next(p for p in case.problems if p.source == "child" and p.category == "violence_abuse")
    db.session.remove()
    assert post_form(open_care, page, f"{page}/translations", {
        "problem": str(first.id), "language": "en", "words": SECRETS["translation"]}).status_code == 302
    recording = open_care.post(f"{page}/recordings", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(open_care.get(page).text), "problem_id": str(first.id), "language": "so",
        "audio": (BytesIO(SOUND), "recording.webm", "audio/webm")})
    assert recording.status_code == 303, recording.text
    # A 1 on the problem about violence raises a safety signal; the therapist translates what the child added.
    _child_answers(child, _link(open_care, case_id, "start"), "1", added=SECRETS["added_text"])
    assert post_form(open_care, page, f"{page}/rounds/start/added-text/translation", {
        "language": "en", "text": SECRETS["added_translation"]}).status_code == 302
    assert post_form(open_care, page, f"{page}/rounds/follow_up/answered", {
        "answered_how": "unknown", "missing_reason": SECRETS["missing_reason"]}).status_code == 302
    _child_answers(child, _link(open_care, case_id, "closure"), "8")

    closure = {"reason": "other", "reason_text": SECRETS["reason_text"], "concern_remaining": "yes",
               "concern_text": SECRETS["concern_text"], "new_problems": SECRETS["new_problems"],
               "recommendation": SECRETS["recommendation"],
               **{f"part_{k}": "yes" for k in ("commissioner", "follow_up", "support")}}
    for p in db.session.get(Case, case_id).problems:
        closure.update({f"worked_{p.id}": "focus", f"attain_{p.id}": "met", f"comment_{p.id}": SECRETS["comment"]})
    db.session.remove()
    assert post_form(open_care, f"{page}/closure", f"{page}/closure", closure).status_code == 302
    # Sent while the signal is unhandled: with a reason; then the signal is acknowledged with a note.
    assert post_form(open_care, f"{page}/closure", f"{page}/handover",
                     {"confirm": "y", "signals_reason": SECRETS["signals_reason"]}).status_code == 302
    assert post_form(open_care, f"{page}/closure", f"{page}/handover", {
        "note": SECRETS["correction_note"], "signals_reason": SECRETS["signals_reason"]}).status_code == 302
    signal_id = db.session.scalar(select(SafetySignal.id))
    db.session.remove()
    assert post_form(open_care, page, f"{page}/signals/{signal_id}/acknowledge",
                     {"note": SECRETS["signal_note"]}).status_code == 302
    # Two-factor sign-in is another piece of work; its secret is a plain string to it.
    with app.app_context():
        db.session.get(User, therapist.id).totp_secret = SECRETS["totp_secret"]
        # So is the identity provider's client secret (saved through the admin page in tests/sign_on/).
        db.session.add(SignOnProvider(organisation_id=db.session.get(User, therapist.id).organisation_id,
                                      issuer="https://idp.example", client_id="kidrate",
                                      client_secret=SECRETS["client_secret"]))
        db.session.commit()
    db.session.remove()
    return {"case_id": case_id, "problem_id": first.id, "social": social, "therapist_id": therapist.id}


def _raw_columns() -> dict[tuple[str, str], list]:
    """Every encrypted column's stored values, read with plain SQL as a copy of the database would be."""
    found = {}
    with db.engine.connect() as conn:
        for table, columns in encrypted_columns(Base.metadata).items():
            for column in columns:
                found[table, column] = list(conn.execute(text(
                    f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY id")).scalars())  # noqa: S608
    return found


def _whole_database() -> str:
    """Every row of every table as text: what a copy of the database reveals."""
    with db.engine.connect() as conn:
        return "\n".join(repr(row) for table in Base.metadata.sorted_tables
                         for row in conn.execute(text(f"SELECT * FROM {table.name}")))  # noqa: S608


def test_the_encrypted_columns_are_the_free_text_ones(app):
    assert {t: set(c) for t, c in encrypted_columns(Base.metadata).items()} == ENCRYPTED
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, crypto.EncryptedType):
                # The associated data names the column it sits in: a copy-paste slip would let values move.
                assert column.type.column == f"{table.name}.{column.name}"


def test_a_copy_of_the_database_shows_no_free_text(app, world):
    stored = _raw_columns()
    kid = crypto.key_id(app.config["KIDRATE"].data_key)
    for (table, column), values in stored.items():
        assert values, f"{table}.{column} was not filled by the flow"
        for value in values:
            head = f"v1:{kid}:".encode() if column == "data" else f"v1:{kid}:"
            assert bytes(value).startswith(head) if column == "data" else value.startswith(head), (table, column)
    everything = _whole_database()
    for plain in (*SECRETS.values(), *FRAGMENTS):
        assert plain not in everything
        assert plain.encode("unicode_escape").decode() not in everything  # nor as escaped JSON
    assert SOUND[4:30].decode() not in everything
    assert CASE_REF in everything  # the case reference stays plain: search and reports need it


def test_the_app_reads_everything_back(app, world):
    page = f"/staff/cases/{world['case_id']}"
    with app.app_context():
        case = db.session.get(Case, world["case_id"])
        words = {p.words for p in case.problems}
        assert words == {SECRETS["words"], SECRETS["other_words"], SECRETS["investigation"]}
        first = db.session.get(Problem, world["problem_id"])
        assert (first.goal, first.worked_with_comment) == (SECRETS["goal"], SECRETS["comment"])
        assert db.session.scalar(select(ProblemTranslation.words)) == SECRETS["translation"]
        assert db.session.scalar(select(Submission.added_text).where(Submission.added_text.is_not(None))) \
            == SECRETS["added_text"]
        assert case.round("follow_up").missing_reason == SECRETS["missing_reason"]
        assert (case.closure.reason_text, case.closure.recommendation) == (SECRETS["reason_text"],
                                                                           SECRETS["recommendation"])
        first_version, second = sorted(case.handovers, key=lambda h: h.version)
        assert second.correction_note == SECRETS["correction_note"]
        assert first_version.document["closure"]["recommendation"] == SECRETS["recommendation"]
        assert isinstance(db.session.get(User, world["therapist_id"]).totp_secret, str)
        assert db.session.scalar(select(Recording.data)) == SOUND
        assert case.closure.participation == {k: "yes" for k in ("commissioner", "follow_up", "support")}
        db.session.remove()
    handover = re.sub(r"\s+", " ", world["social"].get(f"{page}/handovers/2").text)
    for key in ("words", "added_text", "concern_text", "recommendation", "correction_note"):
        assert SECRETS[key] in handover, key
    recording_id = db.session.scalar(select(Recording.id))
    db.session.remove()
    played = world["social"].get(f"{page}/recordings/{recording_id}")
    assert played.status_code == 200 and played.data == SOUND


def test_none_stays_null_and_equal_text_encrypts_differently(app, make):
    sw = make.user("social_worker")
    make.case(sw, words=("Samma ord.", "Samma ord."))
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT words, goal, category_text FROM problem ORDER BY id")).all()
    assert rows[0].words != rows[1].words  # a fresh nonce per value: equal words do not show as equal
    assert rows[0].category_text is None


def test_sql_cannot_filter_or_sort_by_an_encrypted_column(app):
    with pytest.raises(TypeError, match=r"problem\.words is encrypted"):
        select(Problem).where(Problem.words == "Pappa slår mig.")
    with pytest.raises(TypeError, match=r"closure\.concern_text is encrypted"):
        select(Closure).order_by(Closure.concern_text.desc())
    assert "IS NULL" in str(select(Problem).where(Problem.goal.is_(None)))


def _load_words(problem_id: int) -> str:
    db.session.remove()
    try:
        return db.session.get(Problem, problem_id).words
    finally:
        db.session.remove()


def _set_raw(sql: str, **params) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(sql), params)


def test_an_altered_value_gives_a_clear_error_without_content(app, make):
    case = make.case(make.user("social_worker"), words=("Pappa slår mig.",))
    pid = case.problems[0].id
    with db.engine.connect() as conn:
        stored = conn.execute(text("SELECT words FROM problem WHERE id = :id"), {"id": pid}).scalar_one()
    kid = crypto.stored_key_id(stored)
    head, body = stored.rsplit(":", 1)
    sealed = bytearray(base64.urlsafe_b64decode(body))
    sealed[-1] ^= 1
    _set_raw("UPDATE problem SET words = :w WHERE id = :id",
             w=f"{head}:{base64.urlsafe_b64encode(bytes(sealed)).decode()}", id=pid)
    with pytest.raises(crypto.DecryptionError) as raised:
        _load_words(pid)
    message = str(raised.value)
    assert "problem.words" in message and kid in message and "altered" in message
    assert "Pappa" not in message


def test_a_value_under_an_unknown_key_gives_a_clear_error(app, make):
    case = make.case(make.user("social_worker"))
    pid = case.problems[0].id
    stranger = base64.urlsafe_b64decode(new_data_key())
    _set_raw("UPDATE problem SET words = :w WHERE id = :id",
             w=crypto.encrypt_text(stranger, "Hemligt.", "problem.words"), id=pid)
    with pytest.raises(crypto.DecryptionError) as raised:
        _load_words(pid)
    assert "problem.words" in str(raised.value) and crypto.key_id(stranger) in str(raised.value)
    assert "not configured" in str(raised.value) and "Hemligt" not in str(raised.value)


def test_plaintext_in_an_encrypted_column_is_refused(app, make):
    case = make.case(make.user("social_worker"))
    pid = case.problems[0].id
    _set_raw("UPDATE problem SET words = 'inskrivet förbi appen' WHERE id = :id", id=pid)
    with pytest.raises(crypto.DecryptionError, match=r"problem\.words: the stored value is not in the encrypted"):
        _load_words(pid)


def test_a_value_moved_to_another_column_does_not_decrypt(app, make):
    case = make.case(make.user("social_worker"), words=("Pappa slår mig.",))
    pid = case.problems[0].id
    # The goal's ciphertext put in place of the child's words, within one row and across tables.
    _set_raw("UPDATE problem SET words = goal WHERE id = :id", id=pid)
    with pytest.raises(crypto.DecryptionError, match=r"problem\.words: .* does not decrypt"):
        _load_words(pid)
    with db.engine.connect() as conn:
        goal = conn.execute(text("SELECT goal FROM problem WHERE id = :id"), {"id": pid}).scalar_one()
    with pytest.raises(crypto.DecryptionError, match=r"closure\.concern_text"):
        crypto.decrypt_text(crypto.known_keys(), goal, "closure.concern_text")
    assert crypto.decrypt_text(crypto.known_keys(), goal, "problem.goal") == "Trygg hemma"


@pytest.mark.parametrize("stored", ["", "Pappa slår mig.", "v1:zzzzzzzz:" + "A" * 40, "v1:0123abcd:",
                                    "v1:0123abcd:AAAA", "v1:0123abcd:****" + "A" * 36])
def test_malformed_values_are_refused_naming_the_column(stored):
    with pytest.raises(crypto.DecryptionError, match=r"^problem\.words: ") as raised:
        crypto.decrypt_text({"0123abcd": bytes(32)}, stored, "problem.words")
    assert "Pappa" not in str(raised.value)
    with pytest.raises(crypto.DecryptionError, match=r"^recording\.data: "):
        crypto.decrypt_bytes({"0123abcd": bytes(32)}, stored.encode(), "recording.data")


def test_bytes_are_bound_to_their_column_too():
    key = base64.urlsafe_b64decode(new_data_key())
    stored = crypto.encrypt_bytes(key, SOUND, "recording.data")
    keys = {crypto.key_id(key): key}
    assert crypto.decrypt_bytes(keys, stored, "recording.data") == SOUND
    with pytest.raises(crypto.DecryptionError, match=r"recording\.other"):
        crypto.decrypt_bytes(keys, stored, "recording.other")


@contextmanager
def app_with_new_key(app, database_url: str, instance: Path, old_keys: tuple[bytes, ...]) -> Iterator[Flask]:
    """A second app on the same database with a new current key. The database handle is global, so it
    is pointed back at the main app's engine afterwards, and later tests write under its key again."""
    original = db.engine
    db.session.remove()
    new_key = base64.urlsafe_b64decode(new_data_key())
    try:
        yield create_app(load_settings({}, database_url=database_url, secret_key="z" * 40, testing=True,
                                       instance_path=instance, data_key=new_key, old_data_keys=old_keys))
    finally:
        db.session.remove()
        db.engine.dispose()
        db.engine = original
        db.session.configure(bind=original)
        crypto.configure(app.extensions[crypto.EXTENSION])


@pytest.fixture
def rotated_app(app, database_url, tmp_path):
    # Every key this test process has written with is an old key (test apps each generate their own).
    with app_with_new_key(app, database_url, tmp_path, tuple(crypto.known_keys().values())) as other:
        yield other


def test_rotate_key_without_the_old_key_stops_with_a_clear_error(app, world, database_url, tmp_path):
    before = _raw_columns()
    with app_with_new_key(app, database_url, tmp_path, old_keys=()) as other:
        result = other.test_cli_runner().invoke(args=["rotate-key"])
    assert result.exit_code == 1
    assert "which is not configured" in result.output and "row id" in result.output
    assert crypto.key_id(app.config["KIDRATE"].data_key) in result.output
    for plain in (*SECRETS.values(), *FRAGMENTS):
        assert plain not in result.output
    assert _raw_columns() == before


def test_rotate_key_moves_every_value_to_the_new_key_and_a_second_run_changes_nothing(world, rotated_app):
    before = _raw_columns()
    runner = rotated_app.test_cli_runner()
    result = runner.invoke(args=["rotate-key"])
    assert result.exit_code == 0, result.output
    values = sum(len(v) for v in before.values())
    new_id = rotated_app.extensions[crypto.EXTENSION].current_id
    assert f"re-encrypted {values} value(s) under key {new_id}" in result.output
    for plain in (*SECRETS.values(), *FRAGMENTS):
        assert plain not in result.output

    after = _raw_columns()
    for (table, column), stored in after.items():
        assert len(stored) == len(before[table, column])
        assert all(crypto.stored_key_id(v) == new_id for v in stored), (table, column)
    with rotated_app.app_context():
        case = db.session.get(Case, world["case_id"])
        assert {p.words for p in case.problems} >= {SECRETS["words"], SECRETS["other_words"]}
        assert case.handovers[0].document["closure"]["concern_text"] == SECRETS["concern_text"]
        assert db.session.scalar(select(Recording.data)) == SOUND
        db.session.remove()

    again = runner.invoke(args=["rotate-key"])
    assert again.exit_code == 0, again.output
    assert f"re-encrypted 0 value(s) under key {new_id}" in again.output
    assert _raw_columns() == after
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "rotate_key")
                                     .order_by(AuditEvent.id)))
    assert [(e.user_id, e.target) for e in events] == [(None, f"{values} values"), (None, "0 values")]
    db.session.remove()


def test_new_data_key_prints_a_usable_key(app):
    result = app.test_cli_runner().invoke(args=["new-data-key"])
    assert result.exit_code == 0
    assert len(base64.urlsafe_b64decode(result.output.strip())) == 32


def test_the_report_and_search_by_case_reference_still_work(app, world):
    search = world["social"].get(f"/staff/cases?q={CASE_REF}")
    assert search.status_code == 200 and f"/staff/cases/{world['case_id']}" in search.text
    with app.test_request_context():
        case = db.session.get(Case, world["case_id"])
        tables = {t.key: {r.key: r.values[1:] for r in t.rows}
                  for t in compute_tables(db.session, case.organisation_id, ReportFilters())}
        db.session.remove()
    assert tables["problem_areas"]["violence_abuse"][0] == 1
    assert tables["problem_areas"]["other"][0] == 1
    analyst = world["social"].application.test_client()
    sign_in(analyst, "ana")
    report = analyst.get("/staff/report")
    assert report.status_code == 200
    for plain in SECRETS.values():
        assert plain not in report.text
