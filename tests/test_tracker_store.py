"""The windowed SQL tracker store (bot/tracker_store.py) against Rasa's own full replay: a long
conversation saved turn by turn as Rasa's processor does (retrieve, add the turn's events, save)
must give, at every turn, the same slots, form, last action and recent dialogue states as reading
every event, while reading a bounded number of events; nothing is stored twice or lost."""
from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any, Dict, List

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (ActionExecuted, ActionExecutionRejected, ActiveLoop, BotUttered, Event,
                                     LoopInterrupted, Restarted, SessionStarted, SlotSet, UserUttered)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.retention import purge_checkpoints
from bot.tracker_store import STORED_MARK, WindowedSQLTrackerStore, checkpoint_rows
from tests.conftest import ROOT

WINDOW = 40


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def store_at(path: Path, domain: Domain, window: int = WINDOW) -> WindowedSQLTrackerStore:
    return WindowedSQLTrackerStore(domain=domain, host=None, dialect="sqlite", db=str(path), window=window)


def user(intent: str, text: str = "…") -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 1.0})


def faq_turn(rng: random.Random, n: int) -> List[Event]:
    return [user("faq", f"question {n}"), ActionExecuted("action_answer", hide_rule_turn=rng.random() < 0.5),
            BotUttered(f"réponse {n}"), SlotSet("mutu_thing", f"thing{n % 7}"),
            SlotSet("mutu_answer", f"topic:{n}"), SlotSet("mutu_attribute", rng.choice([None, "lieu", "quand"])),
            ActionExecuted("action_listen")]


def form_turns(rng: random.Random, n: int) -> List[List[Event]]:
    """The form opened, filled with a side question in the middle, then closed (or left open)."""
    turns = [
        [user("contact_human"), ActionExecuted("inquiry_form"), ActiveLoop("inquiry_form"),
         SlotSet("requested_slot", "inquiry_consent"), BotUttered("Acceptez-vous ?"), ActionExecuted("action_listen")],
        [user("affirm"), ActionExecuted("inquiry_form"), SlotSet("inquiry_consent", True),
         SlotSet("requested_slot", "inquiry_name"), ActionExecuted("action_listen")],
        [user("faq"), ActionExecutionRejected("inquiry_form"), ActionExecuted("action_answer", hide_rule_turn=True),
         BotUttered("réponse"), ActionExecuted("inquiry_form"), LoopInterrupted(True), ActionExecuted("action_listen")],
        [user("nlu_fallback", f"Nom {n}"), ActionExecuted("inquiry_form"), SlotSet("inquiry_name", f"Nom {n}"),
         SlotSet("requested_slot", "inquiry_email"), ActionExecuted("action_listen")],
    ]
    if rng.random() < 0.7:
        turns.append([user("cancel"), ActionExecuted("action_cancel_inquiry"), ActiveLoop(None),
                      SlotSet("requested_slot", None), SlotSet("inquiry_name", None), ActionExecuted("action_listen")])
    return turns


def conversation(seed: int, turns: int) -> List[List[Event]]:
    """``turns`` turns of questions, follow-ups and forms (a form may stay open a long time)."""
    rng, out, n = random.Random(seed), [[ActionExecuted("action_session_start"), SessionStarted(),
                                         ActionExecuted("action_listen")]], 0
    while len(out) < turns:
        n += 1
        out += form_turns(rng, n) if rng.random() < 0.15 else [faq_turn(rng, n)]
    return out[:turns]


def plain(events: List[Event]) -> List[Dict[str, Any]]:
    return [{k: v for k, v in e.as_dict().items() if k != "timestamp"} for e in events]


async def play(store: WindowedSQLTrackerStore, sender: str, turns: List[List[Event]],
               check: Any = None) -> None:
    """What Rasa's processor does per message: retrieve (or create), update, save."""
    for number, events in enumerate(turns):
        tracker = await store.retrieve(sender) or store.init_tracker(sender)
        for event in events:
            tracker.update(event)
        await store.save(tracker)
        if check:
            await check(number, tracker)


