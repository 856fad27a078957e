"""Retention (Loi 25) end to end: a tracker database written by Rasa's own SQLTrackerStore from the
endpoints the launcher writes, a real outbox, old and new data in both, and the real delivery
worker process, whose start pass must leave nothing past the retention and touch nothing newer.
Helpers here serve tests/scale/test_retention_pg.py too (the same checks on PostgreSQL)."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore, create_tracker_store
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from bot import settings
from bot.inquiries import worker
from bot.inquiries.store import NewInquiry, OutboxStore, conversation_key
from bot.launcher import write_runtime_config
from bot.db import tracker_store_config, tracker_store_url
from bot.retention import RetentionSchedule
from tests.conftest import ROOT, wait_for

DAY = 86400.0
NOW = time.time()
OLD, JUST_OLD, RECENT, NEW = NOW - 120 * DAY, NOW - 91 * DAY, NOW - 89 * DAY, NOW - 60
CUTOFF = NOW - 90 * DAY
PASS_LINE = "retention pass deleted"

# What visitors typed: none of it may survive in a store past the retention, nor reach a log.
OLD_CHAT = "Je m'appelle Gaston Tremblay, gaston.tremblay@exemple.org, parlons du local partage"
LONG_OLD_CHAT = "Ici Rosalie Gagnon (rosalie.gagnon@exemple.org) : une cuisine collective?"
LONG_NEW_CHAT = "Quelles sont les formes de mutualisation?"
RECENT_CHAT = "Comment fonctionne la halte-garderie partagee?"
SENDERS = ("web-ancien-7f3a", "web-fidele-91bc", "web-recent-44d0")


@dataclass(frozen=True)
class Outbox:
    old_delivered: str
    old_undelivered: str
    recent_undelivered: str
    new_delivered: str


OLD_INQUIRY_PEOPLE = [("Gaston Tremblay", "gaston.tremblay@exemple.org", "Peut-on partager une comptable?"),
                      ("Rosalie Gagnon", "rosalie.gagnon@exemple.org", "Qui contacter pour un local?")]
NEW_INQUIRY_PEOPLE = [("Maïté Bouchard", "maite.bouchard@exemple.org", "Où trouver le guide du TIESS?"),
                      ("Jules Pelletier", "jules.pelletier@exemple.org", "Une entente type existe-t-elle?")]
PERSONAL = [OLD_CHAT, LONG_OLD_CHAT, LONG_NEW_CHAT, RECENT_CHAT, "cuisine collective", "halte-garderie",
            "exemple.org", *SENDERS, *(part for person in OLD_INQUIRY_PEOPLE + NEW_INQUIRY_PEOPLE
                                       for part in (*person[0].split(), person[2]))]


def session(at: float) -> List[Event]:
    return [ActionExecuted("action_session_start", timestamp=at), SessionStarted(timestamp=at + 0.1),
            ActionExecuted("action_listen", timestamp=at + 0.2)]


def exchange(text: str, at: float) -> List[Event]:
    return [UserUttered(text, {"name": "faq", "confidence": 0.9}, timestamp=at),
            BotUttered("Voici ce que je sais à ce sujet.", timestamp=at + 1),
            ActionExecuted("action_listen", timestamp=at + 2)]


CONVERSATIONS: Dict[str, List[Event]] = {
    SENDERS[0]: session(OLD) + exchange(OLD_CHAT, OLD + 5),  # silent for 120 days: all goes
    SENDERS[1]: session(OLD) + exchange(LONG_OLD_CHAT, OLD + 5)  # came back yesterday: the old part goes
    + session(NEW) + exchange(LONG_NEW_CHAT, NEW + 5),
    SENDERS[2]: session(RECENT) + exchange(RECENT_CHAT, RECENT + 5),  # 89 days: within the retention
}
OLD_EVENTS = 12  # 6 of the first conversation, 6 of the second


def rasa_tracker_store(conf: settings.Settings) -> TrackerStore:
    """Rasa's own SQL tracker store, from the endpoints file the launcher writes for Rasa."""
    endpoints = write_runtime_config(conf)["endpoints"]
    return create_tracker_store(read_endpoint_config(str(endpoints), "tracker_store"), Domain.empty())


def seed_conversations(store: TrackerStore) -> None:
    for sender, events in CONVERSATIONS.items():
        asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))


def seed_outbox(conf: settings.Settings) -> Outbox:
    outbox = OutboxStore(conf.inquiry_db)

    def add(person: Tuple[str, str, str], at: float, delivered: bool) -> str:
        name, email, question = person
        inquiry = outbox.add(NewInquiry(name, email, None, question, conversation_key(email)), now=at)
        if delivered:
            outbox.mark_delivered(inquiry.id, at + 60)
        return inquiry.reference

    return Outbox(old_delivered=add(OLD_INQUIRY_PEOPLE[0], OLD, True),
                  old_undelivered=add(OLD_INQUIRY_PEOPLE[1], JUST_OLD, False),
                  recent_undelivered=add(NEW_INQUIRY_PEOPLE[0], RECENT, False),
                  new_delivered=add(NEW_INQUIRY_PEOPLE[1], NEW, True))


