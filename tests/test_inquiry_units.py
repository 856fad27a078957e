"""The inquiry parts without Rasa: validation helpers, the outbox, the e-mail and webhook bodies."""
from __future__ import annotations

import io
import json
import sqlite3
import time
from pathlib import Path

import pytest

from actions.inquiry import fields_to_edit, find_email, valid_email, valid_name
from bot import settings
from bot.inquiries import cli
from bot.inquiries.delivery import build_email, redact_email, sign, webhook_request
from bot.text import one_line
from bot.inquiries.store import NewInquiry, OutboxStore, conversation_key
from bot.inquiries.worker import backoff


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
