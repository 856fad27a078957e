"""Plays whole conversations (tests/conversations.yml) and long questions (tests/long_questions.yml)
against a running bot over REST, checking every turn. Used by the tests and by hand:

    python -m tests.conv_player tests/conversations.yml --url http://127.0.0.1:5005 --show-failures
    python -m tests.conv_player tests/long_questions.yml --url http://127.0.0.1:5005
"""
from __future__ import annotations

import argparse
import re
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import yaml

from tests.helpers import Conversation, flat

MAX_REPLY_CHARS = 1500
CONTACT = ["coordonnatrice", "mobilisation@", "isabelle lapointe", "ecrire a"]
SUMMARY = ["confirmer"]
NOT_FORM = ["acceptez-vous", "consentez"] + SUMMARY
# What each behaviour must (all groups) and must not (none) say, folded.
BEHAVIOURS: Dict[str, Dict[str, Any]] = {
    "dont_know": {"all": [["ne precise pas", "ne le precise pas", "n'en parle pas", "ne dit pas", "n'en dit pas",
                           "ne mentionne pas", "n'indique pas", "ne donne pas", "pas cette information",
                           "ne nomme pas", "ne sais pas", "pas d'information"], CONTACT],
                  "none": ["seulement aux questions", "uniquement aux questions", "hors sujet", "hors de mon"]},
    "clarify": {"all": [["vouliez-vous dire", "voulez-vous dire", "precisez", "reformuler", "cherchiez-vous"]]},
    "consent": {"all": [["acceptez-vous", "j'accepte"]]},
    "ask_name": {"all": [["votre nom", "prenom"]], "none": NOT_FORM},
    "ask_email": {"all": [["courriel", "adresse"]], "none": NOT_FORM},
    "ask_org": {"all": [["organisme", "organisation"]], "none": NOT_FORM},
    "ask_question": {"all": [["votre question", "votre demande", "votre message"]], "none": NOT_FORM},
    "summary": {"all": [SUMMARY]},
    "reference": {"regex": r"mutu-\d{4}-\d{3,}"},
    "cancelled": {"all": [["annul", "rien transmis", "rien envoye", "pas envoye"]],
                  "regex_none": r"mutu-\d{4}-\d{3,}"},
}


def has_all(reply: str, groups: Sequence[Sequence[str]]) -> bool:
    from bot.text import fold
    return all(any(fold(alt) in reply for alt in group) for group in groups)


def matches_key(key: str, reply: str, topics: Dict[str, Any]) -> bool:
    """Does the folded ``reply`` satisfy the behaviour or topic ``key``?"""
    from bot.text import fold
    if key in BEHAVIOURS:
        rule = BEHAVIOURS[key]
        if "regex" in rule and not re.search(rule["regex"], reply):
            return False
        if "regex_none" in rule and re.search(rule["regex_none"], reply):
            return False
        return has_all(reply, rule.get("all", [])) and not any(fold(p) in reply for p in rule.get("none", []))
    topic = topics[key]
    if topic.get("reject"):
        leaked = [n for n, t in topics.items() if t.get("exclusive") and n != key and has_all(reply, t["exclusive"])]
        return has_all(reply, topic["any"]) and not leaked
    return has_all(reply, topic["all"])


@dataclass
class Score:
    turns: int = 0
    good: int = 0
    conversations: int = 0
    good_conversations: int = 0
    failures: List[str] = field(default_factory=list)
    by_tag: Dict[str, Tuple[int, int]] = field(default_factory=dict)

    def add(self, ok: bool, tags: Sequence[str]) -> None:
        self.turns += 1
        self.good += ok
        for tag in tags:
            g, t = self.by_tag.get(tag, (0, 0))
            self.by_tag[tag] = (g + ok, t + 1)

    @property
    def turn_rate(self) -> float:
        return self.good / max(self.turns, 1)

    @property
    def conversation_rate(self) -> float:
        return self.good_conversations / max(self.conversations, 1)


def turn_ok(replies: List[Dict[str, Any]], expect: Any, forbid: Sequence[str], topics: Dict[str, Any]) -> bool:
    reply = flat(replies)
    keys = expect if isinstance(expect, list) else [expect]
    text_chars = sum(len(r.get("text") or "") for r in replies)
    return (any(matches_key(k, reply, topics) for k in keys)
            and not any(matches_key(k, reply, topics) for k in forbid) and text_chars <= MAX_REPLY_CHARS)


def play_conversations(url: str, spec: Dict[str, Any]) -> Score:
    topics, score = spec.get("topics") or {}, Score()
    for conv in spec["conversations"]:
        chat, all_ok = Conversation(url, f"conv-{uuid.uuid4().hex[:12]}"), True
        for turn in conv["turns"]:
            replies = chat.say(turn["say"])
            expect = turn.get("expect", "any")
            if expect == "any":
                continue
            ok = turn_ok(replies, expect, turn.get("forbid") or [], topics)
            score.add(ok, [conv.get("tag", "untagged"), *turn.get("tags", [])])
            if not ok:
                all_ok = False
                score.failures.append(f"[{conv.get('id')}] expect {expect}: {turn['say']!r}\n"
                                      f"  -> {flat(replies)[:300]!r}")
        score.conversations += 1
        score.good_conversations += all_ok
    return score


def play_long_questions(url: str, spec: Dict[str, Any], variant: str = "long") -> Score:
    """Each case's ``variant`` (short or long) asked alone in a new conversation."""
    topics, score = spec.get("topics") or {}, Score()
    for case in spec["cases"]:
        replies = Conversation(url).say(case[variant])
        ok = turn_ok(replies, case["key"], [], topics)
        score.add(ok, [case["key"]])
        if not ok:
            score.failures.append(f"expect {case['key']}: {case[variant]!r}\n  -> {flat(replies)[:200]!r}")
    return score


def report(score: Score, show_failures: bool) -> str:
    lines = [f"{tag:28s} {g:4d}/{t:<4d} {100 * g / t:6.1f}%" for tag, (g, t) in sorted(score.by_tag.items())]
    if show_failures:
        lines += ["", *score.failures]
    lines.append(f"turns={100 * score.turn_rate:.1f}% ({score.good}/{score.turns}) "
                 f"conversations={100 * score.conversation_rate:.1f}% "
                 f"({score.good_conversations}/{score.conversations})")
    return "\n".join(lines)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--url", default="http://127.0.0.1:5005")
    parser.add_argument("--variant", default="long", choices=["long", "short"])
    parser.add_argument("--show-failures", action="store_true")
    args = parser.parse_args(argv)
    spec = yaml.safe_load(Path(args.file).read_text("utf-8"))
    if "conversations" in spec:
        score = play_conversations(args.url, spec)
    else:
        score = play_long_questions(args.url, spec, args.variant)
    print(report(score, args.show_failures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