def stored_events(conf: settings.Settings) -> Set[Tuple[str, str, float]]:
    """(sender, type, timestamp) of every row of Rasa's events table, read with plain SQL."""
    engine = sa.create_engine(tracker_store_url(tracker_store_config(conf)))
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT sender_id, type_name, timestamp FROM events"))
            return {(r[0], r[1], round(r[2], 3)) for r in rows}
    finally:
        engine.dispose()


def expected_events(keep: bool) -> Set[Tuple[str, str, float]]:
    return {(sender, e.type_name, round(e.timestamp, 3)) for sender, events in CONVERSATIONS.items()
            for e in events if (e.timestamp >= CUTOFF) is keep}


def user_texts(store: TrackerStore, sender: str) -> List[str]:
    tracker = asyncio.run(store.retrieve_full_tracker(sender))
    return [] if tracker is None else [e.text for e in tracker.events if isinstance(e, UserUttered)]


def worker_env(data_dir: Path, **extra: str) -> Dict[str, str]:
    """A worker with no delivery channel (inquiries stay pending) and the default retention."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUTU_")}
    env.update({"PYTHONPATH": str(ROOT), "MUTU_HOST": "127.0.0.1", "MUTU_DATA_DIR": str(data_dir),
                "MUTU_WORKER_POLL_SECONDS": "0.1", "RASA_TELEMETRY_ENABLED": "false",
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1", **extra})
    return env


def run_worker_until(env: Dict[str, str], log: Path, passes: int = 1, timeout: float = 60) -> None:
    """Start `python -m bot worker`, wait until its log shows ``passes`` retention passes, stop it."""
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: log.read_text().count(PASS_LINE) >= passes or proc.poll() is not None, timeout,
                 "the worker's retention pass")
        assert proc.poll() is None, "worker died:\n" + log.read_text()
    finally:
        proc.terminate()
        proc.wait(15)


def assert_log_is_clean(text: str, outbox: Outbox) -> None:
    leaked = [p for p in PERSONAL if p.lower() in text.lower()]
    assert not leaked, f"personal data in the worker log: {leaked}\n{text}"
    warnings = [line for line in text.splitlines() if " WARNING " in line]
    assert any(outbox.old_undelivered in line for line in warnings), text  # deleted undelivered: said
    assert outbox.old_delivered not in text  # a delivered one goes quietly
    assert f"{OLD_EVENTS} conversation events and 2 inquiries (1 never delivered)" in text


def assert_conversations_purged(conf: settings.Settings, store: TrackerStore) -> None:
    assert stored_events(conf) == expected_events(keep=True)  # every old event gone, every new one kept
    assert user_texts(store, SENDERS[0]) == []
    assert user_texts(store, SENDERS[1]) == [LONG_NEW_CHAT]
    assert user_texts(store, SENDERS[2]) == [RECENT_CHAT]


def assert_outbox_purged(conf: settings.Settings, outbox: Outbox) -> None:
    store = OutboxStore(conf.inquiry_db)
    assert {i.reference: i.status for i in store.list()} == {
        outbox.recent_undelivered: "pending", outbox.new_delivered: "delivered"}
    assert store.get(outbox.recent_undelivered).name == NEW_INQUIRY_PEOPLE[0][0]  # untouched


def raw_bytes(*paths: Path) -> bytes:
    return b"".join(p.read_bytes() for p in paths if p.exists())


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Tuple[settings.Settings, TrackerStore, Outbox]]:
    conf = settings.load(worker_env(tmp_path))
    store = rasa_tracker_store(conf)
    seed_conversations(store)
    outbox = seed_outbox(conf)
    assert stored_events(conf) == expected_events(True) | expected_events(False)
    yield conf, store, outbox
    store.engine.dispose()


def test_worker_start_pass_deletes_what_is_past_the_retention_everywhere(
        seeded: Tuple[settings.Settings, TrackerStore, Outbox], tmp_path: Path) -> None:
    conf, store, outbox = seeded
    files = (conf.tracker_db, Path(f"{conf.tracker_db}-wal"), conf.inquiry_db, Path(f"{conf.inquiry_db}-wal"))
    # Reading a database's files with open() in this process drops the POSIX locks of the
    # SQLite connections this process keeps open (here, the store's pool): close them first.
    store.engine.dispose()
    for secret in (b"gaston.tremblay@exemple.org", b"rosalie.gagnon@exemple.org"):
        assert secret in raw_bytes(*files)  # the check below is not vacuous
    log = tmp_path / "worker.log"
    run_worker_until(worker_env(tmp_path), log)  # default interval (24 h): only the start pass runs
    assert_conversations_purged(conf, store)
    assert_outbox_purged(conf, outbox)
    assert_log_is_clean(log.read_text(), outbox)
    for secret in (b"gaston.tremblay@exemple.org", b"rosalie.gagnon@exemple.org", b"Gaston", b"Rosalie"):
        assert secret not in raw_bytes(*files), secret  # overwritten, not left in free pages


def test_worker_repeats_the_pass_at_the_configured_interval(tmp_path: Path) -> None:
    env = worker_env(tmp_path, MUTU_RETENTION_INTERVAL_SECONDS="0.5")
    conf = settings.load(env)
    outbox = OutboxStore(conf.inquiry_db)
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: PASS_LINE in log.read_text() or proc.poll() is not None, 60, "start pass")
        late = outbox.add(NewInquiry("Gaston Tremblay", "gaston.tremblay@exemple.org", None,
                                     "Peut-on partager une comptable?", conversation_key("x")), now=OLD)
        wait_for(lambda: outbox.get(late.reference) is None or proc.poll() is not None, 30,
                 "a later pass deleting an inquiry that arrived already past the retention")
        assert proc.poll() is None, log.read_text()
    finally:
        proc.terminate()
        proc.wait(15)
    assert outbox.get(late.reference) is None
    assert log.read_text().count(PASS_LINE) >= 2


def test_purge_by_hand_covers_every_store(seeded: Tuple[settings.Settings, TrackerStore, Outbox],
                                          tmp_path: Path) -> None:
    conf, store, outbox = seeded
    done = subprocess.run([sys.executable, "-m", "bot", "purge"], cwd=ROOT, env=worker_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"purged {OLD_EVENTS} conversation events and 2 inquiries (1 never delivered)" in done.stdout
    assert outbox.old_undelivered in done.stderr  # the operator is told which were never delivered
    assert_conversations_purged(conf, store)
    assert_outbox_purged(conf, outbox)


def test_purge_with_nothing_stored_yet_is_a_no_op(tmp_path: Path) -> None:
    conf = settings.load(worker_env(tmp_path))
    from bot.retention import run_pass
    report = run_pass(conf)
    assert (report.events, report.inquiries, report.undelivered) == (0, 0, 0)
    assert not conf.tracker_db.exists()  # not created behind Rasa's back


@pytest.mark.parametrize("profile", ["sqlite", "scale"])
def test_retention_reaches_the_database_rasa_is_given(tmp_path: Path, profile: str) -> None:
    conf = settings.load({"MUTU_DATA_DIR": str(tmp_path), "MUTU_STORE_PROFILE": profile,
                          "MUTU_PG_HOST": "db.exemple.internal", "MUTU_PG_PORT": "5433",
                          "MUTU_PG_PASSWORD": "s3cret"})
    endpoint = read_endpoint_config(str(write_runtime_config(conf)["endpoints"]), "tracker_store")
    rasa_url = SQLTrackerStore.get_db_url(host=endpoint.url, **{k: v for k, v in endpoint.kwargs.items()
                                                                 if k not in ("type", "window")})
    ours = tracker_store_url(tracker_store_config(conf))
    assert sa.engine.make_url(ours).render_as_string(hide_password=False) == \
        sa.engine.make_url(rasa_url).render_as_string(hide_password=False)


def test_schedule_runs_at_start_then_every_interval_and_retries_sooner_after_a_failure() -> None:
    schedule = RetentionSchedule(interval=86400, retry_after=300)
    assert schedule.due(1000.0)  # at start
    schedule.ran(1000.0, ok=True)
    assert not schedule.due(1000.0 + 86399) and schedule.due(1000.0 + 86400)
    schedule.ran(90000.0, ok=False)
    assert not schedule.due(90299.0) and schedule.due(90300.0)
    short = RetentionSchedule(interval=60, retry_after=300)
    short.ran(0.0, ok=False)
    assert short.due(60.0)  # a retry never waits longer than the interval


def test_a_failing_pass_does_not_stop_the_worker_and_is_retried(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    calls: List[float] = []
    clock = iter([10.0, 10.5, 400.0, 400.5, 500.0]).__next__

    def failing_then_ok(conf: settings.Settings) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise sa.exc.OperationalError("DELETE", {}, Exception("server closed the connection"))

    monkeypatch.setattr(worker, "run_pass", failing_then_ok)
    conf = settings.load(worker_env(tmp_path))
    schedule = RetentionSchedule(interval=86400, retry_after=300)
    worker.retention_step(conf, schedule, clock)  # fails at 10: next try at 310.5
    worker.retention_step(conf, schedule, clock)  # 400: due again, succeeds
    worker.retention_step(conf, schedule, clock)  # 500: not due for a day
    assert len(calls) == 2 and schedule.next_at == 400.5 + 86400


def test_interval_setting() -> None:
    assert settings.load({}).retention_interval_seconds == 3600
    assert settings.load({"MUTU_RETENTION_INTERVAL_SECONDS": "3600"}).retention_interval_seconds == 3600
    with pytest.raises(settings.SettingsError):
        settings.load({"MUTU_RETENTION_INTERVAL_SECONDS": "0"})
