"""Attractor table: which answer Mutu chose for labelled questions, asked over HTTP one per fresh
conversation, and how often each answer is chosen for questions that belong to another topic.

    python -m bot.tools.attractors FILE.yml [FILE.yml …] --url http://127.0.0.1:5005 --token TOKEN

A FILE is a question set (``cases: [{topic, q}]``, as ../shared/eval/questions.dev.yml) or a
conversation set (``conversations: [{turns: [{say, expect}]}]``): only first turns whose
``expect`` is a single topic name are used (a later turn depends on its context). The answer is
read from the conversation's ``mutu_answer`` slot (Rasa's tracker API, hence the token).
"""
from __future__ import annotations

import argparse
import json
import urllib.request
import uuid
from collections import Counter, defaultdict
from typing import Dict, Iterable, List, Optional, Tuple

import yaml

from bot import knowledge as kb

# tests/questions.yml's short labels → FAQ topics.
LABELS = {"mutuelles": "mutuelles_quebec", "assurance": "mutuelle_assurance", "formation": "mutuelle_formation",
          "prevention": "mutuelle_prevention", "culture": "sector_culture", "agri": "sector_agri",
          "public": "sector_public", "formal": "formal_informal", "forms": "forms_list", "contrat": "form_contrat",
          "copro": "form_copropriete", "coentreprise": "form_coentreprise", "examples": "examples_list",
          "cdc": "example_cdc", "cantine": "example_cantine", "remplacement": "example_remplacement",
          "halte": "example_halte", "relait": "example_relait", "guide": "tiess_guide", "phases": "project_phases",
          "progress": "follow_progress", "committee": "steering_committee"}
# Replies that are not an answer of the knowledge (no ``mutu_answer``): left out of the table.
NOT_ANSWERS = {"greet", "thanks", "goodbye", "bot_challenge", "handoff", "out_of_scope"}


def labelled(path: str, topics: Iterable[str]) -> List[Tuple[str, str]]:
    """(expected topic, question) pairs of a question or conversation file."""
    spec = yaml.safe_load(open(path, encoding="utf-8"))
    known = set(topics)
    if "cases" in spec:  # {topic, q} (the shared set) or [label, q] (tests/questions.yml)
        pairs = [(item["topic"], item["q"]) if isinstance(item, dict) else (LABELS.get(item[0], item[0]), item[1])
                 for item in spec["cases"]]
        return [(topic, q) for topic, q in pairs if topic in known and topic not in NOT_ANSWERS]
    pairs = []
    for conv in spec.get("conversations") or []:
        turn = (conv.get("turns") or [{}])[0]
        expect = turn.get("expect")
        if isinstance(expect, str) and expect in known and expect not in NOT_ANSWERS:
            pairs.append((expect, turn["say"]))
    return pairs


def chosen_topic(answer: Optional[str], knowledge: kb.Knowledge) -> str:
    """The topic an answer key stands for: « topic:X:… » → X, « fact:thing:attr » → the thing's topic."""
    if not answer:
        return "(none)"
    parts = answer.split(":")
    if parts[0] == "topic":
        return parts[1]
    if parts[0] == "fact" and len(parts) > 1 and parts[1] in knowledge.things:
        return knowledge.things[parts[1]].topic
    return parts[0]  # dont_know, clarify, out_of_scope, …


def ask(url: str, token: str, text: str) -> Optional[str]:
    sender = f"attr-{uuid.uuid4().hex[:10]}"
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(f"{url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=30).read()
    with urllib.request.urlopen(f"{url}/conversations/{sender}/tracker?token={token}", timeout=30) as resp:
        return (json.load(resp).get("slots") or {}).get("mutu_answer")


def table(results: List[Tuple[str, str]]) -> List[Tuple[str, int, int, float]]:
    """(chosen topic, questions of other topics it took, questions of other topics, share)."""
    taken: Dict[str, int] = Counter(chosen for expected, chosen in results if chosen != expected)
    by_expected = Counter(expected for expected, _ in results)
    rows = []
    for topic, count in taken.most_common():
        others = len(results) - by_expected.get(topic, 0)
        rows.append((topic, count, others, count / max(others, 1)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--url", default="http://127.0.0.1:5005")
    ap.add_argument("--token", required=True)
    ap.add_argument("--topics", default="../shared/eval/questions.dev.yml")
    args = ap.parse_args()
    knowledge = kb.load()
    responses = yaml.safe_load(open("data/responses/faq.yml", encoding="utf-8"))["responses"]
    topics = set(yaml.safe_load(open(args.topics, encoding="utf-8"))["topics"]) | {
        key.split("/", 1)[1] for key in responses if key.startswith("utter_faq/")}
    results: List[Tuple[str, str]] = []
    wrong = defaultdict(list)
    for path in args.files:
        for expected, text in labelled(path, topics):
            chosen = chosen_topic(ask(args.url, args.token, text), knowledge)
            results.append((expected, chosen))
            if chosen != expected:
                wrong[chosen].append(f"{expected}: {text}")
    right = sum(e == c for e, c in results)
    print(f"{right}/{len(results)} questions answered with their own topic")
    print(f"{'chosen':24s} {'taken':>5s} {'of':>5s} {'share':>6s}")
    for topic, count, others, share in table(results):
        print(f"{topic:24s} {count:5d} {others:5d} {100 * share:5.1f}%")
        for line in wrong[topic][:6]:
            print(f"    {line[:110]}")


if __name__ == "__main__":
    main()
