"""The form's value readers (bot/form_values.py), without Rasa: names, addresses, organisations,
questions, corrections, leaving, privacy and writing requests — every verbatim case of issue #17."""
from __future__ import annotations

import subprocess
import sys
import pytest

from bot.form_values import (EMAIL, NAME, ORGANISATION, QUESTION, asks_to_write, correction_value_text,
                             find_email, is_privacy_question, privacy_text, read_correction, read_email,
                             read_name, read_organisation, read_question, wants_to_leave)


@pytest.mark.parametrize("text, name", [
    ("Je m'appelle Josée Gagnon-Roy", "Josée Gagnon-Roy"),
    ("My name is Sarah O'Connor", "Sarah O'Connor"),
    ("moi c'est Martin Bouchard", "Martin Bouchard"),
    ("c'est Nathalie Côté", "Nathalie Côté"),
    ("Mon nom est Pierre-Luc D'Amours", "Pierre-Luc D'Amours"),
    ("Name's Kevin McDonald", "Kevin McDonald"),
    ("sylvie bergeron ici", "sylvie bergeron"),
    ("Bonjour, c'est Réjean St-Pierre", "Réjean St-Pierre"),
    ("ok ben Roxanne Fortin", "Roxanne Fortin"),
    ("marie-eve l'heureux", "marie-eve l'heureux"),
    ("Oui, c'est Marie Roy, merci!", "Marie Roy"),
    ("Je m'appelle Josée Gagnon-Roy, je travaille à la CDC de Magog", "Josée Gagnon-Roy"),
    ("Jean de la Fontaine", "Jean de la Fontaine"),
    ("Zoé Côté-Bélanger", "Zoé Côté-Bélanger"),
    ("Anne B. Roy", "Anne B. Roy"), ("Anne A. Roy", "Anne A. Roy"),
    ("Je suis Marie Roy de la CDC du Granit", "Marie Roy"), ("Tremblay, Marie", "Tremblay, Marie"),
    ("Luc Gagnon de Coopérative Agricole", "Luc Gagnon"), ("Jean St. Pierre.", "Jean St. Pierre"),
])
def test_a_name_is_read_without_its_lead_in(text: str, name: str) -> None:
    assert read_name(text).kind == "value"
    assert read_name(text).value == name


@pytest.mark.parametrize("text", [
    "pourquoi vous avez besoin de mon nom?", "c'est quoi la cantine pour tous?", "/faq/form_contrat",
    "/faq/examples_list", "bonjour", "non", "euh", "je sais pas", "attends, c'est quoi déjà la mutualisation?",
    "en fait laissez faire, je vais juste lui écrire moi-même", "Je peux laisser ma question à quelqu'un?",
    "le contrat", "la coentreprise",
])
def test_what_is_not_a_name_is_never_a_name(text: str) -> None:
    assert read_name(text).value is None


@pytest.mark.parametrize("text, address", [
    ("josee.gr@cdc-magog.org", "josee.gr@cdc-magog.org"),
    ("mon courriel c'est martin.bouchard@videotron.ca merci", "martin.bouchard@videotron.ca"),
    ("NATHALIE.COTE@HOTMAIL.COM", "NATHALIE.COTE@HOTMAIL.COM"),
    ("pl.damours@gmail.com.", "pl.damours@gmail.com"),
    ("Courriel: FGOSSELIN@DERYTELE.COM.", "FGOSSELIN@DERYTELE.COM"),
    ("vous pouvez m'écrire à rejean.stpierre@gmail.com", "rejean.stpierre@gmail.com"),
    ("oups je me suis trompé, c'est marcandre.tremblay@gmail.com", "marcandre.tremblay@gmail.com"),
    ("<marc@exemple.org>", "marc@exemple.org"),
    ("marc (arobase) exemple.org", "marc@exemple.org"),
    ("marie point roy arobase gmail point com", "marie.roy@gmail.com"),
    ("écrivez-moi au luc@exemple.org svp", "luc@exemple.org"), ("ok. eric.belanger@uqar.ca", "eric.belanger@uqar.ca"),
])
def test_an_address_is_found_anywhere_in_the_message(text: str, address: str) -> None:
    assert read_email(text).kind == "value" and read_email(text).value == address


