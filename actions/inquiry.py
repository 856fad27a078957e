"""The inquiry form: consent first, then name, e-mail, organisation and question; a summary to
confirm, edit or cancel; on confirmation the inquiry goes to the durable outbox."""
from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot import settings
from bot.inquiries.store import NewInquiry, OutboxStore, conversation_key
from bot.text import fold, one_line, strip_control

FIELDS = ["inquiry_name", "inquiry_email", "inquiry_organisation", "inquiry_question"]
SLOTS = ["inquiry_consent", *FIELDS]
SUMMARY_SLOT = "inquiry_summary"  # fingerprint of the values the person saw in the last summary
PENDING_SLOT = "inquiry_pending"  # a summary waits for « oui » / « non » (the rules read it)
SKIPPED = "non précisé"
SKIP_WORDS = {"passer", "passe", "sauter", "aucun", "aucune", "non", "rien", "skip", "-", "na", "n/a",
              "je passe", "pas d'organisme", "aucun organisme", "sans organisme"}
# Intents that, when clearly recognised, interrupt the form instead of filling a slot.
INTERRUPTIONS = {"faq", "not_in_source", "cancel", "help", "bot_challenge", "contact_human", "something_else"}
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,}$")
EMAIL_IN_TEXT = re.compile(r"[^\s<>()\"',;:]+@[^\s<>()\"',;:]+\.[A-Za-z]{2,}")
FIELD_WORDS = {"inquiry_email": ("courriel", "email", "mail", "adresse", "e-mail"),
               "inquiry_name": ("nom", "prenom"),
               "inquiry_organisation": ("organisme", "organisation", "entreprise", "employeur", "org", "coop"),
               "inquiry_question": ("question", "message", "demande")}
# « en fait change mon nom pour Julie Bédard », « mon courriel c'est … », « l'organisme : … »
CORRECTION = re.compile(
    r"(?:^|[\s,!.;:])(?:(?:je veux |j'aimerais |peux-tu |pouvez-vous |svp |il faut )?(?:changer|change|modifier|"
    r"modifie|corriger|corrige|remplacer|remplace|mettre|mets)\s+(?:aussi\s+|plutot\s+|plutôt\s+|donc\s+)?)?"
    r"(?:mon|ma|l'|le|la|votre|ton|ta)\s*(?P<field>nom complet|nom|prénom|prenom|courriel|adresse courriel|"
    r"adresse|e-mail|email|mail|organisme|organisation|question|message|demande)\b"
    r"(?:\s*(?:c'est|c est|cest|est|pour|par|:|=|->|devrait être|devrait etre|serait|à|a)\s*(?P<value>.+))?$",
    re.IGNORECASE)
# Text before the field that keeps it a correction: « oups », « petite erreur, », « en fait »…
CORRECTION_LEAD = re.compile(r"^[\s\w'’,!.-]{0,40}$")
EDIT_ONLY = re.compile(r"\b(modifier|modifie|changer|change|corriger|corrige)\b", re.IGNORECASE)


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


YES = re.compile(r"^(oui|ouais|ouin|ok|okay|o\.k|d'accord|dac|correct|parfait|bien sûr|bien sur|certainement|"
                 r"absolument|j'accepte|jaccepte|j accepte|je consens|consens|accepte|go|yes|yep|sure|i agree|"
                 r"c'est correct|c'est beau|pas de probl[eè]me)\b", re.IGNORECASE)
NO = re.compile(r"^(non|nan|no|nope|pas question|je refuse|refuse|jamais|laisse faire|non merci|"
                r"je ne consens pas|je consens pas|j'accepte pas|je n'accepte pas)\b", re.IGNORECASE)


def yes_or_no(text: str) -> Optional[bool]:
    """A plain « oui … » / « non … » at the start of ``text``, or None."""
    text = text.strip().lstrip("¡¿!.,- ")
    if NO.match(text):
        return False
    return True if YES.match(text) else None


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
    return [SlotSet(slot, None) for slot in SLOTS] + [SlotSet(SUMMARY_SLOT, None), SlotSet(PENDING_SLOT, False),
                                                      SlotSet("mutu_offer", False), SlotSet("requested_slot", None)]


def correction(text: str) -> Optional[Tuple[str, Optional[str]]]:
    """(field, new value or None) for a typed correction such as « change mon nom pour X » or
    « petite erreur, mon nom c'est X »."""
    match = CORRECTION.search(text or "")
    if not match or not CORRECTION_LEAD.match(text[:match.start()]) or len(text[:match.start()].split()) > 4:
        return None
    fields = fields_to_edit(match.group("field"))
    if not fields:
        return None
    value = (match.group("value") or "").strip().strip(" .!«»\"'")
    if fields[0] == "inquiry_email":
        value = find_email(text) or value
    return fields[0], value or None


