"""Unit tests of the pure parts: text folding, settings, the message guard, the REST body check."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot import settings
from bot.channels import EMPTY_REPLY, RATE_REPLY, MessageGuard, RateLimiter, parse_rest_body
from bot.payloads import allowed_payloads
from bot.text import fold, has_letters, strip_control, words


def test_fold_removes_case_accents_and_ligatures() -> None:
    assert fold("Coopérative d’Œuvre À CÔTÉ") == "cooperative d'oeuvre a cote"


def test_words_split_elisions_and_hyphens_and_keep_offsets() -> None:
    text = "C'est l'Économie sociale-solidaire!"
    found = list(words(text))
    assert [w for w, _ in found] == ["c", "est", "l", "economie", "sociale", "solidaire"]
    assert [start for _, start in found] == [0, 2, 6, 8, 17, 25]


def test_strip_control_keeps_newlines() -> None:
    assert strip_control("a\x00b\u200bc\nd\te") == "abc\nd\te"
    assert not has_letters("🙂🙂 !!") and has_letters("ok 🙂")


def test_settings_defaults_and_overrides() -> None:
    conf = settings.load({})
    assert (conf.host, conf.rasa_port, conf.actions_port, conf.web_port) == ("127.0.0.1", 5005, 5055, 8000)
    assert conf.mail_to == conf.links.coordinator_email == "mobilisation@concertationhorizon.ca"
    assert conf.data_dir == (settings.ROOT / "var").resolve()
    assert conf.links.tiess_guide_url is None
    conf = settings.load({"MUTU_RASA_PORT": "6005", "MUTU_HOST": "0.0.0.0", "MUTU_MAIL_TO": "x@y.ca",
                          "MUTU_TIESS_GUIDE_URL": "https://example.org/guide", "MUTU_SMTP_TLS": "SSL"})
    assert (conf.rasa_port, conf.host, conf.mail_to, conf.smtp_tls) == (6005, "0.0.0.0", "x@y.ca", "ssl")
    assert conf.links.tiess_guide_url == "https://example.org/guide"


@pytest.mark.parametrize("env", [{"MUTU_RASA_PORT": "abc"}, {"MUTU_RASA_PORT": "70000"},
                                 {"MUTU_SMTP_TLS": "tls1.0"}])
def test_bad_settings_are_refused_clearly(env: dict) -> None:
    with pytest.raises(settings.SettingsError, match="MUTU_"):
        settings.load(env)


def guard(limit: int = 0, max_chars: int = 100) -> MessageGuard:
    return MessageGuard(allowed_payloads(), max_chars, RateLimiter(limit))


def test_guard_answers_empty_and_too_long_messages_directly() -> None:
    assert guard().check("s", "   \n ") == (None, EMPTY_REPLY)
    assert guard().check("s", None) == (None, EMPTY_REPLY)
    text, reply = guard(max_chars=100).check("s", "a" * 101)
    assert text is None and "trop long" in reply and "100" in reply


def test_guard_keeps_our_payloads_and_neutralises_others() -> None:
    assert guard().check("s", "/faq/form_contrat") == ("/faq/form_contrat", None)
    assert guard().check("s", "/contact_human") == ("/contact_human", None)
    assert guard().check("s", '/faq{"org_name": "x"}') == ('faq{"org_name": "x"}', None)
    assert guard().check("s", "/restart") == ("restart", None)
    assert guard().check("s", "///") == ("?", None)
    assert guard().check("s", "allo\x00 toi") == ("allo toi", None)


def test_rate_limiter_counts_per_sender_and_forgets_old_hits() -> None:
    limiter = RateLimiter(2, window=60)
    assert limiter.allow("a", 0) and limiter.allow("a", 1) and not limiter.allow("a", 2)
    assert limiter.allow("b", 2)
    assert limiter.allow("a", 62)
    g = guard(limit=1)
    g.check("z", "allo")
    assert g.check("z", "allo") == (None, RATE_REPLY)


@pytest.mark.parametrize("body, ok", [
    ({"sender": "a", "message": "allo"}, True),
    ({"sender": "a"}, True),
    ({"sender": "", "message": "allo"}, False),
    ({"message": "allo"}, False),
    ({"sender": "a" * 129, "message": "allo"}, False),
    ({"sender": 12, "message": "allo"}, False),
    ({"sender": "a", "message": ["allo"]}, False),
    ({"sender": "a", "message": "allo", "metadata": "x"}, False),
    ({"sender": "a", "message": "allo", "metadata": {"page": "/"}}, True),
    ({"sender": "a", "message": "allo", "metadata": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}}, False),
    ({"sender": "a", "message": "allo", "metadata": {"pad": "x" * 9000}}, False),
    (["allo"], False),
    ("allo", False),
    (None, False),
])
def test_parse_rest_body(body: object, ok: bool) -> None:
    fields, reason = parse_rest_body(body)
    assert (fields is not None) == ok and (reason is None) == ok


def test_no_address_or_link_is_written_outside_the_links_file() -> None:
    """Every name/address the bot quotes comes from bot/links.yml through slots."""
    from bot.payloads import load_responses
    for name, variations in load_responses()["responses"].items():
        for variation in variations:
            text = variation.get("text", "")
            for forbidden in ("@concertationhorizon", "http://", "https://", "Lapointe", "Concertation Horizon"):
                assert forbidden not in text, (name, forbidden)


def test_content_checks_pass() -> None:
    from bot.tools.validate import content_problems
    assert content_problems() == []


def test_links_file_is_readable_and_complete() -> None:
    links = settings.load_links({})
    assert links.coordinator_name == "Isabelle Lapointe"
    assert set(links.references) >= {"cnrtl", "larousse_mutualiser", "larousse_mutualisation",
                                     "petit_guide_orange"}
    assert Path(settings.LINKS_FILE).exists()


def test_a_ticket_is_served_once_every_earlier_ticket_expired() -> None:
    import time as _time

    from rasa.core.lock import Ticket, TicketLock

    from bot.locks import first_in_line
    now = _time.time()
    lock = TicketLock("c", [Ticket(1, now + 10), Ticket(2, now - 1)])
    assert not first_in_line(lock, 2)           # ticket 1 (a live server) goes first
    lock = TicketLock("c", [Ticket(1, now - 1), Ticket(2, now - 0.5)])
    assert first_in_line(lock, 2)               # both expired: Rasa would wait forever
