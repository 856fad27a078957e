"""The chat widget in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)
against the running bot and its demo page."""
from __future__ import annotations

import json
import re
from typing import Iterator, Optional

import pytest

from bot.settings import Settings
from tests.conftest import API_TOKEN, wait_for
from tests.helpers import get_json
from tests.proxy import TcpProxy

from tests.browser import ARTIFACTS, TIMEOUT, browser, proxy  # noqa: F401 (shared fixtures)


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
        ".mutu-title": ".mutu-header", ".mutu-status": ".mutu-header", ".mutu-clear": ".mutu-header",
        ".mutu-msg.mutu-bot": ".mutu-msg.mutu-bot",
        ".mutu-msg.mutu-user": ".mutu-msg.mutu-user", ".mutu-choice": ".mutu-choice", ".mutu-send": ".mutu-send",
        ".mutu-msg.mutu-bot a": ".mutu-msg.mutu-bot",
    }
    for text_sel, bg_sel in pairs.items():
        fg = page.eval_on_selector(text_sel, "e => getComputedStyle(e).color")
        bg = page.eval_on_selector(bg_sel, "e => getComputedStyle(e).backgroundColor")
        assert contrast(fg, bg) >= 4.5, (text_sel, fg, bg)


# ---- retention, « Effacer la conversation », citations, links ---------------------------------

DAY_MS = 86_400_000
STORAGE = "() => localStorage.getItem(Object.keys(localStorage).find(k => k.startsWith('mutu-widget:')))"
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Allow-Methods": "POST, GET, OPTIONS"}


def stored(pg: object) -> dict:
    return json.loads(pg.evaluate(STORAGE) or "null") or {}


def seed(pg: object, history: list, sender: str, open_: bool = True) -> None:
    """Replace the widget's saved state in this browser, then reload the page."""
    key = "mutu-widget:" + pg.get_attribute("script[src*='widget.js']", "data-server")
    state = {"sender": sender, "history": history, "queue": [], "open": open_}
    pg.evaluate("([k, v]) => localStorage.setItem(k, v)", [key, json.dumps(state)])
    pg.reload()
    pg.wait_for_selector(".mutu-panel:not([hidden])" if open_ else ".mutu-bubble")


def entry(pg: object, who: str, text: str, age_days: float) -> dict:
    return {"from": who, "text": text, "at": pg.evaluate("Date.now()") - age_days * DAY_MS}


def answer_with(pg: object, text: str, sent: Optional[list] = None) -> None:
    """From now on the bot's reply (REST webhook) is ``text``: a stub in the browser's network."""
    def fulfil(route: object) -> None:
        if route.request.method == "OPTIONS":
            route.fulfill(status=204, headers=CORS)
            return
        if sent is not None:
            sent.append(json.loads(route.request.post_data)["message"])
        route.fulfill(status=200, headers=CORS, content_type="application/json", body=json.dumps([{"text": text}]))
    pg.route("**/webhooks/rest/webhook", fulfil)


def test_history_older_than_the_retention_is_dropped_when_the_widget_loads(page: object) -> None:
    script = page.request.get(page.url.rsplit("/", 1)[0] + "/widget.js").text()
    assert 'SERVER_RETENTION = "90"' in script  # MUTU_RETENTION_DAYS, the setting the consent quotes
    assert page.get_attribute("script[src*='widget.js']", "data-retention-days") is None
    seed(page, [entry(page, "user", "Je suis Gaston Tremblay, gaston@exemple.org", 91),
                entry(page, "bot", "Réponse de l'an dernier", 91),
                {"from": "user", "text": "Sans date (ancienne version)"},
                entry(page, "user", "Parlez-moi de la halte", 1), entry(page, "bot", "Réponse récente", 1)],
         sender="web-seeded-mixed", open_=False)
    page.wait_for_function(f"({STORAGE})().indexOf('Gaston') < 0")  # gone on load, chat still closed
    assert page.locator(".mutu-panel").is_hidden()
    page.click(".mutu-bubble")
    page.wait_for_selector(".mutu-panel:not([hidden])")
    log = page.locator(".mutu-log").inner_text()
    assert "Parlez-moi de la halte" in log and "Réponse récente" in log
    assert "Gaston" not in log and "an dernier" not in log and "Sans date" not in log
    saved = stored(page)
    assert [h["text"] for h in saved["history"]] == ["Parlez-moi de la halte", "Réponse récente"]
    assert "gaston" not in json.dumps(saved).lower() and saved["sender"] == "web-seeded-mixed"


