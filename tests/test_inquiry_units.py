"""The inquiry parts without Rasa: validation helpers, the outbox, the e-mail and webhook bodies."""
from __future__ import annotations

import asyncio
import io
import json
import re
import sqlite3
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from actions.inquiry import fields_to_edit, find_email, valid_email, valid_name
from bot import settings
from bot.inquiries import cli
from bot.inquiries.delivery import build_email, redact_email, sign, webhook_request
from bot.text import one_line
from bot.inquiries.store import NewInquiry, OutboxStore, conversation_key
from bot.inquiries.worker import backoff
from bot.payloads import load_responses

DOMAIN = load_responses()


def new(name: str = "Éloïse Côté", **kw: str) -> NewInquiry:
    base = dict(name=name, email="eloise@exemple.qc.ca", organisation="CDC du Haut-Saint-Laurent",
                question="Comment partager une ressource en communication?", conversation=conversation_key("s1"))
    base.update(kw)
    return NewInquiry(**base)


@pytest.mark.parametrize("text, ok", [("marie.tremblay@cdc-hsl.org", True), ("a@b.ca", True),
                                      ("marie@", False), ("marie tremblay", False), ("a@b", False),
                                      ("x" * 250 + "@b.ca", False), ("a b@c.ca", False)])
def test_valid_email(text: str, ok: bool) -> None:
    assert valid_email(text) is ok


def test_find_email_in_a_sentence() -> None:
    assert find_email("c'est marie.t@exemple.org merci.") == "marie.t@exemple.org"
    assert find_email("pas de courriel") is None


def test_valid_name() -> None:
    assert valid_name("Jean-Marc Côté") and not valid_name("1") and not valid_name("a@b.ca")


def test_fields_to_edit_reads_the_field_named() -> None:
    assert fields_to_edit("modifier mon courriel") == ["inquiry_email"]
    assert fields_to_edit("Je veux changer ma QUESTION") == ["inquiry_question"]
    assert fields_to_edit("modifier") == []


