"""Rasa's SQL tracker store with a bounded cost per message, whatever the conversation's length.

Rasa's ``SQLTrackerStore`` rebuilds the tracker from every event of the session at each message,
then the policies walk all of them and the whole list goes to the action server: a conversation of
n messages costs O(n) per message, O(n²) in all. This store loads only the most recent events:

- after each save it writes a **checkpoint**: the conversation's state at its last stored event
  (slots that differ from their initial value, the active form, its flags and the message that
  opened it, a paused conversation, the last action), as the Rasa events that recreate it;
- ``retrieve`` loads the newest checkpoint at least ``window`` events old, then the events after
  it. The tracker starts with the checkpoint's events (prefix) and replays the real ones, so the
  slots, the form and the last topic are exactly what a full replay gives, and the policies
  (memoization, rules: a few turns each) see the same recent turns;
- ``save`` writes only the events added since ``retrieve`` (never the prefix), in one transaction
  with the new checkpoint, and drops the checkpoints no later retrieve can use.

Everything stays in Rasa's own tables plus one (``mutu_checkpoints``), through SQLAlchemy: the same
code runs on SQLite (default) and on PostgreSQL (the scale profile), and several Rasa servers can
share it (each conversation is serialised by Rasa's lock store). ``retrieve_full_tracker`` (Rasa's
API, exports) still returns every event. Retention (bot/retention.py) purges the checkpoints too.
"""
from __future__ import annotations

import itertools
import json
import logging
import time
from typing import Any, Dict, List, Optional, Text, Tuple

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (ActionExecuted, ActionExecutionRejected, ActiveLoop, ConversationPaused, Event,
                                     LoopInterrupted, SessionStarted, SlotSet)
from rasa.shared.core.trackers import DialogueStateTracker

from bot import rasa_patches

rasa_patches.apply()  # Rasa's savings, in the process that loads our components or store

logger = logging.getLogger("mutu.tracker_store")

DEFAULT_WINDOW = 60  # events read behind the checkpoint: ~7 turns, about twice what the policies look at
STORED_MARK = "_mutu_stored_events"  # how many of tracker.events are already in the database


class Checkpoint(SQLTrackerStore.Base):  # type: ignore[misc, valid-type]
    """The conversation's state right after the event ``event_id`` (ids of Rasa's ``events``)."""

    __tablename__ = "mutu_checkpoints"
    id = sa.Column(sa.Integer, primary_key=True)
    sender_id = sa.Column(sa.String(255), nullable=False)
    event_id = sa.Column(sa.Integer, nullable=False)
    timestamp = sa.Column(sa.Float, nullable=False)  # for retention
    state = sa.Column(sa.Text, nullable=False)  # JSON: {"events": [Rasa events], "trigger_message": …}
    __table_args__ = (sa.Index("mutu_checkpoints_sender_event", "sender_id", "event_id"),)


EVENTS = SQLTrackerStore.SQLEvent.__table__
CHECKPOINTS = Checkpoint.__table__
# Rasa indexes ``events`` on sender_id only: these keep the window and session-start lookups
# logarithmic on PostgreSQL as well (SQLite's rowid order already serves the first).
EVENT_INDEXES = (sa.Index("mutu_events_sender_id_id", EVENTS.c.sender_id, EVENTS.c.id),
                 sa.Index("mutu_events_sender_type_id", EVENTS.c.sender_id, EVENTS.c.type_name, EVENTS.c.id))


def sqlite_write_ahead(dbapi_connection: Any, _record: object) -> None:
    """SQLite in write-ahead-log mode, synced at checkpoints rather than at every commit: a save no
    longer waits for the disk (an fsync per message blocked Rasa's event loop), the console and
    retention read while Rasa writes, and the file stays consistent after a crash. A power cut
    may lose the last conversation turns written, never an inquiry (its outbox syncs fully)."""
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
    dbapi_connection.execute("PRAGMA busy_timeout=30000")


