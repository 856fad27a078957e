"""Shared by the browser tests: Debian's Chromium driven by Playwright (never `playwright install`),
and the proxy through which the browser reaches Rasa (a test can stop it)."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from bot.settings import Settings
from tests.conftest import PROXY_PORT
from tests.proxy import TcpProxy

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
TIMEOUT = 60_000


@pytest.fixture(scope="module")
def proxy(bot: Settings) -> Iterator[TcpProxy]:
    p = TcpProxy(PROXY_PORT, bot.rasa_port).start()
    yield p
    p.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with playwright_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()
