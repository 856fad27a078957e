"""The inquiry form: consent first, then name, e-mail, organisation and question; a summary to
confirm, edit or cancel; on confirmation the inquiry goes to the durable outbox."""
from __future__ import annotations

import re
import time
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import settings
from bot.inquiries.store import NewInquiry, OutboxStore, conversation_key
from bot.text import fold, one_line, strip_control

FIELDS = ["inquiry_name", "inquiry_email", "inquiry_organisation", "inquiry_question"]
SLOTS = ["inquiry_consent", *FIELDS]
SKIPPED = "non précisé"
SKIP_WORDS = {"passer", "passe", "sauter", "aucun", "aucune", "non", "rien", "skip", "-", "na", "n/a",
              "je passe", "pas d'organisme", "aucun organisme", "sans organisme"}
# Intents that, when clearly recognised, interrupt the form instead of filling a slot.
INTERRUPTIONS = {"faq", "cancel", "help", "bot_challenge", "contact_human", "something_else"}
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,}$")
EMAIL_IN_TEXT = re.compile(r"[^\s<>()\"',;:]+@[^\s<>()\"',;:]+\.[A-Za-z]{2,}")
FIELD_WORDS = {"inquiry_email": ("courriel", "email", "mail", "adresse"),
               "inquiry_name": ("nom", "prenom"),
               "inquiry_organisation": ("organisme", "organisation", "entreprise", "employeur"),
               "inquiry_question": ("question", "message", "demande")}


def clean(text: Any, limit: int) -> str:
    """User text made safe to store: no control characters, trimmed, bounded."""
    return strip_control(text if isinstance(text, str) else "").strip()[:limit]


QUESTION_STARTS = ("c'est quoi", "cest quoi", "c quoi", "c koi", "qu'est", "quest", "comment", "pourquoi",
                   "quel", "qui ", "ou ", "combien", "quand", "est-ce", "parle", "expliqu", "pouvez-vous",
                   "peux-tu", "y a", "avez-vous", "donne", "et ", "pis ")


def looks_like_question(text: str) -> bool:
    folded = fold(text).strip()
    return "?" in folded or folded.startswith(QUESTION_STARTS)


def is_interruption(tracker: Tracker, threshold: float = 0.8) -> bool:
    """A clear cancel, or a clear question (FAQ, help...), rather than an answer to the form.

    Names and organisations often contain FAQ words ("CDC des Jardins"), so a recognised FAQ
    intent only interrupts when the text is shaped like a question.
    """
    message = tracker.latest_message or {}
    intent = message.get("intent") or {}
    if intent.get("name") not in INTERRUPTIONS or float(intent.get("confidence") or 0) < threshold:
        return False
    return intent.get("name") == "cancel" or looks_like_question(message.get("text") or "")


def find_email(text: str) -> Optional[str]:
    match = EMAIL_IN_TEXT.search(text)
    return match.group(0).strip(".") if match else None


def valid_email(text: str) -> bool:
    return len(text) <= 254 and bool(EMAIL.match(text))


def valid_name(text: str) -> bool:
    return 2 <= len(text) <= 120 and sum(c.isalpha() for c in text) >= 2 and "@" not in text


def fields_to_edit(text: str) -> List[str]:
    """The form fields a « modifier … » message names; none named → []."""
    words = set(re.findall(r"\w+", fold(text)))
    return [slot for slot, keys in FIELD_WORDS.items() if words & set(keys)]


def reset_events() -> List[EventType]:
    return [SlotSet(slot, None) for slot in SLOTS] + [SlotSet("requested_slot", None)]


class ValidateInquiryForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_inquiry_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        if tracker.get_slot("inquiry_consent") is False:
            return []  # no consent: collect nothing
        return SLOTS

    def _requested(self, tracker: Tracker, slot: str) -> bool:
        return tracker.get_slot("requested_slot") == slot

    async def extract_inquiry_consent(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> Dict[Text, Any]:
        if not self._requested(tracker, "inquiry_consent"):
            return {}
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent in ("affirm", "confirm_inquiry"):
            return {"inquiry_consent": True}
        if intent == "deny":
            return {"inquiry_consent": False}
        return {}

    async def _extract_text(self, tracker: Tracker, slot: str, limit: int) -> Dict[Text, Any]:
        if not self._requested(tracker, slot) or is_interruption(tracker):
            return {}
        return {slot: clean((tracker.latest_message or {}).get("text"), limit)}

    async def extract_inquiry_name(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[Text, Any]:
        return await self._extract_text(tracker, "inquiry_name", 200)

    async def extract_inquiry_organisation(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                           domain: DomainDict) -> Dict[Text, Any]:
        return await self._extract_text(tracker, "inquiry_organisation", 300)

    async def extract_inquiry_email(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> Dict[Text, Any]:
        if not self._requested(tracker, "inquiry_email"):
            return {}
        text = clean((tracker.latest_message or {}).get("text"), 400)
        found = find_email(text)
        if found:
            return {"inquiry_email": found}
        return {} if is_interruption(tracker) else {"inquiry_email": text}

    async def extract_inquiry_question(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: DomainDict) -> Dict[Text, Any]:
        if not self._requested(tracker, "inquiry_question"):
            return {}
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent == "cancel" and is_interruption(tracker):
            return {}
        # The question itself may well look like an FAQ question: take it as written.
        return {"inquiry_question": clean((tracker.latest_message or {}).get("text"), 100000)}

    def validate_inquiry_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[Text, Any]:
        name = one_line(value or "")
        if valid_name(name):
            return {"inquiry_name": name}
        dispatcher.utter_message(response="utter_invalid_name")
        return {"inquiry_name": None}

    def validate_inquiry_email(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[Text, Any]:
        email = (value or "").strip()
        if valid_email(email):
            return {"inquiry_email": email}
        dispatcher.utter_message(response="utter_invalid_email")
        return {"inquiry_email": None}

    def validate_inquiry_organisation(self, value: Any, dispatcher: CollectingDispatcher,
                                      tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        organisation = one_line(value or "")
        if not organisation or fold(organisation).strip(" .!") in SKIP_WORDS:
            return {"inquiry_organisation": SKIPPED}
        return {"inquiry_organisation": organisation}

    def validate_inquiry_question(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Dict[Text, Any]:
        question = (value or "").strip()
        limit = settings.current().max_question_chars
        if len(question) > limit:
            dispatcher.utter_message(response="utter_question_too_long", length=len(question), limit=limit)
            return {"inquiry_question": None}
        if sum(c.isalnum() for c in question) < 3:
            dispatcher.utter_message(response="utter_question_too_short")
            return {"inquiry_question": None}
        return {"inquiry_question": question}


class ActionInquirySummary(Action):
    """After the form: the summary to confirm, or, without consent, the address instead."""

    def name(self) -> Text:
        return "action_inquiry_summary"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        if tracker.get_slot("inquiry_consent") is not True:
            dispatcher.utter_message(response="utter_inquiry_no_consent")
            return reset_events()
        dispatcher.utter_message(response="utter_inquiry_summary")
        return []


class ActionSubmitInquiry(Action):
    """Write the confirmed inquiry to the outbox (one transaction), then give its reference."""

    def name(self) -> Text:
        return "action_submit_inquiry"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        values = {slot: tracker.get_slot(slot) for slot in SLOTS}
        if values["inquiry_consent"] is not True or not all(values[s] for s in FIELDS):
            dispatcher.utter_message(response="utter_inquiry_nothing_pending")
            return []
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
        dispatcher.utter_message(response="utter_inquiry_cancelled")
        return [ActiveLoop(None)] + reset_events()


class ActionEditInquiry(Action):
    """« Modifier »: clear the field(s) named, or ask which one, then resume the form."""

    def name(self) -> Text:
        return "action_edit_inquiry"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        if tracker.get_slot("inquiry_consent") is not True:
            dispatcher.utter_message(response="utter_inquiry_nothing_pending")
            return []
        fields = fields_to_edit((tracker.latest_message or {}).get("text") or "")
        if not fields:
            dispatcher.utter_message(response="utter_ask_inquiry_field")
            return []
        return [SlotSet(slot, None) for slot in fields] + [FollowupAction("inquiry_form")]
