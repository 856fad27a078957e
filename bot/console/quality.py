"""The check a new model must pass before it is published: the project's own question set
(tests/questions.yml), read at the NLU level with the new model loaded in the training process.

Each case passes when the answer the model picks (``utter_faq/<topic>`` for the FAQ, else
``utter_<intent>``), with its button titles and the links-file values filled in, contains one
alternative of every group the question set expects, as the end-to-end test does over HTTP."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import yaml

from bot.text import fold


def responses(project: Path) -> Dict[str, List[Dict[str, Any]]]:
    found: Dict[str, List[Dict[str, Any]]] = {}
    for path in [project / "domain.yml"] + sorted((project / "data").rglob("*.yml")):
        if path.exists():
            found.update((yaml.safe_load(path.read_text("utf-8")) or {}).get("responses") or {})
    return found


def next_actions(project: Path) -> Dict[str, str]:
    """Intent → the response the rules give it first: an ``utter_`` response, the first question
    of a form (``utter_ask_<slot>``), or ``faq`` for the answer action (it reads the selector)."""
    domain = yaml.safe_load((project / "domain.yml").read_text("utf-8")) or {}
    forms = domain.get("forms") or {}
    found: Dict[str, str] = {}
    for path in sorted((project / "data").rglob("*.yml")):
        for rule in (yaml.safe_load(path.read_text("utf-8")) or {}).get("rules") or []:
            steps = rule.get("steps") or []
            for step, following in zip(steps, steps[1:]):
                intent, action = step.get("intent"), following.get("action") or ""
                if not intent or not action or intent in found or rule.get("condition"):
                    continue
                if action.startswith("utter_"):
                    found[intent] = action
                elif action in forms and (forms[action] or {}).get("required_slots"):
                    found[intent] = f"utter_ask_{forms[action]['required_slots'][0]}"
                elif action.startswith("action_"):
                    found[intent] = "faq"
    return found


def response_for(parse: Dict[str, Any], rules: Dict[str, str]) -> List[str]:
    """The responses the bot may give to this parse (the answer action picks among them)."""
    intent = (parse.get("intent") or {}).get("name") or ""
    key = (((parse.get("response_selector") or {}).get("faq") or {}).get("response") or {}) \
        .get("intent_response_key") or ""
    selected = [f"utter_{key}"] if key else []
    if intent == "faq":
        return selected
    target = rules.get(intent, f"utter_{intent}")
    return [f"utter_{intent}"] + selected if target == "faq" else [target]


def shown(name: str, known: Dict[str, List[Dict[str, Any]]]) -> str:
    from bot.checks import render
    parts: List[str] = []
    for variant in known.get(name) or []:
        parts.append(render(str(variant.get("text") or "")))
        parts += [str(b.get("title") or "") for b in variant.get("buttons") or []]
    return fold(" ".join(parts))


def passes(text: str, groups: Sequence[Sequence[str]]) -> bool:
    return all(any(fold(alt) in text for alt in group) for group in groups)


def evaluate(model: Path, project: Path, questions: Path) -> Tuple[float, List[str]]:
    """(accuracy, failures) of ``model`` on the question set."""
    from rasa.core.agent import Agent
    cases = yaml.safe_load(questions.read_text("utf-8"))
    known, rules = responses(project), next_actions(project)
    agent = Agent.load(str(model))

    async def parse_all() -> List[Dict[str, Any]]:
        return [await agent.parse_message(question) for _topic, question in cases["cases"]]
    parses = asyncio.run(parse_all())
    failures = []
    for (topic, question), parse in zip(cases["cases"], parses):
        names = response_for(parse, rules)
        if not any(passes(shown(name, known), cases["topics"][topic]) for name in names):
            failures.append(f"[{topic}] « {question} » → {' / '.join(names) or 'aucune réponse'}")
    return 1 - len(failures) / max(len(cases["cases"]), 1), failures
