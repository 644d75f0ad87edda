"""The models and the migrations agree, and the migrations form one line (one head).

`flask db check` in a test: Alembic's autogenerate compares the models' metadata with the schema
the migrations built (in this run's PostgreSQL database) and must find nothing to add, drop or
change. Two heads would mean two migrations branched from one parent (a merge forgot to re-chain
them): `flask db upgrade` would refuse to run.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import create_engine

from tests.conftest import REPO_ROOT, Database


def test_the_migrations_have_a_single_head():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}; re-chain the newest revision"


def test_the_models_match_the_migrated_schema(app: Flask, database: Database):
    from samenleren.core.extensions import db

    engine = create_engine(database.owner_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
    finally:
        engine.dispose()
    assert differences == [], f"models and migrations differ (`flask db migrate`): {differences}"
