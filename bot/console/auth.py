"""Sign-in for the console: a hashed password (PBKDF2-SHA256, never compared in clear),
server-side sessions with a CSRF token each, and a limit on failed sign-ins per client.

Sessions and the limits live in the console's database (SQLite file, or PostgreSQL under
``MUTU_STORE_PROFILE=scale``), so that several web processes serve the console and a restart
keeps the coordinator signed in. Only the SHA-256 of a session token is stored; its CSRF token
is derived from the token, and clients are known by a keyed hash of their address."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.console.store import META, create_tables

ITERATIONS = 240_000
SESSION_SECONDS = 8 * 3600
MAX_FAILURES, FAILURE_WINDOW = 5, 15 * 60
LONGEST_WINDOW = 3600  # no limit counts further back: older counts are deleted by the retention pass


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, iterations: int = ITERATIONS, salt: Optional[bytes] = None) -> str:
    """``pbkdf2_sha256$<iterations>$<salt>$<hash>`` (what ``python -m bot console-hash`` prints)."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        algorithm, iterations, salt, digest = encoded.split("$")
        if algorithm != "pbkdf2_sha256":
            return False
        candidate = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), _unb64(salt), int(iterations))
        return hmac.compare_digest(candidate, _unb64(digest))
    except (ValueError, TypeError):
        return False


def valid_hash(encoded: str) -> bool:
    parts = encoded.split("$")
    return len(parts) == 4 and parts[0] == "pbkdf2_sha256" and parts[1].isdigit()


