"""Unit tests of the conversation parts that need no model: the question focus and the
two-question split (bot/focus.py), the knowledge base and its decisions (bot/knowledge.py),
the form's typed corrections (actions/inquiry.py)."""
from __future__ import annotations

from typing import Any, Dict, Optional

import pytest

from actions.answer import context_after, is_english, plan_for
from actions.inquiry import correction, fingerprint
from bot import knowledge as kb
from bot.focus import focus_text, question_segments

KNOWLEDGE = kb.load()


def parse(intent: str, topic: Optional[str] = None, confidence: float = 0.9) -> Dict[str, Any]:
    data: Dict[str, Any] = {"intent": {"name": intent, "confidence": confidence}}
    if topic:
        data["response_selector"] = {"faq": {"response": {"intent_response_key": f"faq/{topic}",
                                                           "confidence": confidence}}}
    return data


def is_thing(part: str) -> bool:
    return bool(kb.mentioned(KNOWLEDGE, part, short=True))


@pytest.mark.parametrize("text, kept, dropped", [
    ("Bonjour, je m'appelle Julie, je suis DG d'un organisme à Rimouski. Est-ce qu'on peut partager "
     "une employée?", "partager une employée", "Julie"),
    ("Allo! chu agente de développement dans une MRC. c'est quoi une coentreprise? merci!",
     "coentreprise", "MRC"),
    ("non c'est pas ça, je veux la définition de mutuel", "définition de mutuel", "pas ça"),
])
def test_focus_drops_greetings_and_introductions(text: str, kept: str, dropped: str) -> None:
    focused = focus_text(text)
    assert kept in focused and dropped not in focused


def test_focus_keeps_everything_when_nothing_else_is_left() -> None:
    assert focus_text("Bonjour!") == "Bonjour!"
    assert focus_text("Je suis étudiante.") == "Je suis étudiante."


@pytest.mark.parametrize("text, expected", [
    ("la Cantine est où pis ça sert qui?", ["la Cantine est où", "pis ça sert qui?"]),
    ("Qui a fait la recherche et qui a coordonné?", ["Qui a fait la recherche", "et qui a coordonné?"]),
    ("C'est quoi un contrat pis une coentreprise?", ["C'est quoi un contrat", "pis une coentreprise?"]),
    ("Combien de membres a La Halte? Le Relait a commencé quand?",
     ["Combien de membres a La Halte?", "Le Relait a commencé quand?"]),
])
def test_two_questions_are_split(text: str, expected: list) -> None:
    assert question_segments(text, is_thing) == expected


@pytest.mark.parametrize("text", [
    "comment on partage le loyer pis l'électricité entre nous?",   # two nouns, one question
    "l'exemple de Beauharnois pis du Haut-Saint-Laurent, qui paie?",
    "Marie-Ève Tremblay",
    "on veut partager un local pis on sait pas comment",
])
def test_one_question_is_not_split(text: str) -> None:
    assert question_segments(text, is_thing) == []


@pytest.mark.parametrize("text, attribute", [
    ("c'est où ça?", "lieu"), ("c ou la halte", "lieu"), ("combien de membres?", "membres"),
    ("ça coûte combien être membre?", "cout"), ("ça existe depuis quand?", "quand"),
    ("pourquoi elles ont fait ça?", "pourquoi"), ("c'est qui elle?", "qui"), ("source?", "source"),
    ("un exemple?", "exemple"), ("pis au Québec?", "quebec"), ("who does it serve?", "public"),
    ("ils ont signé un contrat ou créé une structure?", "forme"),
    ("des coops qui remplacent les producteurs", None),   # « qui » relative, « ou » not asked
])
def test_attribute_of_a_question(text: str, attribute: Optional[str]) -> None:
    assert kb.attribute(text) == attribute


def test_every_fact_points_to_a_known_topic_and_every_thing_has_a_section() -> None:
    from bot.payloads import load_responses
    responses = load_responses()["responses"]
    for thing in KNOWLEDGE.things.values():
        assert f"utter_faq/{thing.topic}" in responses, thing.key
        assert thing.section, thing.key
        for value in thing.facts.values():
            if value.startswith("topic:"):
                assert f"utter_faq/{value[6:]}" in responses, (thing.key, value)


def decide(text: str, parsed: Dict[str, Any], thing: Optional[str] = None,
           answer: Optional[str] = None) -> kb.Plan:
    return plan_for(KNOWLEDGE, text, parsed, kb.Context(thing=thing, answer=answer))


def test_short_follow_up_is_read_against_the_last_thing() -> None:
    plan = decide("c'est où ça?", parse("nlu_fallback"), thing="cantine")
    assert (plan.kind, plan.thing, plan.attribute) == ("fact", "cantine", "lieu")
    assert "Montréal" in (plan.text or "")
    plan = decide("combien de membres?", parse("faq", "project"), thing="halte")
    assert plan.kind == "fact" and "125" in (plan.text or "")


