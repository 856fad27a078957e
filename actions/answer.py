"""The answer to a question: an FAQ topic, one fact about the thing in question, or a plain
« l'infographie ne précise pas » — read against the last answer, so that short follow-ups work.

A message with two questions (the channel splits and parses them: bot/focus.py, bot/channels.py)
gets both answers. The same answer is never given twice in a row. An English question gets the
French answer and, once per conversation, a one-line note in English.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import dont_know, knowledge as kb
from actions.inquiry import answer_at_summary, show_summary, summary_pending
from actions.topics import suggestions
from bot.form_values import asks_to_write
from bot import settings
from bot.nlg import ANSWER_MARK, response_values
from bot.payloads import button_labels
from bot.text import fold

SEGMENTS_KEY = "mutu_segments"
QUESTION_KEY = "mutu_question"
CONTEXT_KEY = "mutu_in_context"
CONTACT_BUTTON = {"title": "Écrire à la coordonnatrice", "payload": "/contact_human"}
GUIDE_BUTTON = {"title": "Le guide du TIESS", "payload": "/faq/tiess_guide"}
OTHER_BUTTON = {"title": "Autre chose", "payload": "/something_else"}
STARTERS = ["/faq/def_mutualisation", "/faq/examples_list", "/help"]
ENGLISH_RESPONSES = ("utter_english_note", "utter_english")  # either tells an English visitor how Mutu answers
# What this action says in its own words ({placeholders} from bot/links.yml; checked by
# tests/test_source_check.py like every other text). « L'infographie ne le dit pas »: bot/dont_know.py.
AGAIN_REPLY = "Je n'ai rien d'autre sur ce sujet; voici de nouveau ce que dit l'infographie :"
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
    return with_reading(message, question)


def with_reading(parse: Dict[str, Any], other: Dict[str, Any]) -> Dict[str, Any]:
    """``parse`` with the classifiers' reading (intent, ranking, FAQ topic) of ``other``."""
    return {**parse, **{k: other[k] for k in ("intent", "intent_ranking", "response_selector") if k in other}}


QUESTION_INTENTS = ("faq", "not_in_source", "nlu_fallback", "out_of_scope")


def as_question(message: Dict[str, Any]) -> Dict[str, Any]:
    """``message`` read as a question: its best question intent first (« son courriel? » outside
    the form is not « Modifier »)."""
    ranking = (message.get("intent_ranking") or [])
    best = next((r for r in ranking if r.get("name") in QUESTION_INTENTS), {"name": "nlu_fallback", "confidence": 0.0})
    return {**message, "intent": dict(best), "intent_ranking": [best] + [r for r in ranking if r is not best]}


def in_context(parse: Dict[str, Any], contextual: Optional[Dict[str, Any]], thing: Optional[str]) -> Dict[str, Any]:
    """The message's parse, or its parse with the last answer's thing named after it (bot/channels.py)
    when the message alone is unsure and, read in context, is surely about that thing."""
    knowledge = kb.load()
    if not contextual or not thing or thing not in knowledge.things:
        return parse
    if (parse.get("intent") or {}).get("name") not in QUESTION_INTENTS:
        return parse  # « non c'est pas ça », « merci »: what the message says alone stands
    _, alone = kb.faq_choice(parse)
    topic, read = kb.faq_choice(contextual)
    owner = knowledge.thing_of_topic(topic or "")
    family = {thing, knowledge.things[thing].parent} | {t.key for t in knowledge.children([knowledge.things[thing]])}
    if alone >= kb.CONFIDENT or read <= alone or owner is None or owner.key not in family:
        return parse
    return with_reading(parse, contextual)


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
        return fill(dont_know.source_line(self.knowledge, thing.section), self.values)

    def render(self, plan: kb.Plan, parse: Dict[str, Any]) -> None:
        getattr(self, f"_{plan.kind}")(plan, parse)

    def _topic(self, plan: kb.Plan, parse: Dict[str, Any]) -> None:
        if plan.again:
            self.dispatcher.utter_message(text=AGAIN_REPLY)
        self.dispatcher.utter_message(response=f"utter_faq/{plan.topic}")

    def _fact(self, plan: kb.Plan, parse: Dict[str, Any]) -> None:
        if plan.again:
            self.dispatcher.utter_message(text=AGAIN_REPLY)
        thing = self.knowledge.things[plan.thing or ""]
        text = fill(plan.text or "", self.values)
        if "\nSource :" not in text:  # a fact from another section carries its own Source line
            text += "\n" + self.source(thing)
        buttons = [b for b in [topic_button(thing.topic, self.labels)] if b]
        self.dispatcher.utter_message(text=text, buttons=buttons + [CONTACT_BUTTON], json_message=ANSWER_MARK)

    def _dont_know(self, plan: kb.Plan, parse: Dict[str, Any]) -> None:
        thing = self.knowledge.things.get(plan.thing or "")
        button = topic_button(thing.topic, self.labels) if thing else None
        text = dont_know.reply(self.knowledge, plan.thing, plan.attribute, self.values)
        self.dispatcher.utter_message(text=text, buttons=[CONTACT_BUTTON, button or GUIDE_BUTTON],
                                      json_message=ANSWER_MARK)

    def english_note(self, text: str) -> None:
        """The note in English, once per conversation (not after « Do you speak English? »'s answer)."""
        if not is_english(text):
            return
        for event in self.tracker.events:
            said = (event.get("metadata") or {}).get("utter_action") if event.get("event") == "bot" else None
            if said in ENGLISH_RESPONSES or (event.get("event") == "action" and event.get("name") in ENGLISH_RESPONSES):
                return
        self.dispatcher.utter_message(response="utter_english_note")

    def _nothing_more(self, plan: kb.Plan, parse: Dict[str, Any]) -> None:
        self.dispatcher.utter_message(text=fill(NOTHING_MORE_REPLY, self.values),
                                      buttons=[CONTACT_BUTTON, GUIDE_BUTTON], json_message=ANSWER_MARK)

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
        return same_again(knowledge, plan, text, parse)
    return plan


