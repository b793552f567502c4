"""Alembic: the models equal `upgrade head`, and every migration goes up and down cleanly."""

from __future__ import annotations

import base64
import json
from datetime import datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, insert, inspect, text

from kidrate.cli import alembic_config
from kidrate.extensions import db
from kidrate.models import Base, Handover, Problem, Recording, User
from kidrate.protection.crypto import key_id

from .conftest import reset_schema


def _drop_everything() -> None:
    Base.metadata.drop_all(db.engine)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def test_models_equal_upgrade_head(app, database_url):
    db.session.remove()
    _drop_everything()
    try:
        command.upgrade(alembic_config(database_url), "head")
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == [], diff
    finally:
        reset_schema(db.engine)


def test_every_migration_goes_up_and_down(app, database_url):
    db.session.remove()
    _drop_everything()
    config = alembic_config(database_url)
    revisions = list(reversed(list(ScriptDirectory.from_config(config).walk_revisions())))
    try:
        for revision in revisions:
            command.upgrade(config, revision.revision)
            command.downgrade(config, revision.down_revision or "base")
            command.upgrade(config, revision.revision)
        command.downgrade(config, "base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    finally:
        reset_schema(db.engine)


# --- 0008: encryption at rest ------------------------------------------------------------------

PLAIN_TEXT = {
    ("user_account", "totp_secret"): "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    ("case_record", "intervention_text"): "Trygghetscirkeln",
    ("problem", "words"): "Pappa slår mig när han är arg.",
    ("problem", "category_text"): "Kusinerna",
    ("problem", "goal"): "Att jag känner mig trygg hemma.",
    ("problem", "worked_with_comment"): "Vi pratade om det varje vecka.",
    ("problem_translation", "words"): "Dad hits me when he is angry.",
    ("rating_round", "missing_reason"): "Barnet var sjukt den veckan.",
    ("submission", "added_text"): "Jag är rädd ibland.",
    ("closure", "reason_text"): "Familjen flyttade.",
    ("closure", "concern_text"): "Oro för pappas ilska.",
    ("closure", "new_problems"): "Barnet slutar äta.",
    ("closure", "recommendation"): "Träffa barnet ensam först.",
    ("handover", "correction_note"): "Rättad kommun.",
}
DOCUMENT = {"version": 1, "problems": [{"words": "Pappa slår mig när han är arg.", "ratings": [2, 5, 8]}]}
SOUND = b"OggS" + bytes(range(256)) * 4


@pytest.fixture
def migration_key(app, monkeypatch, tmp_path):
    """The migration reads its key from the settings (the environment), as `kidrate db upgrade` does:
    give it the test app's key, and an instance folder of its own."""
    key = app.config["KIDRATE"].data_key
    monkeypatch.setenv("KIDRATE_DATA_KEY", base64.urlsafe_b64encode(key).decode())
    monkeypatch.setenv("KIDRATE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("KIDRATE_OLD_DATA_KEYS", raising=False)
    return key


def _insert_plaintext_rows_at_0007(conn) -> None:
    """One row in every table with free text, written as 0007 stored it: in plain text."""
    tables = MetaData()
    tables.reflect(conn)
    now = datetime(2026, 11, 23, 12, 0)
    rows = {
        "organisation": {"id": 1, "name": "Testkommun", "created_at": now},
        "unit": {"id": 1, "organisation_id": 1, "name": "BoU", "kind": "authority"},
        "user_account": {"id": 1, "organisation_id": 1, "unit_id": 1, "username": "sara", "display_name": "Sara",
                         "role": "social_worker", "active": True, "locale": "sv", "created_at": now,
                         "recovery_codes": [], "failed_sign_ins": 0},
        "case_record": {"id": 1, "organisation_id": 1, "case_ref": "BOU-2026-17", "status": "closed", "age": 11,
                        "gender": "girl", "child_language": "sv", "family_languages": ["sv"],
                        "intervention_types": ["traditional"], "imported": False, "authority_unit_id": 1,
                        "social_worker_id": 1, "created_at": now},
        "problem": {"id": 1, "case_id": 1, "source": "child", "category": "violence_abuse", "added_at_start": False,
                    "created_at": now},
        "problem_translation": {"id": 1, "problem_id": 1, "language": "en", "created_at": now},
        "recording": {"id": 1, "problem_id": 1, "language": "sv", "mime": "audio/ogg", "data": SOUND,
                      "created_at": now},
        "rating_round": {"id": 1, "case_id": 1, "kind": "start"},
        "child_link": {"id": 1, "round_id": 1, "token_hash": "0" * 64, "language": "sv", "created_at": now,
                       "expires_at": now},
        "submission": {"id": 1, "round_id": 1, "link_id": 1, "submitted_at": now},
        "closure": {"id": 1, "case_id": 1, "reason": "other", "concern_remaining": True, "participation": {},
                    "updated_at": now},
        "handover": {"id": 1, "case_id": 1, "version": 1, "document": DOCUMENT, "sent_at": now, "sent_by_id": 1},
    }
    for (table, column), value in PLAIN_TEXT.items():
        rows[table][column] = value
    for table, row in rows.items():
        conn.execute(insert(tables.tables[table]).values(row))


def _stored(conn) -> dict:
    found = {(t, c): conn.execute(text(f"SELECT {c} FROM {t}")).scalar_one()  # noqa: S608 (names above)
             for t, c in PLAIN_TEXT}
    found["handover", "document"] = conn.execute(text("SELECT CAST(document AS TEXT) FROM handover")).scalar_one()
    found["recording", "data"] = bytes(conn.execute(text("SELECT data FROM recording")).scalar_one())
    return found


def test_0008_encrypts_plaintext_rows_and_downgrading_decrypts_them(app, database_url, migration_key):
    db.session.remove()
    _drop_everything()
    config = alembic_config(database_url)
    kid = key_id(migration_key)
    try:
        command.upgrade(config, "0007")
        with db.engine.begin() as conn:
            _insert_plaintext_rows_at_0007(conn)

        command.upgrade(config, "0008")
        with db.engine.connect() as conn:
            stored = _stored(conn)
        for (table, column), value in stored.items():
            head = f"v1:{kid}:".encode() if column == "data" else f"v1:{kid}:"
            assert value.startswith(head), (table, column)
        everything = repr(stored)
        for plain in (*PLAIN_TEXT.values(), "Pappa slår", "Pappa sl\\u00e5r"):
            assert plain not in everything
        assert b"OggS" not in stored["recording", "data"]
        # The app (whose models are at head) reads them as they were.
        command.upgrade(config, "head")
        with app.app_context():
            problem = db.session.get(Problem, 1)
            assert (problem.words, problem.goal) == (PLAIN_TEXT["problem", "words"], PLAIN_TEXT["problem", "goal"])
            assert db.session.get(Handover, 1).document == DOCUMENT
            assert db.session.get(Recording, 1).data == SOUND
            assert db.session.get(User, 1).totp_secret == PLAIN_TEXT["user_account", "totp_secret"]
            db.session.remove()

        command.downgrade(config, "0007")
        with db.engine.connect() as conn:
            stored = _stored(conn)
        assert json.loads(stored.pop(("handover", "document"))) == DOCUMENT
        assert stored.pop(("recording", "data")) == SOUND
        assert stored == PLAIN_TEXT
    finally:
        db.session.remove()
        reset_schema(db.engine)


# --- 0010: fixed-text recordings belong to an organisation ---------------------------------------


def test_0010_gives_each_organisation_its_own_copy_of_a_fixed_text_recording(app, database_url, migration_key):
    db.session.remove()
    _drop_everything()
    config = alembic_config(database_url)
    now = datetime(2026, 12, 1, 12, 0)
    try:
        command.upgrade(config, "0009")
        tables = MetaData()
        with db.engine.begin() as conn:
            tables.reflect(conn)
            org_ids = [conn.execute(insert(tables.tables["organisation"]).values(name=name, created_at=now)
                                    .returning(tables.tables["organisation"].c.id)).scalar_one()
                       for name in ("Norrby", "Söderby")]
            conn.execute(insert(tables.tables["recording"]).values(
                message_key="a" * 16, language="so", mime="audio/ogg", data=b"v1:x:sound", created_at=now))
        command.upgrade(config, "0010")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT organisation_id, message_key, language, data FROM recording "
                                     "ORDER BY organisation_id")).all()
        assert [(r[0], r[1], r[2], bytes(r[3])) for r in rows] == [
            (org_ids[0], "a" * 16, "so", b"v1:x:sound"), (org_ids[1], "a" * 16, "so", b"v1:x:sound")]
        command.downgrade(config, "0009")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM recording")).scalar_one() == 1
    finally:
        db.session.remove()
        reset_schema(db.engine)
