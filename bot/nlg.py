"""Response generation: Rasa's templated responses, with every name, address and link filled in
from bot/links.yml (and the MUTU_* overrides) when the server starts.

Answers write ``{contact_email}``, ``{org_name}``… ; these values are not slots, so no action
server call is needed to set them at the start of each conversation.

Links are written as markdown, ``[label](url)`` (the widget shows the label), and only when the
address is known: without one, the thing is named without a link, and a sentence that only makes
sense with an address (``{site_sentence}``) is left out. Numbers are written the French way, with
a non-breaking space between thousands (« 2 000 »).

What the inquiry's consent and confirmation promise depends on the settings in force: where a
confirmed inquiry goes (e-mail, webhook, the coordinator's console, or nowhere) and whether the
organisation set a response time. Those sentences are composed here, from the texts below.

Replies that are answers (an FAQ topic; facts and « ne précise pas » say so themselves with
:data:`ANSWER_MARK`) carry ``custom: {"mutu": {"kind": "answer"}}``, and the consent carries its
full text (``"details"``): the widget shows its 👍/👎 only under answers, and the consent's
details behind « Détails ». On the REST channel the ``custom`` part arrives as its own message,
right after the text it belongs to.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Text

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from bot import settings
from bot.settings import Links

NBSP = "\u00a0"
ANSWER_MARK = {"mutu": {"kind": "answer"}}  # json_message of the answers the answer action writes itself
CONSENT_RESPONSE = "utter_ask_inquiry_consent"

# --- the inquiry's promises, by where inquiries go (Settings.inquiry_routes) -------------------------
FIELDS = "votre nom, votre courriel, votre organisme (facultatif) et votre question"
ROUTE_HOW = {"email": "par courriel", "webhook": "par l'outil de suivi de {org_name}",
             "console": "dans la console de Mutu"}
ROUTE_DETAILS = {
    "email": "Ils sont envoyés par courriel à {coordinator_name}; ce courriel n'est pas touché par la "
             "suppression automatique de notre serveur.",
    "webhook": "Ils sont transmis à l'outil de suivi de {org_name}; la copie qu'il reçoit n'est pas touchée par "
               "la suppression automatique de notre serveur.",
    "console": "{coordinator_name} les consulte dans la console de Mutu, sur notre serveur.",
}
CONSENT_SENT = ("Je transmettrai " + FIELDS + " à {coordinator_name} ({org_name}), {how}.\n"
                "Notre copie est supprimée automatiquement {retention_days} jours après votre envoi; "
                "« Effacer la conversation » efface tout de suite celle de votre navigateur.")
CONSENT_UNSENT = ("Attention : aucun envoi n'est configuré pour l'instant. " + FIELDS[0].upper() + FIELDS[1:]
                  + " seraient seulement enregistrés ici, et personne n'en serait avisé.\n"
                  "Ils seraient supprimés automatiquement {retention_days} jours après votre envoi. Pour une "
                  "réponse, écrivez plutôt à {coordinator_name} : {contact_email}.")
DETAILS_SENT = "Ces renseignements servent uniquement à vous répondre. {routes}"
DETAILS_UNSENT = ("Pour l'instant, aucun envoi n'est configuré : votre demande serait seulement enregistrée sur "
                  "notre serveur, et personne n'en serait avisé. Pour une réponse, écrivez plutôt à "
                  "{coordinator_name} : {contact_email}.")
DETAILS = ("Ce que je vous demanderai : votre prénom et votre nom, votre courriel, votre organisme (facultatif) "
           "et votre question. {use} Ce que vous écrivez pendant cette demande n'est pas repris dans les "
           "statistiques de Mutu.\n"
           "Sur notre serveur, votre demande est supprimée automatiquement {retention_days} jours après votre "
           "envoi, et chaque message de notre conversation {retention_days} jours après avoir été écrit.\n"
           "Dans votre navigateur, chaque message s'efface {retention_days} jours après avoir été écrit, ou tout "
           "de suite avec « Effacer la conversation ».")
RECEIVED_SENT = ("{coordinator_name} la recevra {how} et pourra vous répondre à l'adresse courriel que vous avez "
                 "indiquée.")
RECEIVED_SENT_BY = ("{coordinator_name} la recevra {how} et vous répondra {response_time}, à l'adresse courriel que "
                    "vous avez indiquée.")
RECEIVED_UNSENT = ("Attention : aucun envoi n'est configuré, personne n'en est donc avisé pour l'instant. Pour une "
                   "réponse, écrivez à {coordinator_name} : {contact_email}.")


def french_number(value: int) -> str:
    """``2000`` → ``2 000`` (thousands separated by a non-breaking space)."""
    return f"{value:,}".replace(",", NBSP)


def _with_link(label: str, url: Optional[str]) -> str:
    return f"{label} ({url})" if url else label


def markdown_link(label: str, url: Optional[str]) -> str:
    """``[label](url)``, or the bare label when the address is not known."""
    return f"[{label}]({url})" if url else label


def french_list(items: Sequence[str]) -> str:
    """``a``, ``a et b``, ``a, b et c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " et " + items[-1]