@pytest.mark.parametrize("text, kind", [
    ("marc.gagnon(at)exemple", "invalid"), ("marie roy@gmail.com", "invalid"),
    ("melanie.pelletier.videotron.ca", "invalid"), ("marie@", "invalid"),
    ("en fait laissez faire, je vais juste lui écrire moi-même", "other"), ("non merci, j'arrête là", "other"),
    ("attendez, est-ce que mes données vont être partagées?", "other"), ("/faq/form_contrat", "other"),
])
def test_a_message_without_an_address_is_invalid_or_not_a_value(text: str, kind: str) -> None:
    assert read_email(text).kind == kind


def test_find_email_needs_a_well_formed_address() -> None:
    assert find_email("c'est marie.t@exemple.org merci.") == "marie.t@exemple.org"
    assert find_email("pas de courriel") is None and find_email("a@b") is None


@pytest.mark.parametrize("text, organisation", [
    ("je travaille à la CDC de Magog", "CDC de Magog"),
    ("pour la Coop de solidarité du Haut-Richelieu", "Coop de solidarité du Haut-Richelieu"),
    ("je travaille au Centre d'action bénévole de Rimouski", "Centre d'action bénévole de Rimouski"),
    ("je suis avec la Table de concertation des aînés de la Matawinie",
     "Table de concertation des aînés de la Matawinie"),
    ("je suis coordonnatrice à la Maison des jeunes de Coaticook", "Maison des jeunes de Coaticook"),
    ("CDC des Jardins", "CDC des Jardins"), ("La Halte", "La Halte"), ("UQAR", "UQAR"),
    ("Pôle d'économie sociale de l'Estrie", "Pôle d'économie sociale de l'Estrie"),
])
def test_an_organisation_is_read_without_its_lead_in(text: str, organisation: str) -> None:
    reading = read_organisation(text)
    assert (reading.kind, reading.value) == ("value", organisation)


@pytest.mark.parametrize("text", [
    "pas d'organisme", "je suis citoyenne", "à mon compte, je suis consultant", "passer", "aucun", "n/a", "skip",
    "non j'en ai pas", "je suis citoyenne, pas d'organisme", "j'écris à titre personnel", "aucun finalement",
    "je préfère ne pas le dire", "je suis retraitée", "travailleuse autonome",
    "l'organisme c'est pas ça, j'ai pas d'organisme, je suis citoyenne",
])
def test_no_organisation_in_words_is_none(text: str) -> None:
    assert read_organisation(text).kind == "none"


@pytest.mark.parametrize("text", [
    "/faq/form_contrat", "/faq/def_mutualisation", "oups je me suis trompé, c'est marcandre.tremblay@gmail.com",
    "pourquoi vous voulez savoir ça?", "c'est quoi une coop d'employeurs au juste?",
])
def test_what_is_not_an_organisation_is_never_stored_as_one(text: str) -> None:
    assert read_organisation(text).kind == "other"


def test_a_question_is_kept_as_written_but_never_a_button_or_an_edit_request() -> None:
    assert read_question("Ma question : est-ce que le guide existe en papier?", 2000).value == \
        "est-ce que le guide existe en papier?"
    assert read_question("ma question c'est comment partager un local", 2000).value == \
        "ma question c'est comment partager un local"
    assert read_question("/faq/tiess_guide", 2000).kind == "other"
    assert read_question("modifier ma question", 2000).kind == "other"
    assert read_question("euh", 2000).kind == "invalid"
    assert read_question("x" * 50, 20).kind == "invalid"


