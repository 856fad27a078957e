"""Sign-in for the console: a hashed password (PBKDF2-SHA256, never compared in clear),
server-side sessions with a CSRF token each, and a limit on failed sign-ins per client."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Deque, Dict, Optional

ITERATIONS = 240_000
SESSION_SECONDS = 8 * 3600
MAX_FAILURES, FAILURE_WINDOW = 5, 15 * 60


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


@dataclass
class Session:
    csrf: str
    expires: float
    user: str = "coordonnatrice"


class Sessions:
    """Sessions in the web process's memory: a restart signs everybody out (by design)."""

    def __init__(self, lifetime: float = SESSION_SECONDS) -> None:
        self.lifetime = lifetime
        self._items: Dict[str, Session] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()  # tokens are not kept in clear

    def create(self) -> tuple:
        token = secrets.token_urlsafe(32)
        session = Session(csrf=secrets.token_urlsafe(32), expires=time.time() + self.lifetime)
        with self._lock:
            now = time.time()
            for key in [k for k, s in self._items.items() if s.expires < now]:
                del self._items[key]
            self._items[self._key(token)] = session
        return token, session

    def get(self, token: Optional[str]) -> Optional[Session]:
        if not token:
            return None
        with self._lock:
            session = self._items.get(self._key(token))
            if session and session.expires < time.time():
                del self._items[self._key(token)]
                return None
            return session

    def drop(self, token: Optional[str]) -> None:
        if token:
            with self._lock:
                self._items.pop(self._key(token), None)


class FailureLimiter:
    """At most ``limit`` failed sign-ins per client in ``window`` seconds; past that, every
    attempt (even with the right password) is refused until the oldest failure is old enough."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = FAILURE_WINDOW) -> None:
        self.limit, self.window = limit, window
        self._failures: Dict[str, Deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> Deque[float]:
        queue = self._failures.setdefault(client, deque())
        while queue and queue[0] <= now - self.window:
            queue.popleft()
        return queue

    def blocked_for(self, client: str, now: Optional[float] = None) -> float:
        """Seconds before this client may try again (0: it may)."""
        now = time.time() if now is None else now
        with self._lock:
            queue = self._recent(client, now)
            return queue[0] + self.window - now if len(queue) >= self.limit else 0.0

    def failed(self, client: str, now: Optional[float] = None) -> None:
        now = time.time() if now is None else now
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._failures) > 10_000:  # bounded memory under a flood of clients
                self._failures = {k: v for k, v in self._failures.items() if v}

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)


class RateLimiter:
    """At most ``limit`` events per key in ``window`` seconds (the widget's feedback)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._events: Dict[str, Deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, now: Optional[float] = None) -> bool:
        now = time.time() if now is None else now
        with self._lock:
            if len(self._events) > 10_000:
                self._events = {k: v for k, v in self._events.items() if v and v[-1] > now - self.window}
            queue = self._events.setdefault(key, deque())
            while queue and queue[0] <= now - self.window:
                queue.popleft()
            if len(queue) >= self.limit:
                return False
            queue.append(now)
            return True