def test_when_all_history_expired_a_new_conversation_starts_with_the_welcome(page: object) -> None:
    seed(page, [entry(page, "user", "Je suis Gaston Tremblay, gaston@exemple.org", 120),
                entry(page, "bot", "Réponse de l'an dernier", 120)], sender="web-seeded-old")
    page.wait_for_selector(".mutu-choice")  # the welcome, with its starter buttons
    assert "Bonjour" in last_bot_text(page)
    saved = stored(page)
    assert "gaston" not in json.dumps(saved).lower()
    assert saved["sender"] != "web-seeded-old"  # the expired conversation's id is not reused


def test_clear_conversation_erases_this_browser_copy_and_starts_afresh(
        page: object, bot: Settings, proxy: TcpProxy) -> None:
    open_chat(page)
    ask(page, "je veux parler à quelqu'un")
    ask(page, "oui")
    ask(page, "Gaston Tremblay")
    ask(page, "gaston.tremblay@exemple.org")
    old = stored(page)
    assert "gaston.tremblay@exemple.org" in json.dumps(old)
    proxy.stop()
    try:
        page.fill(".mutu-input", "Message jamais envoyé de Gaston")
        page.keyboard.press("Enter")
        page.wait_for_selector(".mutu-root[data-state='reconnecting']")
        assert "jamais envoyé" in json.dumps(stored(page)["queue"], ensure_ascii=False)
        clear = page.get_by_role("button", name="Effacer la conversation")
        assert clear.is_visible()
        clear.focus()
        page.keyboard.press("Enter")  # keyboard alone
        confirm = page.locator(".mutu-confirm")
        assert confirm.is_visible() and "rien sur nos serveurs" in confirm.inner_text()
        assert "90" in confirm.inner_text()
        assert page.evaluate("document.activeElement.textContent") == "Oui, effacer"
        page.keyboard.press("Enter")
    finally:
        proxy.start()
    page.wait_for_selector(".mutu-choice")  # the welcome again, for the new conversation
    assert "Bonjour" in last_bot_text(page)
    assert "Conversation effacée" in page.locator(".mutu-log").inner_text()
    assert "Gaston" not in page.locator(".mutu-log").inner_text()
    saved = json.dumps(stored(page), ensure_ascii=False)
    assert "gaston" not in saved.lower() and "jamais envoyé" not in saved
    assert stored(page)["sender"] != old["sender"] and stored(page)["queue"] == []
    assert page.locator(".mutu-confirm").is_hidden()
    assert page.evaluate("document.activeElement.id") == "mutu-input"
    # the server's copy is not deleted by « Effacer » (it follows the retention), and the message
    # queued before clearing was never sent
    events = get_json(f"{bot.rasa_url}/conversations/{old['sender']}/tracker", API_TOKEN)["events"]
    texts = [e.get("text") or "" for e in events if e["event"] == "user"]
    assert "gaston.tremblay@exemple.org" in texts and not any("jamais" in t for t in texts)


def test_escape_closes_the_clear_confirmation_first(page: object) -> None:
    open_chat(page)
    page.get_by_role("button", name="Effacer la conversation").click()
    assert page.locator(".mutu-confirm").is_visible()
    page.keyboard.press("Escape")
    assert page.locator(".mutu-confirm").is_hidden() and page.locator(".mutu-panel").is_visible()
    assert page.evaluate("document.activeElement.classList.contains('mutu-clear')")
    assert "Bonjour" in last_bot_text(page)  # nothing was erased


