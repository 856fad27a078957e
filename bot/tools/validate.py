"""`make validate`: Rasa's own data validation with warnings treated as errors, plus the
project's content checks (every FAQ topic has examples, an answer and a button label)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import yaml

from bot.payloads import button_labels, load_responses
from bot.settings import ROOT

# Rasa 3.6 itself merges the retrieval intent of the NLU data into the domain and warns that
# `faq` is then listed twice; listing it in domain.yml is required, so this one is expected.
KNOWN_WARNINGS = [re.compile(r"duplicated intents have been found across multiple domain files: faq$")]
MIN_EXAMPLES = 15


def nlu_examples(root: Path = ROOT) -> Dict[str, List[str]]:
    """Intent (``faq/topic`` for retrieval intents) → its training examples."""
    examples: Dict[str, List[str]] = {}
    for path in sorted((root / "data" / "nlu").glob("*.yml")):
        for block in (yaml.safe_load(path.read_text("utf-8")) or {}).get("nlu") or []:
            if "intent" in block:
                lines = [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]
                examples.setdefault(block["intent"], []).extend(lines)
    return examples


def content_problems(root: Path = ROOT) -> List[str]:
    """Problems no Rasa check catches: thin topics, answers or labels missing, dead buttons."""
    examples = nlu_examples(root)
    domain = yaml.safe_load((root / "domain.yml").read_text("utf-8"))
    responses = load_responses(root)["responses"]
    labels = button_labels({"responses": responses})
    topics = {name for name in examples if name.startswith("faq/")}
    intents: Set[str] = set(domain.get("intents") or [])
    problems = []
    for name, lines in sorted(examples.items()):
        if len(set(lines)) < MIN_EXAMPLES:
            problems.append(f"{name}: {len(set(lines))} distinct examples, want at least {MIN_EXAMPLES}")
    for topic in sorted(topics):
        if f"utter_{topic}" not in responses:
            problems.append(f"{topic}: no response utter_{topic}")
        if f"/{topic}" not in labels:
            problems.append(f"{topic}: no button points to it, so it has no label for suggestions")
    for payload in sorted(p for p in labels if p.startswith("/")):
        target = payload[1:]
        if target not in topics and target not in intents:
            problems.append(f"button payload {payload} targets nothing")
    return problems


UNUSED_UTTERANCE = re.compile(r"The utterance '(utter_[\w/]+)' is not used in any story or rule\.")


def used_outside_stories(root: Path = ROOT) -> Set[str]:
    """Responses Rasa's validator cannot see in use: uttered by custom actions, or the
    ``utter_ask_<slot>`` questions forms ask by themselves."""
    code = "\n".join(p.read_text("utf-8") for p in (root / "actions").glob("*.py"))
    used = set(re.findall(r'response="(utter_[\w/]+)"', code))
    used |= set(re.findall(r'response=f"(utter_\w+)/', code))  # a retrieval intent's responses
    domain = yaml.safe_load((root / "domain.yml").read_text("utf-8"))
    for form in (domain.get("forms") or {}).values():
        used |= {f"utter_ask_{slot}" for slot in form.get("required_slots") or []}
    return used


def expected(warning: str, used: Set[str]) -> bool:
    match = UNUSED_UTTERANCE.search(warning)
    return any(k.search(warning) for k in KNOWN_WARNINGS) or bool(match and match.group(1) in used)


def rasa_validate() -> List[str]:
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false")
    proc = subprocess.run([sys.executable, "-m", "rasa", "data", "validate", "--fail-on-warnings"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    print(output[-4000:])
    warnings = [line.split("UserWarning:", 1)[1].strip() for line in output.splitlines() if "UserWarning:" in line]
    used = used_outside_stories()
    problems = [w for w in warnings if not expected(w, used)]
    if proc.returncode != 0:
        problems.append(f"rasa data validate exited with {proc.returncode}")
    return problems


def main() -> int:
    problems = content_problems() + rasa_validate()
    for problem in problems:
        print(f"VALIDATION: {problem}", file=sys.stderr)
    print("validation: %s" % ("FAILED" if problems else "ok, no warnings"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