def same_state(windowed: DialogueStateTracker, full: DialogueStateTracker, domain: Domain) -> None:
    assert windowed.current_slot_values() == full.current_slot_values()
    assert windowed.active_loop == full.active_loop
    assert windowed.latest_action_name == full.latest_action_name
    assert windowed.is_paused() == full.is_paused()
    assert plain(list(windowed.events)[-5:]) == plain(list(full.events)[-5:])
    # what the memoization and rule policies look at: the recent dialogue states
    assert windowed.past_states(domain)[-5:] == full.past_states(domain)[-5:]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_windowed_tracker_equals_the_full_replay_at_every_turn(tmp_path: Path, domain: Domain, seed: int) -> None:
    store = store_at(tmp_path / "tracker.db", domain)
    sender, turns = f"conv-{seed}", conversation(seed, 160)
    sizes: List[int] = []

    async def check(number: int, _saved: DialogueStateTracker) -> None:
        windowed = await store.retrieve(sender)
        full = await SQLTrackerStore.retrieve(store, sender)  # Rasa's own: every event of the session
        same_state(windowed, full, domain)
        sizes.append(len(windowed.events))

    asyncio.run(play(store, sender, turns, check))
    full = asyncio.run(store.retrieve_full_tracker(sender))
    # every event stored once, in order: the prefixes of the checkpoints never are
    assert plain(list(full.events)) == plain([e for turn in turns for e in turn])
    # the events read per message stop growing: window + the checkpoint's prefix + one turn at most
    assert max(sizes) <= WINDOW + len(domain.slots) + 4 + 8
    assert sizes[-1] < len(full.events) / 10
    # and the checkpoints kept per conversation too
    assert len(checkpoint_rows(store.engine, sender)) <= WINDOW // 5 + 3


def test_a_new_session_starts_from_its_own_events(tmp_path: Path, domain: Domain) -> None:
    store = store_at(tmp_path / "tracker.db", domain)
    turns = conversation(4, 120)
    turns.append([ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")])
    turns.append(faq_turn(random.Random(0), 999))
    asyncio.run(play(store, "s", turns))
    tracker = asyncio.run(store.retrieve("s"))
    assert plain(list(tracker.events)) == plain(turns[-2] [1:] + turns[-1])
    assert tracker.get_slot("mutu_thing") == "thing5"  # 999 % 7; the earlier session's slots are gone
    assert tracker.active_loop is None


def test_a_restart_inside_the_window_empties_the_state(tmp_path: Path, domain: Domain) -> None:
    store = store_at(tmp_path / "tracker.db", domain)
    turns = conversation(5, 120) + [[user("restart"), ActionExecuted("action_restart"), Restarted(),
                                     ActionExecuted("action_listen")]]
    asyncio.run(play(store, "r", turns))
    windowed, full = asyncio.run(store.retrieve("r")), asyncio.run(store.retrieve_full_tracker("r"))
    same_state(windowed, asyncio.run(SQLTrackerStore.retrieve(store, "r")), domain)
    assert len(windowed.events) < len(full.events)
    assert windowed.get_slot("mutu_thing") is None


def test_conversations_written_by_rasas_own_store_are_read_then_windowed(tmp_path: Path, domain: Domain) -> None:
    db = tmp_path / "tracker.db"
    old = SQLTrackerStore(domain=domain, dialect="sqlite", db=str(db))
    turns = conversation(6, 150)

    async def with_rasas_store() -> None:
        for events in turns[:100]:
            tracker = await old.retrieve("legacy") or old.init_tracker("legacy")
            for event in events:
                tracker.update(event)
            await old.save(tracker)

    asyncio.run(with_rasas_store())
    store = store_at(db, domain)
    # no checkpoint yet: the whole session (from SessionStarted, as Rasa reads it)
    assert len(asyncio.run(store.retrieve("legacy")).events) == sum(map(len, turns[:100])) - 1
    asyncio.run(play(store, "legacy", turns[100:]))
    windowed, full = asyncio.run(store.retrieve("legacy")), asyncio.run(store.retrieve_full_tracker("legacy"))
    same_state(windowed, asyncio.run(SQLTrackerStore.retrieve(store, "legacy")), domain)
    assert len(windowed.events) < len(full.events) / 3
    assert plain(list(full.events)) == plain([e for turn in turns for e in turn])


def test_a_tracker_the_store_did_not_load_is_saved_with_rasas_rule(tmp_path: Path, domain: Domain) -> None:
    store = store_at(tmp_path / "tracker.db", domain)
    turns = conversation(7, 10)
    asyncio.run(play(store, "x", turns))
    stored = asyncio.run(SQLTrackerStore.retrieve(store, "x"))  # the session, as Rasa reads it
    copy = DialogueStateTracker.from_dict("x", [e.as_dict() for e in stored.events], domain.slots)
    assert not hasattr(copy, STORED_MARK)
    copy.update(user("thank"))
    asyncio.run(store.save(copy))
    assert plain(list(asyncio.run(SQLTrackerStore.retrieve(store, "x")).events)) == plain(list(copy.events))


def test_retention_deletes_old_checkpoints(tmp_path: Path, domain: Domain) -> None:
    store = store_at(tmp_path / "tracker.db", domain)
    asyncio.run(play(store, "p", conversation(8, 30)))
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    kept = len(checkpoint_rows(engine, "p"))
    assert kept > 0
    assert purge_checkpoints(engine, before=0.0) == 0
    assert purge_checkpoints(engine, before=float("inf")) == kept
    assert checkpoint_rows(engine, "p") == []
