"""Alembic environment: migrations run as the schema owner, then grant the runtime role.

The owner comes from MIGRATIONS_DATABASE_URL (falling back to DATABASE_URL). The runtime role is
the user in DATABASE_URL: it owns nothing and gets only row access (the database wall);
on append-only tables (the audit log) only INSERT and SELECT.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import make_url

config = context.config
# Keep the application's loggers: an in-process upgrade (tests, `make run`) must not silence them.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
MIGRATIONS_URL = current_app.config["MIGRATIONS_DATABASE_URL"]
RUNTIME_URL = current_app.config["SQLALCHEMY_DATABASE_URI"]
config.set_main_option("sqlalchemy.url", MIGRATIONS_URL.replace("%", "%%"))


def get_metadata():
    return target_db.metadata


def grant_runtime_role(connection) -> None:
    """Give the runtime role row access to every table but Alembic's own, and nothing else."""
    if connection.dialect.name != "postgresql":
        return
    runtime = make_url(RUNTIME_URL).username
    owner = connection.execute(text("SELECT current_user")).scalar()
    if not runtime or runtime == owner:
        logger.warning(
            "DATABASE_URL and MIGRATIONS_DATABASE_URL use the same role (%s): the application "
            "owns its tables, so FORCEd row-level security is its only database wall",
            owner,
        )
        return
    preparer = connection.dialect.identifier_preparer
    role = preparer.quote(runtime)
    for statement in (
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"REVOKE ALL ON alembic_version FROM {role}",
    ):
        connection.execute(text(statement))
    # Append-only tables (the audit log): the grant above is given again after every upgrade,
    # so the refusal is given again right after it. The tables are those marked in the models.
    for table in get_metadata().sorted_tables:
        if not table.info.get("append_only"):
            continue
        exists = connection.execute(
            text("SELECT to_regclass(:name)"), {"name": f"public.{table.name}"}
        ).scalar()
        if exists is not None:  # not yet there when upgrading to an older revision
            connection.execute(
                text(f"REVOKE UPDATE, DELETE, TRUNCATE ON {preparer.quote(table.name)} FROM {role}")
            )


def run_migrations_offline():
    context.configure(url=MIGRATIONS_URL, target_metadata=get_metadata(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    engine = create_engine(MIGRATIONS_URL, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            **conf_args,
        )
        with context.begin_transaction():
            context.run_migrations()
            grant_runtime_role(connection)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
