"""Keep it true: every text Mutu shows is checked, statically, against its content source.

A user-visible text (the responses and their button titles in domain.yml and data/responses/,
the reply strings of bot/channels.py, the coordinator's e-mail in bot/inquiries/delivery.py, the
texts of bot/knowledge.yml) may quote a number, a date, an e-mail address, a link or a proper name
(a capitalised word that does not start a sentence, an acronym) only when the infographic
(data/source/) or bot/links.yml has it, or tests/source_allowlist.yml lists it with its reason.
``{placeholders}`` are skipped: the response generator fills them from bot/links.yml.

Also checked: links are markdown and lead only to addresses of bot/links.yml; every FAQ answer
ends with its « Source : » line; a few French rules (« d'Isabelle », a space before « ? » and
« ! », « 2 000 » with a non-breaking space, « Non, merci »).

To check other versions of the files (an older wording, a draft):
    PYTHONPATH=. .venv/bin/python -m tests.test_source_check FILE.yml|FILE.py ...
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone

import pytest
import yaml

from bot import settings
from bot.checks import (  # noqa: F401 (the checks live in bot/checks.py, shared with the console)
    CHANNELS, DELIVERY, INFOGRAPHIC, KNOWLEDGE, ROOT, SECTIONS, SOURCE_DIR, SOURCE_README, VERIFIED_HEADING,
    all_texts, check_texts, french_problems, knowledge_texts, link_problems, main, python_texts, render,
    response_texts, source_line_problems, source_problems, values)
from bot.nlg import response_values

# --- tests --------------------------------------------------------------------------------------------
def test_the_source_is_in_the_project() -> None:
    text = INFOGRAPHIC.read_text("utf-8")
    assert "Collaboration entre Concertation Horizon et Annie Camus & Laurent Gras, UQAM" in text
    assert "Contactez-nous!" in text and VERIFIED_HEADING in SOURCE_README.read_text("utf-8")
    assert not list(SOURCE_DIR.rglob("*.yml")) and not list(SOURCE_DIR.rglob("*.yaml")), \
        "no YAML under data/source: Rasa would read it as training data"


def test_every_text_is_found_checked() -> None:
    texts = all_texts()
    places = {where.split(":")[0] for where, _ in texts}
    assert {"domain.yml", "faq.yml", "channels.py", "delivery.py"} <= places
    assert any(where.endswith("ERROR_REPLY") for where, _ in texts)
    assert any("Reçue" in text for where, text in texts if "email_body" in where)
    assert sum(":utter_faq/" in where for where, _ in texts) >= 30


def test_texts_quote_only_the_source_and_the_links_file() -> None:
    problems = [p for where, text in all_texts() for p in source_problems(where, text)]
    assert not problems, "\n".join(problems)


def test_links_are_markdown_to_addresses_of_the_links_file() -> None:
    problems = [p for where, text in all_texts() for p in link_problems(where, render(text))]
    assert not problems, "\n".join(problems)


def test_french() -> None:
    problems = [p for where, text in all_texts() for p in french_problems(where, render(text))]
    assert not problems, "\n".join(problems)


def test_every_faq_answer_ends_with_its_source() -> None:
    problems = [p for where, text in all_texts() if ":utter_faq/" in where and "(button)" not in where
                for p in source_line_problems(where, render(text))]
    assert not problems, "\n".join(problems)


def test_knowledge_names_the_infographic_sections() -> None:
    if not KNOWLEDGE.exists():
        pytest.skip("no bot/knowledge.yml")
    data = yaml.safe_load(KNOWLEDGE.read_text("utf-8")) or {}
    wrong = {key: thing.get("section") for key, thing in (data.get("things") or {}).items()
             if thing.get("section") and not set(thing["section"].split(", ")) <= set(SECTIONS)}
    assert not wrong, f"sections must be titles of the infographic {SECTIONS}: {wrong}"


def test_the_checks_catch_the_audited_wording() -> None:
    """The statements of the audit, and the French slips, are caught."""
    catches = {
        "Cette adresse courriel ne semble pas valide (exemple : prenom.nom@organisme.org).": "e-mail",
        "La coopérative d'activités et d'emploi (CAE) est un exemple de coentreprise.": "acronym",
        "les CUMA (coopératives d'utilisation de matériel agricole)": "expansion",
        "Le projet est dirigé par Marie Tremblay.": "name",
        "Elle comptait 130 membres.": "number",
        "Le deuxième volet (printemps 2024).": "date",
        "Consultez https://www.tiess.ca/guide pour en savoir plus.": "link",
    }
    for text, kind in catches.items():
        assert any(kind in p for p in source_problems("t", text)), text
    assert link_problems("t", "Voyez [le guide](https://exemple.ca/guide).")
    assert french_problems("t", "La coordination est de Isabelle Lapointe.")
    assert french_problems("t", "Acceptez-vous?")
    assert french_problems("t", "Votre question compte 2255 caractères, plus que les 2 000 permis.")
    assert french_problems("t", "Non merci")
    assert not french_problems("t", "Non, merci. Vous avez 2\u00a0255 caractères (automne 2023) ?")
    assert source_line_problems("t", "Oui : c'est répandu.")
    assert source_line_problems("t", "Texte.\nSource : infographie « La mutualisation », section Krump")
    assert not source_line_problems("t", "Texte.\nSource : infographie « La mutualisation », section Définitions, "
                                         "d'après le [Larousse](https://www.larousse.fr/)")


# --- what the response generator, the channels and the e-mail write ----------------------------------
def test_references_render_as_markdown_links() -> None:
    v = values()
    assert v["ref_cnrtl"] == "[CNRTL](https://www.cnrtl.fr/)"
    assert v["ref_larousse_mutualiser"] == "[Larousse](https://www.larousse.fr/dictionnaires/francais/mutualiser/53462)"
    assert v["ref_petit_guide"] == "[site du RCAAQ](http://petitguidemutualisation.rcaaq.org/)"
    assert v["tiess_guide_ref"] == "« 6 étapes pour un partage réussi » du TIESS"  # no address: no link
    assert v["site_sentence"] == ""  # the site is not verified: not a word about it
    assert v["max_question_chars"] == "2\u00a0000"


def test_the_site_and_the_guide_get_a_link_once_their_address_is_set() -> None:
    links = settings.load_links({"MUTU_SITE_URL": "https://site.example",
                                 "MUTU_TIESS_GUIDE_URL": "https://guide.example"})
    v = response_values(links, 90)
    assert v["site_sentence"] == (" Vous pouvez aussi suivre l'avancement des travaux sur "
                                  "[le site de Concertation Horizon](https://site.example).")
    assert v["tiess_guide_title_ref"] == "[« 6 étapes pour un partage réussi »](https://guide.example)"


def test_numbers_given_to_a_response_are_written_the_french_way() -> None:
    from rasa.shared.core.domain import Domain
    from bot.nlg import LinksNaturalLanguageGenerator
    from bot.payloads import load_responses
    nlg = LinksNaturalLanguageGenerator(domain=Domain.from_dict(load_responses()))
    reply = nlg.generate_from_slots("utter_question_too_long", {}, "rest", length=2255, limit=2000)
    assert "2\u00a0255 caractères" in reply["text"] and "la limite est de 2\u00a0000" in reply["text"]
    asked = nlg.generate_from_slots("utter_ask_inquiry_question", {}, "rest")
    assert f"{values()['max_question_chars']} caractères au plus" in asked["text"]


def test_the_technical_error_reply_gives_the_coordinators_address() -> None:
    from bot.channels import error_reply
    links = settings.load_links({})
    assert links.coordinator_email in error_reply() and "{" not in error_reply()


def test_the_coordinators_email_gives_quebec_time() -> None:
    from bot.inquiries.delivery import email_body, quebec_time
    from bot.inquiries.store import Inquiry
    moment = datetime(2026, 3, 12, 18, 5, tzinfo=timezone.utc).timestamp()  # EDT: UTC-4
    assert quebec_time(moment) == "le 12 mars 2026 à 14 h 05 (heure du Québec)"
    assert quebec_time(datetime(2026, 1, 1, 5, 0, tzinfo=timezone.utc).timestamp()) == \
        "le 1er janvier 2026 à 0 h (heure du Québec)"
    inquiry = Inquiry(id=1, reference="MUTU-2026-0001", created_at=moment, name="Léa Roy",
                      email="lea@example.org", organisation=None, question="Q", status="pending", attempts=0,
                      next_attempt_at=moment)
    body = email_body(inquiry)
    assert "Reçue le 12 mars 2026 à 14 h 05 (heure du Québec)" in body
    assert "UTC" not in body and "assistant mutualisation" not in body


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
