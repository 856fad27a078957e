"""The answer to a question: an FAQ topic, one fact about the thing in question, or a plain
« l'infographie ne précise pas » — read against the last answer, so that short follow-ups work.

A message with two questions (the channel splits and parses them: bot/focus.py, bot/channels.py)
gets both answers. The same answer is never given twice in a row. An English question gets the
French answer and a one-line note in English.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import knowledge as kb
from actions.inquiry import answer_at_summary, show_summary, summary_pending
from actions.topics import suggestions
from bot.form_values import asks_to_write
from bot import settings
from bot.nlg import response_values
from bot.payloads import button_labels
from bot.text import fold

SEGMENTS_KEY = "mutu_segments"
QUESTION_KEY = "mutu_question"
CONTACT_BUTTON = {"title": "Écrire à la coordonnatrice", "payload": "/contact_human"}
GUIDE_BUTTON = {"title": "Le guide du TIESS", "payload": "/faq/tiess_guide"}
OTHER_BUTTON = {"title": "Autre chose", "payload": "/something_else"}
STARTERS = ["/faq/def_mutualisation", "/faq/examples_list", "/help"]
# What this action says in its own words ({placeholders} from bot/links.yml; checked by
# tests/test_source_check.py like every other text).
DONT_KNOW_REPLY = ("L'infographie ne précise pas {what}{about}.{known} Pour aller plus loin, consultez le guide "
                   "{tiess_guide_ref}, ou écrivez à {coordinator_name}, qui peut vous répondre directement.")
NO_INFORMATION_REPLY = ("L'infographie ne donne pas cette information. Pour aller plus loin, consultez le guide "
                        "{tiess_guide_ref}, ou écrivez à {coordinator_name}, qui peut vous répondre directement.")
KNOWN_REPLY = " Ce qu'elle en dit : consultez « {title} »."
NOTHING_MORE_REPLY = ("Je n'ai rien de plus à ce sujet : l'infographie n'en dit pas davantage. "
                      "{coordinator_name}, {coordinator_title}, peut vous répondre ({contact_email}).")
_ENGLISH = set("the what who where when how why which is are does do can could would you your i i'm we "
               "our my there this that of for with and about please hi hello thanks".split())
_FRENCH = set("le la les un une des du de est sont quoi qui ou où quand comment pourquoi c'est ce "
              "je tu vous nous on pis et avec pour dans au aux ya mon ma".split())


def is_english(text: str) -> bool:
    """More English function words than French ones (and at least two)."""
    found = re.findall(r"[a-z']+", fold(text))
    english = sum(w in _ENGLISH for w in found)
    return english >= 2 and english > sum(w in _FRENCH for w in found)


@lru_cache(maxsize=1)
def _values() -> Dict[str, str]:
    conf = settings.current()
    return response_values(conf.links, conf.retention_days)


def fill(text: str, values: Dict[str, str]) -> str:
    """Fill {placeholders} from the links file; unknown ones are left as they are."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def topic_button(topic: str, labels: Dict[str, str]) -> Optional[Dict[str, str]]:
    payload = f"/faq/{topic}"
    return {"title": labels[payload], "payload": payload} if payload in labels else None


