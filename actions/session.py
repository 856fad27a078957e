"""Session start: fills the slots that carry every name and address from bot/links.yml."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import settings
from bot.settings import Links


def _with_link(label: str, url: Optional[str]) -> str:
    return f"{label} ({url})" if url else label


def link_slots(links: Links, retention_days: int = 90) -> Dict[str, str]:
    """The slot values the responses interpolate ({org_name}, {contact_email}, ...)."""
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
    }


class ActionSessionStart(Action):
    def name(self) -> Text:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        conf = settings.load()
        events: List[EventType] = [SessionStarted()]
        events += [SlotSet(name, value) for name, value in link_slots(conf.links, conf.retention_days).items()]
        events.append(ActionExecuted("action_listen"))
        return events
