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
from typing import Any, Dict, Iterable, List, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import (ActionExecuted, ActionExecutionRejected, ActiveLoop, ConversationPaused, Event,
                                     LoopInterrupted, SessionStarted, SlotSet)
from rasa.shared.core.trackers import DialogueStateTracker

from bot import rasa_patches

rasa_patches.apply()  # Rasa's savings, in the process that loads our components or store

logger = logging.getLogger("mutu.tracker_store")

DEFAULT_WINDOW = 120  # events kept behind the checkpoint: ~12 turns, three times what the policies read
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


Event_ = SQLTrackerStore.SQLEvent
# Rasa indexes ``events`` on sender_id only: these keep the window and session-start lookups
# logarithmic on PostgreSQL as well (SQLite's rowid order already serves the first).
EVENT_INDEXES = (sa.Index("mutu_events_sender_id_id", Event_.sender_id, Event_.id),
                 sa.Index("mutu_events_sender_type_id", Event_.sender_id, Event_.type_name, Event_.id))


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
    def _session_start(self, session: Any, sender_id: Text) -> int:
        """Id of the latest ``session_started`` event (0 if none)."""
        found = session.query(sa.func.max(Event_.id)).filter(
            Event_.sender_id == sender_id, Event_.type_name == SessionStarted.type_name).scalar()
        return int(found or 0)

    def _checkpoint(self, session: Any, sender_id: Text, start: int) -> Optional[Checkpoint]:
        """The newest checkpoint of this session with at least ``window`` events after it."""
        boundary = session.query(Event_.id).filter(Event_.sender_id == sender_id, Event_.id >= start) \
            .order_by(Event_.id.desc()).offset(self.window - 1).limit(1).scalar()
        if boundary is None:
            return None  # a short session: read it whole
        return session.query(Checkpoint).filter(
            Checkpoint.sender_id == sender_id, Checkpoint.event_id < boundary, Checkpoint.event_id >= start) \
            .order_by(Checkpoint.event_id.desc()).limit(1).one_or_none()

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The latest session's tracker, rebuilt from its checkpoint and the events after it."""
        with self.session_scope() as session:
            start = self._session_start(session, sender_id)
            checkpoint = self._checkpoint(session, sender_id, start)
            first = checkpoint.event_id + 1 if checkpoint else start
            rows = session.query(Event_.data).filter(Event_.sender_id == sender_id, Event_.id >= first) \
                .order_by(Event_.id).all()
            state = json.loads(checkpoint.state) if checkpoint else {"events": []}
            checkpoint_id = checkpoint.event_id if checkpoint else None
        if not rows or not self.domain:
            return None
        window = [json.loads(data) for (data,) in rows]
        events = state["events"] + window
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        trigger = state.get("trigger_message")
        if trigger and tracker.active_loop and not any(e.get("event") == ActiveLoop.type_name for e in window):
            tracker.active_loop.trigger_message = trigger  # the message that opened the form, before the window
        setattr(tracker, STORED_MARK, (len(events), checkpoint_id))
        return tracker

    # ----------------------------------------------------------------------------- writing
    def init_tracker(self, sender_id: Text) -> DialogueStateTracker:
        tracker = super().init_tracker(sender_id)
        setattr(tracker, STORED_MARK, (0, None))
        return tracker

    def _new_events(self, session: Any, tracker: DialogueStateTracker) -> Iterable[Event]:
        mark = getattr(tracker, STORED_MARK, None)
        if mark is None:  # a tracker this store did not load: Rasa's own rule (full trackers)
            return self._additional_events(session, tracker)
        return itertools.islice(tracker.events, mark[0], None)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the new events and, after them, the checkpoint of the state they lead to."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            rows = [self._row(tracker.sender_id, event) for event in self._new_events(session, tracker)]
            if rows:
                session.add_all(rows)
                session.flush()  # gives the rows their ids
                self._write_checkpoint(session, tracker, rows[-1].id)
            session.commit()
        used = (getattr(tracker, STORED_MARK, None) or (0, None))[1]
        setattr(tracker, STORED_MARK, (len(tracker.events), used))

    def _row(self, sender_id: Text, event: Event) -> Any:
        data = event.as_dict()
        return Event_(sender_id=sender_id, type_name=event.type_name, timestamp=data.get("timestamp"),
                      intent_name=(data.get("parse_data") or {}).get("intent", {}).get("name"),
                      action_name=data.get("name"), data=json.dumps(data))

    def _write_checkpoint(self, session: Any, tracker: DialogueStateTracker, event_id: int) -> None:
        now = time.time()
        state = {"events": [event.as_dict() for event in state_events(tracker, now)],
                 "trigger_message": tracker.active_loop.trigger_message if tracker.active_loop else None}
        session.add(Checkpoint(sender_id=tracker.sender_id, event_id=event_id, timestamp=now,
                               state=json.dumps(state)))
        used = (getattr(tracker, STORED_MARK, None) or (0, None))[1]
        if used is not None:  # older ones can never be the newest one behind a window again
            session.query(Checkpoint).filter(Checkpoint.sender_id == tracker.sender_id,
                                             Checkpoint.event_id < used).delete(synchronize_session=False)


def checkpoint_rows(engine: sa.engine.Engine, sender_id: Text) -> List[Dict[str, Any]]:
    """The checkpoints of a conversation (for tests and the operators' checks)."""
    with engine.connect() as connection:
        result = connection.execute(sa.select(Checkpoint.__table__).where(Checkpoint.sender_id == sender_id)
                                    .order_by(Checkpoint.event_id))
        return [dict(row._mapping) for row in result]
