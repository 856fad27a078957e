"""The one place that makes database engines.

Rasa's tracker database is a SQLite file under ``MUTU_DATA_DIR`` by default and PostgreSQL under
``MUTU_STORE_PROFILE=scale``. The stores of our own (the inquiry outbox, the console) live in
that same PostgreSQL database under ``scale`` and in SQLite files of their own otherwise, so that
under ``scale`` nothing is written to a local file that another machine would need.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Union
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Engine, URL

from bot.settings import Settings

POSTGRESQL_SCHEMA_ENV = "POSTGRESQL_SCHEMA"  # the variable Rasa's SQL tracker store reads


def tracker_store_config(conf: Settings) -> Dict[str, Any]:
    """The tracker store section the launcher writes into Rasa's endpoints file: Rasa's SQL
    tracker store reading a bounded window of each conversation (bot/tracker_store.py);
    ``MUTU_TRACKER_WINDOW=0`` gives Rasa's own, which reads the whole session at every message."""
    store: Dict[str, Any] = {"type": "bot.tracker_store.WindowedSQLTrackerStore", "window": conf.tracker_window} \
        if conf.tracker_window else {"type": "SQL"}
    if conf.store_profile == "sqlite":
        return {**store, "dialect": "sqlite", "db": str(conf.tracker_db)}
    return {**store, "dialect": "postgresql", "url": conf.pg_host, "port": conf.pg_port, "db": conf.pg_db,
            "username": conf.pg_user, "password": conf.pg_password or ""}


def tracker_store_url(store: Dict[str, Any]) -> Union[str, URL]:
    """The URL Rasa's ``SQLTrackerStore.get_db_url`` builds from that section (``url`` is the
    host, which may hold a port or be a complete URL)."""
    host, port = store.get("url"), store.get("port")
    if host and "://" in host:
        return host
    if host:
        parsed = urlsplit(f"scheme://{host}")
        port, host = parsed.port or port, parsed.hostname or host
    return URL.create(store.get("dialect", "sqlite"), store.get("username"), store.get("password"),
                      host, int(port) if port else None, store.get("db", "rasa.db"))


def engine_for(url: Union[str, URL]) -> Engine:
    """An engine without a pool of its own (each process of ours opens few, short transactions);
    SQLite waits on a busy file and overwrites deleted rows, PostgreSQL gives up on a server that
    does not answer instead of stalling deliveries."""
    url = sa.engine.make_url(url)
    kwargs: Dict[str, Any] = {"poolclass": sa.pool.NullPool}
    if url.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 30}
    elif url.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": 10}
        if os.environ.get(POSTGRESQL_SCHEMA_ENV):
            kwargs["connect_args"]["options"] = f"-csearch_path={os.environ[POSTGRESQL_SCHEMA_ENV]}"
    engine = sa.create_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_secure_delete)
    return engine


def _sqlite_secure_delete(dbapi_connection: Any, _record: object) -> None:
    """Deleted rows are overwritten in the file, not left readable in free pages."""
    dbapi_connection.execute("PRAGMA secure_delete=ON")


def tracker_engine(conf: Settings) -> Engine:
    """An engine on Rasa's tracker database, configured as Rasa configures its own."""
    return engine_for(tracker_store_url(tracker_store_config(conf)))


def data_engine(conf: Settings, sqlite_file: Path) -> Engine:
    """The engine of one of our own stores: the tracker's PostgreSQL database under ``scale``,
    otherwise the SQLite file ``sqlite_file`` (its folder made if missing)."""
    if conf.store_profile == "scale":
        return tracker_engine(conf)
    sqlite_file.parent.mkdir(parents=True, exist_ok=True)
    return engine_for(URL.create("sqlite", database=str(sqlite_file)))


def missing_sqlite_file(engine: Engine) -> bool:
    """A SQLite database whose file does not exist yet (nothing stored there so far)."""
    database = engine.url.database
    return engine.url.get_backend_name() == "sqlite" and bool(database) and not Path(database).exists()
