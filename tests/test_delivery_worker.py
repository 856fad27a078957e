"""The delivery worker as a real process against real peers: outages, retries, a kill -9 between
acceptance and delivery, and exactly-once delivery after recovery."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator

import pytest

from bot import settings
from bot.inquiries.store import NewInquiry, OutboxStore, conversation_key
from tests.conftest import OFFSET, ROOT, delivery_env, wait_for
from tests.peers import SmtpPeer, WebhookPeer

SMTP_PORT, WEBHOOK_PORT = 18026 + OFFSET, 18081 + OFFSET


@pytest.fixture
def env(tmp_path: Path) -> Dict[str, str]:
    return delivery_env(tmp_path, SMTP_PORT, f"http://127.0.0.1:{WEBHOOK_PORT}/hooks/mutu")


@pytest.fixture
def store(env: Dict[str, str]) -> OutboxStore:
    return OutboxStore(settings.load(env).inquiry_db)


@pytest.fixture
def peers() -> Iterator[tuple]:
    smtp, hook = SmtpPeer(SMTP_PORT), WebhookPeer(WEBHOOK_PORT)
    yield smtp, hook
    smtp.stop()
    hook.stop()


def start_worker(env: Dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def add(store: OutboxStore, question: str = "Où trouver le guide du TIESS? Merci — Hélène") -> str:
    return store.add(NewInquiry("Hélène Ouellet", "helene@exemple.org", None, question,
                                conversation_key("w"))).reference


def test_down_then_up_delivers_exactly_once(env: Dict[str, str], store: OutboxStore, peers: tuple) -> None:
    smtp, hook = peers
    reference = add(store)
    worker = start_worker(env)
    try:
        wait_for(lambda: store.get(reference).attempts >= 2, message="worker did not retry")
        assert store.get(reference).status == "pending" and "smtp" in store.get(reference).last_error
        smtp.start()
        hook.start()
        wait_for(lambda: store.get(reference).status == "delivered", message="not delivered")
        time.sleep(1.0)  # let several polling rounds pass
    finally:
        worker.terminate()
        worker.wait(10)
    assert len(smtp.messages) == 1 and len(hook.calls) == 1
    assert "Hélène Ouellet" in smtp.messages[0].get_content()


def test_killed_worker_delivers_after_restart_once(env: Dict[str, str], store: OutboxStore, peers: tuple) -> None:
    smtp, hook = peers
    worker = start_worker(env)
    reference = add(store)
    wait_for(lambda: store.get(reference).attempts >= 1, message="first attempt")
    os.kill(worker.pid, signal.SIGKILL)  # dies between acceptance and delivery
    worker.wait(10)
    smtp.start()
    hook.start()
    assert store.get(reference).status == "pending"
    env = dict(env, MUTU_RETRY_BASE_SECONDS="0.1")
    worker = start_worker(env)
    try:
        wait_for(lambda: store.get(reference).status == "delivered", timeout=40, message="not delivered")
        time.sleep(1.0)
    finally:
        worker.terminate()
        worker.wait(10)
    assert len(smtp.messages) == 1 and len(hook.calls) == 1


def test_one_channel_done_is_not_sent_again_while_the_other_retries(
        env: Dict[str, str], store: OutboxStore, peers: tuple) -> None:
    smtp, hook = peers
    smtp.start()
    hook.status = 500
    hook.start()
    reference = add(store)
    worker = start_worker(env)
    try:
        wait_for(lambda: store.get(reference).attempts >= 3, message="webhook not retried")
        assert len(smtp.messages) == 1 and store.get(reference).done_channels == {"smtp"}
        hook.status = 200
        wait_for(lambda: store.get(reference).status == "delivered")
    finally:
        worker.terminate()
        worker.wait(10)
    assert len(smtp.messages) == 1 and len(hook.calls) == 1


def test_without_any_channel_inquiries_wait_in_the_outbox(tmp_path: Path) -> None:
    env = dict(os.environ, MUTU_DATA_DIR=str(tmp_path), PYTHONPATH=str(ROOT), MUTU_WORKER_POLL_SECONDS="0.1")
    store = OutboxStore(settings.load(env).inquiry_db)
    reference = add(store)
    listing = subprocess.run([sys.executable, "-m", "bot", "inquiries", "list"], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True).stdout
    assert reference in listing and "h***@e***.org" in listing and "helene@" not in listing
    shown = subprocess.run([sys.executable, "-m", "bot", "inquiries", "show", reference], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert "Hélène Ouellet" in shown
