"""Every promise holds under the settings actually in force (issue #16): the consent and the
confirmation of an inquiry say where it goes with the channels configured, a response time only
when one is set; the launcher warns when inquiries have nowhere to go; the widget's browser
retention is the server's; the console's statistics keep nothing typed in the inquiry form."""
from __future__ import annotations

import asyncio
import itertools
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
import sqlalchemy as sa

from bot import nlg, settings
from bot.checks import french_problems, link_problems, source_problems
from bot.nlg import LinksNaturalLanguageGenerator, inquiry_values
from tests.conftest import OFFSET, ROOT, stop_group, wait_for
from tests.helpers import Conversation, flat

CHANNEL_VARIABLES = ("MUTU_SMTP_HOST", "MUTU_WEBHOOK_URL", "MUTU_CONSOLE_PASSWORD", "MUTU_CONSOLE_PASSWORD_HASH",
                     "MUTU_RESPONSE_TIME")
SMTP = {"MUTU_SMTP_HOST": "smtp.exemple.org"}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in CHANNEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def generator(monkeypatch: pytest.MonkeyPatch, env: Dict[str, str]) -> LinksNaturalLanguageGenerator:
    """The response generator the Rasa server builds, under the environment ``env``."""
    from rasa.shared.core.domain import Domain
    from bot.payloads import load_responses
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return LinksNaturalLanguageGenerator(domain=Domain.from_dict(load_responses()))


def consent_and_confirmation(gen: LinksNaturalLanguageGenerator) -> tuple:
    consent = gen.generate_from_slots("utter_ask_inquiry_consent", {}, "rest")
    received = gen.generate_from_slots("utter_inquiry_received", {}, "rest", reference="MUTU-2026-0007")
    return consent, received


def test_with_no_channel_the_texts_say_that_nothing_is_sent(clean_env: pytest.MonkeyPatch) -> None:
    consent, received = consent_and_confirmation(generator(clean_env, {}))
    short, details = consent["text"], consent["custom"]["mutu"]["details"]
    assert "aucun envoi n'est configuré" in short and "personne n'en serait avisé" in short
    assert "mobilisation@concertationhorizon.ca" in short  # where to write instead
    assert "par courriel" not in short and "envoyés" not in details and "servent uniquement" not in details
    assert "MUTU-2026-0007" in received["text"] and "personne n'en est donc avisé" in received["text"]
    assert "répondra" not in received["text"] and "recevra" not in received["text"]
    assert [b["title"] for b in consent["buttons"]] == ["Oui, j'accepte", "Non, merci"]


def test_with_smtp_the_texts_say_e_mail_and_promise_no_delay(clean_env: pytest.MonkeyPatch) -> None:
    consent, received = consent_and_confirmation(generator(clean_env, SMTP))
    short, details = consent["text"], consent["custom"]["mutu"]["details"]
    assert "à Isabelle Lapointe (Concertation Horizon), par courriel." in short
    assert "aucun envoi" not in short and "console" not in short
    assert "Ils sont envoyés par courriel à Isabelle Lapointe" in details
    assert "servent uniquement à vous répondre" in details
    assert received["text"].endswith("Isabelle Lapointe la recevra par courriel et pourra vous répondre à "
                                     "l'adresse courriel que vous avez indiquée.")
    assert "ouvrables" not in received["text"] and "dès que possible" not in received["text"]


def test_the_console_and_a_response_time_are_said_only_when_set(clean_env: pytest.MonkeyPatch) -> None:
    consent, received = consent_and_confirmation(generator(clean_env, {
        "MUTU_CONSOLE_PASSWORD": "x", "MUTU_RESPONSE_TIME": "dans les deux jours ouvrables"}))
    assert "dans la console de Mutu" in consent["text"] and "par courriel" not in consent["text"]
    assert "vous répondra dans les deux jours ouvrables" in received["text"]


def test_the_consent_is_two_short_lines_then_the_question() -> None:
    for routes in ((), ("email",)):
        conf = settings.load({})
        text = inquiry_values(conf.links, conf.retention_days, routes)["consent_text"]
        lines = text.split("\n")
        assert len(lines) == 2 and all(len(line) <= 200 for line in lines), lines
        assert "90 jours après votre envoi" in lines[1]  # after what: said


@pytest.mark.parametrize("routes", [combo for n in range(4) for combo in
                                    itertools.combinations(("email", "webhook", "console"), n)])