def test_outbox_gives_sequential_references_per_year(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.db")
    t2026 = time.mktime((2026, 6, 1, 12, 0, 0, 0, 0, -1))
    first, second = store.add(new(), t2026), store.add(new(), t2026 + 1)
    assert (first.reference, second.reference) == ("MUTU-2026-0001", "MUTU-2026-0002")
    assert store.add(new(), time.mktime((2027, 1, 2, 12, 0, 0, 0, 0, -1))).reference == "MUTU-2027-0001"
    assert store.get("MUTU-2026-0001").name == "Éloïse Côté"
    assert store.count_since(conversation_key("s1"), t2026) == 3
    assert store.count_since(conversation_key("other"), 0) == 0


def test_claim_leases_so_a_second_worker_gets_nothing(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.db")
    store.add(new())
    now = time.time() + 1
    assert len(store.claim_due(now, 60)) == 1
    assert store.claim_due(now, 60) == []
    assert len(store.claim_due(now + 61, 60)) == 1


def test_purge_deletes_old_inquiries_delivered_or_not_and_old_events(tmp_path: Path) -> None:
    conf = settings.load({"MUTU_DATA_DIR": str(tmp_path)})
    store = OutboxStore(conf.inquiry_db)
    old = store.add(new(), time.time() - 100 * 86400)
    store.add(new(), time.time() - 100 * 86400)  # old and never delivered: deleted too
    store.mark_delivered(old.id, time.time())
    recent = store.add(new())
    db = sqlite3.connect(conf.tracker_db)
    db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, timestamp REAL)")
    db.executemany("INSERT INTO events (sender_id, timestamp) VALUES (?, ?)",
                   [("old", time.time() - 95 * 86400), ("old", time.time() - 91 * 86400),
                    ("new", time.time() - 95 * 86400), ("new", time.time())])
    db.commit()
    out = io.StringIO()
    cli.purge(conf, "90d", out)
    assert "purged 3 conversation events and 2 inquiries (1 never delivered)" in out.getvalue()
    assert [i.reference for i in store.list()] == [recent.reference]
    assert [r[0] for r in db.execute("SELECT sender_id FROM events")] == ["new"]


def test_parse_age() -> None:
    assert cli.parse_age("90d") == 90 * 86400 and cli.parse_age("12h") == 43200
    with pytest.raises(ValueError):
        cli.parse_age("soon")


def test_export_csv_and_json(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.db")
    store.add(new(question="Ligne 1\nLigne 2, avec « guillemets »"))
    out = io.StringIO()
    cli.export_inquiries(store, "json", out)
    assert json.loads(out.getvalue())[0]["question"] == "Ligne 1\nLigne 2, avec « guillemets »"
    out = io.StringIO()
    cli.export_inquiries(store, "csv", out)
    assert out.getvalue().startswith("reference,created_at,name,email")


def test_email_has_every_field_and_no_header_injection(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "o.db")
    inquiry = store.add(new(name="Léa\r\nBcc: victime@exemple.com", organisation=None))
    msg = build_email(inquiry, settings.load({}))
    assert msg["To"] == "mobilisation@concertationhorizon.ca"
    assert inquiry.reference in msg["Subject"] and "\n" not in msg["Subject"]
    assert msg["Bcc"] is None
    body = msg.get_content()
    for value in (inquiry.reference, "eloise@exemple.qc.ca", "non précisé", inquiry.question):
        assert value in body


def test_webhook_body_is_signed_and_idempotent(tmp_path: Path) -> None:
    inquiry = OutboxStore(tmp_path / "o.db").add(new())
    body, headers = webhook_request(inquiry, "s3cret")
    assert headers["Idempotency-Key"] == inquiry.reference
    assert headers["X-Mutu-Signature"] == sign(body, "s3cret")
    assert json.loads(body)["name"] == "Éloïse Côté"


def test_helpers() -> None:
    assert one_line("a\r\nb\x00c   d") == "a b c d"
    assert redact_email("marie.tremblay@exemple.org") == "m***@e***.org"
    assert [backoff(n, 30, 3600) for n in range(0, 9)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


@pytest.mark.parametrize("text, question", [
    ("c'est quoi la cantine pour tous?", True), ("Comment on fait", True), ("et le relait", True),
    ("CDC des Jardins", False), ("Marie Quellet", False), ("marc.gagnon(at)exemple", False),
])
def test_looks_like_question(text: str, question: bool) -> None:
    from actions.inquiry import looks_like_question
    assert looks_like_question(text) is question


# --- the form's steps (ValidateInquiryForm) with trackers built inline ------------------------------

def step(slot: Optional[str], text: str, intent: str = "nlu_fallback", confidence: float = 0.9,
         slots: Optional[Dict[str, Any]] = None, **parse: Any) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """(events, messages) of the form's validation for ``text`` typed at ``slot``."""
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from actions.inquiry import ValidateInquiryForm
    filled = {"requested_slot": slot, "inquiry_consent": True, "inquiry_name": None, "inquiry_email": None,
              "inquiry_organisation": None, "inquiry_question": None, **(slots or {})}
    message = {"text": text, "intent": {"name": intent, "confidence": confidence}, "intent_ranking": [], **parse}
    tracker = Tracker("t", filled, message, [], False, None, {"name": "inquiry_form"}, "action_listen")
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateInquiryForm().run(dispatcher, tracker, DOMAIN))
    return events, dispatcher.messages


def slot_values(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def responses(messages: List[Dict[str, Any]]) -> List[Optional[str]]:
    return [m.get("response") for m in messages]


FILLED = {"inquiry_name": "Luc Gagnon", "inquiry_email": "luc@exemple.org"}


@pytest.mark.parametrize("slot, text, value", [
    ("inquiry_name", "Je m'appelle Josée Gagnon-Roy", "Josée Gagnon-Roy"),
    ("inquiry_name", "My name is Sarah O'Connor", "Sarah O'Connor"),
    ("inquiry_email", "mon courriel c'est MARC@Exemple.org, merci", "marc@exemple.org"),
    ("inquiry_organisation", "je travaille à la CDC du Granit", "CDC du Granit"),
    ("inquiry_organisation", "j'ai pas d'organisme, je suis citoyenne", "non précisé"),
])
def test_each_step_stores_the_value_without_what_is_typed_around_it(slot: str, text: str, value: str) -> None:
    events, messages = step(slot, text, slots=FILLED if slot == "inquiry_organisation" else None)
    assert slot_values(events)[slot] == value and not messages


def test_a_question_about_the_name_is_answered_from_the_consent_text_and_not_stored() -> None:
    events, messages = step("inquiry_name", "pourquoi vous avez besoin de mon nom?")
    assert slot_values(events) == {"inquiry_name": None}  # the form asks the name again
    [answer] = messages
    assert "jours" in answer["text"] and "Isabelle Lapointe" in answer["text"] and "?" not in answer["text"]


def test_a_privacy_question_at_the_email_step_is_answered_then_the_step_resumes() -> None:
    text = "attendez, est-ce que mes données vont être partagées avec d'autres organismes?"
    events, messages = step("inquiry_email", text, intent="faq", slots=FILLED)
    assert slot_values(events) == {"inquiry_email": None} and "supprim" in messages[0]["text"]


@pytest.mark.parametrize("slot, text", [
    ("inquiry_email", "en fait laissez faire, je vais juste lui écrire moi-même"),
    ("inquiry_email", "non merci, j'arrête là"),
    ("inquiry_name", "ah pis laissez faire"),
    ("inquiry_question", "c'est ben trop compliqué votre affaire, laissez faire"),
])
def test_leaving_in_words_cancels_like_the_button(slot: str, text: str) -> None:
    events, messages = step(slot, text, slots=FILLED)
    assert responses(messages) == ["utter_inquiry_cancelled"]
    values = slot_values(events)
    assert values["requested_slot"] is None and not any(values[s] for s in ("inquiry_name", "inquiry_email"))


def test_an_address_typed_at_the_organisation_step_corrects_the_email() -> None:
    events, messages = step("inquiry_organisation", "oups je me suis trompé, c'est marcandre.tremblay@gmail.com",
                            slots=FILLED)
    assert slot_values(events) == {"inquiry_email": "marcandre.tremblay@gmail.com", "inquiry_organisation": None}
    assert responses(messages) == ["utter_inquiry_corrected"]


def test_a_name_correction_at_the_email_step() -> None:
    events, _ = step("inquiry_email", "Le nom est faux, c'est Karine Dubé", slots={"inquiry_name": "Karien Dubé"})
    assert slot_values(events) == {"inquiry_name": "Karine Dubé", "inquiry_email": None}


def test_a_button_clicked_mid_form_is_answered_and_never_stored() -> None:
    parse = {"response_selector": {"all_retrieval_intents": ["faq"], "faq": {
        "response": {"intent_response_key": "faq/form_contrat", "confidence": 1.0,
                     "utter_action": "utter_faq/form_contrat"},
        "ranking": [{"intent_response_key": "faq/form_contrat", "confidence": 1.0}]}}}
    events, messages = step("inquiry_organisation", "/faq/form_contrat", intent="faq", confidence=1.0,
                            slots=FILLED, **parse)
    assert slot_values(events)["inquiry_organisation"] is None
    assert responses(messages)[0] == "utter_faq/form_contrat"


def test_a_sentence_that_is_not_a_value_is_said_not_noted() -> None:
    events, messages = step("inquiry_name", "je sais pas trop")
    assert slot_values(events) == {"inquiry_name": None} and responses(messages) == ["utter_inquiry_not_noted"]


def test_an_invalid_address_is_explained_without_a_second_prompt() -> None:
    events, messages = step("inquiry_email", "marc.gagnon(at)exemple")
    assert responses(messages) == ["utter_invalid_email"] and slot_values(events) == {"inquiry_email": None}
    assert "?" not in DOMAIN["responses"]["utter_invalid_email"][0]["text"]


def test_the_form_reopened_by_modifier_says_nothing_before_its_prompt() -> None:
    for text in ("modifier mon nom", "modifier ma question", "Je peux laisser ma question à quelqu'un?"):
        events, messages = step(None, text, intent="edit_inquiry")
        assert not messages and not any(v for k, v in slot_values(events).items() if k != "requested_slot")


def test_prompts_have_no_stray_thanks_and_ask_one_thing() -> None:
    for name in ("utter_ask_inquiry_name", "utter_ask_inquiry_email", "utter_ask_inquiry_organisation",
                 "utter_ask_inquiry_question"):
        text = DOMAIN["responses"][name][0]["text"]
        assert not re.search(r"\b(merci|désolé|pardon)\b", text, re.IGNORECASE) and text.count("?") == 1, name


@pytest.mark.parametrize("text, expected", [
    ("Le nom est faux, c'est Karine Dubé", ("inquiry_name", "Karine Dubé")),
    ("l'organisme c'est pas ça, j'ai pas d'organisme, je suis citoyenne", ("inquiry_organisation", "non précisé")),
    ("oups, mon courriel c'est Luc@Exemple.org", ("inquiry_email", "luc@exemple.org")),
    ("oups je me suis trompé, c'est marcandre.tremblay@gmail.com", ("inquiry_email", "marcandre.tremblay@gmail.com")),
    ("l'organisme c'est pas ça", ("inquiry_organisation", None)),
    ("modifier ma question", ("inquiry_question", None)),
    ("Je peux laisser ma question à quelqu'un?", None),
])
def test_corrections_at_the_summary(text: str, expected: Any) -> None:
    from actions.inquiry import correction
    assert correction(text) == expected


@pytest.mark.parametrize("slot, text, intent, leaves", [
    ("inquiry_organisation", "non merci", "deny", False),            # skips the optional organisation
    ("inquiry_organisation", "non merci, j'arrête là", "deny", True),
    ("inquiry_question", "Comment annuler une entente de mutualisation?", "cancel", False),
    ("inquiry_question", "stop", "cancel", True),
    ("inquiry_question", "Je veux savoir comment on met fin à une mutualisation", "cancel", False),
    ("inquiry_name", "/cancel", "cancel", True),
])
def test_leaving_depends_on_the_step(slot: str, text: str, intent: str, leaves: bool) -> None:
    from actions.inquiry import Step
    assert Step(slot, text, intent, 0.95).leaves() is leaves


@pytest.mark.parametrize("action_name", ["ActionEditInquiry", "ActionReplyYesNo", "ActionSubmitInquiry"])
def test_a_request_to_write_read_as_another_intent_opens_the_form(action_name: str) -> None:
    import actions.inquiry as inquiry
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    parse = {"text": "je voudrais laisser un mot à la responsable", "intent": {"name": "affirm", "confidence": 0.6}}
    tracker = Tracker("t", {"mutu_offer": False}, parse, [], False, None, {}, "action_listen")
    events = asyncio.run(getattr(inquiry, action_name)().run(CollectingDispatcher(), tracker, DOMAIN))
    assert events == [{"event": "followup", "name": "inquiry_form", "timestamp": None}]


def test_at_the_summary_a_privacy_question_is_answered_and_the_summary_shown_again() -> None:
    from rasa_sdk import Tracker
    from rasa_sdk.executor import CollectingDispatcher
    from actions.inquiry import ActionReplyYesNo, fingerprint
    values = {"inquiry_name": "Anne Roy", "inquiry_email": "anne@exemple.org", "inquiry_organisation": "non précisé",
              "inquiry_question": "Une question?"}
    slots = {**values, "inquiry_consent": True, "inquiry_summary": fingerprint(values), "inquiry_pending": True}
    parse = {"text": "non mais qui va voir mes renseignements?", "intent": {"name": "deny", "confidence": 0.7}}
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionReplyYesNo().run(dispatcher, Tracker("t", slots, parse, [], False, None, {},
                                                                    "action_listen"), DOMAIN))
    assert "jours" in dispatcher.messages[0]["text"]  # not cancelled: answered
    assert dispatcher.messages[1]["response"] == "utter_inquiry_summary"
    assert {"event": "slot", "name": "inquiry_pending", "value": True, "timestamp": None} in events
