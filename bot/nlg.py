"""Response generation: Rasa's templated responses, with every name, address and link filled in
from bot/links.yml (and the MUTU_* overrides) when the server starts.

Answers write ``{contact_email}``, ``{org_name}``… ; these values are not slots, so no action
server call is needed to set them at the start of each conversation.

Links are written as markdown, ``[label](url)`` (the widget shows the label), and only when the
address is known: without one, the thing is named without a link, and a sentence that only makes
sense with an address (``{site_sentence}``) is left out. Numbers are written the French way, with
a non-breaking space between thousands (« 2 000 »).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from bot import settings
from bot.settings import Links

NBSP = "\u00a0"


def french_number(value: int) -> str:
    """``2000`` → ``2 000`` (thousands separated by a non-breaking space)."""
    return f"{value:,}".replace(",", NBSP)


def _with_link(label: str, url: Optional[str]) -> str:
    return f"{label} ({url})" if url else label


def markdown_link(label: str, url: Optional[str]) -> str:
    """``[label](url)``, or the bare label when the address is not known."""
    return f"[{label}]({url})" if url else label


def response_values(links: Links, retention_days: int, max_question_chars: int = 2000) -> Dict[str, str]:
    """The variables the responses use, from the links file."""
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
        "response_time": links.response_time,
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
        self.values = response_values(conf.links, conf.retention_days, conf.max_question_chars)

    def generate_from_slots(self, utter_action: Text, filled_slots: Dict[Text, Any],
                            output_channel: Text, **kwargs: Any) -> Optional[Dict[Text, Any]]:
        return super().generate_from_slots(utter_action, filled_slots, output_channel,
                                           **{**self.values, **french_numbers(kwargs)})
