"""Whole inquiry conversations over the REST channel of the trained bot, delivered to a real SMTP
server and a real webhook receiver on loopback."""
from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import List

import pytest

from bot.inquiries.store import OutboxStore
from bot.settings import Settings
from tests.conftest import WEBHOOK_SECRET, wait_for
from tests.helpers import Conversation, flat
from tests.peers import SmtpPeer, WebhookPeer

REFERENCE = re.compile(r"MUTU-\d{4}-\d{4}")


def start_inquiry(bot: Settings) -> Conversation:
    chat = Conversation(bot.rasa_url)
    consent = flat(chat.say("je voudrais parler à quelqu'un"))
    assert "acceptez-vous" in consent and "jours" in consent and "isabelle lapointe" in consent
    assert "prenom et votre nom" in flat(chat.say("/affirm"))
    return chat


def fill(chat: Conversation, name: str, email: str, organisation: str, question: str) -> str:
    assert "courriel" in flat(chat.say(name))
    assert "organisme" in flat(chat.say(email))
    assert "question" in flat(chat.say(organisation))
    return flat(chat.say(question))


def references(replies: List[dict]) -> List[str]:
    return REFERENCE.findall(" ".join(r.get("text") or "" for r in replies))


def test_happy_path_is_delivered_by_email_and_webhook(bot: Settings, smtp_peer: SmtpPeer,
                                                      webhook_peer: WebhookPeer) -> None:
    chat = start_inquiry(bot)
    question = "Comment partager une employée en communication entre deux CDC? Merci d'avance — Zoé"
    summary = fill(chat, "Zoé Côté-Bélanger", "zoe.cote@cdc-exemple.qc.ca", "CDC des Jardins", question)
    assert "zoe cote-belanger" in summary and "confirmer" in summary and "modifier" in summary
    [reference] = references(chat.say("/confirm_inquiry"))

    def emailed() -> list:
        return [m for m in smtp_peer.messages if reference in str(m["Subject"])]
    wait_for(lambda: emailed() and any(c["json"]["reference"] == reference for c in webhook_peer.calls),
             message="inquiry not delivered")
    [mail] = emailed()
    assert mail["To"] == "mobilisation@concertationhorizon.ca"
    body = mail.get_content()
    for value in ("Zoé Côté-Bélanger", "zoe.cote@cdc-exemple.qc.ca", "CDC des Jardins", question, reference):
        assert value in body
    [call] = [c for c in webhook_peer.calls if c["json"]["reference"] == reference]
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), call["body"], hashlib.sha256).hexdigest()
    assert call["headers"]["X-Mutu-Signature"] == expected
    assert call["headers"]["Idempotency-Key"] == reference
    assert call["json"]["question"] == question and call["json"]["organisation"] == "CDC des Jardins"
    store = OutboxStore(bot.inquiry_db)  # the worker marks it once both peers have answered
    wait_for(lambda: store.get(reference).status == "delivered", message="delivered but not marked")


def test_invalid_email_is_asked_again_and_organisation_can_be_skipped(bot: Settings) -> None:
    chat = start_inquiry(bot)
    chat.say("Marc Gagnon")
    assert "ne semble pas valide" in flat(chat.say("marc.gagnon(at)exemple"))
    assert "organisme" in flat(chat.say("mon courriel c'est marc@exemple.org"))
    assert "question" in flat(chat.say("passer"))
    summary = flat(chat.say("Avez-vous des ateliers sur la mutualisation?"))
    assert "organisme : non precise" in summary and "marc@exemple.org" in summary


def test_faq_question_in_the_middle_is_answered_and_the_form_resumes(bot: Settings) -> None:
    chat = start_inquiry(bot)
    chat.say("Lucie Roy")
    interruption = flat(chat.say("c'est quoi la cantine pour tous?"))
    assert "securite alimentaire" in interruption and "courriel" in interruption
    assert "organisme" in flat(chat.say("lucie@exemple.org"))


def test_cancel_at_any_step_stores_nothing(bot: Settings) -> None:
    before = len(OutboxStore(bot.inquiry_db).list())
    chat = start_inquiry(bot)
    chat.say("Paul Hébert")
    assert "annule" in flat(chat.say("annuler"))
    assert "cantine" in flat(chat.say("donnez-moi des exemples"))
    assert len(OutboxStore(bot.inquiry_db).list()) == before


def test_no_consent_stores_nothing_and_shows_the_address(bot: Settings) -> None:
    before = len(OutboxStore(bot.inquiry_db).list())
    chat = Conversation(bot.rasa_url)
    chat.say("Écrire à la coordonnatrice")
    reply = flat(chat.say("non"))
    assert "rien enregistre" in reply and "mobilisation@concertationhorizon.ca" in reply
    assert len(OutboxStore(bot.inquiry_db).list()) == before


