"""Custom actions, run with trackers built inline (no server needed)."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import OTHER_BUTTON, ActionAnswer
from actions.topics import ranked_payloads, suggestions
from bot import settings
from bot.nlg import LinksNaturalLanguageGenerator, response_values
from bot.payloads import load_responses

DOMAIN = load_responses()


def tracker(parse: Dict[str, Any], events: List[Dict[str, Any]] = (), slots: Optional[Dict[str, Any]] = None) -> Tracker:
    return Tracker("t", dict(slots or {}), parse, list(events), False, None, {}, "action_listen")


def run(action: Any, parse: Dict[str, Any]) -> tuple:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker(parse), DOMAIN))
    return dispatcher.messages, events


UNCLEAR = {
    "text": "heu le truc des fermes",
    "intent": {"name": "nlu_fallback", "confidence": 0.45},
    "intent_ranking": [
        {"name": "nlu_fallback", "confidence": 0.45},
        {"name": "faq", "confidence": 0.40},
        {"name": "out_of_scope", "confidence": 0.35},
        {"name": "contact_human", "confidence": 0.1},
    ],
    "response_selector": {"faq": {"ranking": [
        {"intent_response_key": "faq/sector_agri", "confidence": 0.6},
        {"intent_response_key": "faq/example_remplacement", "confidence": 0.3},
        {"intent_response_key": "faq/example_halte", "confidence": 0.05},
    ]}},
}


def test_responses_get_every_name_and_link_from_the_links_file() -> None:
    from rasa.shared.core.domain import Domain
    domain = Domain.from_dict({"responses": DOMAIN["responses"]})
    nlg = LinksNaturalLanguageGenerator(domain=domain)
    conf = settings.load()
    assert nlg.values == response_values(conf.links, conf.retention_days)
    assert nlg.values["contact_email"] == "mobilisation@concertationhorizon.ca"
    assert nlg.values["tiess_guide_ref"] == "« 6 étapes pour un partage réussi » du TIESS"
    reply = nlg.generate_from_slots("utter_faq/contact", {}, "rest")
    assert "Isabelle Lapointe" in reply["text"] and "{" not in reply["text"]
    for name in DOMAIN["responses"]:  # every variable of every response is known
        filled = nlg.generate_from_slots(name, {s: "x" for s in ("inquiry_name", "inquiry_email",
                                                                  "inquiry_organisation", "inquiry_question")},
                                         "rest", reference="MUTU-2026-0001", length=1, limit=2)
        assert "{" not in (filled or {}).get("text", ""), name


def test_addresses_appear_once_they_are_known() -> None:
    links = settings.load_links({"MUTU_TIESS_GUIDE_URL": "https://guide.example/6", "MUTU_SITE_URL": "https://site.example"})
    values = response_values(links, 90)
    assert values["tiess_guide_ref"].endswith("(https://guide.example/6)")
    assert values["site_ref"] == "le site de Concertation Horizon (https://site.example)"


def test_ranking_weighs_topics_by_the_faq_confidence() -> None:
    ranked = dict(ranked_payloads(UNCLEAR))
    assert ranked["/faq/sector_agri"] == 0.4 * 0.6
    assert "/out_of_scope" not in ranked and "/nlu_fallback" not in ranked
    assert ranked["/contact_human"] == 0.1


def test_clarify_offers_the_likeliest_topics_then_something_else() -> None:
    messages, events = run(ActionAnswer(), UNCLEAR)
    assert messages[0]["response"] == "utter_clarify"
    assert {"event": "slot", "name": "mutu_answer", "value": "clarify", "timestamp": None} in events
    buttons = messages[1]["buttons"]
    assert [b["payload"] for b in buttons] == ["/faq/sector_agri", "/faq/example_remplacement",
                                               "/contact_human", OTHER_BUTTON["payload"]]
    assert buttons[0]["title"] == "Agriculture"


def test_clarify_without_any_likely_topic_offers_starters() -> None:
    parse = {"text": "zzz", "intent": {"name": "nlu_fallback", "confidence": 0.9},
             "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.9}]}
    messages, _ = run(ActionAnswer(), parse)
    payloads = [b["payload"] for b in messages[1]["buttons"]]
    assert payloads == ["/faq/def_mutualisation", "/faq/examples_list", "/help", "/something_else"]


def test_suggestions_skip_topics_without_a_label() -> None:
    assert suggestions(UNCLEAR, {"/faq/example_halte": "La Halte"}, min_score=0.0) == [
        {"title": "La Halte", "payload": "/faq/example_halte"}]


def deny_parse(text: str, not_what_i_meant: float) -> Dict[str, Any]:
    return {"text": text, "intent": {"name": "deny", "confidence": 1.0 - not_what_i_meant},
            "intent_ranking": [{"name": "deny", "confidence": 1.0 - not_what_i_meant},
                               {"name": "not_what_i_meant", "confidence": not_what_i_meant}]}


def reply_to_no(parse: Dict[str, Any], answer: str, offer: bool) -> List[Dict[str, Any]]:
    from actions.inquiry import ActionReplyYesNo
    slots = {"mutu_answer": answer, "mutu_offer": offer, "mutu_thing": None, "mutu_attribute": None}
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionReplyYesNo().run(dispatcher, tracker(parse, slots=slots), DOMAIN))
    return dispatcher.messages


def test_a_no_right_after_an_answer_that_reads_as_not_what_i_meant_offers_other_topics() -> None:
    said = reply_to_no(deny_parse("non c pas ca", 0.43), "topic:forms_list", offer=False)
    assert said[0].get("response") == "utter_not_what_i_meant"
    payloads = [b["payload"] for m in said for b in m.get("buttons") or []]
    assert payloads and "/faq/forms_list" not in payloads  # not the answer just rejected


def test_a_plain_no_or_a_no_to_an_offer_stays_a_no() -> None:
    assert reply_to_no(deny_parse("non merci", 0.02), "topic:forms_list", offer=False)[0].get(
        "response") == "utter_deny"
    assert reply_to_no(deny_parse("non c pas ca", 0.43), "dont_know:x", offer=True)[0].get(
        "response") == "utter_deny"
    assert reply_to_no(deny_parse("non c pas ca", 0.43), "clarify", offer=False)[0].get(
        "response") == "utter_deny"


def test_a_fallback_whose_first_reading_is_not_what_i_meant_offers_other_topics() -> None:
    parse = {"text": "non c'est pas ça", "intent": {"name": "nlu_fallback", "confidence": 0.45},
             "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.45},
                                {"name": "not_what_i_meant", "confidence": 0.51},
                                {"name": "deny", "confidence": 0.47}]}
    messages, _ = run(ActionAnswer(), parse)
    assert messages[0].get("response") == "utter_not_what_i_meant"
    messages, _ = run(ActionAnswer(), UNCLEAR)  # other fallbacks are still clarified
    assert messages[0].get("response") != "utter_not_what_i_meant"