def test_source_caption_named_links_and_french_spacing(page: object) -> None:
    open_chat(page)
    sent: list = []
    answer_with(page, "Voyez le [guide du TIESS](https://tiess.ca/guide-6-etapes) : six étapes ; "
                      "ou https://www.larousse.fr/dictionnaires/francais/mutualiser/53488 !\n"
                      "« Mutualiser » veut dire mettre en commun ?\n"
                      "Sources : [Larousse](https://www.larousse.fr/) et [TIESS](https://tiess.ca/)", sent)
    ask(page, "Et les sources ?")
    message = page.locator(".mutu-msg.mutu-bot").last
    named = message.get_by_role("link", name="guide du TIESS")
    assert named.get_attribute("href") == "https://tiess.ca/guide-6-etapes"
    assert named.get_attribute("target") == "_blank" and named.get_attribute("rel") == "noopener noreferrer"
    assert "](" not in message.inner_text() and "tiess.ca/guide" not in message.inner_text()
    bare = message.locator("a[href^='https://www.larousse.fr/dictionnaires']")
    assert bare.count() == 1 and bare.get_attribute("rel") == "noopener noreferrer"
    caption = message.locator(".mutu-source")
    assert caption.count() == 1 and caption.inner_text().startswith("Sources")
    assert [a.text_content() for a in caption.locator("a").all()] == ["Larousse (nouvel onglet)",
                                                                       "TIESS (nouvel onglet)"]
    body = message.text_content()
    assert caption.text_content().startswith("Sources\u00a0: Larousse")
    assert "\u00a0: six étapes" in body and "\u202f; ou" in body and "53488 (nouvel onglet)\u202f!" in body
    assert "«\u00a0Mutualiser\u00a0»" in body and "commun\u202f?" in body
    assert "sources\u202f?" in page.locator(".mutu-msg.mutu-user").last.text_content()
    assert sent == ["Et les sources ?"]  # what is sent is what was typed
    assert stored(page)["history"][-1]["text"].endswith("[TIESS](https://tiess.ca/)")  # stored as received
    style = "(e, p) => getComputedStyle(e)[p]"
    assert float(caption.evaluate(style, "fontSize")[:-2]) < float(message.evaluate(style, "fontSize")[:-2])
    assert contrast(caption.evaluate(style, "color"), message.evaluate(style, "backgroundColor")) >= 4.5
    page.reload()  # the history renders the same way
    page.wait_for_selector(".mutu-panel:not([hidden])")
    assert page.locator(".mutu-msg.mutu-bot").last.locator(".mutu-source a").count() == 2


def test_script_and_markup_in_a_bot_message_are_shown_as_text(page: object) -> None:
    open_chat(page)
    hostile = ('<script>window.__mutuPwned = 1</script> <img src=x onerror="window.__mutuPwned = 2"> '
               "[cliquez](javascript:window.__mutuPwned=3) [page](data:text/html,bonjour) <b>gras</b>")
    answer_with(page, hostile)
    ask(page, "bonjour")
    message = page.locator(".mutu-msg.mutu-bot").last
    shown = message.text_content()
    assert "<script>window.__mutuPwned = 1</script>" in shown and "<b>gras</b>" in shown
    assert "[cliquez](javascript:window.__mutuPwned=3)" in shown and "[page](data:text/html,bonjour)" in shown
    assert page.locator(".mutu-log script, .mutu-log img, .mutu-log b").count() == 0
    assert message.locator("a").count() == 0
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__mutuPwned") == "undefined" and page.dialogs == []


def test_a_conversation_cleared_in_one_tab_is_not_written_back_by_another(page: object, bot: Settings) -> None:
    seed(page, [entry(page, "user", "Je suis Gaston Tremblay, gaston@exemple.org", 1),
                entry(page, "bot", "Merci, Gaston.", 1)], sender="web-two-tabs")
    other = page.context.new_page()
    other.set_default_timeout(TIMEOUT)
    other.goto(bot.web_url + "/autre-page.html")
    other.wait_for_selector(".mutu-panel:not([hidden])")
    assert "Gaston" in other.locator(".mutu-log").inner_text()
    page.get_by_role("button", name="Effacer la conversation").click()
    page.get_by_role("button", name="Oui, effacer").click()
    page.wait_for_selector(".mutu-choice")
    other.wait_for_function("!document.querySelector('.mutu-log').textContent.includes('Gaston')")
    other.click(".mutu-close")  # closing saves this tab's state
    assert other.locator(".mutu-panel").is_hidden()
    assert "gaston" not in json.dumps(stored(page)).lower()
    assert stored(page)["sender"] != "web-two-tabs"
    other.close()


# ---- issue #20: the widget on a phone ------------------------------------------------------------

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "locale": "fr-CA"}
DESKTOP = {"viewport": {"width": 1366, "height": 900}, "locale": "fr-CA"}
EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]")
ANSWER_MARK = {"custom": {"mutu": {"kind": "answer"}}}


@pytest.fixture
def phone(browser: object, bot: Settings, proxy: TcpProxy, request: pytest.FixtureRequest) -> Iterator[object]:
    context = browser.new_context(**PHONE)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    pg.goto(bot.web_url + "/")
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    context.close()