SESSIONS = sa.Table(
    "console_sessions", META,
    sa.Column("token_hash", sa.String(64), primary_key=True),  # sha256 of the cookie's token
    sa.Column("who", sa.String(80), nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("expires", sa.Float, nullable=False, index=True),
)
LIMIT_EVENTS = sa.Table(  # sign-in attempts and feedback votes, per client, in a sliding window
    "console_limit_events", META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("scope", sa.String(20), nullable=False),
    sa.Column("client", sa.String(64), nullable=False),  # keyed hash of the address or sender
    sa.Column("ts", sa.Float, nullable=False),
    sa.Index("console_limit_events_client", "scope", "client", "ts"),
    sa.Index("console_limit_events_ts", "scope", "ts"),
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_for(token: str) -> str:
    """The session's CSRF token, derived from its cookie token (nothing more to store)."""
    return _b64(hmac.new(token.encode("utf-8"), b"mutu-console-csrf", hashlib.sha256).digest())


@dataclass
class Session:
    csrf: str
    expires: float
    user: str = "coordonnatrice"


class Sessions:
    """Server-side sessions in the console's database, ``lifetime`` seconds each."""

    def __init__(self, engine: Engine, lifetime: float = SESSION_SECONDS) -> None:
        self.engine, self.lifetime = engine, lifetime
        create_tables(engine)

    def create(self, now: Optional[float] = None) -> Tuple[str, Session]:
        now = time.time() if now is None else now
        token = secrets.token_urlsafe(32)
        session = Session(csrf=csrf_for(token), expires=now + self.lifetime)
        with self.engine.begin() as db:
            db.execute(sa.delete(SESSIONS).where(SESSIONS.c.expires < now))
            db.execute(sa.insert(SESSIONS).values(token_hash=token_hash(token), who=session.user, created=now,
                                                  expires=session.expires))
        return token, session

    def get(self, token: Optional[str], now: Optional[float] = None) -> Optional[Session]:
        if not token or len(token) > 200:
            return None
        now = time.time() if now is None else now
        with self.engine.connect() as db:
            row = db.execute(sa.select(SESSIONS).where(SESSIONS.c.token_hash == token_hash(token))).first()
        if row is None:
            return None
        if row.expires < now:
            self.drop(token)
            return None
        return Session(csrf=csrf_for(token), expires=row.expires, user=row.who)

    def drop(self, token: Optional[str]) -> None:
        if token:
            with self.engine.begin() as db:
                db.execute(sa.delete(SESSIONS).where(SESSIONS.c.token_hash == token_hash(token)))

    def purge(self, now: Optional[float] = None) -> int:
        """Delete the expired sessions (each sign-in does it too)."""
        with self.engine.begin() as db:
            return db.execute(sa.delete(SESSIONS).where(SESSIONS.c.expires < (now or time.time()))).rowcount


class SlidingWindow:
    """At most ``limit`` events per client in ``window`` seconds, counted in the database so that
    every web process shares the limit. An event is written first, then counted with every other
    one: of two processes racing for the last place, at most one gets it."""

    def __init__(self, engine: Engine, key: bytes, scope: str, limit: int, window: float) -> None:
        self.engine, self.key, self.scope = engine, key, scope
        self.limit, self.window = limit, window
        create_tables(engine)

    def client_key(self, client: str) -> str:
        return hmac.new(self.key, f"{self.scope}:{client}".encode("utf-8"), hashlib.sha256).hexdigest()[:40]

    def _recent(self, db: sa.engine.Connection, client: str, now: float) -> list:
        return db.execute(sa.select(LIMIT_EVENTS.c.ts).where(LIMIT_EVENTS.c.scope == self.scope)
                          .where(LIMIT_EVENTS.c.client == self.client_key(client))
                          .where(LIMIT_EVENTS.c.ts > now - self.window).order_by(LIMIT_EVENTS.c.ts)).scalars().all()

    def acquire(self, client: str, now: Optional[float] = None) -> Optional[int]:
        """Count one event for ``client``: its id, or None (nothing counted) when over the limit."""
        now = time.time() if now is None else now
        with self.engine.begin() as db:
            db.execute(sa.delete(LIMIT_EVENTS).where(LIMIT_EVENTS.c.scope == self.scope)
                       .where(LIMIT_EVENTS.c.ts <= now - self.window))
            event = db.execute(sa.insert(LIMIT_EVENTS).values(scope=self.scope, client=self.client_key(client),
                                                              ts=now)).inserted_primary_key[0]
        with self.engine.connect() as db:
            count = len(self._recent(db, client, now))
        if count > self.limit:
            self.release(event)
            return None
        return int(event)

    def release(self, event: int) -> None:
        with self.engine.begin() as db:
            db.execute(sa.delete(LIMIT_EVENTS).where(LIMIT_EVENTS.c.id == event))

    def wait(self, client: str, now: Optional[float] = None) -> float:
        """Seconds before ``client`` may have one more event (0: it may now)."""
        now = time.time() if now is None else now
        with self.engine.connect() as db:
            times = self._recent(db, client, now)
        return max(0.0, times[len(times) - self.limit] + self.window - now) if len(times) >= self.limit else 0.0

    def clear(self, client: str) -> None:
        with self.engine.begin() as db:
            db.execute(sa.delete(LIMIT_EVENTS).where(LIMIT_EVENTS.c.scope == self.scope)
                       .where(LIMIT_EVENTS.c.client == self.client_key(client)))


class FailureLimiter(SlidingWindow):
    """At most ``limit`` failed sign-ins per client in ``window`` seconds; past that, every
    attempt (even with the right password) is refused until the oldest failure is old enough.
    An attempt counts as a failure from the moment it starts; a success clears the client's."""

    def __init__(self, engine: Engine, key: bytes, limit: int = MAX_FAILURES, window: float = FAILURE_WINDOW) -> None:
        super().__init__(engine, key, "signin", limit, window)

    def attempt(self, client: str, now: Optional[float] = None) -> float:
        """0 when ``client`` may try now (the try is counted), else the seconds to wait."""
        if self.acquire(client, now) is not None:
            return 0.0
        return max(1.0, self.wait(client, now))

    def succeeded(self, client: str) -> None:
        self.clear(client)


class RateLimiter(SlidingWindow):
    """At most ``limit`` events per key in ``window`` seconds (the widget's feedback)."""

    def allow(self, key: str, now: Optional[float] = None) -> bool:
        return self.acquire(key, now) is not None
