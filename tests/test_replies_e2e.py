"""Dialogue glitches of issue #16, against the running bot: the English note once per
conversation, a thanks-and-bye read as goodbye, an off-topic reply that does not send to the guide."""
from __future__ import annotations

from bot import settings
from tests.helpers import Conversation, flat


def test_the_english_note_comes_once_per_conversation(bot: settings.Settings) -> None:
    chat = Conversation(bot.rasa_url)
    first = flat(chat.say("Where is the Cantine pour tous located?"))
    second = flat(chat.say("What do the farm replacement cooperatives do?"))
    assert "answers in french" in first, first
    assert "answers in french" not in second, second


def test_thanks_and_bye_is_a_goodbye(bot: settings.Settings) -> None:
    chat = Conversation(bot.rasa_url)
    chat.say("c'est quoi la mutualisation?")
    reply = flat(chat.say("Merci pour l'info! Bye!"))
    assert "revoir" in reply and "autre question" not in reply and "bonne journee" not in reply, reply


def test_an_off_topic_question_is_not_sent_to_the_guide(bot: settings.Settings) -> None:
    reply = flat(Conversation(bot.rasa_url).say("c'est quoi la capitale de l'Australie?"))
    assert "seulement aux questions sur la mutualisation" in reply and "tiess" not in reply, reply
