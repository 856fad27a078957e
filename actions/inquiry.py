"""The inquiry form: consent first, then name, e-mail, organisation and question; a summary to
confirm, edit or cancel; on confirmation the inquiry goes to the durable outbox.

Each step reads its value out of the message with bot/form_values.py (« je m'appelle … », an
address anywhere, « pas d'organisme »). A message that is not a value (a question, a button, a
protest) is answered and the same step asked again; corrections, leaving in words and privacy
questions work at every step and at the summary."""
from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import settings
from bot.form_values import (EMAIL, NAME, ORGANISATION, QUESTION, Reading, asks_to_write, correction_value_text,
                             find_email, is_oops, is_payload, is_privacy_question, privacy_text, question_problem,
                             read_correction, read_email, read_name, read_organisation, read_question, stated_question,
                             says_no_email, says_to_stop, valid_email, wants_to_leave)
from bot.inquiries.store import NewInquiry, OutboxStore, conversation_key
from bot.nlg import response_values
from bot.text import fold, one_line, strip_control

FIELDS = [NAME, EMAIL, ORGANISATION, QUESTION]
SLOTS = ["inquiry_consent", *FIELDS]
SUMMARY_SLOT = "inquiry_summary"  # fingerprint of the values the person saw in the last summary
PENDING_SLOT = "inquiry_pending"  # a summary waits for « oui » / « non » (the rules read it)
SKIPPED = "non précisé"
# Intents whose messages, when they are not a value, get an answer before the step is asked again.
ANSWERED = {"faq", "not_in_source", "help", "out_of_scope"}
FIELD_WORDS = {EMAIL: ("courriel", "email", "mail", "adresse", "e-mail"),
               NAME: ("nom", "prenom"),
               ORGANISATION: ("organisme", "organisation", "entreprise", "employeur", "org", "coop"),
               QUESTION: ("question", "message", "demande")}
logger = logging.getLogger("mutu.inquiry")


def clean(text: Any, limit: int) -> str:
    """User text made safe to store: no control characters, trimmed, bounded."""
    return strip_control(text if isinstance(text, str) else "").strip()[:limit]


QUESTION_STARTS = ("c'est quoi", "cest quoi", "c quoi", "c koi", "qu'est", "quest", "comment", "pourquoi",
                   "quel", "qui ", "ou ", "combien", "quand", "est-ce", "parle", "expliqu", "pouvez-vous",
                   "peux-tu", "y a", "avez-vous", "donne", "et ", "pis ")


def looks_like_question(text: str) -> bool:
    folded = fold(text).strip()
    return "?" in folded or folded.startswith(QUESTION_STARTS)


YES = re.compile(r"^(oui|ouais|ouin|ok|okay|o\.k|d'accord|dac|correct|parfait|bien sûr|bien sur|certainement|"
                 r"absolument|j'accepte|jaccepte|j accepte|je consens|consens|accepte|go|yes|yep|sure|i agree|"
                 r"c'est correct|c'est beau|c'est bon|ça me va|ca me va|allons-y|vas-y|pas de probl[eè]me)\b",
                 re.IGNORECASE)
NO = re.compile(r"^(non|nan|no|nope|pas question|je refuse|refuse|jamais|laisse faire|laissez faire|non merci|"
                r"je ne consens pas|je consens pas|j'accepte pas|je n'accepte pas)\b", re.IGNORECASE)


def yes_or_no(text: str) -> Optional[bool]:
    """A plain « oui … » / « non … » at the start of ``text``, or None."""
    text = text.strip().lstrip("¡¿!.,- ")
    if NO.match(text):
        return False
    return True if YES.match(text) else None


def valid_name(text: str) -> bool:
    return 2 <= len(text) <= 120 and sum(c.isalpha() for c in text) >= 2 and "@" not in text


def fields_to_edit(text: str) -> List[str]:
    """The form fields a « modifier … » message names; none named → []."""
    found = set(re.findall(r"\w+", fold(text)))
    return [slot for slot, keys in FIELD_WORDS.items() if found & set(keys)]


def reset_events() -> List[EventType]:
    return [SlotSet(slot, None) for slot in SLOTS] + [SlotSet(SUMMARY_SLOT, None), SlotSet(PENDING_SLOT, False),
                                                      SlotSet("mutu_offer", False), SlotSet("requested_slot", None)]