def test_edit_a_field_from_the_summary(bot: Settings) -> None:
    chat = start_inquiry(bot)
    fill(chat, "Anne Roy", "anne@exemple.org", "passer", "Une question sur les CUMA?")
    assert "que voulez-vous modifier" in flat(chat.say("/edit_inquiry"))
    assert "courriel" in flat(chat.say("modifier mon courriel"))
    summary = flat(chat.say("anne.roy@autre.org"))
    assert "anne.roy@autre.org" in summary and "anne@exemple.org" not in summary


def test_modifier_asks_the_field_once_without_thanks_or_complaint(bot: Settings) -> None:
    chat = start_inquiry(bot)
    fill(chat, "Anne Roy", "anne@exemple.org", "passer", "Une question sur les CUMA?")
    chat.say("/edit_inquiry")
    for choice, prompt in (("modifier mon nom", "prenom et votre nom"), ("modifier ma question", "votre question")):
        replies = chat.say(choice)
        assert len(replies) == 1 and prompt in flat(replies), replies
        assert "merci" not in flat(replies) and "pas bien saisi" not in flat(replies)
        summary = flat(chat.say("Anne-Marie Roy" if "nom" in choice else "Et les CUMO?"))
        assert "confirmer" in summary
        chat.say("/edit_inquiry")


def test_a_message_that_is_not_a_value_is_answered_and_the_step_asked_again(bot: Settings) -> None:
    chat = start_inquiry(bot)
    reply = flat(chat.say("pourquoi vous avez besoin de mon nom?"))
    assert "jours" in reply and "prenom et votre nom" in reply and "acceptez-vous" not in reply
    chat.say("Josée Gagnon-Roy")
    reply = flat(chat.say("/faq/form_contrat"))
    assert "contrat" in reply and "courriel" in reply
    assert "cette adresse courriel ne semble pas valide" not in reply
    cancelled = flat(chat.say("en fait laissez faire, je vais juste lui écrire moi-même"))
    assert "annule" in cancelled and "mobilisation@concertationhorizon.ca" in cancelled


def test_cr_lf_and_html_in_fields_are_delivered_as_plain_text(bot: Settings, smtp_peer: SmtpPeer,
                                                             webhook_peer: WebhookPeer) -> None:
    chat = start_inquiry(bot)
    assert "prenom et votre nom" in flat(chat.say("Eve <b>Tremblay</b>\r\nBcc: victime"))  # not a name
    fill(chat, "Eve Tremblay", "eve@exemple.org",
         "<script>alert(1)</script>", "Ligne 1\r\nBcc: autre@exemple.com\n<img src=x onerror=alert(1)>")
    [reference] = references(chat.say("/confirm_inquiry"))
    wait_for(lambda: any(reference in str(m["Subject"]) for m in smtp_peer.messages))
    [mail] = [m for m in smtp_peer.messages if reference in str(m["Subject"])]
    assert mail["Bcc"] is None and "\n" not in str(mail["Subject"])
    assert "<img src=x onerror=alert(1)>" in mail.get_content()
    assert all(e["to"] == ["mobilisation@concertationhorizon.ca"] for e in smtp_peer.recorder.envelopes)


def test_peer_outage_the_user_still_gets_a_reference_then_delivered_once(
        bot: Settings, webhook_peer: WebhookPeer) -> None:
    webhook_peer.status = 503
    try:
        chat = start_inquiry(bot)
        fill(chat, "Noé Lavoie", "noe@exemple.org", "passer", "Question pendant une panne")
        [reference] = references(chat.say("/confirm_inquiry"))
        store = OutboxStore(bot.inquiry_db)
        wait_for(lambda: (store.get(reference).attempts or 0) >= 2, message="no retry while down")
        assert store.get(reference).status == "pending"
    finally:
        webhook_peer.status = 200
    wait_for(lambda: store.get(reference).status == "delivered", message="not delivered after recovery")
    time.sleep(1.0)  # several worker rounds: nothing more may be sent
    assert sum(c["json"]["reference"] == reference for c in webhook_peer.calls) == 1


def test_too_many_inquiries_in_one_conversation_are_refused_politely(bot: Settings) -> None:
    chat = Conversation(bot.rasa_url)
    received = 0
    for n in range(bot.inquiries_per_hour + 1):
        chat.say("je veux parler à quelqu'un")
        chat.say("oui")
        fill(chat, f"Anne {'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[n % 26]}. Roy", f"p{n}@exemple.org", "passer",
             f"Question numéro {n}")
        reply = chat.say("/confirm_inquiry")
        received += len(references(reply))
    assert received == bot.inquiries_per_hour
    assert "plusieurs demandes" in flat(reply)
