"""The console's tables on the scale profile: conversations written by Rasa's own SQL tracker
store in PostgreSQL are read into `console_*` tables of the same database, redacted and
classified, and the retention pass deletes them there."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Dict

import pytest
import sqlalchemy as sa
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import settings
from bot.console.store import ConsoleStore
from bot.retention import run_pass
from tests.scale.test_retention_pg import create_database
from tests.test_retention import rasa_tracker_store, worker_env

pytestmark = pytest.mark.scale


def turn(text: str, intent: str, answer: str, at: float) -> list:
    return [UserUttered(text, {"name": intent, "confidence": 0.9}, timestamp=at),
            ActionExecuted("action_answer", timestamp=at + 0.1), BotUttered("réponse", timestamp=at + 0.2),
            SlotSet("mutu_answer", answer, timestamp=at + 0.3)]


def test_console_reads_and_purges_on_postgresql(postgres: Dict[str, str], tmp_path: Path) -> None:
    create_database(postgres)
    env = worker_env(tmp_path, MUTU_STORE_PROFILE="scale", **dict(postgres, MUTU_PG_DB="mutu_retention"))
    conf = settings.load(env)
    store = rasa_tracker_store(conf)
    old, now = time.time() - 100 * 86400, time.time()
    events = turn("vieille question au 514 555-1234", "faq", "topic:elements", old) + \
        turn("écrivez-moi à jo@exemple.org: ça coûte combien?", "not_in_source", "dont_know:halte:cout", now)
    asyncio.run(store.save(DialogueStateTracker.from_events("web-pg", events)))
    store.engine.dispose()
    console = ConsoleStore(conf)
    try:
        assert console.engine.dialect.name == "postgresql"
        assert console.ingest() == 2 and console.ingest() == 0
        with console.engine.connect() as db:
            rows = db.execute(sa.text("select text, category, topic from console_messages order by id")).fetchall()
        assert [tuple(r) for r in rows] == [("vieille question au [téléphone]", "answered", "elements"),
                                            ("écrivez-moi à [courriel]: ça coûte combien?", "not_said", None)]
        assert run_pass(conf).console == 1
        assert console.stats().categories["not_said"] == 1
    finally:
        console.close()