def read_value(slot: str, text: str) -> Reading:
    """What ``text`` holds for ``slot`` (see bot/form_values.py)."""
    if slot == NAME:
        return read_name(text)
    if slot == EMAIL:
        return read_email(text)
    if slot == ORGANISATION:
        return read_organisation(text)
    return read_question(text, settings.current().max_question_chars)


def stored(slot: str, reading: Reading) -> Optional[str]:
    """The slot value for a reading that found something, else None."""
    if reading.kind == "none":
        return SKIPPED
    if reading.kind != "value" or reading.value is None:
        return None
    if slot == EMAIL:
        return reading.value.lower()
    return clean(reading.value, 100000 if slot == QUESTION else 300)


def correction(text: str) -> Optional[Tuple[str, Optional[str]]]:
    """(field, new value or None) for a typed correction: « le nom est faux, c'est Karine Dubé »,
    « oups, mon courriel c'est … », « l'organisme c'est pas ça » (→ None: ask it again)."""
    found = read_correction(text or "")
    if found is None:
        address = find_email(text or "") if is_oops(text or "") else None
        return (EMAIL, address.lower()) if address else None
    return found.field, stored(found.field, read_value(found.field, correction_value_text(found.rest)))


def fingerprint(values: Dict[str, Any]) -> str:
    """What the person saw in a summary, to check that nothing else is ever sent."""
    return hashlib.sha256(json.dumps([values.get(f) for f in FIELDS]).encode("utf-8")).hexdigest()[:16]


def summary_pending(tracker: Tracker) -> bool:
    return tracker.get_slot(SUMMARY_SLOT) is not None and tracker.get_slot("inquiry_consent") is True


def valid_value(slot: str, value: str) -> Optional[str]:
    """``value`` when it is acceptable as it is for ``slot`` (already extracted), else None."""
    if slot == NAME:
        name = one_line(value)
        return name if valid_name(name) else None
    if slot == EMAIL:
        return value if valid_email(value) else None
    if slot == ORGANISATION:
        return one_line(value)[:300] or None
    question = value.strip()
    limit = settings.current().max_question_chars
    return question if 3 <= sum(c.isalnum() for c in question) and len(question) <= limit else None


def intent_of(tracker: Tracker) -> Tuple[str, float]:
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name") or "", float(intent.get("confidence") or 0.0)


def privacy_answer() -> str:
    """The consent's sentences about the data (what, who, how long, how to delete), filled in for
    the delivery channels in force: its full text, as behind the widget's « Détails »."""
    conf = settings.current()
    values = response_values(conf.links, conf.retention_days, conf.max_question_chars, conf.inquiry_routes)
    return privacy_text(values["consent_details"])


class Step:
    """What one message does at one step of the form (the validation action's decision)."""

    def __init__(self, slot: str, text: str, intent: str, confidence: float) -> None:
        self.slot, self.text, self.intent, self.confidence = slot, text, intent, confidence

    def leaves(self) -> bool:
        """« laissez faire », « j'arrête », the « Annuler » button… A « non merci » to the optional
        organisation skips it; at the question step only a short message that asks nothing leaves."""
        if is_payload(self.text):
            return self.intent == "cancel"
        words = len(self.text.split())
        in_words = wants_to_leave(self.text)
        if not (in_words or (self.intent == "cancel" and self.confidence >= 0.9)):
            return False
        if self.slot == ORGANISATION and read_organisation(self.text).kind == "none":
            return says_to_stop(self.text)
        if self.slot == QUESTION:  # the question itself may speak of stopping or cancelling something
            return "?" not in self.text and (words <= 12 if in_words else words <= 4)
        return True

    def asks_about_privacy(self) -> bool:
        if not is_privacy_question(self.text):
            return False
        return self.slot != QUESTION or bool(re.search(r"\b(mes|mon|ma|me|m)\b", fold(self.text)))

    def other_field(self) -> Optional[Tuple[str, Optional[str]]]:
        """A correction of another field (or of this one with a complaint) typed at this step."""
        if is_payload(self.text):
            return None
        found = read_correction(self.text)
        if found is None:
            if self.slot != EMAIL and is_oops(self.text) and find_email(self.text):
                return EMAIL, (find_email(self.text) or "").lower()
            return None
        if found.field == self.slot and not found.complaint:
            return None  # « mon courriel c'est … » at the e-mail step: the value itself
        if self.slot == QUESTION and ("?" in self.text or not (found.complaint or is_oops(self.text))):
            return None  # the question may well speak of « mon organisme » or « l'adresse »
        return found.field, stored(found.field, read_value(found.field, correction_value_text(found.rest)))


