"""The durable outbox: inquiries are written here, in one transaction, before the user is told
they were received; the worker delivers them from here, and marks each channel done once."""
from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

SCHEMA = """
CREATE TABLE IF NOT EXISTS inquiries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    conversation TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    organisation TEXT,
    question TEXT NOT NULL,
    consent_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_until REAL,
    done_channels TEXT NOT NULL DEFAULT '',
    delivered_at REAL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS inquiries_due ON inquiries (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS inquiries_conversation ON inquiries (conversation, created_at);
CREATE TABLE IF NOT EXISTS reference_counters (year INTEGER PRIMARY KEY, last INTEGER NOT NULL);
"""

PENDING, DELIVERED = "pending", "delivered"
logger = logging.getLogger("mutu.outbox")


@dataclass(frozen=True)
class NewInquiry:
    name: str
    email: str
    organisation: Optional[str]
    question: str
    conversation: str


@dataclass(frozen=True)
class PurgedInquiries:
    """What a retention pass removed from the outbox: a count, and the references (never any
    personal data) of the inquiries that were deleted before being delivered."""

    deleted: int
    undelivered: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Inquiry:
    id: int
    reference: str
    created_at: float
    name: str
    email: str
    organisation: Optional[str]
    question: str
    status: str
    attempts: int
    next_attempt_at: float
    done_channels: frozenset = field(default_factory=frozenset)
    delivered_at: Optional[float] = None
    last_error: Optional[str] = None

    def as_dict(self) -> Dict[str, object]:
        """Public form (export, webhook body): no internal bookkeeping."""
        return {
            "reference": self.reference,
            "created_at": iso(self.created_at),
            "name": self.name,
            "email": self.email,
            "organisation": self.organisation,
            "question": self.question,
            "status": self.status,
            "delivered_at": iso(self.delivered_at) if self.delivered_at else None,
        }


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def conversation_key(sender_id: str) -> str:
    """A stable pseudonym for a conversation: the per-conversation limit needs no raw id."""
    return hashlib.sha256(sender_id.encode("utf-8")).hexdigest()[:24]


def _row_to_inquiry(row: sqlite3.Row) -> Inquiry:
    return Inquiry(
        id=row["id"], reference=row["reference"], created_at=row["created_at"], name=row["name"],
        email=row["email"], organisation=row["organisation"], question=row["question"],
        status=row["status"], attempts=row["attempts"], next_attempt_at=row["next_attempt_at"],
        done_channels=frozenset(c for c in row["done_channels"].split(",") if c),
        delivered_at=row["delivered_at"], last_error=row["last_error"],
    )


class OutboxStore:
    """SQLite outbox shared by the action server (writes), the worker and the CLI."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA secure_delete=ON")  # deleted rows are overwritten, not left in free pages
        try:
            yield db
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def add(self, new: NewInquiry, now: Optional[float] = None) -> Inquiry:
        """Store an inquiry and give it the year's next reference, in one transaction."""
        now = time.time() if now is None else now
        year = datetime.fromtimestamp(now, timezone.utc).year
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO reference_counters (year, last) VALUES (?, 0)", (year,))
            db.execute("UPDATE reference_counters SET last = last + 1 WHERE year = ?", (year,))
            number = db.execute("SELECT last FROM reference_counters WHERE year = ?", (year,)).fetchone()[0]
            reference = f"MUTU-{year}-{number:04d}"
            db.execute(
                "INSERT INTO inquiries (reference, created_at, conversation, name, email, organisation,"
                " question, consent_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (reference, now, new.conversation, new.name, new.email, new.organisation, new.question, now, now),
            )
        found = self.get(reference)
        assert found is not None
        return found

    def count_since(self, conversation: str, since: float) -> int:
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM inquiries WHERE conversation = ? AND created_at >= ?",
                              (conversation, since)).fetchone()[0]

    def get(self, reference: str) -> Optional[Inquiry]:
        with self._connect() as db:
            row = db.execute("SELECT * FROM inquiries WHERE reference = ?", (reference,)).fetchone()
        return _row_to_inquiry(row) if row else None

    def list(self, status: Optional[str] = None, limit: int = 1000) -> List[Inquiry]:
        query, args = "SELECT * FROM inquiries", []
        if status:
            query, args = query + " WHERE status = ?", [status]
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [_row_to_inquiry(r) for r in rows]

    def claim_due(self, now: float, lease_seconds: float, limit: int = 10) -> List[Inquiry]:
        """Lease due pending inquiries to this worker, so that two workers never send one twice."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT * FROM inquiries WHERE status = ? AND next_attempt_at <= ?"
                " AND (lease_until IS NULL OR lease_until < ?) ORDER BY id LIMIT ?",
                (PENDING, now, now, limit)).fetchall()
            for row in rows:
                db.execute("UPDATE inquiries SET lease_until = ? WHERE id = ?", (now + lease_seconds, row["id"]))
        return [_row_to_inquiry(r) for r in rows]

    def mark_channel_done(self, inquiry_id: int, channel: str) -> None:
        with self._transaction() as db:
            row = db.execute("SELECT done_channels FROM inquiries WHERE id = ?", (inquiry_id,)).fetchone()
            done = {c for c in row["done_channels"].split(",") if c} | {channel}
            db.execute("UPDATE inquiries SET done_channels = ? WHERE id = ?", (",".join(sorted(done)), inquiry_id))

    def mark_delivered(self, inquiry_id: int, now: float) -> None:
        with self._transaction() as db:
            db.execute("UPDATE inquiries SET status = ?, delivered_at = ?, lease_until = NULL, last_error = NULL"
                       " WHERE id = ?", (DELIVERED, now, inquiry_id))

    def reschedule(self, inquiry_id: int, next_attempt_at: float, error: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE inquiries SET attempts = attempts + 1, next_attempt_at = ?, lease_until = NULL,"
                       " last_error = ? WHERE id = ?", (next_attempt_at, error[:500], inquiry_id))

    def make_due(self, reference: str, now: float) -> bool:
        """« Réessayer maintenant » in the console: a pending inquiry is due at once (its lease,
        if a worker holds it, is left alone). False when there is no such pending inquiry."""
        with self._transaction() as db:
            return db.execute("UPDATE inquiries SET next_attempt_at = ? WHERE reference = ? AND status = ?",
                              (now, reference, PENDING)).rowcount == 1

    def purge_older_than(self, before: float) -> PurgedInquiries:
        """Delete every inquiry created before ``before``, delivered or not: the retention
        promised to visitors wins over delivery. Only references are logged."""
        with self._transaction() as db:
            undelivered = [r["reference"] for r in db.execute(
                "SELECT reference FROM inquiries WHERE created_at < ? AND status != ? ORDER BY id",
                (before, DELIVERED))]
            deleted = db.execute("DELETE FROM inquiries WHERE created_at < ?", (before,)).rowcount
        if deleted:
            self._checkpoint()
        for reference in undelivered:
            logger.warning("inquiry %s deleted undelivered: older than the retention period", reference)
        return PurgedInquiries(deleted=deleted, undelivered=tuple(undelivered))

    def _checkpoint(self) -> None:
        """Fold the write-ahead log into the file and empty it, so deleted rows leave no copy there."""
        with self._connect() as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
