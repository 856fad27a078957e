"""The console's own small tables: the visitors' messages read from Rasa's tracker store
(incrementally, by event id, with e-mail addresses and phone numbers redacted), how Mutu
answered each of them, and the 👍/👎 given in the widget.

SQLite under ``MUTU_DATA_DIR`` (``console.db``) by default; with ``MUTU_STORE_PROFILE=scale``
the tables (``console_*``) live in the tracker store's PostgreSQL database. Conversations are
known only by a pseudonymous key (an HMAC of Rasa's sender id). Everything here follows the
retention (``bot.retention.run_pass`` calls :func:`purge_older_than`). Messages typed while the
inquiry form is active (consent, name, e-mail, organisation, question, the summary's reply) are
never copied: they serve only the inquiry.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.db import data_engine, missing_sqlite_file, tracker_engine
from bot.settings import Settings

try:
    from zoneinfo import ZoneInfo
    QUEBEC = ZoneInfo("America/Toronto")
except Exception:  # pragma: no cover - no tz database
    QUEBEC = None  # type: ignore[assignment]

META = sa.MetaData()
MESSAGES = sa.Table(
    "console_messages", META,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
    sa.Column("conv", sa.String(32), nullable=False, index=True),
    sa.Column("ts", sa.Float, nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("intent", sa.String(100)),
    sa.Column("confidence", sa.Float),
    sa.Column("button", sa.Boolean, nullable=False, default=False),
    sa.Column("category", sa.String(20)),  # answered | clarified | not_said | out_of_scope | NULL (conversation courante)
    sa.Column("topic", sa.String(120)),
    sa.Column("handled", sa.String(160)),  # « À améliorer »: attached:<topic>, new:<topic>, ignored
)
FEEDBACK = sa.Table(
    "console_feedback", META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False, index=True),
    sa.Column("conv", sa.String(32), nullable=False),
    sa.Column("topic", sa.String(120)),
    sa.Column("question", sa.Text),
    sa.Column("vote", sa.Integer, nullable=False),  # +1 / -1
    sa.Column("comment", sa.Text),
    sa.Column("handled", sa.String(160)),
)
CHANGES = sa.Table(  # what the console changed in the project since the last publication
    "console_changes", META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("publication", sa.Integer),
)
STATE = sa.Table(
    "console_state", META,
    sa.Column("key", sa.String(50), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
# Rasa's SQLTrackerStore.SQLEvent, the columns the console reads.
EVENTS = sa.Table("events", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("sender_id", sa.String(255)), sa.Column("type_name", sa.String(255)),
                  sa.Column("timestamp", sa.Float), sa.Column("data", sa.Text))

ANSWERED, CLARIFIED, NOT_SAID, OUT_OF_SCOPE, CHAT = "answered", "clarified", "not_said", "out_of_scope", "chat"
CATEGORY_LABELS = {ANSWERED: "Répondu", CLARIFIED: "Clarification demandée",
                   NOT_SAID: "L'infographie ne le dit pas", OUT_OF_SCOPE: "Hors sujet",
                   CHAT: "Conversation courante"}
MISSED = (CLARIFIED, NOT_SAID, OUT_OF_SCOPE)
KIND_CATEGORY = {"topic": ANSWERED, "fact": ANSWERED, "clarify": CLARIFIED, "rephrase": CLARIFIED,
                 "other": CLARIFIED, "dont_know": NOT_SAID, "nothing_more": NOT_SAID, "give_up": NOT_SAID,
                 "out_of_scope": OUT_OF_SCOPE}
BATCH = 2000
INQUIRY_FORM, INQUIRY_PENDING = "inquiry_form", "inquiry_pending"  # domain.yml: the form, its summary waiting

EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+\s*(?:@|\(at\)|\[at\])\s*[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
PHONE = re.compile(r"(?<![\w])(?:\+?\d{1,3}[\s.\-]?)?(?:\(\d{3}\)|\d{3})[\s.\-]?\d{3}[\s.\-]?\d{4}"
                   r"(?:\s*(?:poste|p\.|ext\.?|x)\s*\d{1,6})?(?![\w])")


def redact(text: str) -> str:
    """E-mail addresses and phone numbers typed in a message are replaced before storage."""
    return PHONE.sub("[téléphone]", EMAIL.sub("[courriel]", text or ""))


def fold(text: str) -> str:
    """Lower case, no accents, single spaces: for grouping identical questions."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def classify(answer_key: Optional[str]) -> Tuple[str, Optional[str]]:
    """(category, topic) from the ``mutu_answer`` slot set after a message."""
    parts = (answer_key or "").split(":")
    category = KIND_CATEGORY.get(parts[0], CHAT)
    topic = None
    if parts[0] == "topic" and len(parts) > 1:
        topic = parts[1]
    elif parts[0] == "fact" and len(parts) > 1:
        topic = "fact:" + parts[1]
    return category, topic