@pytest.mark.parametrize("response_time", [None, "dans les deux jours ouvrables"])
def test_every_variant_passes_the_source_check(routes: tuple, response_time: str) -> None:
    """The texts as shown (French, links) and as written (names, numbers: {placeholders} aside)."""
    links = settings.load_links({"MUTU_RESPONSE_TIME": response_time} if response_time else {})
    problems: List[str] = []
    for key, text in inquiry_values(links, 90, routes).items():
        where = f"nlg:{key}:{'+'.join(routes) or 'none'}"
        problems += link_problems(where, text) + french_problems(where, text)
    for name in ("FIELDS", "CONSENT_SENT", "CONSENT_UNSENT", "DETAILS", "DETAILS_SENT", "DETAILS_UNSENT",
                 "RECEIVED_SENT", "RECEIVED_SENT_BY", "RECEIVED_UNSENT"):
        problems += source_problems(f"nlg:{name}", getattr(nlg, name))
    for name in ("ROUTE_HOW", "ROUTE_DETAILS"):
        problems += [p for key, text in getattr(nlg, name).items() for p in source_problems(f"nlg:{name}.{key}", text)]
    assert not problems, "\n".join(problems)
    assert bool(routes) == ("aucun envoi" not in inquiry_values(links, 90, routes)["inquiry_next"])


def test_the_running_bot_quotes_its_own_channels(bot: settings.Settings) -> None:
    """The test bot delivers by SMTP and webhook and has its console on: the consent (over HTTP,
    with its details) and the confirmation say so."""
    chat = Conversation(bot.rasa_url)
    replies = chat.say("je voudrais écrire à la coordonnatrice")
    consent = next(r for r in replies if "Acceptez-vous" in (r.get("text") or ""))
    assert "par courriel, par l'outil de suivi de Concertation Horizon et dans la console de Mutu" in consent["text"]
    marks = [r["custom"]["mutu"] for r in replies if r.get("custom")]
    assert [m["kind"] for m in marks] == ["consent"] and "statistiques" in marks[0]["details"]
    for text in ["oui", "Paul Roy", "paul.roy@example.org", "passer", "Combien coûte l'adhésion?"]:
        last = chat.say(text)
    assert "confirmer" in flat(last)
    sent = chat.say("oui")
    assert "MUTU-" in sent[0]["text"] and "la recevra par courriel" in sent[0]["text"]
    assert "aucun envoi" not in sent[0]["text"] and "ouvrables" not in sent[0]["text"]


def test_answers_are_marked_for_the_widget_and_prompts_are_not(bot: settings.Settings) -> None:
    chat = Conversation(bot.rasa_url)
    assert not any(r.get("custom") for r in chat.say("/greet"))
    answer = chat.say("c'est quoi la mutualisation")
    assert answer[0].get("text") and answer[1] == {"recipient_id": chat.sender, "custom": {"mutu": {"kind": "answer"}}}
    fact = chat.say("pis la Halte c'est où?")  # a fact, written by the answer action itself
    assert fact[0].get("text") and {"mutu": {"kind": "answer"}} in [r.get("custom") for r in fact]


# ---- the launcher ---------------------------------------------------------------------------------
@pytest.fixture
def launch(tmp_path: Path) -> Iterator:
    started: List[subprocess.Popen] = []

    def start(extra: Dict[str, str]) -> tuple:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MUTU_")}
        env.update({"PYTHONPATH": str(ROOT), "MUTU_DATA_DIR": str(tmp_path / f"data{len(started)}"),
                    "MUTU_WEB_PORT": str(18290 + OFFSET), **extra})
        out, err = tmp_path / f"out{len(started)}", tmp_path / f"err{len(started)}"
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--only", "worker"], cwd=ROOT, env=env,
                                stdout=out.open("w"), stderr=err.open("w"), start_new_session=True)
        started.append(proc)
        wait_for(lambda: "Mutu is ready" in out.read_text() or proc.poll() is not None, 60, "launcher banner")
        return proc, out.read_text(), err.read_text()

    yield start
    for proc in started:
        stop_group(proc)


def test_the_launcher_warns_loudly_when_inquiries_go_nowhere(launch) -> None:  # noqa: ANN001
    proc, out, err = launch({})
    assert proc.poll() is None, err
    assert err.count("WARNING: INQUIRIES HAVE NOWHERE TO GO.") == 2  # at start, and again below the banner
    assert "MUTU_SMTP_HOST" in err and "inquiries.db" in err
    assert re.search(r"Inquiries\s+go NOWHERE", out)


