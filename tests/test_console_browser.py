"""The console and the widget's feedback buttons in a real headless Chromium (Debian's /usr/bin/chromium,
driven by Playwright) against the running bot: feedback given in the widget is stored with the
topic of the answer and counted on the dashboard, whose charts load."""
from __future__ import annotations

import re

from bot.settings import Settings
from tests.conftest import CONSOLE_PASSWORD, wait_for
from tests.proxy import TcpProxy

from tests.browser import ARTIFACTS, TIMEOUT, browser, proxy  # noqa: F401 (shared fixtures)


def ask(pg: object, text: str) -> None:
    before = pg.locator(".mutu-msg.mutu-bot").count()
    pg.fill(".mutu-input", text)
    pg.keyboard.press("Enter")
    pg.wait_for_function(f"document.querySelectorAll('.mutu-msg.mutu-bot').length > {before}")


def sign_in(pg: object, conf: Settings) -> None:
    pg.goto(conf.web_url + "/console")
    assert pg.url.endswith("/console/login")
    pg.fill("input[name=password]", CONSOLE_PASSWORD)
    pg.get_by_role("button", name="Se connecter").click()
    pg.wait_for_selector("h1:has-text('Tableau de bord')")


def test_feedback_in_the_widget_is_stored_and_counted_on_the_dashboard(browser: object, bot: Settings,
                                                                       proxy: TcpProxy) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-CA")
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    try:
        pg.goto(bot.web_url + "/")
        pg.click(".mutu-bubble")
        pg.wait_for_selector(".mutu-choice")
        assert pg.locator(".mutu-feedback").count() == 0  # no vote on the welcome
        ask(pg, "c quoi la mutualisation")
        down = pg.get_by_role("button", name="Réponse inutile").last
        up = pg.get_by_role("button", name="Réponse utile").last
        assert down.get_attribute("aria-pressed") == "false"
        down.focus()
        pg.keyboard.press("Enter")  # keyboard alone
        assert down.get_attribute("aria-pressed") == "true" and up.is_disabled()
        field = pg.get_by_label("Qu'est-ce qui manquait? (facultatif)")
        field.fill("un exemple chiffré, écrivez-moi à jo@exemple.org")
        field.press("Enter")
        pg.wait_for_selector(".mutu-thanks:has-text('Merci, c\\'est noté.')")
        ask(pg, "quelles sont les formes de mutualisation")
        pg.get_by_role("button", name="Réponse utile").last.click()
        pg.wait_for_selector(".mutu-thanks:has-text('Merci pour votre avis.')")
        pg.reload()  # the vote is remembered: the buttons stay pressed and disabled
        pg.wait_for_selector(".mutu-vote[aria-pressed=true]")
        assert pg.locator(".mutu-vote[aria-pressed=true]").count() == 2

        console = context.new_page()
        console.set_default_timeout(TIMEOUT)
        sign_in(console, bot)

        def counted() -> bool:
            console.reload()
            html = console.content()
            return bool(re.search(r"<td>C'est quoi la mutualisation</td><td>0</td><td>1</td>", html)) and \
                bool(re.search(r"<td>Les formes de mutualisation</td><td>1</td><td>0</td>", html))
        wait_for(counted, 60, "feedback counted on the dashboard")
        images = console.locator("img")
        wait_for(lambda: images.count() == 4 and all(  # every chart is a PNG the browser drew
            img.evaluate("i => i.complete && i.naturalWidth > 100") for img in images.all()), 30, "charts drawn")
        assert "jo@exemple.org" not in console.content()
        ARTIFACTS.mkdir(exist_ok=True)
        console.screenshot(path=str(ARTIFACTS / "console-dashboard.png"), full_page=True)
    finally:
        context.close()