class ValidateInquiryForm(FormValidationAction):
    """Each step reads a value out of the message; a message that is not a value is answered and
    the same step asked again; corrections, leaving and privacy questions work at every step."""

    def name(self) -> Text:
        return "validate_inquiry_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        slot = tracker.get_slot("requested_slot")
        if slot not in SLOTS:
            return []  # the form opens: the message that opened it holds no value
        step = Step(slot, clean((tracker.latest_message or {}).get("text"), 100000), *intent_of(tracker))
        if slot == "inquiry_consent":
            return await self.read_consent(step, dispatcher, tracker, domain)
        return await self.read_step(step, dispatcher, tracker, domain)

    async def read_consent(self, step: Step, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> List[EventType]:
        """Yes or no (leaving is a no); a privacy question is answered by the consent text itself,
        asked again; a side question gets its answer first."""
        said = yes_or_no(step.text)
        refused: List[EventType] = [SlotSet("inquiry_consent", False), SlotSet("requested_slot", None)]
        if step.leaves() and said is not True:
            return refused
        if said is True or (said is None and step.intent in ("affirm", "confirm_inquiry")
                            and not is_privacy_question(step.text)):
            return [SlotSet("inquiry_consent", True)]
        if said is False or (said is None and step.intent == "deny" and not is_privacy_question(step.text)):
            return refused
        again: List[EventType] = [SlotSet("inquiry_consent", None)]
        if step.asks_about_privacy():
            return again  # the consent text is the answer
        if step.intent in ANSWERED or step.intent == "bot_challenge" or is_payload(step.text):
            return await self.side_answer(step, dispatcher, tracker, domain) + again
        return again

    async def read_step(self, step: Step, dispatcher: CollectingDispatcher, tracker: Tracker,
                        domain: DomainDict) -> List[EventType]:
        again: List[EventType] = [SlotSet(step.slot, None)]  # the form asks the same step again
        if step.leaves():
            logger.info("inquiry cancelled in words at %s", step.slot)
            return cancel(dispatcher)
        if is_payload(step.text):
            return await self.side_answer(step, dispatcher, tracker, domain) + again
        stated = stated_question(step.text)
        if stated and step.slot != QUESTION and not tracker.get_slot(QUESTION) \
                and read_question(stated, settings.current().max_question_chars).kind == "value":
            dispatcher.utter_message(response="utter_inquiry_question_noted")  # typed before its step
            return [SlotSet(QUESTION, stated)] + again
        if step.asks_about_privacy() and not (stated and step.slot == QUESTION):
            dispatcher.utter_message(text=privacy_answer())
            return again
        corrected = step.other_field()
        if corrected is not None:
            return self.correct(step, corrected, dispatcher, tracker)
        reading = read_value(step.slot, step.text)
        value = stored(step.slot, reading)
        if value is not None:
            events: List[EventType] = [SlotSet(step.slot, value)]
            address = find_email(step.text) if step.slot == NAME else None
            if address and not tracker.get_slot(EMAIL):
                events.append(SlotSet(EMAIL, address.lower()))  # « Marie Roy, marie@exemple.org »
            return events
        if reading.kind == "invalid":
            self.say_invalid(step, dispatcher)
            return again
        if step.slot == EMAIL and says_no_email(step.text):
            dispatcher.utter_message(response="utter_inquiry_email_needed")
            return again
        return await self.side_answer(step, dispatcher, tracker, domain) + again

    def correct(self, step: Step, corrected: Tuple[str, Optional[str]], dispatcher: CollectingDispatcher,
                tracker: Tracker) -> List[EventType]:
        """A correction typed in the middle of the form: the field takes its new value (or is
        asked again when none was given), then the form asks what it still needs."""
        field, value = corrected
        logger.info("inquiry correction of %s at %s (value given: %s)", field, step.slot, value is not None)
        if value is None:
            return [SlotSet(field, None)] + ([] if field == step.slot else [SlotSet(step.slot, None)])
        if field == step.slot:
            return [SlotSet(field, value)]
        dispatcher.utter_message(response="utter_inquiry_corrected")
        return [SlotSet(field, value), SlotSet(step.slot, None)]

    @staticmethod
    def say_invalid(step: Step, dispatcher: CollectingDispatcher) -> None:
        if step.slot == EMAIL:
            dispatcher.utter_message(response="utter_invalid_email")
        elif step.slot == QUESTION:
            limit = settings.current().max_question_chars
            problem, length = question_problem(step.text, limit)
            if problem == "too_long":
                dispatcher.utter_message(response="utter_question_too_long", length=length, limit=limit)
            else:
                dispatcher.utter_message(response="utter_question_too_short")
        else:
            dispatcher.utter_message(response="utter_inquiry_not_noted")

    async def side_answer(self, step: Step, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: DomainDict) -> List[EventType]:
        """The answer to a message that is not a value: a question or a button gets its answer;
        anything else is said not to be noted. The form then asks its step again."""
        asked = step.intent in ANSWERED and (looks_like_question(step.text) or step.confidence >= 0.9)
        if asked or (is_payload(step.text) and step.text.startswith("/faq/")):
            from actions.answer import ActionAnswer  # answer.py imports this module
            events = await ActionAnswer().run(dispatcher, tracker, domain)
            return [e for e in events if e.get("name") != "mutu_offer"]
        if step.intent == "bot_challenge":
            dispatcher.utter_message(response="utter_bot_challenge")
        elif not is_payload(step.text):
            dispatcher.utter_message(response="utter_inquiry_not_noted")
        return []


def cancel(dispatcher: CollectingDispatcher) -> List[EventType]:
    """The same reply as the « Annuler » button; nothing kept."""
    dispatcher.utter_message(response="utter_inquiry_cancelled")
    return reset_events()


class ActionInquirySummary(Action):
    """After the form: the summary to confirm, or, without consent, the address instead."""

    def name(self) -> Text:
        return "action_inquiry_summary"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        consent = tracker.get_slot("inquiry_consent")
        if consent is None:
            return []  # the form was left in words: its validation already said so
        if consent is not True:
            dispatcher.utter_message(response="utter_inquiry_no_consent")
            return reset_events()
        return show_summary(dispatcher, tracker)


async def answer_at_summary(dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> Optional[List[EventType]]:
    """A message typed at the summary, whatever the NLU read: a correction edits the field,
    leaving in words cancels, a privacy question is answered from the consent text; None when it
    is none of these (a question, to be answered)."""
    text = (tracker.latest_message or {}).get("text") or ""
    if not summary_pending(tracker) or is_payload(text):
        return None
    if correction(text) is not None and not wants_to_leave(text):
        return await ActionEditInquiry().run(dispatcher, tracker, domain)
    if wants_to_leave(text):
        return [ActiveLoop(None)] + cancel(dispatcher)
    if is_privacy_question(text):  # answered from the consent text, then the summary again
        dispatcher.utter_message(text=privacy_answer())
        return show_summary(dispatcher, tracker)
    return None



def show_summary(dispatcher: CollectingDispatcher, tracker: Tracker,
                 values: Optional[Dict[str, Any]] = None) -> List[EventType]:
    """The summary with its buttons, and the fingerprint of exactly what it shows."""
    values = values or {slot: tracker.get_slot(slot) for slot in FIELDS}
    dispatcher.utter_message(response="utter_inquiry_summary", **values)
    return [SlotSet(SUMMARY_SLOT, fingerprint(values)), SlotSet(PENDING_SLOT, True)]


class ActionSubmitInquiry(Action):
    """Write the confirmed inquiry to the outbox (one transaction), then give its reference."""

    def name(self) -> Text:
        return "action_submit_inquiry"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        handled = await answer_at_summary(dispatcher, tracker, domain)
        if handled is not None:  # « le nom est faux, c'est … », « finalement non, envoie rien »
            return handled
        text = (tracker.latest_message or {}).get("text") or ""
        values = {slot: tracker.get_slot(slot) for slot in SLOTS}
        if values["inquiry_consent"] is not True or not all(values[s] for s in FIELDS):
            if asks_to_write(text):
                return [FollowupAction("inquiry_form")]  # « envoyez un mot à … » read as « envoie »
            dispatcher.utter_message(response="utter_inquiry_nothing_pending")
            return []
        if tracker.get_slot(SUMMARY_SLOT) != fingerprint(values):
            # Never send what the person did not see: show the current values first.
            return show_summary(dispatcher, tracker)
        conf = settings.current()
        store = OutboxStore(conf.inquiry_db)
        conversation = conversation_key(tracker.sender_id)
        if conf.inquiries_per_hour and store.count_since(conversation, time.time() - 3600) >= conf.inquiries_per_hour:
            dispatcher.utter_message(response="utter_inquiry_rate_limited")
            return reset_events()
        organisation = values["inquiry_organisation"]
        inquiry = store.add(NewInquiry(
            name=values["inquiry_name"], email=values["inquiry_email"],
            organisation=None if organisation == SKIPPED else organisation,
            question=values["inquiry_question"], conversation=conversation))
        dispatcher.utter_message(response="utter_inquiry_received", reference=inquiry.reference)
        return reset_events()


class ActionCancelInquiry(Action):
    def name(self) -> Text:
        return "action_cancel_inquiry"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        handled = await answer_at_summary(dispatcher, tracker, domain)  # a correction read as a cancel
        return handled if handled is not None else [ActiveLoop(None)] + cancel(dispatcher)


class ActionEditInquiry(Action):
    """« Modifier »: clear the field(s) named, or ask which one, then resume the form."""

    def name(self) -> Text:
        return "action_edit_inquiry"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        text = (tracker.latest_message or {}).get("text") or ""
        if tracker.get_slot("inquiry_consent") is not True:
            if asks_to_write(text):
                return [FollowupAction("inquiry_form")]
            if not is_payload(text) and read_correction(text) is None:  # « son courriel? »: not « Modifier »
                from actions.answer import ActionAnswer, as_question  # answer.py imports this module
                return await ActionAnswer().answer(dispatcher, tracker, domain, as_question(tracker.latest_message or {}))
            dispatcher.utter_message(response="utter_inquiry_nothing_pending")
            return []
        found = correction(text)
        if found and found[1] is not None:
            slot, value = found
            accepted = valid_value(slot, value)
            if accepted is not None:
                values = {field: tracker.get_slot(field) for field in FIELDS}
                values[slot] = accepted
                return [SlotSet(slot, accepted)] + show_summary(dispatcher, tracker, values)
            return [SlotSet(slot, None), FollowupAction("inquiry_form")]
        fields = [found[0]] if found else fields_to_edit(text)
        if not fields:
            dispatcher.utter_message(response="utter_ask_inquiry_field")
            return []
        return [SlotSet(slot, None) for slot in fields] + [FollowupAction("inquiry_form")]


class ActionReplyYesNo(Action):
    """« oui » / « non » outside the form: at the summary they send or cancel (done here, not
    through a follow-up action, so the rules keep their footing); after an answer that offered
    the coordinator, « oui » opens the form; a « non, c'est pas ça » right after an answer offers
    other topics; otherwise a short acknowledgement."""

    def name(self) -> Text:
        return "action_reply_yes_no"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        yes = ((tracker.latest_message or {}).get("intent") or {}).get("name") == "affirm"
        handled = await answer_at_summary(dispatcher, tracker, domain)  # « non, le nom est faux, c'est … »
        if handled is not None:
            return handled
        if summary_pending(tracker):
            action = ActionSubmitInquiry() if yes else ActionCancelInquiry()
            return await action.run(dispatcher, tracker, domain)
        wants_form = asks_to_write((tracker.latest_message or {}).get("text") or "")
        if (yes and tracker.get_slot("mutu_offer")) or wants_form:
            return [FollowupAction("inquiry_form")]
        if yes:
            dispatcher.utter_message(response="utter_affirm")
        else:
            from actions.answer import ActionAnswer, rejects_answer  # answer.py imports this module
            if rejects_answer(tracker):  # « non c'est pas ça » right after an answer
                return await ActionAnswer().run(dispatcher, tracker, domain)
            dispatcher.utter_message(response="utter_deny")
        return []