@pytest.mark.parametrize("text, field, value_text", [
    ("Le nom est faux, c'est Karine Dubé", NAME, "c'est Karine Dubé"),
    ("le nom est pas complet, c'est Marc-André Côté", NAME, "c'est Marc-André Côté"),
    ("mon nom c'est pas ça, c'est Hélène Dufresne", NAME, "c'est Hélène Dufresne"),
    ("oups mon nom c'est Stéphanie Roussel", NAME, "c'est Stéphanie Roussel"),
    ("oups, mon courriel c'est luc@exemple.org", EMAIL, "c'est luc@exemple.org"),
    ("l'organisme c'est pas ça, j'ai pas d'organisme, je suis citoyenne", ORGANISATION,
     "j'ai pas d'organisme, je suis citoyenne"),
    ("attends, l'organisme c'est pas ça, c'est la CDC des Sources", ORGANISATION, "c'est la CDC des Sources"),
    ("l'organisme c'est la CDC Montcalm, pas Montréal", ORGANISATION, "c'est la CDC Montcalm, pas Montréal"),
    ("change ma question pour : est-ce qu'il existe une coop?", QUESTION, "est-ce qu'il existe une coop?"),
    ("modifier mon nom", NAME, ""),
    ("le nom de l'organisme c'est Moisson Estrie", ORGANISATION, "c'est Moisson Estrie"),
    ("Mettez plutôt mon nom au complet : Jean-François Pagé-Lemire", NAME, "Jean-François Pagé-Lemire"),
    ("mon nom au complet c'est Anne-Marie Lévesque-Ouellet", NAME, "c'est Anne-Marie Lévesque-Ouellet"),
])
def test_corrections_name_their_field_and_keep_the_new_value(text: str, field: str, value_text: str) -> None:
    found = read_correction(text)
    assert found is not None and found.field == field
    assert correction_value_text(found.rest) == value_text


@pytest.mark.parametrize("text", ["Je peux laisser ma question à quelqu'un?", "Julie Bédard", "envoie ma question",
                                  "oui c'est beau, envoyez ma demande",
                                  "pourquoi vous avez besoin de mon nom?", "/edit_inquiry",
                                  "Quelle est l'adresse de la Cantine pour tous?"])
def test_not_a_correction(text: str) -> None:
    assert read_correction(text) is None


@pytest.mark.parametrize("text, leaves", [
    ("en fait laissez faire, je vais juste lui écrire moi-même", True), ("non merci, j'arrête là", True),
    ("ah pis laissez faire", True), ("oublie ça", True), ("STOP", True), ("cancel", True),
    ("c'est ben trop compliqué votre affaire, laissez faire", True),
    ("ah pis je vais lui écrire moi-même finalement", True),
    ("je vais plutôt lui téléphoner", True), ("bof, laisse tomber", True),
    ("Marie Roy", False), ("passer", False), ("/cancel", False), ("comment arrêter une entente?", False),
])
def test_leaving_in_words(text: str, leaves: bool) -> None:
    assert wants_to_leave(text) is leaves


@pytest.mark.parametrize("text, privacy", [
    ("attendez, est-ce que mes données vont être partagées avec d'autres organismes?", True),
    ("pourquoi vous avez besoin de mon nom?", True), ("qu'est-ce que vous faites avec mes infos?", True),
    ("pourquoi faut que je donne mon courriel, c'est pas de vos affaires", True),
    ("combien de temps vous gardez mes renseignements?", True), ("qui va lire mon message?", True),
    ("Marie Roy", False), ("c'est quoi la mutualisation?", False),
])
def test_privacy_questions(text: str, privacy: bool) -> None:
    assert is_privacy_question(text) is privacy


def test_the_privacy_answer_is_the_consent_text_without_its_question() -> None:
    consent = ("Je peux transmettre votre question. Ils servent à vous répondre. Ils sont supprimés après "
               "{retention_days} jours. Acceptez-vous ?")
    assert privacy_text(consent) == "Ils servent à vous répondre. Ils sont supprimés après {retention_days} jours."


@pytest.mark.parametrize("text", [
    "Je peux laisser ma question à quelqu'un?", "je voudrais laisser un mot à madame Lapointe",
    "pouvez-vous faire passer ma question à la responsable?", "Comment je fais pour écrire à Isabelle Lapointe?",
    "j'aimerais joindre Isabelle par écrit", "envoyez un mot à Concertation Horizon pour moi",
    "I'd like to write to someone at Concertation Horizon", "j'aurais besoin d'un contact humain",
    "J'aimerais qu'Isabelle Lapointe me contacte", "j'ai une question pour la coordonnatrice",
    "je voudrais demander quelque chose à la coordonnatrice", "Can I leave a message for Isabelle?",
    "est-ce que quelqu'un de Concertation Horizon pourrait m'écrire?", "Can someone from your team email me?",
    "J'aimerais que la coordonnatrice sache qu'on veut participer", "pouvez-vous l'aviser qu'on est intéressés?",
    "faudrait informer Isabelle de notre projet",
])
def test_every_way_of_asking_to_write_to_her(text: str) -> None:
    assert asks_to_write(text)


