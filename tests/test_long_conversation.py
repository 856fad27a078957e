"""One conversation of 300 messages with the running bot (`make run`'s SQLite profile): the cost
of a message does not grow with the conversation (a ratio of medians measured in one run, so it
holds on a loaded machine), and what the conversation needs survives: the last cycle of the
conversation is answered as the first one (follow-ups, the form's slots across a side question).
The same on PostgreSQL with two Rasa servers: tests/scale/test_scale_out.py."""
from __future__ import annotations

import asyncio
import sqlite3

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain

from bot import settings
from bot.tracker_store import WindowedSQLTrackerStore
from tests import long_conversation
from tests.conftest import API_TOKEN, ROOT
from tests.helpers import get_json

MESSAGES, SPAN, MAX_SLOWDOWN = 300, 50, 1.5


def assert_bounded(run: long_conversation.LongRun, messages: int) -> None:
    head, tail = run.median_ms(1, SPAN), run.median_ms(messages - SPAN + 1, messages)
    assert tail <= MAX_SLOWDOWN * head, f"last {SPAN}: {tail:.0f} ms, first {SPAN}: {head:.0f} ms"
    assert run.accuracy(1, SPAN) >= 0.9, [t.text for t in run.window(1, SPAN) if not t.ok]
    # the conversation's end is answered as its start (1 miss of 50 tolerated)
    assert run.accuracy(messages - SPAN + 1, messages) >= run.accuracy(1, SPAN) - 1 / SPAN, \
        [t.text for t in run.window(messages - SPAN + 1, messages) if not t.ok]


def test_a_300_message_conversation_costs_the_same_at_its_end(bot: settings.Settings) -> None:
    run = long_conversation.play(bot.rasa_url, MESSAGES)
    assert_bounded(run, MESSAGES)


def test_the_bounded_tracker_keeps_the_state_of_the_whole_conversation(bot: settings.Settings) -> None:
    sender = "long-state-check"
    # 148 messages: the last one gives the form its name, the form is waiting for the e-mail
    long_conversation.play(bot.rasa_url, 8 * len(long_conversation.CYCLE) + 12, sender=sender)
    store = WindowedSQLTrackerStore(domain=Domain.load(str(ROOT / "domain.yml")), host=None, dialect="sqlite",
                                    db=str(bot.tracker_db))
    windowed = asyncio.run(store.retrieve(sender))  # what Rasa works from at the next message
    full = asyncio.run(SQLTrackerStore.retrieve(store, sender))  # Rasa's own: every event of the session
    assert windowed.get_slot("inquiry_name") == "Julie Gagnon"
    assert windowed.current_slot_values() == full.current_slot_values()
    assert windowed.active_loop == full.active_loop and windowed.active_loop_name == "inquiry_form"
    assert len(windowed.events) < len(full.events) / 5
    # Rasa's API still shows the whole conversation
    served = get_json(f"{bot.rasa_url}/conversations/{sender}/tracker?include_events=ALL", API_TOKEN)
    assert len(served["events"]) == len(full.events) + 1  # + action_session_start, before the session
    assert served["slots"] == full.current_slot_values()
    # Rasa really uses our store: an import error would make it fall back to its in-memory one
    with sqlite3.connect(bot.tracker_db) as db:
        rows = db.execute("SELECT count(*) FROM mutu_checkpoints WHERE sender_id = ?", (sender,)).fetchone()[0]
    assert 0 < rows < 40
