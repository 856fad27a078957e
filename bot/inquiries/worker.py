"""The delivery worker (`python -m bot worker`): delivers due inquiries from the outbox, retries
failures with exponential backoff, and survives restarts (all state is in the outbox). It also
keeps the retention promise: a pass of `bot.retention` at start, then every
MUTU_RETENTION_INTERVAL_SECONDS (default 24 h)."""
from __future__ import annotations

import logging
import signal
import time
from typing import Callable, List, Optional

from bot.inquiries.delivery import Channel, DeliveryError, configured_channels
from bot.inquiries.store import Inquiry, OutboxStore
from bot.retention import RetentionSchedule, run_pass
from bot.settings import Settings

logger = logging.getLogger("mutu.worker")
LEASE_SECONDS = 300.0


def backoff(attempts: int, base: float, cap: float) -> float:
    """Seconds to wait after the ``attempts``-th failure: base, 2×base, 4×base… up to cap."""
    return min(cap, base * (2 ** max(0, attempts)))


def deliver(store: OutboxStore, inquiry: Inquiry, channels: List[Channel], conf: Settings,
            now: Optional[float] = None) -> bool:
    """Send ``inquiry`` on every channel not yet done; True when all are done."""
    errors = []
    for channel in channels:
        if channel.name in inquiry.done_channels:
            continue
        try:
            channel.send(inquiry)
        except DeliveryError as exc:
            errors.append(str(exc))
            continue
        store.mark_channel_done(inquiry.id, channel.name)
    now = time.time() if now is None else now
    if errors:
        wait = backoff(inquiry.attempts, conf.retry_base_seconds, conf.retry_max_seconds)
        store.reschedule(inquiry.id, now + wait, "; ".join(errors))
        logger.warning("inquiry %s not delivered (attempt %d), retry in %.0fs: %s",
                       inquiry.reference, inquiry.attempts + 1, wait, "; ".join(errors))
        return False
    store.mark_delivered(inquiry.id, now)
    logger.info("inquiry %s delivered via %s", inquiry.reference, ", ".join(c.name for c in channels))
    return True


def run_once(store: OutboxStore, channels: List[Channel], conf: Settings) -> int:
    """Deliver what is due now; return how many inquiries were delivered."""
    if not channels:
        return 0
    return sum(deliver(store, inquiry, channels, conf) for inquiry in store.claim_due(time.time(), LEASE_SECONDS))


def retention_step(conf: Settings, schedule: RetentionSchedule,
                   clock: Callable[[], float] = time.monotonic) -> None:
    """Run a retention pass when one is due; a failure is retried soon, never fatal."""
    if not schedule.due(clock()):
        return
    try:
        run_pass(conf)
    except Exception:  # the tracker database down, a locked file: deliveries go on
        logger.exception("retention pass failed, next try in %.0fs",
                         min(schedule.interval, schedule.retry_after))
        schedule.ran(clock(), ok=False)
        return
    schedule.ran(clock(), ok=True)


def run(conf: Settings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    store = OutboxStore(conf.inquiry_db)
    channels = configured_channels(conf)
    if not channels:
        logger.info("no delivery channel configured (MUTU_SMTP_HOST / MUTU_WEBHOOK_URL): "
                    "inquiries stay in the outbox, see `python -m bot inquiries list`")
    stopping = {"flag": False}

    def stop(signum: int, _frame: object) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    schedule = RetentionSchedule(conf.retention_interval_seconds)
    while not stopping["flag"]:
        retention_step(conf, schedule)  # first: nothing past the retention is delivered late
        try:
            run_once(store, channels, conf)
        except Exception:  # a broken row or a full disk must not kill the worker
            logger.exception("delivery round failed")
        time.sleep(conf.worker_poll_seconds)
    return 0
