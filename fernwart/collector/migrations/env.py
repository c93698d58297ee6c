"""Alembic environment: runs on the connection the collector hands over (see collector.database.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from fernwart.collector.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # the alembic command line, with -x url=...
        x_args = context.get_x_argument(as_dictionary=True)
        url = x_args.get("url") or config.get_main_option("sqlalchemy.url")
        assert url, "pass -x url=DATABASE_URL"
        with create_engine(url).connect() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