def reply_with(pg: object, replies: list, held: Optional[list] = None) -> None:
    """From now on the bot's replies (REST webhook) are ``replies``; with ``held``, each request
    waits in that list until the test fulfils it."""
    def fulfil(route: object) -> None:
        if route.request.method == "OPTIONS":
            route.fulfill(status=204, headers=CORS)
        elif held is not None:
            held.append(route)
        else:
            route.fulfill(status=200, headers=CORS, content_type="application/json", body=json.dumps(replies))
    pg.route("**/webhooks/rest/webhook", fulfil)


def in_view(pg: object, locator: object) -> bool:
    """The element's top line is inside the visible part of the conversation log."""
    box, log = locator.bounding_box(), pg.locator(".mutu-log").bounding_box()
    return box is not None and log["y"] - 1 <= box["y"] and box["y"] + 16 <= log["y"] + log["height"]


def test_feedback_controls_are_drawn_icons_with_french_names_under_answers_only(page: object) -> None:
    open_chat(page)
    assert page.locator(".mutu-feedback").count() == 0  # not under the welcome
    ask(page, "c'est quoi la mutualisation")
    useful = page.get_by_role("button", name="Réponse utile", exact=True)
    useless = page.get_by_role("button", name="Réponse inutile", exact=True)
    assert useful.count() == 1 and useless.count() == 1
    for button in (useful, useless):
        assert button.text_content() == "" and not EMOJI.search(button.inner_html())  # no font needed
        icon = button.locator("svg path")
        assert icon.count() == 1 and button.locator("svg").get_attribute("aria-hidden") == "true"
        box = button.locator("svg").bounding_box()
        assert box["width"] >= 16 and box["height"] >= 16
    # the feedback sits right under the answer (after its buttons), not under later prompts
    assert page.locator(".mutu-log > *").last.evaluate("e => e.classList.contains('mutu-feedback')")
    ask(page, "je voudrais écrire à la coordonnatrice")
    assert "Acceptez-vous" in last_bot_text(page)
    assert page.locator(".mutu-feedback").count() == 1  # none under the consent
    ask(page, "oui")
    assert "nom" in last_bot_text(page) and page.locator(".mutu-feedback").count() == 1  # nor the form's prompts
    votes: list = []  # answered here: the test bot's console counts stay those of test_console_browser.py

    def feedback(route: object) -> None:
        if route.request.method == "POST":
            votes.append(json.loads(route.request.post_data))
        route.fulfill(status=200, content_type="application/json", body='{"ok": true}')
    page.route("**/feedback", feedback)
    useless.click()
    assert useless.get_attribute("aria-pressed") == "true" and useful.is_disabled()
    wait_for(lambda: votes or page.wait_for_timeout(20), 30, "the vote is posted")
    assert votes[0]["vote"] == -1 and votes[0]["question"] == "c'est quoi la mutualisation"


def test_only_replies_the_server_marks_as_answers_get_feedback(page: object) -> None:
    open_chat(page)
    reply_with(page, [{"text": "Désolé, un problème technique m'empêche de répondre pour l'instant."}])
    ask(page, "bonjour?")
    assert page.locator(".mutu-feedback").count() == 0  # an error, a prompt: no mark, no feedback
    page.unroute("**/webhooks/rest/webhook")
    answer = {"text": "Une réponse.\nSource : infographie", "buttons": [{"title": "Autre", "payload": "/help"}]}
    reply_with(page, [answer, ANSWER_MARK])
    ask(page, "une question")
    assert page.locator(".mutu-feedback").count() == 1
    assert page.locator(".mutu-msg.mutu-bot").count() == 3  # the mark is not a message of its own
    page.reload()  # the history keeps which replies were answers
    page.wait_for_selector(".mutu-panel:not([hidden])")
    assert page.locator(".mutu-feedback").count() == 1


def test_phone_text_is_16px_and_touch_targets_44px(phone: object) -> None:
    open_chat(phone)
    assert phone.eval_on_selector(".mutu-input", "e => getComputedStyle(e).fontSize") == "16px"  # no iOS zoom
    ask(phone, "c'est quoi la mutualisation")
    phone.wait_for_selector(".mutu-vote")
    choices = phone.locator(".mutu-choice").all()
    assert choices and all(c.bounding_box()["height"] >= 44 for c in choices)
    for vote in phone.locator(".mutu-vote").all():
        box = vote.bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44, box
    ask(phone, "je voudrais écrire à la coordonnatrice")
    assert phone.locator(".mutu-details summary").last.bounding_box()["height"] >= 44