def state_events(tracker: DialogueStateTracker, timestamp: float) -> List[Event]:
    """The events that bring a fresh tracker to ``tracker``'s state (slots, form, pause, last
    action)."""
    events: List[Event] = [SlotSet(name, slot.value, timestamp=timestamp)
                           for name, slot in tracker.slots.items() if slot.value != slot.initial_value]
    loop = tracker.active_loop
    if loop is not None and loop.name:
        events.append(ActiveLoop(loop.name, timestamp=timestamp))
        if loop.is_interrupted:
            events.append(LoopInterrupted(True, timestamp=timestamp))
        if loop.rejected:
            events.append(ActionExecutionRejected(loop.name, timestamp=timestamp))
    if tracker.is_paused():
        events.append(ConversationPaused(timestamp=timestamp))
    # The action the checkpointed turn ended with (action_listen after a message): the policies get
    # a first, never hidden state, as a whole conversation's start gives them.
    events.append(ActionExecuted(tracker.latest_action_name or ACTION_LISTEN_NAME, timestamp=timestamp))
    return events


class WindowedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` whose ``retrieve`` reads a bounded window (see the module's text)."""

    def __init__(self, *args: Any, window: int = DEFAULT_WINDOW, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # creates Rasa's table and ours (same metadata)
        self.window = max(int(window), 10)
        if self.engine.dialect.name == "sqlite":
            self._keep_sqlite_connections()
        for index in EVENT_INDEXES:
            try:
                index.create(self.engine, checkfirst=True)
            except sa.exc.SQLAlchemyError as exc:  # another server created it at the same moment
                logger.debug("index %s: %s", index.name, exc)

    def _keep_sqlite_connections(self) -> None:
        """Rasa opens a new SQLite connection per read and per save (NullPool); a pooled one, in
        write-ahead-log mode, saves without waiting for the disk (see ``sqlite_write_ahead``)."""
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, poolclass=sa.pool.QueuePool, pool_size=2, max_overflow=4,
                                       connect_args={"check_same_thread": False, "timeout": 30})
        sa.event.listen(self.engine, "connect", sqlite_write_ahead)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        with self.engine.connect() as connection:  # the journal mode stays with the file
            connection.exec_driver_sql("PRAGMA journal_mode=WAL")

    # ----------------------------------------------------------------------------- reading
    # SQLAlchemy Core statements built once (the ORM's per-query work was a tenth of a message).
    _SESSION_START = sa.select(sa.func.max(EVENTS.c.id)).where(
        EVENTS.c.sender_id == sa.bindparam("sender"), EVENTS.c.type_name == SessionStarted.type_name)
    _NTH_NEWEST = sa.select(EVENTS.c.id).where(EVENTS.c.sender_id == sa.bindparam("sender"),
                                               EVENTS.c.id >= sa.bindparam("start")) \
        .order_by(EVENTS.c.id.desc()).offset(sa.bindparam("skip")).limit(1)
    _CHECKPOINT = sa.select(CHECKPOINTS.c.event_id, CHECKPOINTS.c.state).where(
        CHECKPOINTS.c.sender_id == sa.bindparam("sender"), CHECKPOINTS.c.event_id < sa.bindparam("boundary"),
        CHECKPOINTS.c.event_id >= sa.bindparam("start")).order_by(CHECKPOINTS.c.event_id.desc()).limit(1)
    _EVENTS_FROM = sa.select(EVENTS.c.data).where(EVENTS.c.sender_id == sa.bindparam("sender"),
                                                  EVENTS.c.id >= sa.bindparam("first")).order_by(EVENTS.c.id)
    _LAST_ID = sa.select(sa.func.max(EVENTS.c.id)).where(EVENTS.c.sender_id == sa.bindparam("sender"))
    _DROP_CHECKPOINTS = CHECKPOINTS.delete().where(CHECKPOINTS.c.sender_id == sa.bindparam("sender"),
                                                   CHECKPOINTS.c.event_id < sa.bindparam("older"))

    def _window_start(self, connection: Any, sender_id: Text) -> Tuple[int, Optional[Any]]:
        """(id of the latest ``session_started`` event or 0, the newest checkpoint of that session
        with at least ``window`` events after it, if any)."""
        start = int(connection.execute(self._SESSION_START, {"sender": sender_id}).scalar() or 0)
        boundary = connection.execute(self._NTH_NEWEST, {"sender": sender_id, "start": start,
                                                         "skip": self.window - 1}).scalar()
        if boundary is None:
            return start, None  # a short session: read it whole
        return start, connection.execute(self._CHECKPOINT, {"sender": sender_id, "boundary": boundary,
                                                            "start": start}).first()

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The latest session's tracker, rebuilt from its checkpoint and the events after it."""
        with self.engine.connect() as connection:
            start, checkpoint = self._window_start(connection, sender_id)
            first = checkpoint.event_id + 1 if checkpoint else start
            rows = connection.execute(self._EVENTS_FROM, {"sender": sender_id, "first": first}).fetchall()
        if not rows or not self.domain:
            return None
        state = json.loads(checkpoint.state) if checkpoint else {"events": []}
        window = [json.loads(data) for (data,) in rows]
        events = state["events"] + window
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        trigger = state.get("trigger_message")
        if trigger and tracker.active_loop and not any(e.get("event") == ActiveLoop.type_name for e in window):
            tracker.active_loop.trigger_message = trigger  # the message that opened the form, before the window
        setattr(tracker, STORED_MARK, (len(events), checkpoint.event_id if checkpoint else None))
        return tracker

    # ----------------------------------------------------------------------------- writing
    def init_tracker(self, sender_id: Text) -> DialogueStateTracker:
        tracker = super().init_tracker(sender_id)
        setattr(tracker, STORED_MARK, (0, None))
        return tracker

    def _new_events(self, tracker: DialogueStateTracker) -> List[Event]:
        mark = getattr(tracker, STORED_MARK, None)
        if mark is None:  # a tracker this store did not load: Rasa's own rule (full trackers)
            with self.session_scope() as session:
                return list(self._additional_events(session, tracker))
        return list(itertools.islice(tracker.events, mark[0], None))

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the new events and, in the same transaction, the checkpoint of the state they
        lead to; drop the checkpoints no later ``retrieve`` can use."""
        await self.stream_events(tracker)
        new = self._new_events(tracker)
        used = (getattr(tracker, STORED_MARK, None) or (0, None))[1]
        if new:
            sender = tracker.sender_id
            now = time.time()
            state = {"events": [event.as_dict() for event in state_events(tracker, now)],
                     "trigger_message": tracker.active_loop.trigger_message if tracker.active_loop else None}
            with self.engine.begin() as connection:
                connection.execute(EVENTS.insert(), [event_row(sender, event) for event in new])
                last = connection.execute(self._LAST_ID, {"sender": sender}).scalar()
                connection.execute(CHECKPOINTS.insert(), {"sender_id": sender, "event_id": last, "timestamp": now,
                                                          "state": json.dumps(state)})
                if used is not None:  # older ones can never be the newest one behind a window again
                    connection.execute(self._DROP_CHECKPOINTS, {"sender": sender, "older": used})
        setattr(tracker, STORED_MARK, (len(tracker.events), used))


def event_row(sender_id: Text, event: Event) -> Dict[str, Any]:
    """The row Rasa's ``SQLTrackerStore.save`` writes for an event."""
    data = event.as_dict()
    return {"sender_id": sender_id, "type_name": event.type_name, "timestamp": data.get("timestamp"),
            "intent_name": (data.get("parse_data") or {}).get("intent", {}).get("name"),
            "action_name": data.get("name"), "data": json.dumps(data)}


def checkpoint_rows(engine: sa.engine.Engine, sender_id: Text) -> List[Dict[str, Any]]:
    """The checkpoints of a conversation (for tests and the operators' checks)."""
    with engine.connect() as connection:
        result = connection.execute(sa.select(CHECKPOINTS).where(CHECKPOINTS.c.sender_id == sender_id)
                                    .order_by(CHECKPOINTS.c.event_id))
        return [dict(row._mapping) for row in result]