def surer(message: Dict[str, Any], question: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The whole message's parse, or that of its one question sentence when the classifiers are
    surer of it (the context around a question can mislead them, or be what explains it)."""
    if not question or (question.get("intent") or {}).get("name") != "faq":
        return message
    _, whole = kb.faq_choice(message)
    _, alone = kb.faq_choice(question)
    if alone <= whole:
        return message
    return {**message, **{k: question[k] for k in ("intent", "intent_ranking", "response_selector") if k in question}}


def context_of(tracker: Tracker) -> kb.Context:
    return kb.Context(thing=tracker.get_slot("mutu_thing"), answer=tracker.get_slot("mutu_answer"),
                      attribute=tracker.get_slot("mutu_attribute"))


def previous_parse(tracker: Tracker) -> Dict[str, Any]:
    """The NLU parse of the user message before the latest one."""
    seen = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen += 1
            if seen == 2:
                return event.get("parse_data") or {}
    return {}


class Renderer:
    """Turns plans into messages; remembers the context they leave."""

    def __init__(self, dispatcher: CollectingDispatcher, domain: DomainDict, tracker: Tracker) -> None:
        self.dispatcher, self.tracker = dispatcher, tracker
        self.knowledge = kb.load()
        self.labels = button_labels(domain)
        self.values = _values()

    def source(self, thing: kb.Thing) -> str:
        return fill(self.knowledge.source_line, {**self.values, "section": thing.section})

    def render(self, plan: kb.Plan, parse: Dict[str, Any]) -> None:
        getattr(self, f"_{plan.kind}")(plan, parse)

    def _topic(self, plan: kb.Plan, parse: Dict[str, Any]) -> None:
        self.dispatcher.utter_message(response=f"utter_faq/{plan.topic}")

    def _fact(self, plan: kb.Plan, parse: Dict[str, Any]) -> None:
        thing = self.knowledge.things[plan.thing or ""]
        text = fill(plan.text or "", self.values) + "\n" + self.source(thing)
        buttons = [b for b in [topic_button(thing.topic, self.labels)] if b]
        self.dispatcher.utter_message(text=text, buttons=buttons + [CONTACT_BUTTON])

    def _dont_know(self, plan: kb.Plan, parse: Dict[str, Any]) -> None:
        thing = self.knowledge.things.get(plan.thing or "")
        what = plan.text or self.knowledge.what.get(plan.attribute or "", "")
        button = topic_button(thing.topic, self.labels) if thing else None
        if not what:
            text = fill(NO_INFORMATION_REPLY, self.values)
        else:
            about = f" ({fill(thing.label, self.values)})" if thing else ""
            known = KNOWN_REPLY.format(title=button["title"]) if button else ""
            text = fill(DONT_KNOW_REPLY, {**self.values, "what": what, "about": about, "known": known})
        self.dispatcher.utter_message(text=text, buttons=[CONTACT_BUTTON, button or GUIDE_BUTTON])

    def _nothing_more(self, plan: kb.Plan, parse: Dict[str, Any]) -> None:
        self.dispatcher.utter_message(text=fill(NOTHING_MORE_REPLY, self.values),
                                      buttons=[CONTACT_BUTTON, GUIDE_BUTTON])

    def _clarify(self, plan: kb.Plan, parse: Dict[str, Any]) -> None:
        buttons = suggestions(parse, self.labels)
        if not buttons:
            buttons = [{"title": self.labels[p], "payload": p} for p in STARTERS if p in self.labels]
        self.dispatcher.utter_message(response="utter_clarify")
        self.dispatcher.utter_message(buttons=buttons + [OTHER_BUTTON])

    def _help(self, plan: kb.Plan, parse: Dict[str, Any]) -> None:
        self.dispatcher.utter_message(response="utter_help")

    def _give_up(self, plan: kb.Plan, parse: Dict[str, Any]) -> None:
        self.dispatcher.utter_message(response="utter_give_up")

    def _rephrase(self, plan: kb.Plan, parse: Dict[str, Any]) -> None:
        self.dispatcher.utter_message(response="utter_ask_rephrase")

    def _out_of_scope(self, plan: kb.Plan, parse: Dict[str, Any]) -> None:
        self.dispatcher.utter_message(response="utter_out_of_scope")

    def _other(self, plan: kb.Plan, parse: Dict[str, Any]) -> None:
        """« Non, c'est pas ça »: the other likely topics of the question before."""
        last = (self.tracker.get_slot("mutu_answer") or "").split(":")
        shown = f"/faq/{last[1]}" if len(last) > 1 and last[0] == "topic" else None
        buttons = [b for b in suggestions(previous_parse(self.tracker), self.labels, limit=4)
                   if b["payload"] != shown][:3]
        if not buttons:
            buttons = [{"title": self.labels[p], "payload": p} for p in STARTERS
                       if p in self.labels and p != shown]
        self.dispatcher.utter_message(response="utter_not_what_i_meant")
        self.dispatcher.utter_message(buttons=buttons + [CONTACT_BUTTON])


def plan_for(knowledge: kb.Knowledge, text: str, parse: Dict[str, Any], context: kb.Context) -> kb.Plan:
    """``kb.decide`` plus the dialogue rules: a second miss gives up, no answer twice in a row."""
    intent = (parse.get("intent") or {}).get("name")
    topic, _ = kb.faq_choice(parse)
    if text.startswith("/") and intent == "faq" and topic:  # a button: exactly what it says
        owner = knowledge.thing_of_topic(topic)
        return kb.Plan("topic", topic=topic, thing=owner.key if owner else None)
    if intent in ("deny", "nlu_fallback") and reads_as_not_what_i_meant(parse):
        return kb.Plan("other")
    plan = kb.decide(knowledge, text, parse, context)
    if intent == "something_else" and plan.kind in ("clarify", "out_of_scope", "other"):
        return kb.Plan("rephrase") if (context.answer or "").startswith("clarify") else kb.Plan("other")
    if plan.kind == "clarify" and (context.answer or "").startswith(("clarify", "rephrase")):
        return kb.Plan("give_up")
    if plan.kind in ("topic", "fact", "dont_know") and plan.key == context.answer:
        return kb.Plan("nothing_more", thing=plan.thing, attribute=plan.attribute)
    return plan


NOT_WHAT_I_MEANT_MIN = 0.2


def reads_as_not_what_i_meant(parse: Dict[str, Any]) -> bool:
    """« non c'est pas ça » sits between « non » and « ce n'est pas ce que je voulais dire ». Right
    after an answer that asked nothing, a « non » the classifier also reads as the latter (or a
    fallback whose first real reading is the latter) rejects the answer."""
    ranking = [r for r in parse.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
    if (parse.get("intent") or {}).get("name") == "nlu_fallback":
        return bool(ranking) and ranking[0].get("name") == "not_what_i_meant"
    return any(r.get("name") == "not_what_i_meant" and float(r.get("confidence") or 0.0) >= NOT_WHAT_I_MEANT_MIN
               for r in ranking)


def rejects_answer(tracker: Tracker) -> bool:
    """Is this « non » about the answer just given (a topic or a fact, no question asked)?"""
    answered = (tracker.get_slot("mutu_answer") or "").startswith(("topic:", "fact:"))
    return answered and not tracker.get_slot("mutu_offer") and reads_as_not_what_i_meant(
        tracker.latest_message or {})


def offers_coordinator(context: kb.Context) -> bool:
    """Did the last answer offer to write to the coordinator (so that « oui » opens the form)?"""
    return (context.answer or "").startswith(("dont_know", "nothing_more", "give_up", "topic:contact",
                                              "topic:coordinator"))


def context_after(plan: kb.Plan, context: kb.Context) -> kb.Context:
    thing = plan.thing or context.thing
    if plan.kind in ("clarify", "give_up", "out_of_scope", "rephrase", "other", "help"):
        thing = context.thing
    return kb.Context(thing=thing, answer=plan.key, attribute=plan.attribute)


class ActionAnswer(Action):
    """Rules send every question here (faq, not_in_source, nlu_fallback, out_of_scope…)."""

    def name(self) -> Text:
        return "action_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        message = tracker.latest_message or {}
        pending = summary_pending(tracker) and tracker.active_loop_name is None
        handled = await answer_at_summary(dispatcher, tracker, domain) if pending else None
        if handled is not None:  # a correction, leaving in words or a privacy question at the summary
            return handled
        if tracker.active_loop_name is None and not pending and asks_to_write(message.get("text") or ""):
            return [FollowupAction("inquiry_form")]  # asking to write to her, however said: the form
        renderer = Renderer(dispatcher, domain, tracker)
        context = context_of(tracker)
        kinds: List[str] = []
        for text, parse in self.questions(message):
            plan = plan_for(renderer.knowledge, text, parse, context)
            if kinds and (plan.kind in kinds and plan.kind not in ("topic", "fact") or plan.kind == "nothing_more"):
                continue  # one « ne précise pas » or one clarification is enough
            renderer.render(plan, parse)
            kinds.append(plan.kind)
            context = context_after(plan, context)
        if is_english(message.get("text") or ""):
            dispatcher.utter_message(response="utter_english_note")
        events: List[EventType] = show_summary(dispatcher, tracker) if pending else []
        return events + [SlotSet("mutu_thing", context.thing), SlotSet("mutu_answer", context.answer),
                SlotSet("mutu_attribute", context.attribute), SlotSet("mutu_offer", offers_coordinator(context))]

    @staticmethod
    def questions(message: Dict[str, Any]) -> List[tuple]:
        """(text, parse) of each question: the channel's segments when there are two, else the message."""
        metadata = message.get("metadata") or {}
        segments = (metadata.get(SEGMENTS_KEY) or [])[:2]
        if len(segments) >= 2 and (message.get("intent") or {}).get("name") in (
                "faq", "not_in_source", "nlu_fallback", "out_of_scope"):
            return [(s.get("text") or "", s) for s in segments]
        return [(message.get("text") or "", surer(message, metadata.get(QUESTION_KEY)))]
