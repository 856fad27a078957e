"""Response generation: Rasa's templated responses, with every name, address and link filled in
from bot/links.yml (and the MUTU_* overrides) when the server starts.

Answers write ``{contact_email}``, ``{org_name}``… ; these values are not slots, so no action
server call is needed to set them at the start of each conversation.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import EndpointConfig

from bot import settings
from bot.settings import Links


def _with_link(label: str, url: Optional[str]) -> str:
    return f"{label} ({url})" if url else label


def response_values(links: Links, retention_days: int) -> Dict[str, str]:
    """The variables the responses use, from the links file."""
    refs = links.references
    guide = f"« {links.tiess_guide_title} » du {links.tiess_guide_publisher}"
    return {
        "org_name": links.org_name,
        "coordinator_name": links.coordinator_name,
        "coordinator_title": links.coordinator_title,
        "contact_email": links.coordinator_email,
        "tiess_guide_ref": _with_link(guide, links.tiess_guide_url),
        "site_ref": _with_link(f"le site de {links.org_name}", links.site_url),
        "ref_cnrtl": refs.get("cnrtl", "CNRTL"),
        "ref_larousse_mutualiser": refs.get("larousse_mutualiser", "Larousse"),
        "ref_larousse_mutualisation": refs.get("larousse_mutualisation", "Larousse"),
        "ref_petit_guide": refs.get("petit_guide_orange", "RCAAQ"),
        "retention_days": str(retention_days),
        "response_time": links.response_time,
    }


class LinksNaturalLanguageGenerator(TemplatedNaturalLanguageGenerator):
    """Endpoints: ``nlg: {type: bot.nlg.LinksNaturalLanguageGenerator}``."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None,
                 domain: Optional[Domain] = None) -> None:
        super().__init__((domain or Domain.empty()).responses)
        conf = settings.load()
        self.values = response_values(conf.links, conf.retention_days)

    def generate_from_slots(self, utter_action: Text, filled_slots: Dict[Text, Any],
                            output_channel: Text, **kwargs: Any) -> Optional[Dict[Text, Any]]:
        return super().generate_from_slots(utter_action, filled_slots, output_channel,
                                           **{**self.values, **kwargs})
