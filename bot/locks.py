"""Rasa's Redis lock store with one fix for scale-out.

Rasa 3.6 serves a conversation's tickets in order and waits, polling every second, until its
own ticket is first. When a server dies while it holds a ticket, the others must wait for that
ticket to expire; but the waiting ticket has the same lifetime and usually expires within the
same second, after which Rasa's check never succeeds and the request hangs until Sanic's timeout
(seen in tests/scale: 60 s without an answer). Here a ticket is served as soon as no earlier
ticket of the conversation is still alive, whether or not it has itself expired.
"""
from __future__ import annotations

import asyncio
from typing import Text

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig


def first_in_line(lock: TicketLock, ticket: int) -> bool:
    """True when no live ticket was issued before ``ticket``."""
    return not any(t.number < ticket and not t.has_expired() for t in lock.tickets)


class ResilientRedisLockStore(RedisLockStore):
    """Use in endpoints as ``type: bot.locks.ResilientRedisLockStore`` (with Redis settings)."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)

    async def _acquire_lock(self, conversation_id: Text, ticket: int,
                            wait_time_in_seconds: float) -> TicketLock:
        while True:
            lock = self.get_lock(conversation_id)
            if not lock:
                raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
            if first_in_line(lock, ticket):
                return lock
            await asyncio.sleep(wait_time_in_seconds)
            self.update_lock(conversation_id)
