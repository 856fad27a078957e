"""The chat widget in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)
against the running bot and its demo page."""
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


@pytest.fixture
def page(browser: object, bot: Settings, proxy: TcpProxy, request: pytest.FixtureRequest) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="fr-CA")
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    dialogs: list = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs
    pg.goto(bot.web_url + "/")
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    context.close()


def open_chat(pg: object) -> None:
    pg.click(".mutu-bubble")
    pg.wait_for_selector(".mutu-panel:not([hidden])")
    pg.wait_for_selector(".mutu-choice")  # the welcome's starter buttons


def last_bot_text(pg: object) -> str:
    return pg.locator(".mutu-msg.mutu-bot").last.inner_text()


def ask(pg: object, text: str) -> None:
    before = pg.locator(".mutu-msg.mutu-bot").count()
    pg.fill(".mutu-input", text)
    pg.keyboard.press("Enter")
    pg.wait_for_function(f"document.querySelectorAll('.mutu-msg.mutu-bot').length > {before}")


def test_bubble_opens_with_welcome_and_starters_and_a_starter_answers(page: object) -> None:
    assert page.locator(".mutu-panel").is_hidden()
    open_chat(page)
    assert "Bonjour" in last_bot_text(page)
    assert page.get_attribute(".mutu-bubble", "aria-expanded") == "true"
    before = page.locator(".mutu-msg.mutu-bot").count()
    page.get_by_role("button", name="Des exemples au Québec").click()
    page.wait_for_function(f"document.querySelectorAll('.mutu-msg.mutu-bot').length > {before}")
    assert "Beauharnois" in last_bot_text(page)
    assert page.locator(".mutu-msg.mutu-user").last.inner_text().endswith("Des exemples au Québec")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "desktop.png"))


def test_typed_question_gets_the_definition_with_a_safe_link(page: object) -> None:
    open_chat(page)
    ask(page, "c'est quoi la mutualisation")
    assert "fait de mutualiser" in last_bot_text(page)
    link = page.locator(".mutu-msg.mutu-bot a").last
    assert link.get_attribute("href").startswith("https://www.larousse.fr/")
    assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")


def test_history_survives_a_reload_and_another_page(page: object, bot: Settings) -> None:
    open_chat(page)
    ask(page, "parlez-moi de la halte")
    assert "125" in last_bot_text(page)
    page.reload()
    page.wait_for_selector(".mutu-panel:not([hidden])")
    assert "125" in page.locator(".mutu-log").inner_text()
    page.goto(bot.web_url + "/autre-page.html")
    page.wait_for_selector(".mutu-panel:not([hidden])")
    assert "125" in page.locator(".mutu-log").inner_text()
    ask(page, "et le relait?")
    assert "2021" in last_bot_text(page)


def test_html_typed_by_the_user_is_shown_as_text_and_runs_nothing(page: object) -> None:
    open_chat(page)
    payload = "<img src=x onerror=alert(1)>"
    ask(page, payload)
    assert page.locator(".mutu-msg.mutu-user").last.inner_text().endswith(payload)
    assert page.locator(".mutu-log img").count() == 0
    page.wait_for_timeout(300)
    assert page.dialogs == []


def test_keyboard_only_conversation(page: object) -> None:
    page.keyboard.press("Tab")
    for _ in range(10):
        if page.evaluate("document.activeElement.classList.contains('mutu-bubble')"):
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector(".mutu-choice")
    assert page.evaluate("document.activeElement.id") == "mutu-input"
    page.keyboard.type("quelles sont les formes de mutualisation")
    before = page.locator(".mutu-msg.mutu-bot").count()
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('.mutu-msg.mutu-bot').length > {before}")
    page.locator(".mutu-choice", has_text="Le contrat").last.focus()
    before = page.locator(".mutu-msg.mutu-bot").count()
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('.mutu-msg.mutu-bot').length > {before}")
    assert "non propriétaires" in last_bot_text(page)
    page.keyboard.press("Escape")
    assert page.locator(".mutu-panel").is_hidden()
    assert page.evaluate("document.activeElement.classList.contains('mutu-bubble')")


def test_mobile_viewport_is_full_screen(browser: object, bot: Settings, proxy: TcpProxy) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    pg.goto(bot.web_url + "/")
    open_chat(pg)
    box = pg.locator(".mutu-panel").bounding_box()
    assert (round(box["x"]), round(box["y"]), round(box["width"]), round(box["height"])) == (0, 0, 375, 667)
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / "mobile.png"))
    context.close()


def test_server_stop_shows_reconnecting_and_recovers_without_losing_the_message(
        page: object, proxy: TcpProxy) -> None:
    open_chat(page)
    proxy.stop()
    try:
        page.fill(".mutu-input", "c'est quoi une cuma")
        page.keyboard.press("Enter")
        page.wait_for_selector(".mutu-root[data-state='reconnecting']")
        assert page.locator(".mutu-banner").is_visible()
        assert "cuma" in page.locator(".mutu-msg.mutu-pending").last.inner_text()
    finally:
        proxy.start()
    page.wait_for_selector(".mutu-root[data-state='online']", timeout=TIMEOUT)
    page.wait_for_function("document.querySelectorAll('.mutu-msg.mutu-pending').length === 0")
    assert "CUMA" in last_bot_text(page)
    assert page.locator(".mutu-banner").is_hidden()


def _luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3]]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: str, bg: str) -> float:
    a, b = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def test_text_contrast_meets_wcag_aa(page: object) -> None:
    open_chat(page)
    ask(page, "c'est quoi la mutualisation")
    pairs = {  # element whose text colour is checked → element that paints the background
        ".mutu-title": ".mutu-header", ".mutu-status": ".mutu-header", ".mutu-msg.mutu-bot": ".mutu-msg.mutu-bot",
        ".mutu-msg.mutu-user": ".mutu-msg.mutu-user", ".mutu-choice": ".mutu-choice", ".mutu-send": ".mutu-send",
        ".mutu-msg.mutu-bot a": ".mutu-msg.mutu-bot",
    }
    for text_sel, bg_sel in pairs.items():
        fg = page.eval_on_selector(text_sel, "e => getComputedStyle(e).color")
        bg = page.eval_on_selector(bg_sel, "e => getComputedStyle(e).backgroundColor")
        assert contrast(fg, bg) >= 4.5, (text_sel, fg, bg)
