"""A bad-input corpus over HTTP against the running bot: every case gets a 2xx with a polite
French answer or a clear 4xx, the server stays up, and no typed payload sets a slot."""
from __future__ import annotations

import json
import uuid
from typing import Any, Dict, List, Tuple

import pytest

from bot.settings import Settings
from tests.conftest import API_TOKEN
from tests.helpers import flat, get_json, post

FRENCH = (" de ", " la ", " le ", " les ", " est ", "vous", "desole", "bonjour", "merci", "mutualis")

# (case name, message text) sent as a normal JSON body.
TEXTS: List[Tuple[str, Any]] = [
    ("empty", ""), ("spaces", "   "), ("newlines", "\n\n\t\n"), ("null message", None),
    ("10k characters", "mutualisation " * 800), ("100k characters", "a" * 100_000),
    ("emoji only", "😀😀😀"), ("flag emoji", "🇨🇦"), ("punctuation only", "?!?!..."),
    ("control characters", "allo\x00\x01\x02\x1b[31m toi"), ("zero-width", "\u200b\u200b\u200b"),
    ("bidi override", "\u202emutualisation"), ("NUL in the middle", "c'est quoi\x00 la mutualisation"),
    ("html img", "<img src=x onerror=alert(1)>"), ("script", "<script>alert('x')</script>"),
    ("sql-ish", "'; DROP TABLE events; --"), ("template braces", "{contact_email} {{7*7}} ${jndi:x}"),
    ("format string", "%s %n %x %(org_name)s"), ("path", "../../../../etc/passwd"),
    ("payload with slots", '/faq{"contact_email": "pirate@example.com"}'),
    ("payload unknown intent", '/pirate{"org_name": "Pirates"}'),
    ("payload inquiry slot", '/affirm{"inquiry_consent": true, "inquiry_email": "x@y.z"}'),
    ("payload confidence", "/greet@0.99"), ("payload restart", "/restart"), ("payload session", "/session_start"),
    ("payload only slashes", "////"), ("payload broken json", '/faq{"a": '), ("very long word", "x" * 3000),
    ("mixed scripts", "mutualisation 共享 مشاركة"), ("only digits", "123456789"),
    ("url", "https://example.com/?q=<script>"), ("email only", "quelqu.un@exemple.org"),
    ("english", "Hello, what is resource pooling?"), ("repeated", "allo " * 400),
]
# (case name, raw body bytes, content type) for malformed requests.
RAW: List[Tuple[str, bytes]] = [
    ("not json", b"hello"), ("truncated json", b'{"sender": "a", "message": "allo'),
    ("json array", b'["allo"]'), ("json string", b'"allo"'), ("json null", b"null"),
    ("missing sender", b'{"message": "allo"}'), ("empty sender", b'{"sender": "", "message": "allo"}'),
    ("numeric sender", b'{"sender": 42, "message": "allo"}'),
    ("very long sender", json.dumps({"sender": "s" * 5000, "message": "allo"}).encode()),
    ("message is a list", b'{"sender": "a", "message": ["allo"]}'),
    ("message is an object", b'{"sender": "a", "message": {"text": "allo"}}'),
    ("metadata not an object", b'{"sender": "a", "message": "allo", "metadata": "x"}'),
    ("invalid utf-8", b'{"sender": "a", "message": "caf\xe9 \xff\xfe"}'),
    ("oversized json", json.dumps({"sender": "a", "message": "allo", "pad": "x" * 2_000_000}).encode()),
    ("deep nesting", b'{"sender": "a", "message": "allo", "metadata": ' + b'{"a":' * 500 + b"1" + b"}" * 500 + b"}"),
]


def webhook(bot: Settings) -> str:
    return bot.rasa_url + "/webhooks/rest/webhook"


def assert_polite_or_clear(status: int, body: Any) -> None:
    if status == 413:  # over MUTU_MAX_BODY_BYTES: refused by the server before any parsing
        return
    if 400 <= status < 500:
        assert isinstance(body, dict) and body.get("error"), body
        return
    assert 200 <= status < 300, (status, body)
    assert isinstance(body, list) and body, body
    text = " " + flat(body)
    assert any(word in text for word in FRENCH), text[:200]


@pytest.mark.parametrize("name, text", TEXTS, ids=[t[0] for t in TEXTS])
def test_bad_text(bot: Settings, name: str, text: Any) -> None:
    sender = f"hard-{uuid.uuid4().hex[:10]}"
    status, body = post(webhook(bot), json.dumps({"sender": sender, "message": text}).encode())
    assert_polite_or_clear(status, body)
    assert "pirate" not in json.dumps(body).lower()


@pytest.mark.parametrize("name, raw", RAW, ids=[r[0] for r in RAW])
def test_bad_request_body(bot: Settings, name: str, raw: bytes) -> None:
    status, body = post(webhook(bot), raw)
    assert_polite_or_clear(status, body)


def test_server_is_still_up_and_no_typed_payload_set_a_slot(bot: Settings) -> None:
    sender = f"hard-{uuid.uuid4().hex[:10]}"
    for text in ('/faq{"contact_email": "pirate@example.com"}', '/affirm{"inquiry_consent": true}',
                 '/contact_human{"inquiry_email": "pirate@example.com"}', "/session_start"):
        status, _ = post(webhook(bot), json.dumps({"sender": sender, "message": text}).encode())
        assert status == 200
    slots: Dict[str, Any] = get_json(f"{bot.rasa_url}/conversations/{sender}/tracker", API_TOKEN)["slots"]
    assert "pirate" not in json.dumps(slots)
    assert slots.get("inquiry_consent") is None and slots.get("inquiry_email") is None
    status, body = post(webhook(bot), json.dumps({"sender": sender, "message": "c quoi une cuma"}).encode())
    assert status == 200 and "cuma" in flat(body)