def _latest(src: Any, row: Any, *conditions: Any) -> Dict[str, Any]:
    """The data of the conversation's last event before ``row`` matching ``conditions``, or {}."""
    found = src.execute(sa.select(EVENTS.c.data).where(EVENTS.c.sender_id == row.sender_id)
                        .where(EVENTS.c.id < row.id).where(sa.or_(*conditions))
                        .order_by(EVENTS.c.id.desc()).limit(1)).scalar()
    try:
        return json.loads(found or "{}")
    except ValueError:
        return {}


def typed_in_inquiry(src: Any, row: Any) -> bool:
    """True when the visitor's message ``row`` was typed while the inquiry form asked for its consent,
    name, e-mail, organisation or question, or while its summary waited for confirmation (a new
    session ends both)."""
    new_session = EVENTS.c.type_name == "session_started"
    loop = _latest(src, row, EVENTS.c.type_name == "active_loop", new_session)
    if loop.get("event") == "active_loop" and loop.get("name") == INQUIRY_FORM:
        return True
    pending = _latest(src, row, sa.and_(EVENTS.c.type_name == "slot", EVENTS.c.data.like(f'%"{INQUIRY_PENDING}"%')),
                      new_session)
    return pending.get("event") == "slot" and pending.get("name") == INQUIRY_PENDING and pending.get("value") is True


SECRET_KEY, LEGACY_SECRET_FILE = "console_secret", "console_secret"
TABLES_LOCK = 0x6D757475  # "mutu": a PostgreSQL advisory lock while the console's tables are made


def create_tables(engine: Engine) -> None:
    """The console's tables, made once; several processes starting together on PostgreSQL take
    turns (CREATE TABLE is not safe to race there)."""
    for attempt in range(3):
        try:
            with engine.begin() as db:
                if engine.url.get_backend_name() == "postgresql":
                    db.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": TABLES_LOCK})
                META.create_all(db)
            return
        except sa.exc.OperationalError as exc:  # SQLite: another process made one between check and create
            if "already exists" not in str(exc) or attempt == 2:
                raise


def insert_once(engine: Engine, key: str, value: str) -> str:
    """The value stored under ``key`` in console_state: ``value`` if this call stored it first,
    else the one another process stored (race-safe: the key is the primary key)."""
    try:
        with engine.begin() as db:
            db.execute(sa.insert(STATE).values(key=key, value=value))
    except sa.exc.IntegrityError:
        pass
    with engine.connect() as db:
        return db.execute(sa.select(STATE.c.value).where(STATE.c.key == key)).scalar_one()


def secret(conf: Settings, engine: Engine) -> bytes:
    """The key of the pseudonyms and of the client keys of the sign-in limit: MUTU_CONSOLE_SECRET,
    else a random key made once and kept in the console's database (every web process, on any
    machine, uses the same). A key file an earlier version left in MUTU_DATA_DIR is taken over,
    so that conversations keep their pseudonyms."""
    if conf.console_secret:
        return conf.console_secret.encode("utf-8")
    create_tables(engine)
    legacy = conf.data_dir / LEGACY_SECRET_FILE
    try:
        candidate = legacy.read_text("utf-8").strip() or secrets.token_hex(32)
    except OSError:
        candidate = secrets.token_hex(32)
    return insert_once(engine, SECRET_KEY, candidate).encode("utf-8")


def conversation_key(key: bytes, sender_id: str) -> str:
    return hmac.new(key, sender_id.encode("utf-8"), hashlib.sha256).hexdigest()[:24]


def console_engine(conf: Settings) -> Engine:
    return data_engine(conf, conf.console_db)


def day_of(ts: float) -> date:
    return datetime.fromtimestamp(ts, QUEBEC).date()


@dataclass
class Stats:
    days: List[Tuple[date, int, int]]            # (day, conversations, messages), oldest first
    categories: Dict[str, int]                   # category -> user messages
    top_topics: List[Tuple[str, int]]
    feedback: List[Tuple[str, int, int]]         # (topic, 👍, 👎)
    missed: List[Tuple[str, int, float]]         # (question, times, last seen)

    @property
    def questions(self) -> int:
        return sum(n for c, n in self.categories.items() if c != CHAT)

    def share(self, category: str) -> float:
        return self.categories.get(category, 0) / self.questions if self.questions else 0.0


