"""Retention on the scale profile: the tracker store in PostgreSQL (written by Rasa's own
SQLTrackerStore from the endpoints the launcher writes), the outbox in SQLite, the real worker
process. Same data and checks as tests/test_retention.py."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest
import sqlalchemy as sa

from bot import settings
from tests.conftest import ROOT
from tests.test_retention import (OLD_EVENTS, assert_conversations_purged, assert_log_is_clean,
                                  assert_outbox_purged, expected_events, rasa_tracker_store, run_worker_until,
                                  seed_conversations, seed_outbox, stored_events, worker_env)

pytestmark = pytest.mark.scale
DATABASE = "mutu_retention"  # its own database: the scale-out test's conversations stay apart


def create_database(pg: Dict[str, str], name: str = DATABASE) -> None:
    """A fresh, empty database ``name`` on the test server."""
    url = sa.engine.URL.create("postgresql", pg["MUTU_PG_USER"], pg["MUTU_PG_PASSWORD"], pg["MUTU_PG_HOST"],
                               int(pg["MUTU_PG_PORT"]), "postgres")
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
            connection.execute(sa.text(f"CREATE DATABASE {name}"))
    finally:
        engine.dispose()


@pytest.fixture
def scale_env(postgres: Dict[str, str], tmp_path: Path) -> Dict[str, str]:
    create_database(postgres)
    return worker_env(tmp_path, MUTU_STORE_PROFILE="scale", **dict(postgres, MUTU_PG_DB=DATABASE))


def test_worker_start_pass_deletes_old_events_from_postgresql(scale_env: Dict[str, str], tmp_path: Path) -> None:
    conf = settings.load(scale_env)
    store = rasa_tracker_store(conf)
    assert store.engine.dialect.name == "postgresql"
    try:
        seed_conversations(store)
        outbox = seed_outbox(conf)
        assert stored_events(conf) == expected_events(True) | expected_events(False)
        log = tmp_path / "worker.log"
        run_worker_until(scale_env, log)
        assert_conversations_purged(conf, store)
        assert_outbox_purged(conf, outbox)
        assert_log_is_clean(log.read_text(), outbox)
    finally:
        store.engine.dispose()


def test_purge_by_hand_on_postgresql(scale_env: Dict[str, str]) -> None:
    conf = settings.load(scale_env)
    store = rasa_tracker_store(conf)
    try:
        seed_conversations(store)
        seed_outbox(conf)
        done = subprocess.run([sys.executable, "-m", "bot", "purge", "--older-than", "90d"], cwd=ROOT,
                              env=scale_env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert f"purged {OLD_EVENTS} conversation events" in done.stdout
        assert_conversations_purged(conf, store)
    finally:
        store.engine.dispose()
