"""Pure helpers about topics: their short labels and the ranking of likely topics."""
from __future__ import annotations

from typing import Any, Dict, List, Tuple


# Besides FAQ topics, the only intents worth suggesting in a "Vouliez-vous dire…" list.
SUGGESTED_INTENTS = {"help", "contact_human"}


def ranked_payloads(parse_data: Dict[str, Any]) -> List[Tuple[str, float]]:
    """Candidate payloads with a score, best first, from an NLU parse (intents and FAQ topics)."""
    scores: Dict[str, float] = {}
    faq_confidence = 0.0
    for intent in parse_data.get("intent_ranking") or []:
        name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
        if name == "faq":
            faq_confidence = confidence
        elif name in SUGGESTED_INTENTS:
            scores[f"/{name}"] = confidence
    selector = (parse_data.get("response_selector") or {}).get("faq") or {}
    for topic in selector.get("ranking") or []:
        key = topic.get("intent_response_key")
        if key:
            scores[f"/{key}"] = faq_confidence * float(topic.get("confidence") or 0.0)
    return sorted(scores.items(), key=lambda item: item[1], reverse=True)


def suggestions(parse_data: Dict[str, Any], labels: Dict[str, str], limit: int = 3,
                min_score: float = 0.05) -> List[Dict[str, str]]:
    """Up to ``limit`` buttons for the likeliest topics that have a label."""
    chosen = [payload for payload, score in ranked_payloads(parse_data)
              if score >= min_score and payload in labels][:limit]
    return [{"title": labels[payload], "payload": payload} for payload in chosen]