def fingerprint(values: Dict[str, Any]) -> str:
    """What the person saw in a summary, to check that nothing else is ever sent."""
    return hashlib.sha256(json.dumps([values.get(f) for f in FIELDS]).encode("utf-8")).hexdigest()[:16]


def summary_pending(tracker: Tracker) -> bool:
    return tracker.get_slot(SUMMARY_SLOT) is not None and tracker.get_slot("inquiry_consent") is True


def valid_value(slot: str, value: str) -> Optional[str]:
    """The cleaned value when it is acceptable for ``slot``, else None."""
    if slot == "inquiry_name":
        name = one_line(value)
        return name if valid_name(name) else None
    if slot == "inquiry_email":
        return value if valid_email(value) else None
    if slot == "inquiry_organisation":
        return one_line(value)[:300] or None
    question = value.strip()
    limit = settings.current().max_question_chars
    return question if 3 <= sum(c.isalnum() for c in question) and len(question) <= limit else None


class ValidateInquiryForm(FormValidationAction):
    def name(self) -> Text:
        return "validate_inquiry_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        if tracker.get_slot("inquiry_consent") is False:
            # No consent: collect nothing more. The consent itself stays required (and filled), or
            # rasa-sdk drops the « non » before Rasa sees it and the refusal takes two replies.
            return ["inquiry_consent"]
        return SLOTS

    def _requested(self, tracker: Tracker, slot: str) -> bool:
        return tracker.get_slot("requested_slot") == slot

    async def extract_inquiry_consent(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: DomainDict) -> Dict[Text, Any]:
        if not self._requested(tracker, "inquiry_consent"):
            return {}
        message = tracker.latest_message or {}
        intent = (message.get("intent") or {}).get("name")
        said = yes_or_no(message.get("text") or "")
        if said is True or (said is None and intent in ("affirm", "confirm_inquiry")):
            return {"inquiry_consent": True}
        if said is False or (said is None and intent == "deny"):
            return {"inquiry_consent": False}
        return {}

    def _corrected(self, tracker: Tracker, slot: str) -> Optional[Dict[Text, Any]]:
        """A typed correction of ``slot`` (« en fait mon courriel c'est … »): {slot: value},
        {} when the message asks to change it without a value or corrects another field,
        None when the message is not a correction."""
        text = (tracker.latest_message or {}).get("text") or ""
        found = correction(text)
        if not found:
            return None
        field, value = found
        if field != slot:
            return {}
        if slot == "inquiry_question" and value is not None and self._requested(tracker, slot):
            return None  # « Ma question est de savoir… » is the question itself, as typed
        if value is None:
            return {slot: None} if not self._requested(tracker, slot) else {}
        return {slot: clean(value, 2000)}

    async def _extract_text(self, tracker: Tracker, slot: str, limit: int) -> Dict[Text, Any]:
        corrected = self._corrected(tracker, slot)
        if corrected is not None:
            return corrected
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
        corrected = self._corrected(tracker, "inquiry_email")
        if corrected is not None:
            return corrected
        if not self._requested(tracker, "inquiry_email"):
            return {}
        text = clean((tracker.latest_message or {}).get("text"), 400)
        found = find_email(text)
        if found:
            return {"inquiry_email": found}
        return {} if is_interruption(tracker) else {"inquiry_email": text}

    async def extract_inquiry_question(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: DomainDict) -> Dict[Text, Any]:
        corrected = self._corrected(tracker, "inquiry_question")
        if corrected is not None:
            return corrected
        if not self._requested(tracker, "inquiry_question"):
            return {}
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent == "cancel" and is_interruption(tracker):
            return {}
        text = (tracker.latest_message or {}).get("text") or ""
        if intent == "edit_inquiry" and EDIT_ONLY.search(text) and len(text) < 60:
            return {}  # « je veux modifier ma question » is not the question
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
        return show_summary(dispatcher, tracker)


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
        values = {slot: tracker.get_slot(slot) for slot in SLOTS}
        if values["inquiry_consent"] is not True or not all(values[s] for s in FIELDS):
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
        text = (tracker.latest_message or {}).get("text") or ""
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
        if summary_pending(tracker):
            action = ActionSubmitInquiry() if yes else ActionCancelInquiry()
            return await action.run(dispatcher, tracker, domain)
        if yes and tracker.get_slot("mutu_offer"):
            return [FollowupAction("inquiry_form")]
        if yes:
            dispatcher.utter_message(response="utter_affirm")
        else:
            from actions.answer import ActionAnswer, rejects_answer  # answer.py imports this module
            if rejects_answer(tracker):  # « non c'est pas ça » right after an answer
                return await ActionAnswer().run(dispatcher, tracker, domain)
            dispatcher.utter_message(response="utter_deny")
        return []