class ConsoleStore:
    def __init__(self, conf: Settings, engine: Optional[Engine] = None) -> None:
        self.conf = conf
        self.engine = engine or console_engine(conf)
        create_tables(self.engine)
        self.key = secret(conf, self.engine)
        self._project: Optional[Any] = None
        if self.engine.url.get_backend_name() == "sqlite":
            sa.event.listen(self.engine, "connect", lambda c, _r: c.execute("PRAGMA secure_delete=ON"))

    def close(self) -> None:
        self.engine.dispose()

    @property
    def project(self) -> Any:
        """The project's data files, shared through the database under ``scale``
        (bot/console/project_files.py)."""
        if self._project is None:
            from bot.console.project_files import SharedProject
            self._project = SharedProject(self.engine, self.conf.project_dir, self.conf.store_profile == "scale")
        return self._project

    def conv(self, sender_id: str) -> str:
        return conversation_key(self.key, sender_id)

    # ---- reading Rasa's tracker store ----------------------------------------------------------
    def _get_state(self, connection: Any, key: str, default: str = "0") -> str:
        row = connection.execute(sa.select(STATE.c.value).where(STATE.c.key == key)).first()
        return row[0] if row else default

    def _set_state(self, connection: Any, key: str, value: str) -> None:
        if connection.execute(sa.update(STATE).where(STATE.c.key == key).values(value=value)).rowcount == 0:
            connection.execute(sa.insert(STATE).values(key=key, value=value))

    def ingest(self, tracker: Optional[Engine] = None) -> int:
        """Copy the new user messages (and how they were answered) from the tracker store."""
        own = tracker is None
        tracker = tracker or tracker_engine(self.conf)
        added = 0
        try:
            if missing_sqlite_file(tracker) or not sa.inspect(tracker).has_table("events"):
                return 0
            while True:
                with self.engine.begin() as db:
                    last = int(self._get_state(db, "last_event_id"))
                    with tracker.connect() as src:
                        rows = src.execute(sa.select(EVENTS).where(EVENTS.c.id > last)
                                           .where(EVENTS.c.type_name.in_(("user", "slot")))
                                           .order_by(EVENTS.c.id).limit(BATCH)).fetchall()
                        top = src.execute(sa.select(sa.func.max(EVENTS.c.id))).scalar() or last
                        for row in rows:
                            added += self._ingest_event(db, row, src)
                    self._set_state(db, "last_event_id", str(rows[-1].id if len(rows) == BATCH else max(top, last)))
                if len(rows) < BATCH:
                    return added
        finally:
            if own:
                tracker.dispose()

    def _ingest_event(self, db: Any, row: Any, src: Any) -> int:
        try:
            data = json.loads(row.data or "{}")
        except ValueError:
            return 0
        conv = self.conv(row.sender_id)
        if row.type_name == "user":
            text = (data.get("text") or "").strip()
            if not text or text.startswith("/greet") or text.startswith("/session_start"):
                return 0
            if typed_in_inquiry(src, row):
                return 0  # a name, an address, a question for the coordinator: never statistics
            intent = ((data.get("parse_data") or {}).get("intent") or {})
            db.execute(sa.insert(MESSAGES).values(
                id=row.id, conv=conv, ts=row.timestamp or time.time(), text=redact(text)[:2000],
                intent=(intent.get("name") or None), confidence=intent.get("confidence"),
                button=text.startswith("/"), category=None, topic=None))
            return 1
        if data.get("name") == "mutu_answer" and data.get("value"):
            category, topic = classify(str(data["value"]))
            # the visitor's message this answers (left alone when it was not copied: typed in the form)
            latest = src.execute(sa.select(sa.func.max(EVENTS.c.id)).where(EVENTS.c.sender_id == row.sender_id)
                                 .where(EVENTS.c.type_name == "user").where(EVENTS.c.id < row.id)).scalar()
            db.execute(sa.update(MESSAGES).where(MESSAGES.c.id == latest).where(MESSAGES.c.conv == conv)
                       .values(category=category, topic=topic))
        return 0

    # ---- feedback from the widget --------------------------------------------------------------
    def add_feedback(self, sender_id: str, vote: int, question: str, comment: str,
                     now: Optional[float] = None) -> Dict[str, Any]:
        """Store a 👍/👎 with the topic of the answer it is about (looked up in the messages
        read from the tracker: the last one of this conversation with that question)."""
        try:
            self.ingest()
        except Exception:  # the tracker database is down: keep the vote without its topic
            pass
        conv, question = self.conv(sender_id), redact(question.strip())[:500]
        with self.engine.begin() as db:
            query = sa.select(MESSAGES.c.topic, MESSAGES.c.text).where(MESSAGES.c.conv == conv)
            row = db.execute(query.where(MESSAGES.c.text == question).order_by(MESSAGES.c.id.desc())).first() \
                or db.execute(query.order_by(MESSAGES.c.id.desc())).first()
            topic = row.topic if row else None
            if not question and row:
                question = row.text
            values = dict(ts=time.time() if now is None else now, conv=conv, topic=topic, question=question,
                          vote=1 if vote > 0 else -1, comment=redact(comment.strip())[:500] or None)
            db.execute(sa.insert(FEEDBACK).values(**values))
        return values

    def add_comment(self, sender_id: str, comment: str) -> bool:
        """« Qu'est-ce qui manquait? » after a 👎: added to this conversation's last 👎."""
        conv = self.conv(sender_id)
        with self.engine.begin() as db:
            last = db.execute(sa.select(FEEDBACK.c.id).where(FEEDBACK.c.conv == conv).where(FEEDBACK.c.vote < 0)
                              .order_by(FEEDBACK.c.id.desc())).first()
            if not last:
                return False
            db.execute(sa.update(FEEDBACK).where(FEEDBACK.c.id == last.id)
                       .values(comment=redact(comment.strip())[:500] or None))
        return True

    # ---- figures -------------------------------------------------------------------------------
    def stats(self, days: int = 30, now: Optional[float] = None) -> Stats:
        now = time.time() if now is None else now
        today = day_of(now)
        first = today - timedelta(days=days - 1)
        since = datetime.combine(first, datetime.min.time(), QUEBEC).timestamp()
        with self.engine.connect() as db:
            rows = db.execute(sa.select(MESSAGES.c.conv, MESSAGES.c.ts, MESSAGES.c.category, MESSAGES.c.topic,
                                        MESSAGES.c.text, MESSAGES.c.button)
                              .where(MESSAGES.c.ts >= since)).fetchall()
            votes = db.execute(sa.select(FEEDBACK.c.topic, FEEDBACK.c.vote, FEEDBACK.c.question, FEEDBACK.c.ts)
                               .where(FEEDBACK.c.ts >= since)).fetchall()
        per_day: Dict[date, Tuple[set, int]] = {}
        categories = {c: 0 for c in CATEGORY_LABELS}
        topics: Dict[str, int] = {}
        missed: Dict[str, List[Any]] = {}
        for r in rows:
            convs, count = per_day.get(day_of(r.ts), (set(), 0))
            convs.add(r.conv)
            per_day[day_of(r.ts)] = (convs, count + 1)
            category = r.category or CHAT
            categories[category] += 1
            if category == ANSWERED and r.topic:
                topics[r.topic] = topics.get(r.topic, 0) + 1
            if category in MISSED and not r.button:
                self._count_missed(missed, r.text, r.ts)
        feedback: Dict[str, List[int]] = {}
        for v in votes:
            counts = feedback.setdefault(v.topic or "(sujet inconnu)", [0, 0])
            counts[0 if v.vote > 0 else 1] += 1
            if v.vote < 0 and v.question and not v.question.startswith("/"):
                self._count_missed(missed, v.question, v.ts)
        day_list = []
        for i in range(days):
            day = first + timedelta(days=i)
            convs, count = per_day.get(day, (set(), 0))
            day_list.append((day, len(convs), count))
        return Stats(
            days=day_list,
            categories=categories,
            top_topics=sorted(topics.items(), key=lambda kv: (-kv[1], kv[0]))[:10],
            feedback=sorted(((t, up, down) for t, (up, down) in feedback.items()), key=lambda x: (-(x[1] + x[2]), x[0])),
            missed=sorted(((m[0], m[1], m[2]) for m in missed.values()), key=lambda x: (-x[1], -x[2])),
        )

    @staticmethod
    def _count_missed(missed: Dict[str, List[Any]], text: str, ts: float) -> None:
        entry = missed.setdefault(fold(text), [text, 0, ts])
        entry[1] += 1
        if ts >= entry[2]:
            entry[0], entry[2] = text, ts

    # ---- « À améliorer » -----------------------------------------------------------------------
    def missed_items(self, limit: int = 3000) -> List[Dict[str, Any]]:
        """Questions not yet handled that Mutu did not understand (clarified, « ne le dit pas »,
        hors sujet) or whose answer got a 👎, newest first."""
        with self.engine.connect() as db:
            messages = db.execute(sa.select(MESSAGES.c.id, MESSAGES.c.ts, MESSAGES.c.text, MESSAGES.c.category)
                                  .where(MESSAGES.c.category.in_(MISSED)).where(MESSAGES.c.button.is_(False))
                                  .where(MESSAGES.c.handled.is_(None))
                                  .order_by(MESSAGES.c.ts.desc()).limit(limit)).fetchall()
            votes = db.execute(sa.select(FEEDBACK.c.id, FEEDBACK.c.ts, FEEDBACK.c.question, FEEDBACK.c.topic,
                                         FEEDBACK.c.comment)
                               .where(FEEDBACK.c.vote < 0).where(FEEDBACK.c.handled.is_(None))
                               .order_by(FEEDBACK.c.ts.desc()).limit(limit)).fetchall()
        items = [{"key": f"m{r.id}", "ts": r.ts, "text": r.text, "why": r.category, "comment": None}
                 for r in messages]
        items += [{"key": f"f{r.id}", "ts": r.ts, "text": r.question, "why": "thumbs_down", "topic": r.topic,
                   "comment": r.comment} for r in votes if r.question and not r.question.startswith("/")]
        return sorted(items, key=lambda item: -item["ts"])[:limit]

    def items(self, keys: List[str]) -> List[Dict[str, Any]]:
        wanted = set(keys)
        return [item for item in self.missed_items(100_000) if item["key"] in wanted]

    def mark_handled(self, keys: List[str], how: str) -> int:
        messages = [int(k[1:]) for k in keys if k[:1] == "m" and k[1:].isdigit()]
        votes = [int(k[1:]) for k in keys if k[:1] == "f" and k[1:].isdigit()]
        with self.engine.begin() as db:
            done = db.execute(sa.update(MESSAGES).where(MESSAGES.c.id.in_(messages)).values(handled=how[:160])).rowcount
            done += db.execute(sa.update(FEEDBACK).where(FEEDBACK.c.id.in_(votes)).values(handled=how[:160])).rowcount
        return done

    def record_change(self, summary: str, now: Optional[float] = None) -> None:
        with self.engine.begin() as db:
            db.execute(sa.insert(CHANGES).values(ts=time.time() if now is None else now, summary=summary[:2000]))

    def pending_changes(self) -> List[Any]:
        with self.engine.connect() as db:
            return db.execute(sa.select(CHANGES).where(CHANGES.c.publication.is_(None))
                              .order_by(CHANGES.c.id)).fetchall()

    def mark_published(self, publication: int, upto: int) -> None:
        with self.engine.begin() as db:
            db.execute(sa.update(CHANGES).where(CHANGES.c.publication.is_(None)).where(CHANGES.c.id <= upto)
                       .values(publication=publication))

    # ---- retention -----------------------------------------------------------------------------
    def purge_older_than(self, before: float) -> int:
        """Delete the messages and feedback older than ``before`` (their count), and with them the
        expired sessions and the sign-in and feedback counts past their window."""
        from bot.console.auth import LIMIT_EVENTS, LONGEST_WINDOW, SESSIONS
        now = time.time()
        create_tables(self.engine)
        with self.engine.begin() as db:
            deleted = db.execute(sa.delete(MESSAGES).where(MESSAGES.c.ts < before)).rowcount
            deleted += db.execute(sa.delete(FEEDBACK).where(FEEDBACK.c.ts < before)).rowcount
            db.execute(sa.delete(SESSIONS).where(SESSIONS.c.expires < now))
            db.execute(sa.delete(LIMIT_EVENTS).where(LIMIT_EVENTS.c.ts < now - LONGEST_WINDOW))
        return deleted


def app_store(app: Any, conf: Settings) -> ConsoleStore:
    """The web process's one ConsoleStore (made at its first use, kept on the app)."""
    if getattr(app.ctx, "console_store", None) is None:
        app.ctx.console_store = ConsoleStore(conf)
    return app.ctx.console_store


def purge_older_than(conf: Settings, before: float) -> int:
    """The retention pass for the console's tables (nothing to do when it never ran)."""
    if conf.store_profile != "scale" and not Path(conf.console_db).exists():
        return 0
    store = ConsoleStore(conf)
    try:
        return store.purge_older_than(before)
    finally:
        store.close()