def same_again(knowledge: kb.Knowledge, plan: kb.Plan, text: str, parse: Dict[str, Any]) -> kb.Plan:
    """The answer just given would come again. « ne précise pas » twice, or « c'est tout? », gets
    « rien de plus »; another question the classifiers read as not in the source gets « ne précise
    pas »; one they also read as a close second topic gets that topic; otherwise the answer is
    given again, said as such (never a false « nothing more »)."""
    if plan.kind == "dont_know" or not kb.content_words(text, []):
        return kb.Plan("nothing_more", thing=plan.thing, attribute=plan.attribute)
    if (parse.get("intent") or {}).get("name") == "not_in_source" and not _already_said(knowledge, plan, text):
        # another question about the same thing, which the classifiers read as not in the source:
        # the answer already given does not answer it
        return kb.Plan("dont_know", thing=plan.thing, attribute=plan.attribute)
    ranking = ((parse.get("response_selector") or {}).get("faq") or {}).get("ranking") or []
    if (parse.get("intent") or {}).get("name") == "faq" and len(ranking) > 1:
        best, second = (float(r.get("confidence") or 0.0) for r in ranking[:2])
        topic = (ranking[1].get("intent_response_key") or "").split("/", 1)[-1]
        if topic and topic != plan.topic and second >= SECOND_TOPIC_RATIO * best:
            owner = knowledge.thing_of_topic(topic)
            return kb.Plan("topic", topic=topic, thing=owner.key if owner else plan.thing)
    return kb.Plan(plan.kind, topic=plan.topic, thing=plan.thing, attribute=plan.attribute, text=plan.text,
                   again=True)


SECOND_TOPIC_RATIO = 0.5


def _already_said(knowledge: kb.Knowledge, plan: kb.Plan, text: str) -> bool:
    """Does what the infographic says of the plan's thing name a word the question asks about
    (« des données aussi? » after the list that has « des données »)?"""
    thing = knowledge.things.get(plan.thing or "")
    if thing is None:
        return False
    said = set(kb.norm(" ".join([dont_know.load_wording().summaries.get(thing.key, ""), thing.label,
                                 plan.text or ""])).split())
    return bool(set(kb.content_words(text, [])) & said)


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
        return await self.answer(dispatcher, tracker, domain, tracker.latest_message or {})

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
                     message: Dict[str, Any]) -> List[EventType]:
        """Answer ``message`` (the latest one, or another reading of it) as a question."""
        pending = summary_pending(tracker) and tracker.active_loop_name is None
        handled = await answer_at_summary(dispatcher, tracker, domain) if pending else None
        if handled is not None:  # a correction, leaving in words or a privacy question at the summary
            return handled
        if tracker.active_loop_name is None and not pending and asks_to_write(message.get("text") or ""):
            return [FollowupAction("inquiry_form")]  # asking to write to her, however said: the form
        renderer = Renderer(dispatcher, domain, tracker)
        context = context_of(tracker)
        kinds: List[str] = []
        for text, parse in self.questions(message, context.thing):
            plan = plan_for(renderer.knowledge, text, parse, context)
            if kinds and (plan.kind in kinds and plan.kind not in ("topic", "fact") or plan.kind == "nothing_more"):
                continue  # one « ne précise pas » or one clarification is enough
            renderer.render(plan, parse)
            kinds.append(plan.kind)
            context = context_after(plan, context)
        renderer.english_note(message.get("text") or "")
        events: List[EventType] = show_summary(dispatcher, tracker) if pending else []
        return events + [SlotSet("mutu_thing", context.thing), SlotSet("mutu_answer", context.answer),
                SlotSet("mutu_attribute", context.attribute), SlotSet("mutu_offer", offers_coordinator(context))]

    @staticmethod
    def questions(message: Dict[str, Any], thing: Optional[str] = None) -> List[tuple]:
        """(text, parse) of each question: the channel's segments when there are two, else the message."""
        metadata = message.get("metadata") or {}
        segments = (metadata.get(SEGMENTS_KEY) or [])[:2]
        if len(segments) >= 2 and (message.get("intent") or {}).get("name") in QUESTION_INTENTS:
            return [(s.get("text") or "", s) for s in segments]
        # The channel adds the in-context reading only to messages that lean on the last answer.
        parse = surer(message, metadata.get(QUESTION_KEY))
        return [(message.get("text") or "", in_context(parse, metadata.get(CONTEXT_KEY), thing))]