def test_the_consent_is_short_with_details_behind_a_disclosure_and_both_buttons_visible(phone: object) -> None:
    open_chat(phone)
    ask(phone, "c'est quoi la mutualisation")
    ask(phone, "je voudrais écrire à la coordonnatrice")
    consent = phone.locator(".mutu-msg.mutu-bot").last
    shown = consent.inner_text()
    assert "Acceptez-vous" in shown and "statistiques" not in shown  # the full text is folded away
    assert in_view(phone, consent)  # read from its first line
    for name in ("Oui, j'accepte", "Non, merci"):
        button = phone.get_by_role("button", name=name).last
        assert button.is_visible() and in_view(phone, button)
    details = phone.locator(".mutu-log > details.mutu-details")  # a real disclosure, after the buttons
    assert details.count() == 1 and details.get_attribute("open") is None
    assert phone.locator(".mutu-log > *").last.evaluate("e => e.tagName === 'DETAILS'")
    details.get_by_text("Détails", exact=True).click()
    assert details.get_attribute("open") is not None
    assert "statistiques" in details.inner_text() and "Effacer la conversation" in details.inner_text()
    for name in ("Oui, j'accepte", "Non, merci"):  # opening it moves neither button
        assert in_view(phone, phone.get_by_role("button", name=name).last)
    assert phone.locator(".mutu-feedback").count() == 1  # the answer's, none under the consent


def test_a_long_reply_is_shown_from_its_first_line(phone: object) -> None:
    open_chat(phone)
    for question in ("c'est quoi la mutualisation", "quelles sont les formes de mutualisation"):
        ask(phone, question)
    long_text = "Première ligne de la longue réponse.\n" + "\n".join(f"Ligne {i} du texte." for i in range(2, 80))
    reply_with(phone, [{"text": long_text}, ANSWER_MARK])
    ask(phone, "une longue question")
    message = phone.locator(".mutu-msg.mutu-bot").last
    assert message.bounding_box()["height"] > phone.locator(".mutu-log").bounding_box()["height"]
    assert in_view(phone, message)
    assert phone.get_by_text("Première ligne de la longue réponse.").is_visible()
    assert phone.eval_on_selector(".mutu-log", "e => e.scrollTop") > 0  # it did scroll, to the reply's top


def test_the_visitors_own_scrolling_is_never_fought(phone: object) -> None:
    open_chat(phone)
    for question in ("c'est quoi la mutualisation", "quelles sont les formes de mutualisation"):
        ask(phone, question)
    held: list = []
    reply_with(phone, [], held)
    before = phone.locator(".mutu-msg.mutu-bot").count()
    phone.fill(".mutu-input", "encore une question")
    phone.keyboard.press("Enter")
    wait_for(lambda: held or phone.wait_for_timeout(20), 30, "the request reaches the stub")
    phone.eval_on_selector(".mutu-log", "e => { e.scrollTop = 0; }")  # the visitor scrolls back up
    held[0].fulfill(status=200, headers=CORS, content_type="application/json",
                    body=json.dumps([{"text": "\n".join(f"Ligne {i}" for i in range(60))}]))
    phone.wait_for_function(f"document.querySelectorAll('.mutu-msg.mutu-bot').length > {before}")
    assert phone.eval_on_selector(".mutu-log", "e => e.scrollTop") == 0


def screenshot_panel(pg: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pg.locator(".mutu-panel").screenshot(path=str(ARTIFACTS / f"widget-{name}.png"))


@pytest.mark.parametrize("device", ["desktop", "mobile"])
def test_answer_consent_and_summary_screenshots(browser: object, bot: Settings, proxy: TcpProxy,
                                                device: str) -> None:
    """The conversation of docs/widget-*.png (written to tests/artifacts/widget-*.png; copied by hand)."""
    context = browser.new_context(**(PHONE if device == "mobile" else DESKTOP))
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    pg.goto(bot.web_url + "/")
    open_chat(pg)
    ask(pg, "c'est quoi la mutualisation")
    screenshot_panel(pg, device)
    ask(pg, "je voudrais écrire à la coordonnatrice")
    screenshot_panel(pg, f"{device}-consent")
    for text in ("oui", "Léa Roy", "lea.roy@exemple.org", "passer", "Combien coûte l'adhésion à la Halte ?"):
        ask(pg, text)
    assert "Voici votre demande" in last_bot_text(pg) and pg.locator(".mutu-feedback").count() == 1
    screenshot_panel(pg, f"{device}-summary")
    context.close()
