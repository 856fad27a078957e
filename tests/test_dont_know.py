"""Every « l'infographie ne le dit pas » reply a visitor can get (bot/dont_know.py), and the French
rules of bot/checks.py that keep them, and every other text, reading as a person wrote them.

tests/dont_know_replies.txt lists them all for review; regenerate it after editing the wording:
    PYTHONPATH=. .venv/bin/python -m bot.dont_know tests/dont_know_replies.txt
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from bot import dont_know as dk
from bot import knowledge as kb
from bot.checks import (SOURCE_LINE, french_problems, link_problems, pronoun_problems, render, source_problems,
                        values)
from bot.text import fold
from tests.conv_player import BEHAVIOURS

# What the conversation tests read as « the infographic does not say » (tests/conv_player.py).
DONT_KNOW_PHRASES = BEHAVIOURS["dont_know"]["all"][0]
REVIEW_FILE = Path(__file__).resolve().parent / "dont_know_replies.txt"
MAX_REPLY_CHARS = 650  # chat-sized: sentence, what the infographic says, Source line, offer


def all_replies() -> List[Tuple[Optional[str], Optional[str], str]]:
    knowledge = kb.load()
    return [(thing, attribute, dk.reply(knowledge, thing, attribute, values()))
            for thing, attribute in dk.possible(knowledge)]


def reply_problems(thing: Optional[str], attribute: Optional[str], text: str) -> List[str]:
    where = f"{thing or '-'} · {attribute or '-'}"
    problems = source_problems(where, text) + link_problems(where, text) + french_problems(where, text)
    if thing:
        problems += pronoun_problems(where, text, dk.load_wording().genders[thing])
    lines = text.split("\n")
    body = lines[0]
    if thing and not (len(lines) == 3 and SOURCE_LINE.match(lines[1])):
        problems.append(f"{where}: a reply that says what the infographic says needs its Source line")
    if not body.startswith("L'infographie") and "l'infographie" not in body:
        problems.append(f"{where}: the first sentence must say what the infographic does not say")
    if not any(fold(phrase) in fold(body) for phrase in DONT_KNOW_PHRASES):
        problems.append(f"{where}: none of the phrases the conversation tests read as « not said »")
    if len(text) > MAX_REPLY_CHARS:
        problems.append(f"{where}: {len(text)} characters, want at most {MAX_REPLY_CHARS}")
    if "{" in text or "}" in text:
        problems.append(f"{where}: a placeholder left: {text[:80]}")
    return problems


def test_the_review_file_lists_every_reply_as_generated() -> None:
    expected = dk.review_text(kb.load(), values())
    assert REVIEW_FILE.read_text("utf-8") == expected, (
        "tests/dont_know_replies.txt is out of date: PYTHONPATH=. .venv/bin/python -m bot.dont_know "
        "tests/dont_know_replies.txt, then read the new replies")


def test_every_reply_passes_the_source_and_french_checks() -> None:
    replies = all_replies()
    assert len(replies) > 500
    problems = [p for thing, attribute, text in replies for p in reply_problems(thing, attribute, text)]
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} problems)"


def test_every_thing_has_a_gender_a_kind_and_a_summary() -> None:
    wording = dk.load_wording()
    for key in kb.load().things:
        assert wording.genders[key] in dk.GENDERS, key
        assert wording.kinds[key] in dk.KIND_ASPECTS, key
        assert wording.summaries[key].strip(), key


def test_every_aspect_has_a_sentence_with_and_without_a_thing() -> None:
    wording = dk.load_wording()
    for name, _ in kb.ATTRIBUTES:
        assert name in wording.what, name
        assert name in wording.alone, name


def test_the_audited_replies_read_as_whole_sentences() -> None:
    knowledge, v = kb.load(), values()
    relait = dk.reply(knowledge, "relait", "gouvernance", v)
    assert relait.startswith("L'infographie ne dit pas qui dirige Le Relait, ni qui siège à son conseil")
    assert "Source : infographie « La mutualisation », section Quelques exemples de mutualisation" in relait
    assert "consultez « " not in relait
    halte = dk.reply(knowledge, "halte", "cout", v)
    assert halte.startswith("L'infographie ne précise pas les coûts liés à La Halte : ni cotisation, ni prix, ni frais.")
    assert "(La Halte)" not in halte and "offrait" in halte
    contrat = dk.reply(knowledge, "contrat", "cout", v)
    assert "(le contrat)" not in contrat and "(" not in contrat.split("\n")[0]
    assert "si c'en est" not in dk.reply(knowledge, "public", "qualifie", v)
    assert "précis" not in dk.reply(knowledge, None, "quoi", v)


def test_the_offer_names_the_guide_only_for_mutualisation_in_general() -> None:
    knowledge, v = kb.load(), values()
    assert "TIESS" in dk.reply(knowledge, None, "legal", v)
    assert "TIESS" in dk.reply(knowledge, "contrat", "modele", v)
    assert "TIESS" not in dk.reply(knowledge, "halte", "cout", v)
    assert "Isabelle Lapointe" in dk.reply(knowledge, "halte", "cout", v)


def test_an_aspect_that_makes_no_sense_for_the_thing_gets_a_neutral_sentence() -> None:
    knowledge, v = kb.load(), values()
    text = dk.reply(knowledge, "coordinator", "gouvernance", v)
    assert text.startswith("L'infographie ne donne pas cette information au sujet d'Isabelle Lapointe.")


@pytest.mark.parametrize("label, de, a", [
    ("Le Relait", "du Relait", "au Relait"),
    ("La Halte", "de La Halte", "à La Halte"),
    ("les coopératives", "des coopératives", "aux coopératives"),
    ("Isabelle Lapointe", "d'Isabelle Lapointe", "à Isabelle Lapointe"),
    ("l'employée", "de l'employée", "à l'employée"),
])
def test_de_and_a_contract_with_the_article(label: str, de: str, a: str) -> None:
    assert (dk.of(label), dk.to(label)) == (de, a)


def test_agreement_choices() -> None:
    assert dk.agree("{est|sont} {présent|présente|présents|présentes}", "fp") == "sont présentes"
    assert dk.agree("{est|sont} {présent|présente|présents|présentes}", "m") == "est présent"


# --- the French rules, each with a sentence it flags and a correct one it accepts ------------------
FRENCH_RULES: Dict[str, Tuple[str, str]] = {
    "préciser": ("L'infographie ne précise pas de modèle de contrat.",
                 "L'infographie ne donne pas de modèle de contrat."),
    "précis…": ("L'infographie ne précise pas d'exemple précis.",
                "L'infographie ne donne pas d'exemple précis."),
    "parenthesised": ("Elle ne donne pas les coûts (cotisation, prix ou frais) (le contrat).",
                      "Elle ne donne pas les coûts (cotisation, prix ou frais) du contrat."),
    "internal label": ("L'infographie ne précise pas qui la dirige (Le Relait).",
                       "L'infographie ne dit pas qui dirige Le Relait (une coopérative)."),
    "machine": ("Selon l'article (lien non conservé), elle aide ses membres.",
                "Selon l'infographie, elle aide ses membres."),
    "archival": ("D'après l'article cité, la Cantine pour tous est à Montréal.",
                 "Selon l'infographie, la Cantine pour tous est à Montréal."),
    "2023": ("La Halte offre un service de remplacement.",
             "Selon l'infographie (2023), La Halte offrait un service de remplacement."),
    "pas utile": ("Réponse pas utile", "Réponse peu utile"),
    "soit plus que": ("Votre question compte 2\u00a0255 caractères, soit plus que les 2\u00a0000 permis.",
                      "Votre question compte 2\u00a0255 caractères, alors que la limite est de 2\u00a0000."),
    "si c'en est": ("L'infographie ne dit pas si c'en est.",
                    "L'infographie ne dit pas si le cas que vous décrivez est de la mutualisation."),
    "button label": ("Ce qu'elle en dit : consultez « Le Relait ».",
                     "Le bouton « Le Relait » donne sa fiche complète."),
    "words": (" ".join(["mot"] * 50) + ".", " ".join(["mot"] * 40) + "."),
}


@pytest.mark.parametrize("rule", sorted(FRENCH_RULES))
def test_each_french_rule_flags_the_slip_and_accepts_the_fix(rule: str) -> None:
    wrong, right = FRENCH_RULES[rule]
    assert french_problems("t", wrong), wrong
    assert not french_problems("t", right), (right, french_problems("t", right))


def test_the_pronoun_rule_knows_the_things_gender() -> None:
    assert pronoun_problems("t", "L'infographie ne dit pas qui la dirige.", "m")
    assert not pronoun_problems("t", "L'infographie ne dit pas qui le dirige.", "m")
    assert pronoun_problems("t", "L'infographie ne dit pas où le trouver.", "fp")
    assert not pronoun_problems("t", "L'infographie ne dit pas où les trouver.", "fp")
    assert pronoun_problems("t", "L'infographie n'en dit pas plus. Elle la décrit comme un guide.", "m")
    assert not pronoun_problems("t", "L'infographie n'en dit pas plus. Elle le décrit comme un guide.", "m")


def test_the_reply_check_wants_the_source_line_after_a_fact() -> None:
    text = dk.reply(kb.load(), "halte", "cout", values())
    assert not reply_problems("halte", "cout", text)
    without = "\n".join(line for line in text.split("\n") if not line.startswith("Source"))
    assert reply_problems("halte", "cout", without)
    assert reply_problems("relait", "cout", render("L'infographie ne précise pas qui la dirige (Le Relait).\nX"))


# --- the English note: once per conversation ---------------------------------------------------------
def _english_messages(events: list) -> list:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from actions.answer import Renderer
    from bot.payloads import load_responses
    dispatcher = CollectingDispatcher()
    tracker = Tracker("t", {}, {"text": "what is pooling"}, events, False, None, {}, "action_listen")
    Renderer(dispatcher, load_responses(), tracker).english_note("what is the pooling of resources?")
    return [m.get("response") for m in dispatcher.messages]


def test_the_english_note_is_said_once_per_conversation() -> None:
    assert _english_messages([]) == ["utter_english_note"]
    said = [{"event": "bot", "text": "(Mutu answers in French…)", "metadata": {"utter_action": "utter_english_note"}}]
    assert _english_messages(said) == []
    welcomed = [{"event": "action", "name": "utter_english"}]
    assert _english_messages(welcomed) == []
