"""How a question is read (bot/knowledge.py's decide, bot/topic_classifier.py), without a model:
a cue word never overrides a topic the classifiers are sure of, an introduction never names the
thing asked about, an unsure guess becomes « vouliez-vous dire… », and the topic regression
generalises from few examples."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import pytest

from bot import knowledge as kb
from bot.topic_classifier import TopicModel, blend

KNOWLEDGE = kb.load()


def parse(intent: str, topic: Optional[str] = None, confidence: float = 0.95,
          ranking: Optional[List[Tuple[str, float]]] = None) -> Dict[str, Any]:
    data: Dict[str, Any] = {"intent": {"name": intent, "confidence": 0.99}}
    if topic:
        ranked = ranking or [(topic, confidence)]
        data["response_selector"] = {"faq": {
            "response": {"intent_response_key": f"faq/{topic}", "confidence": confidence},
            "ranking": [{"intent_response_key": f"faq/{t}", "confidence": c} for t, c in ranked]}}
    return data


def decide(text: str, data: Dict[str, Any], thing: Optional[str] = None) -> kb.Plan:
    return kb.decide(KNOWLEDGE, text, data, kb.Context(thing=thing))


def test_a_cost_word_does_not_override_a_sure_definition() -> None:
    plan = decide("chu pas sûr, mutualiser des frais ça veut dire quoi tsé concrètement",
                  parse("faq", "def_mutualiser", 0.95))
    assert (plan.kind, plan.topic) == ("topic", "def_mutualiser")


def test_a_cost_question_the_classifiers_are_unsure_of_is_not_in_the_source() -> None:
    plan = decide("ça coûte combien mutualiser une employée?", parse("faq", "example_cdc", 0.2))
    assert plan.kind == "dont_know" and plan.attribute == "cout"


def test_a_name_in_the_introduction_is_not_the_thing_asked_about() -> None:
    plan = decide("chu dans un comité citoyen pis on veut partager des outils de jardinage entre voisins. "
                  "C'est tu de la mutualisation ça?", parse("faq", "is_it_mutualisation", 0.9))
    assert (plan.kind, plan.topic) == ("topic", "is_it_mutualisation")


def test_a_child_fact_does_not_replace_the_topic_the_classifiers_are_sure_of() -> None:
    # « quand » (when you fall sick) is not Le Relait's founding date
    plan = decide("Y'a-tu une coop pour se faire remplacer quand on tombe malade?",
                  parse("faq", "example_remplacement", 0.9))
    assert (plan.kind, plan.topic) == ("topic", "example_remplacement")


def test_a_fact_of_the_named_thing_still_refines_its_topic() -> None:
    plan = decide("La Halte, elle a combien de membres?", parse("faq", "example_halte", 0.95))
    assert plan.kind == "fact" and "125" in (plan.text or "")


def test_a_bare_follow_up_keeps_the_last_thing_whatever_the_classifiers_say() -> None:
    plan = decide("combien de membres?", parse("faq", "project", 0.95), thing="halte")
    assert plan.kind == "fact" and "125" in (plan.text or "")


def test_an_unsure_guess_about_nothing_named_asks_instead() -> None:
    flat = [("mutuelle_prevention", 0.08), ("informal", 0.07), ("def_mutuel", 0.07)]
    plan = decide("c'est dans quelle coop ça", parse("faq", "mutuelle_prevention", 0.08, flat))
    assert plan.kind == "clarify"


def test_an_unsure_guess_about_a_named_thing_answers_that_thing() -> None:
    flat = [("mutuelle_prevention", 0.1), ("example_cantine", 0.08)]
    plan = decide("pis la Cantine pour tous, elle fait quoi de bon?",
                  parse("faq", "mutuelle_prevention", 0.1, flat))
    assert (plan.kind, plan.topic) == ("topic", "example_cantine")


TRAIN = [
    ("c'est quoi la mutualisation", "faq/def"), ("définition de mutualisation", "faq/def"),
    ("la mutualisation ça veut dire quoi", "faq/def"), ("mutualisation définition svp", "faq/def"),
    ("où est la cantine pour tous", "faq/cantine"), ("la cantine c'est où", "faq/cantine"),
    ("parle-moi de la cantine pour tous", "faq/cantine"), ("cantine pour tous mission", "faq/cantine"),
    ("combien de membres à la halte", "faq/halte"), ("c'est quoi la halte", "faq/halte"),
    ("la halte coop de remplacement", "faq/halte"), ("la halte est dans quelle région", "faq/halte"),
]


def test_the_topic_regression_reads_a_paraphrase_and_stays_unsure_of_nonsense() -> None:
    model = TopicModel(seed=1).fit([t for t, _ in TRAIN], [label for _, label in TRAIN])
    probabilities = model.probabilities("Bonjour! je suis trésorière. C koi au juste la mutualisation?")
    assert max(probabilities, key=probabilities.get) == "faq/def"
    assert sum(probabilities.values()) == pytest.approx(1.0)
    unsure = model.probabilities("zorglub patate")
    assert max(unsure.values()) < max(probabilities.values())


def test_blend_averages_the_two_readings() -> None:
    ranked = blend({"faq/a": 0.8, "faq/b": 0.2}, {"faq/a": 0.2, "faq/b": 0.8, "faq/c": 0.0})
    assert dict(ranked) == pytest.approx({"faq/a": 0.5, "faq/b": 0.5, "faq/c": 0.0})
    ranked = blend({"faq/a": 0.1}, {"faq/b": 0.9}, weight=0.5)
    assert ranked[0] == ("faq/b", pytest.approx(0.45))


def test_the_same_topic_again_is_said_as_such_never_as_a_false_nothing_more() -> None:
    from actions.answer import same_again
    plan = kb.Plan("topic", topic="sector_culture", thing="culture")
    again = same_again(KNOWLEDGE, plan, "C'est quoi ce petit guide orange?", parse("faq", "sector_culture", 0.9))
    assert again.again and (again.kind, again.topic) == ("topic", "sector_culture")
    assert same_again(KNOWLEDGE, plan, "c'est tout?", parse("faq", "sector_culture", 0.9)).kind == "nothing_more"
    dont_know = kb.Plan("dont_know", thing="halte", attribute="cout")
    assert same_again(KNOWLEDGE, dont_know, "ça coûte combien?", parse("not_in_source")).kind == "nothing_more"


def test_the_same_topic_again_gives_way_to_a_close_second_reading() -> None:
    from actions.answer import same_again
    plan = kb.Plan("topic", topic="forms_list", thing="forms")
    close = parse("faq", "forms_list", 0.5, [("forms_list", 0.5), ("choose_form", 0.4)])
    again = same_again(KNOWLEDGE, plan, "ok mais laquelle est la meilleure pour nous?", close)
    assert (again.kind, again.topic, again.again) == ("topic", "choose_form", False)


def test_a_follow_up_is_read_in_context_only_when_that_is_surer_and_about_the_last_thing() -> None:
    from actions.answer import in_context
    alone = parse("not_in_source")
    contextual = parse("faq", "coordinator", 0.9)
    assert in_context(alone, contextual, "coordinator")["response_selector"]["faq"]["response"][
        "intent_response_key"] == "faq/coordinator"
    assert in_context(alone, parse("faq", "tiess_guide", 0.9), "coordinator") is alone  # another thing
    sure = parse("faq", "who_made", 0.9)
    assert in_context(sure, contextual, "coordinator") is sure  # the message alone is sure
    assert in_context(alone, contextual, None) is alone
    rejection = {"intent": {"name": "not_what_i_meant", "confidence": 0.94}}
    assert in_context(rejection, contextual, "coordinator") is rejection


@pytest.mark.parametrize("text, leans", [
    ("elle travaille pour qui?", True),
    ("pis combien?", True),
    ("pis comment ça marche pour les employés, c'est qui leur boss?", True),
    ("ok et l'immobilier c'est une ressource qu'on peut mutualiser selon l'infographie?", False),
    ("La Halte, elle a combien de membres?", False),  # names its thing
    ("Bonjour, je m'appelle Pierre. On voudrait partager un minibus avec la popote roulante, ça se fait?", False),
])
def test_only_messages_that_lean_on_the_last_answer_are_read_in_its_context(text: str, leans: bool) -> None:
    assert kb.leans_on_context(KNOWLEDGE, text) is leans


def test_a_fallback_that_names_a_thing_answers_that_thing() -> None:
    fallback = {"intent": {"name": "nlu_fallback", "confidence": 0.4}, "response_selector": {"faq": {"ranking": [
        {"intent_response_key": "faq/example_cdc", "confidence": 0.3},
        {"intent_response_key": "faq/examples_list", "confidence": 0.1}]}}}
    plan = decide("la premiere de la liste, celle des CDC", fallback)
    assert (plan.kind, plan.topic) == ("topic", "example_cdc")
    fallback["response_selector"]["faq"]["ranking"][1]["confidence"] = 0.2  # a close second: ask
    assert decide("la premiere de la liste, celle des CDC", fallback).kind == "clarify"


class _Tracker:
    def get_slot(self, name: str) -> Optional[str]:
        return "coordinator" if name == "mutu_thing" else None


class _Store:
    def __init__(self) -> None:
        self.reads = 0

    async def retrieve(self, sender: str) -> _Tracker:
        self.reads += 1
        return _Tracker()


class _Agent:
    def __init__(self) -> None:
        self.parsed: List[str] = []
        self.tracker_store = _Store()

    async def parse_message(self, text: str) -> Dict[str, Any]:
        self.parsed.append(text)
        return {"text": text, "intent": {"name": "faq", "confidence": 0.9}, "intent_ranking": [],
                "response_selector": {}}


def test_the_channel_reads_in_context_only_messages_that_lean_on_the_last_answer() -> None:
    import asyncio
    from bot.channels import CONTEXT_KEY, with_context
    agent = _Agent()
    metadata = asyncio.run(with_context(agent, "s1", "elle travaille pour qui?", None))
    assert agent.parsed == ["elle travaille pour qui? (Isabelle Lapointe)"] and CONTEXT_KEY in metadata
    agent = _Agent()
    assert asyncio.run(with_context(agent, "s1", "c'est quoi une coentreprise au juste?", None)) is None
    assert agent.parsed == [] and agent.tracker_store.reads == 0  # no tracker read, no second parse
