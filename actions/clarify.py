"""Low NLU confidence: after utter_clarify ("Vouliez-vous dire…"), the likeliest topics as buttons.

The wording lives in the domain; the rules decide when to give up (data/rules.yml).
"""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.topics import suggestions
from bot.payloads import button_labels

# Offered when no topic is likely enough, then always last: "none of these".
STARTERS = ["/faq/def_mutualisation", "/help"]
OTHER_BUTTON = {"title": "Autre chose", "payload": "/something_else"}


class ActionClarify(Action):
    def name(self) -> Text:
        return "action_clarify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        labels = button_labels(domain)
        buttons = suggestions(tracker.latest_message or {}, labels)
        if not buttons:
            buttons = [{"title": labels[p], "payload": p} for p in STARTERS if p in labels]
        dispatcher.utter_message(buttons=buttons + [OTHER_BUTTON])
        return []