def test_the_launcher_is_quiet_when_inquiries_are_delivered(launch) -> None:  # noqa: ANN001
    proc, out, err = launch({**SMTP, "MUTU_SMTP_TLS": "none"})
    assert proc.poll() is None, err
    assert "NOWHERE" not in err + out and re.search(r"Inquiries\s+delivered by smtp", out)


def test_the_launcher_notes_inquiries_kept_for_the_console_only(launch) -> None:  # noqa: ANN001
    _, out, err = launch({"MUTU_CONSOLE_PASSWORD": "x"})
    assert "only listed in the coordinator's console" in err and "NOWHERE" not in err
    assert "listed in the console" in out


# ---- the widget's retention comes from the server --------------------------------------------------
def test_widget_js_carries_the_servers_retention_and_pages_no_longer_set_one() -> None:
    from bot.web.server import render
    script, ctype = render("widget.js", settings.load({"MUTU_RETENTION_DAYS": "30"}))
    assert b'var SERVER_RETENTION = "30";' in script and b"{{" not in script
    assert ctype == "text/javascript; charset=utf-8"
    for page in ("demo.html", "autre-page.html"):
        html = render(page, settings.load({}))[0].decode()
        assert "retention" not in html and "{{" not in html


# ---- the console's statistics keep nothing typed in the inquiry form ------------------------------
def test_statistics_never_copy_what_is_typed_in_the_inquiry_form(tmp_path: Path) -> None:
    from rasa.shared.core.events import (ActionExecuted, ActiveLoop, BotUttered, SessionStarted, SlotSet,
                                         UserUttered)
    from rasa.shared.core.trackers import DialogueStateTracker
    from bot.console.store import ConsoleStore
    from tests.test_retention import rasa_tracker_store
    conf = settings.load({"MUTU_DATA_DIR": str(tmp_path), "MUTU_CONSOLE_SECRET": "secret-de-test"})
    store = rasa_tracker_store(conf)
    t = time.time()

    def said(text: str, intent: str, at: float) -> UserUttered:
        return UserUttered(text, {"name": intent, "confidence": 0.9}, timestamp=at)

    events = [said("c quoi la mutualisation", "faq", t), SlotSet("mutu_answer", "topic:def_mutualisation", timestamp=t),
              said("je veux écrire à la coordonnatrice", "contact_human", t + 1),
              ActionExecuted("inquiry_form", timestamp=t + 1), ActiveLoop("inquiry_form", timestamp=t + 1),
              SlotSet("requested_slot", "inquiry_consent", timestamp=t + 1),
              BotUttered("Acceptez-vous ?", timestamp=t + 1),
              said("oui", "affirm", t + 2), said("Gaston Tremblay", "out_of_scope", t + 3),
              said("gaston@exemple.org", "out_of_scope", t + 4), said("Coop du Quartier Saint-Roch", "faq", t + 5),
              said("Combien coûte l'adhésion à la Halte ?", "not_in_source", t + 6),
              SlotSet("mutu_answer", "dont_know:halte:cout", timestamp=t + 6),  # an interruption answered in the form
              ActiveLoop(None, timestamp=t + 7), SlotSet("inquiry_pending", True, timestamp=t + 7),
              said("modifier mon nom pour Gaston Roy", "edit_inquiry", t + 8),
              said("oui", "affirm", t + 9), SlotSet("inquiry_pending", False, timestamp=t + 9),
              said("et les exemples?", "faq", t + 10), SlotSet("mutu_answer", "topic:examples_list", timestamp=t + 10),
              # a new session ends a form left open
              ActiveLoop("inquiry_form", timestamp=t + 11), said("Jeanne Roy", "out_of_scope", t + 12),
              SessionStarted(timestamp=t + 13), said("c'est quoi une cuma", "faq", t + 14)]
    asyncio.run(store.save(DialogueStateTracker.from_events("web-form", events)))
    store.engine.dispose()
    console = ConsoleStore(conf)
    assert console.ingest() == 4
    with console.engine.connect() as db:
        rows = db.execute(sa.text("select text, category, topic from console_messages order by id")).fetchall()
    assert [tuple(r) for r in rows] == [
        ("c quoi la mutualisation", "answered", "def_mutualisation"),
        ("je veux écrire à la coordonnatrice", None, None),  # not re-labelled by the form's interruption
        ("et les exemples?", "answered", "examples_list"),
        ("c'est quoi une cuma", None, None)]
