"""Retention (Québec Loi 25): what the consent text promises is kept at most
``MUTU_RETENTION_DAYS`` days is deleted after that, in every store.

- Conversations: every event of Rasa's SQL tracker store (table ``events``) older than the
  retention, per event, so a long conversation loses its old messages too, and the state
  checkpoints of bot/tracker_store.py (table ``mutu_checkpoints``) written before it. The database is the
  one the launcher gives Rasa (SQLite under ``MUTU_DATA_DIR``, or PostgreSQL with
  ``MUTU_STORE_PROFILE=scale``), reached with SQLAlchemy: one code path for both.
- Inquiries: every inquiry of the outbox older than the retention, delivered or not.

The delivery worker runs a pass at start, then every ``MUTU_RETENTION_INTERVAL_SECONDS``;
``python -m bot purge`` runs one by hand. Logs hold counts and inquiry references only.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.db import missing_sqlite_file, tracker_engine
from bot.inquiries.store import OutboxStore
from bot.settings import Settings

logger = logging.getLogger("mutu.retention")
DAY_SECONDS = 86400.0
BATCH_SIZE = 5000  # events deleted per transaction: Rasa's own writes never wait long
RETRY_SECONDS = 300.0  # after a failed pass (database down), try again this soon

# The two columns of Rasa's SQLTrackerStore.SQLEvent that retention needs.
EVENTS = sa.Table("events", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("timestamp", sa.Float))


@dataclass(frozen=True)
class PurgeReport:
    """What one pass deleted: counts only, never personal data."""

    events: int
    inquiries: int
    undelivered: int
    console: int = 0

    def summary(self, age: str) -> str:
        return (f"{self.events} conversation events and {self.inquiries} inquiries "
                f"({self.undelivered} never delivered) older than {age}, with {self.console} console rows "
                "(messages read for the console, feedback)")


@dataclass
class RetentionSchedule:
    """When the next pass is due (monotonic seconds): at once, then every ``interval``; after a
    failure, again within ``retry_after`` so an outage at start does not wait a whole day."""

    interval: float
    retry_after: float = RETRY_SECONDS
    next_at: Optional[float] = None

    def due(self, now: float) -> bool:
        return self.next_at is None or now >= self.next_at

    def ran(self, now: float, ok: bool) -> None:
        self.next_at = now + (self.interval if ok else min(self.interval, self.retry_after))


def purge_events(engine: Engine, before: float, batch: int = BATCH_SIZE) -> int:
    """Delete every tracker event whose timestamp is before ``before``; return how many."""
    if missing_sqlite_file(engine) or not sa.inspect(engine).has_table("events"):
        return 0  # Rasa has not stored anything yet
    old_ids = sa.select(EVENTS.c.id).where(EVENTS.c.timestamp < before).limit(batch) \
        .correlate(None).scalar_subquery()
    total = 0
    while True:
        with engine.begin() as connection:
            deleted = connection.execute(sa.delete(EVENTS).where(EVENTS.c.id.in_(old_ids))).rowcount
        total += deleted
        if deleted < batch:
            return total


# The state checkpoints of bot/tracker_store.py (slot values: names, e-mail addresses).
CHECKPOINTS = sa.Table("mutu_checkpoints", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                       sa.Column("timestamp", sa.Float))


def purge_checkpoints(engine: Engine, before: float) -> int:
    """Delete the conversation-state checkpoints written before ``before``; return how many."""
    if missing_sqlite_file(engine) or not sa.inspect(engine).has_table(CHECKPOINTS.name):
        return 0
    with engine.begin() as connection:
        return connection.execute(sa.delete(CHECKPOINTS).where(CHECKPOINTS.c.timestamp < before)).rowcount


def purge_conversations(conf: Settings, before: float) -> int:
    """Old events and old checkpoints; the count is the events' (what a conversation holds)."""
    engine = tracker_engine(conf)
    try:
        events = purge_events(engine, before)
        purge_checkpoints(engine, before)
        if engine.url.get_backend_name() == "sqlite" and not missing_sqlite_file(engine):
            with engine.connect() as connection:  # deleted rows out of the write-ahead log too
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return events
    finally:
        engine.dispose()


def run_pass(conf: Settings, max_age_seconds: Optional[float] = None, now: Optional[float] = None) -> PurgeReport:
    """Delete what is older than ``max_age_seconds`` (default: the retention) from every store.
    The outbox goes first: an outage of the tracker database does not keep old inquiries."""
    if max_age_seconds is None:  # one pass early, so nothing outlives the retention until the next pass
        max_age_seconds = max(conf.retention_days * DAY_SECONDS - conf.retention_interval_seconds, 0.0)
    max_age = max_age_seconds
    before = (time.time() if now is None else now) - max_age
    inquiries = OutboxStore(conf.inquiry_db).purge_older_than(before)
    events = purge_conversations(conf, before)
    from bot.console.store import purge_older_than as purge_console  # its copies of the messages, the feedback
    console = purge_console(conf, before)
    report = PurgeReport(events=events, inquiries=inquiries.deleted, undelivered=len(inquiries.undelivered),
                         console=console)
    logger.info("retention pass deleted %s", report.summary(f"{max_age / DAY_SECONDS:g} days"))
    return report