def inquiry_values(links: Links, retention_days: int, routes: Sequence[str]) -> Dict[str, str]:
    """The consent (``consent_text``, ``consent_details``) and the end of the confirmation
    (``inquiry_next``), true for ``routes`` (:attr:`bot.settings.Settings.inquiry_routes`)."""
    names = {"org_name": links.org_name, "coordinator_name": links.coordinator_name,
             "coordinator_title": links.coordinator_title, "contact_email": links.coordinator_email,
             "retention_days": french_number(retention_days), "response_time": links.response_time or ""}
    if not routes:
        return {"consent_text": CONSENT_UNSENT.format(**names),
                "consent_details": DETAILS.format(use=DETAILS_UNSENT.format(**names), **names),
                "inquiry_next": RECEIVED_UNSENT.format(**names)}
    how = french_list([ROUTE_HOW[r].format(**names) for r in routes])
    use = DETAILS_SENT.format(routes=" ".join(ROUTE_DETAILS[r].format(**names) for r in routes))
    received = RECEIVED_SENT_BY if links.response_time else RECEIVED_SENT
    return {"consent_text": CONSENT_SENT.format(how=how, **names),
            "consent_details": DETAILS.format(use=use, **names),
            "inquiry_next": received.format(how=how, **names)}


def response_values(links: Links, retention_days: int, max_question_chars: int = 2000,
                    routes: Sequence[str] = ()) -> Dict[str, str]:
    """The variables the responses use, from the links file (and, for the inquiry's consent and
    confirmation, where inquiries go: none by default, as with the default settings)."""
    refs = links.references
    title = f"« {links.tiess_guide_title} »"
    guide = f"{title} du {links.tiess_guide_publisher}"
    site = f"le site de {links.org_name}"
    follow = f" Vous pouvez aussi suivre l'avancement des travaux sur {markdown_link(site, links.site_url)}."
    return {
        "org_name": links.org_name,
        "coordinator_name": links.coordinator_name,
        "coordinator_title": links.coordinator_title,
        "contact_email": links.coordinator_email,
        "tiess_guide_ref": markdown_link(guide, links.tiess_guide_url),
        "tiess_guide_title_ref": markdown_link(title, links.tiess_guide_url),
        # The organisation's site is not verified: no sentence at all until its address is set.
        "site_sentence": follow if links.site_url else "",
        "site_ref": _with_link(site, links.site_url),  # older callers; the responses use site_sentence
        "ref_cnrtl": markdown_link("CNRTL", refs.get("cnrtl")),
        "ref_larousse_mutualiser": markdown_link("Larousse", refs.get("larousse_mutualiser")),
        "ref_larousse_mutualisation": markdown_link("Larousse", refs.get("larousse_mutualisation")),
        "ref_petit_guide": markdown_link("site du RCAAQ", refs.get("petit_guide_orange")),
        "retention_days": french_number(retention_days),
        "max_question_chars": french_number(max_question_chars),
        **inquiry_values(links, retention_days, routes),
    }


def french_numbers(values: Dict[Text, Any]) -> Dict[Text, Any]:
    """Whole numbers passed to a response (``length=2255``) written the French way."""
    return {k: french_number(v) if isinstance(v, int) and not isinstance(v, bool) else v
            for k, v in values.items()}


class LinksNaturalLanguageGenerator(TemplatedNaturalLanguageGenerator):
    """Endpoints: ``nlg: {type: bot.nlg.LinksNaturalLanguageGenerator}``."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None,
                 domain: Optional[Domain] = None) -> None:
        super().__init__((domain or Domain.empty()).responses)
        conf = settings.load()
        self.values = response_values(conf.links, conf.retention_days, conf.max_question_chars,
                                      conf.inquiry_routes)

    def generate_from_slots(self, utter_action: Text, filled_slots: Dict[Text, Any],
                            output_channel: Text, **kwargs: Any) -> Optional[Dict[Text, Any]]:
        reply = super().generate_from_slots(utter_action, filled_slots, output_channel,
                                            **{**self.values, **french_numbers(kwargs)})
        if reply is not None:
            mark = reply_mark(utter_action, self.values)
            if mark:
                reply["custom"] = mark
        return reply


def reply_mark(utter_action: Text, values: Dict[str, str]) -> Optional[Dict[str, Any]]:
    """What the widget needs to know of a reply: an answer (feedback under it), the consent
    (its full text behind « Détails »), or nothing."""
    if utter_action.startswith("utter_faq/"):
        return ANSWER_MARK
    if utter_action == CONSENT_RESPONSE:
        return {"mutu": {"kind": "consent", "details": values["consent_details"]}}
    return None