@pytest.mark.parametrize("text", ["c'est qui la coordonnatrice", "qui est Isabelle Lapointe",
                                  "est-ce que quelqu'un peut m'expliquer la coentreprise?",
                                  "c'est quoi la mutualisation", "parlez-moi de la coordonnatrice",
                                  "/contact_human", "la Halte, elle sait combien de membres elle a?"])
def test_asking_about_her_is_not_writing_to_her(text: str) -> None:
    assert not asks_to_write(text)


def test_the_readers_import_neither_rasa_nor_rasa_sdk() -> None:
    code = ("import sys, bot.form_values; "
            "sys.exit(any(m.split('.')[0] in ('rasa', 'rasa_sdk') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_a_correction_that_states_the_value_with_est_keeps_only_the_value() -> None:
    from bot.form_values import correction_value_text, read_correction
    found = read_correction("mon nom est Josée Gagnon-Roy")
    assert found is not None and found.field == "inquiry_name"
    assert correction_value_text(found.rest) == "Josée Gagnon-Roy"


@pytest.mark.parametrize("text", ["Confirmer", "confirmer", "Annuler", "ok", "Merci"])
def test_a_button_word_typed_alone_is_never_a_name(text: str) -> None:
    assert read_name(text).kind == "other"


def test_a_name_given_after_a_sentence_is_read_and_an_organisation_may_hold_capitalised_small_words() -> None:
    assert read_name("attendez je vous ai pas donné mon nom. C'est Karine Dubé").value == "Karine Dubé"
    assert read_name("je veux pas donner mon nom").kind == "other"
    assert read_name("je voulais savoir un truc. c'est important").kind == "other"
    assert read_organisation("CPE Les Petits Pas").value == "CPE Les Petits Pas"
    assert read_organisation("je sais pas").kind != "value"


@pytest.mark.parametrize("text, expected", [
    ("Juste avant : c'est quoi exactement une coentreprise?", None),
    ("Franchement, c'est bien compliqué juste pour poser une question", None),
    ("C'est Ginette Morin qui vous écrit", "Ginette Morin"),
    ("Marie Roy, de la CDC du Granit", "Marie Roy"),
])
def test_a_word_before_a_sentence_is_no_name_and_a_trailing_qui_vous_ecrit_is_dropped(text: str, expected) -> None:
    assert read_name(text).value == expected


def test_no_organisation_in_english() -> None:
    assert read_organisation("No organization, just me").kind == "none"


def test_an_organisation_introduced_by_its_name_verb() -> None:
    assert read_organisation("l'organisme s'appelle Entraide Lotbinière").value == "Entraide Lotbinière"


@pytest.mark.parametrize("text, question", [
    ("euh je voulais voir le contrat. Bon, ma question: est-ce qu'un contrat de prêt doit être notarié?",
     "est-ce qu'un contrat de prêt doit être notarié?"),
    ("ma question c'est pas ça! Ma question: peut-on partager des données clients entre deux coops?",
     "peut-on partager des données clients entre deux coops?"),
    ("Je voudrais savoir si Concertation Horizon peut nous aider à trouver des partenaires.",
     "Je voudrais savoir si Concertation Horizon peut nous aider à trouver des partenaires."),
])
def test_a_question_stated_as_such_is_found_anywhere(text: str, question: str) -> None:
    from bot.form_values import stated_question
    assert stated_question(text) == question
    assert read_question(text, 2000).value == question


@pytest.mark.parametrize("text", ["c'est beau, envoie", "Confirmer", "passer", "ok merci",
                                  "ma question c'est pas ça!"])
def test_a_word_to_the_form_is_not_a_question(text: str) -> None:
    from bot.form_values import stated_question
    assert read_question(text, 2000).kind == "other"
    assert stated_question(text) is None
