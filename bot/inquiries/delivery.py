"""Delivery channels for an inquiry: e-mail over SMTP and a signed JSON webhook.

Each channel raises DeliveryError on failure; the worker retries later. Nothing here logs
personal data: addresses are redacted, questions never logged.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Dict, List, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from bot.inquiries.store import Inquiry
from bot.settings import Settings
from bot.text import one_line

SIGNATURE_HEADER = "X-Mutu-Signature"
TIME_ZONE = "America/Montreal"
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre")


class DeliveryError(Exception):
    """A channel could not deliver now; try again later."""


class Channel(Protocol):
    name: str

    def send(self, inquiry: Inquiry) -> None: ...


def redact_email(address: str) -> str:
    """``marie.tremblay@exemple.org`` → ``m***@e***.org`` (for logs)."""
    local, _, domain = address.partition("@")
    host, _, tld = domain.rpartition(".")
    return f"{local[:1]}***@{host[:1]}***.{tld}" if host else "***"


def quebec_time(ts: float) -> str:
    """``le 12 mars 2026 à 14 h 05 (heure du Québec)``: Québec local time, written the Québec way
    (UTC, said so, if the system has no time-zone data)."""
    try:
        zone, label = ZoneInfo(TIME_ZONE), "heure du Québec"
    except ZoneInfoNotFoundError:
        zone, label = timezone.utc, "UTC"
    moment = datetime.fromtimestamp(ts, zone)
    day = "1er" if moment.day == 1 else str(moment.day)
    minutes = f" {moment.minute:02d}" if moment.minute else ""
    return f"le {day} {MONTHS[moment.month - 1]} {moment.year} à {moment.hour} h{minutes} ({label})"


def email_body(inquiry: Inquiry) -> str:
    return "\n".join([
        "Nouvelle demande reçue par Mutu, l'assistant virtuel qui répond aux questions sur la mutualisation.",
        "",
        f"Référence : {inquiry.reference}",
        f"Reçue {quebec_time(inquiry.created_at)}",
        f"Nom : {one_line(inquiry.name, 200)}",
        f"Courriel : {inquiry.email}",
        f"Organisme : {one_line(inquiry.organisation or 'non précisé', 300)}",
        "",
        "Question :",
        inquiry.question,
        "",
        "La personne a consenti à la transmission de ces renseignements pour obtenir une réponse.",
        "Répondez directement à ce courriel pour lui écrire.",
    ])


def build_email(inquiry: Inquiry, conf: Settings) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = conf.mail_from
    msg["To"] = conf.mail_to
    msg["Reply-To"] = Address(display_name=one_line(inquiry.name, 80), addr_spec=inquiry.email)
    msg["Subject"] = f"[Mutu] Demande {inquiry.reference} : {one_line(inquiry.name, 80)}"
    msg["Message-ID"] = make_msgid(idstring=inquiry.reference, domain="mutu.local")
    msg["X-Mutu-Reference"] = inquiry.reference
    msg.set_content(email_body(inquiry), charset="utf-8")
    return msg


class SmtpChannel:
    name = "smtp"

    def __init__(self, conf: Settings) -> None:
        self.conf = conf

    def _connect(self) -> smtplib.SMTP:
        conf = self.conf
        timeout = conf.http_timeout
        if conf.smtp_tls == "ssl":
            return smtplib.SMTP_SSL(conf.smtp_host, conf.smtp_port, timeout=timeout,
                                    context=ssl.create_default_context())
        client = smtplib.SMTP(conf.smtp_host, conf.smtp_port, timeout=timeout)
        if conf.smtp_tls == "starttls":
            client.starttls(context=ssl.create_default_context())
        return client

    def send(self, inquiry: Inquiry) -> None:
        try:
            with self._connect() as client:
                if self.conf.smtp_user:
                    client.login(self.conf.smtp_user, self.conf.smtp_password or "")
                client.send_message(build_email(inquiry, self.conf))
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            raise DeliveryError(f"smtp: {type(exc).__name__}: {exc}") from exc


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def webhook_request(inquiry: Inquiry, secret: str) -> tuple:
    """(body bytes, headers) of the webhook call; the reference is the idempotency key."""
    body = json.dumps({"type": "mutu.inquiry", **inquiry.as_dict()}, ensure_ascii=False,
                      sort_keys=True).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": inquiry.reference,
               "User-Agent": "Mutu-Inquiry-Webhook/1"}
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    return body, headers


class WebhookChannel:
    name = "webhook"

    def __init__(self, conf: Settings) -> None:
        self.conf = conf

    def send(self, inquiry: Inquiry) -> None:
        body, headers = webhook_request(inquiry, self.conf.webhook_secret or "")
        try:
            response = requests.post(self.conf.webhook_url or "", data=body, headers=headers,
                                     timeout=self.conf.http_timeout)
        except requests.RequestException as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}") from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryError(f"webhook: HTTP {response.status_code}")


def configured_channels(conf: Settings) -> List[Channel]:
    channels: List[Channel] = []
    if conf.smtp_host:
        channels.append(SmtpChannel(conf))
    if conf.webhook_url:
        channels.append(WebhookChannel(conf))
    return channels


def describe(conf: Settings) -> Dict[str, str]:
    return {c.name: "on" for c in configured_channels(conf)} or {"none": "inquiries stay in the outbox"}
