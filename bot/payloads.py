"""The quick-reply payloads the bot itself offers: the only ``/…`` texts a user may send."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable

import yaml

from bot.settings import ROOT

# Payloads our own code sends besides response buttons: the widget's welcome and the
# "Autre chose" choice added by the clarification action.
EXTRA_PAYLOADS = frozenset({"/greet", "/something_else"})


def button_labels(domain: Dict[str, Any]) -> Dict[str, str]:
    """Map every button payload of ``domain``'s responses to its title (first one wins)."""
    labels: Dict[str, str] = {}
    for variations in (domain.get("responses") or {}).values():
        for variation in variations or []:
            for button in variation.get("buttons") or []:
                labels.setdefault(button["payload"], button["title"])
    return labels


def response_files(root: Path = ROOT) -> Iterable[Path]:
    yield root / "domain.yml"
    yield from sorted((root / "data").rglob("*.yml"))


def load_responses(root: Path = ROOT) -> Dict[str, Any]:
    """All responses of the domain and of the training data files, as one domain-like dict."""
    responses: Dict[str, Any] = {}
    for path in response_files(root):
        content = yaml.safe_load(path.read_text("utf-8")) or {}
        responses.update(content.get("responses") or {})
    return {"responses": responses}


def allowed_payloads(root: Path = ROOT) -> FrozenSet[str]:
    return frozenset(button_labels(load_responses(root))) | EXTRA_PAYLOADS
