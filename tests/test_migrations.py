"""Alembic: the models equal `upgrade head`, and every migration goes up and down cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from kidrate.cli import alembic_config
from kidrate.extensions import db
from kidrate.models import Base

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
