"""Fixtures: the trained bot started once per test session, on its own ports and data folder."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Iterator

import pytest

from bot import settings
from bot.launcher import is_ready
from tests.peers import SmtpPeer, WebhookPeer

ROOT = Path(__file__).resolve().parent.parent
# MUTU_TEST_PORT_OFFSET lets two test runs share a machine (each on its own ports).
OFFSET = int(os.environ.get("MUTU_TEST_PORT_OFFSET", "0"))
TEST_PORTS = {"MUTU_RASA_PORT": str(15005 + OFFSET), "MUTU_ACTIONS_PORT": str(15055 + OFFSET),
              "MUTU_WEB_PORT": str(18000 + OFFSET)}
PROXY_PORT = 15006 + OFFSET  # the browser reaches Rasa through tests/proxy.py, which a test can stop
SMTP_PORT, WEBHOOK_PORT = 18025 + OFFSET, 18080 + OFFSET
API_TOKEN = "test-token-not-secret"
WEBHOOK_SECRET = "webhook-secret-for-tests"
CONSOLE_PASSWORD = "console-password-for-tests"  # the coordinator's console is on in the test bot


def delivery_env(data_dir: Path, smtp_port: int, webhook_url: str) -> Dict[str, str]:
    """Environment for a bot or worker delivering to loopback peers, retrying fast."""
    env = dict(os.environ)
    env.update({"MUTU_HOST": "127.0.0.1", "MUTU_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT),
                "MUTU_SMTP_HOST": "127.0.0.1", "MUTU_SMTP_PORT": str(smtp_port), "MUTU_SMTP_TLS": "none",
                "MUTU_MAIL_FROM": "mutu@test.local", "MUTU_WEBHOOK_URL": webhook_url,
                "MUTU_WEBHOOK_SECRET": WEBHOOK_SECRET, "MUTU_RETRY_BASE_SECONDS": "0.3",
                "MUTU_RETRY_MAX_SECONDS": "1", "MUTU_WORKER_POLL_SECONDS": "0.2", "MUTU_HTTP_TIMEOUT": "3"})
    return env


@pytest.fixture(scope="session")
def smtp_peer() -> Iterator[SmtpPeer]:
    peer = SmtpPeer(SMTP_PORT).start()
    yield peer
    peer.stop()


@pytest.fixture(scope="session")
def webhook_peer() -> Iterator[WebhookPeer]:
    peer = WebhookPeer(WEBHOOK_PORT).start()
    yield peer
    peer.stop()


@pytest.fixture(scope="session")
def bot_env(tmp_path_factory: pytest.TempPathFactory, smtp_peer: SmtpPeer,
            webhook_peer: WebhookPeer) -> Dict[str, str]:
    env = delivery_env(tmp_path_factory.mktemp("mutu-data"), SMTP_PORT, webhook_peer.url)
    env.update(TEST_PORTS)
    env.update({"MUTU_API_TOKEN": API_TOKEN, "MUTU_RATE_LIMIT_PER_MINUTE": "0", "MUTU_CONSOLE_PASSWORD": CONSOLE_PASSWORD,
                "MUTU_PUBLIC_RASA_URL": f"http://127.0.0.1:{PROXY_PORT}"})
    return env


def wait_for(predicate: Callable[[], bool], timeout: float = 30, message: str = "") -> None:
    """Poll ``predicate`` until true (readiness, not sleeping a fixed time)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {message}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def bot(bot_env: Dict[str, str]) -> Iterator[settings.Settings]:
    """`python -m bot run` with the model trained by make, ready to answer."""
    conf = settings.load(bot_env)
    if not (conf.model_dir / "mutu.tar.gz").exists():
        pytest.fail("no trained model: run the tests with `make test`")
    log = open(conf.data_dir / "bot.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=bot_env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 300
    urls = [f"{conf.rasa_url}/webhooks/rest/", f"http://{conf.host}:{conf.actions_port}/health",
            f"{conf.web_url}/healthz"]
    while not all(is_ready(u) for u in urls):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_group(proc)
            pytest.fail("bot did not start:\n" + (conf.data_dir / "bot.log").read_text()[-3000:])
        time.sleep(0.5)
    yield conf
    stop_group(proc)
    log.close()


def stop_group(proc: subprocess.Popen, grace: float = 30) -> None:
    """SIGTERM the launcher (it stops its services), then SIGKILL its whole group if needed."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # anything left of the group
    except ProcessLookupError:
        pass
