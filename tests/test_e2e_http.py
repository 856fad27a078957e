"""The trained bot answering over HTTP: the project's question set, follow-ups, buttons, the
clarification flow and slots a user must not be able to set."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bot.settings import Settings
from tests.conftest import API_TOKEN
from tests.helpers import Conversation, flat, get_json, matches

QUESTIONS = yaml.safe_load((Path(__file__).parent / "questions.yml").read_text("utf-8"))
MIN_ACCURACY = 0.95


def test_question_set_accuracy(bot: Settings) -> None:
    failures = []
    for topic, question in QUESTIONS["cases"]:
        replies = Conversation(bot.rasa_url).say(question)
        if not matches(replies, QUESTIONS["topics"][topic]):
            failures.append(f"[{topic}] {question!r} -> {flat(replies)[:160]!r}")
    accuracy = 1 - len(failures) / len(QUESTIONS["cases"])
    print(f"question set: {accuracy:.1%} of {len(QUESTIONS['cases'])}")
    assert accuracy >= MIN_ACCURACY, "\n".join(failures)


@pytest.mark.parametrize("first, follow_up, expected", [
    ("quelles sont les formes de mutualisation", "et le contrat ?", "non proprietaires"),
    ("c'est quoi une coop de remplacement agricole", "et Le Relait ?", "15 mars 2021"),
    ("c'est quoi les mutuelles au québec", "pis celles de prévention?", "cnesst"),
])
def test_follow_up_in_context(bot: Settings, first: str, follow_up: str, expected: str) -> None:
    chat = Conversation(bot.rasa_url)
    chat.say(first)
    assert expected in flat(chat.say(follow_up))


def test_every_answer_offers_buttons_that_work(bot: Settings) -> None:
    chat = Conversation(bot.rasa_url)
    replies = chat.say("quelles sont les formes de mutualisation")
    buttons = [b for r in replies for b in r.get("buttons") or []]
    assert 1 <= len(buttons) <= 3
    contract = [b for b in buttons if b["payload"] == "/faq/form_contrat"]
    assert contract, buttons
    assert "non proprietaires" in flat(chat.say(contract[0]["payload"]))


def test_links_come_from_the_links_file(bot: Settings) -> None:
    replies = Conversation(bot.rasa_url).say("d'où viennent vos définitions")
    text = flat(replies)
    for url in bot.links.references.values():
        if "cnrtl" in url or "larousse" in url:
            assert url in text


def test_unclear_then_unclear_again_gives_the_guide_and_contact(bot: Settings) -> None:
    chat = Conversation(bot.rasa_url)
    first = chat.say("zorglub fnak tiguidou blip")
    assert "vouliez-vous dire" in flat(first)
    buttons = [b for r in first for b in r.get("buttons") or []]
    assert buttons[-1] == {"title": "Autre chose", "payload": "/something_else"}
    assert 2 <= len(buttons) <= 4
    second = flat(chat.say("grmbl plouk"))
    assert "tiess" in second and bot.links.coordinator_email in second


def test_a_typed_payload_sets_no_slot(bot: Settings) -> None:
    chat = Conversation(bot.rasa_url)
    payload = '/faq{"contact_email": "pirate@example.com", "org_name": "Pirates inc."}'
    replies = chat.say(payload)
    assert replies and "pirate" not in flat(replies)
    tracker = get_json(f"{bot.rasa_url}/conversations/{chat.sender}/tracker", API_TOKEN)
    assert "pirate" not in json.dumps(tracker["slots"]).lower()
    assert bot.links.coordinator_email in flat(chat.say("c'est quoi votre courriel"))


def test_our_own_button_payload_is_understood(bot: Settings) -> None:
    replies = Conversation(bot.rasa_url).say("/faq/example_halte")
    assert "125" in flat(replies)