def test_a_missing_fact_is_said_plainly_not_replaced_by_the_nearest_answer() -> None:
    plan = decide("combien ça coûte devenir membre de la Halte?", parse("faq", "example_halte"))
    assert (plan.kind, plan.thing, plan.attribute) == ("dont_know", "halte", "cout")
    plan = decide("combien de membres?", parse("faq", "project"), thing="cdc_example")
    assert plan.kind == "dont_know" and plan.thing == "cdc_example"


def test_pis_and_a_thing_gives_that_thing() -> None:
    plan = decide("pis le Relait?", parse("nlu_fallback"), thing="halte")
    assert (plan.kind, plan.topic) == ("topic", "example_relait")
    plan = decide("et la coentrepise?", parse("out_of_scope"), thing="contrat")
    assert (plan.kind, plan.topic) == ("topic", "form_coentreprise")


def test_first_person_questions_are_not_about_the_last_thing() -> None:
    plan = decide("on pourrait formaliser ça de quelle façon?", parse("faq", "forms_list"), thing="cdc_example")
    assert (plan.kind, plan.topic) == ("topic", "forms_list")


def test_the_same_answer_is_never_given_twice_in_a_row() -> None:
    first = decide("l'entente intermunicipale c'est de la mutualisation?", parse("not_in_source"))
    assert first.kind == "dont_know" and first.thing == "public"
    again = decide("l'entente intermunicipale c'est de la mutualisation?", parse("not_in_source"),
                   answer=context_after(first, kb.Context()).answer)
    assert again.kind == "nothing_more"


def test_a_second_misunderstanding_gives_up() -> None:
    first = decide("blork zzz", parse("nlu_fallback"))
    assert first.kind == "clarify"
    assert decide("blork zzz", parse("nlu_fallback"), answer=first.key).kind == "give_up"


def test_out_of_scope_stays_out_of_scope() -> None:
    assert decide("peux-tu me recommander un bon resto à Montréal?", parse("out_of_scope")).kind == "out_of_scope"


@pytest.mark.parametrize("text, english", [
    ("Where is the Cantine pour tous located?", True), ("what's a CUMA?", False),
    ("Hello, I'm the director of a small nonprofit. Is there a guide for that?", True),
    ("c'est quoi la mutualisation", False), ("ok", False),
])
def test_english_detection(text: str, english: bool) -> None:
    assert is_english(text) is english


@pytest.mark.parametrize("text, expected", [
    ("en fait change mon nom pour Julie Bédard", ("inquiry_name", "Julie Bédard")),
    ("mon courriel c'est plutôt luc@example.org", ("inquiry_email", "luc@example.org")),
    ("change l'organisme pour la CDC du Granit", ("inquiry_organisation", "CDC du Granit")),
    ("mon nom", ("inquiry_name", None)),
    ("je veux modifier ma question", ("inquiry_question", None)),
    ("Julie Bédard", None),
    ("On voudrait savoir si vous accompagnez les coops", None),
])
def test_typed_corrections(text: str, expected: Any) -> None:
    assert correction(text) == expected


def test_fingerprint_changes_with_any_field() -> None:
    values = {"inquiry_name": "A B", "inquiry_email": "a@example.org", "inquiry_organisation": "X",
              "inquiry_question": "Q?"}
    assert fingerprint(values) == fingerprint(dict(values))
    assert fingerprint(values) != fingerprint({**values, "inquiry_question": "Autre?"})


def test_a_button_gives_exactly_its_topic_even_right_after_it() -> None:
    plan = decide("/faq/example_halte", parse("faq", "example_halte", 1.0), answer="topic:example_halte:halte")
    assert (plan.kind, plan.topic) == ("topic", "example_halte")


def test_a_self_introduction_before_a_comma_names_nothing_asked() -> None:
    text = ("chu coordo dans un organisme en securite alimentaire pis mon CA parle de mutualisation, "
            "ca veut dire quoi au juste")
    plan = decide(text, parse("faq", "def_mutualisation"))
    assert (plan.kind, plan.topic) == ("topic", "def_mutualisation")
    # a thing named in the question itself still counts
    plan = decide("je suis à la CDC, la Cantine pour tous c'est où?", parse("faq", "def_mutualisation"))
    assert (plan.kind, plan.thing, plan.attribute) == ("fact", "cantine", "lieu")


def test_a_named_thing_is_not_hidden_by_the_last_one() -> None:
    plan = decide("pis la cantine, elle mutualise quel genre de ressources?", parse("faq", "example_cantine"),
                  thing="cdc_example")
    assert plan.thing == "cantine"


def test_another_question_on_the_same_thing_read_as_not_in_the_source_is_not_answered_again() -> None:
    given = decide("la Halte a combien de membres?", parse("faq", "example_halte"))
    assert given.kind == "fact"
    plan = decide("Comment on devient membre?", parse("not_in_source", "example_halte"),
                  thing=given.thing, answer=given.key)
    assert (plan.kind, plan.thing) == ("dont_know", "halte")
    # … unless what was said names what is asked (« des données aussi? » after the list)
    listed = decide("on peut mutualiser quoi?", parse("faq", "elements"))
    plan = decide("des données aussi?", parse("not_in_source", "elements"), thing=listed.thing, answer=listed.key)
    assert plan.kind == "topic" and plan.again
