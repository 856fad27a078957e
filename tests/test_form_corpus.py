"""The inquiry-form corpus (tests/form_corpus.yml, 63 conversations written apart from the form's
code) played over HTTP against the test bot: every turn is scored like the shared conv_eval.py,
and every conversation's DELIVERED inquiry (the outbox, then the e-mail the SMTP peer received) is
compared field by field with what the visitor meant. No value the visitor did not mean may be
stored; every « sent » conversation must be delivered.

By hand, against a running bot and its data folder:

    python -m tests.test_form_corpus --url http://127.0.0.1:25105 --db /tmp/formbot/inquiries.db
"""
from __future__ import annotations

import argparse
import re
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import yaml

from bot.inquiries.store import Inquiry, OutboxStore, conversation_key
from bot.settings import Settings
from bot.text import fold
from tests.conftest import wait_for
from tests.conv_player import turn_ok
from tests.helpers import Conversation, flat
from tests.peers import SmtpPeer

CORPUS = Path(__file__).resolve().parent / "form_corpus.yml"
FIELDS = ("name", "email", "organisation")
REFERENCE = re.compile(r"MUTU-\d{4}-\d{4,}")
# Thresholds: the form must understand nearly every turn; storing a value nobody meant is never
# acceptable, and neither is losing an inquiry the visitor confirmed.
MIN_TURNS, MIN_CONVERSATIONS = 0.95, 0.85


@dataclass
class Outcome:
    turns: int = 0
    good_turns: int = 0
    conversations: int = 0
    good_conversations: int = 0
    wrong_values: List[str] = field(default_factory=list)   # stored but not meant
    undelivered: List[str] = field(default_factory=list)    # meant to be sent, not in the outbox
    delivered: List[Inquiry] = field(default_factory=list)
    failures: List[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"turns={self.good_turns}/{self.turns} ({100 * self.good_turns / max(self.turns, 1):.1f}%) "
                f"conversations={self.good_conversations}/{self.conversations} "
                f"({100 * self.good_conversations / max(self.conversations, 1):.1f}%) "
                f"values_wrongly_stored={len(self.wrong_values)} undelivered={len(self.undelivered)}")


def same(stored: Optional[str], meant: Optional[str]) -> bool:
    """Case-insensitive, apostrophes unified; accents count (they are what the visitor typed)."""
    def norm(value: Optional[str]) -> str:
        return " ".join((value or "").replace("’", "'").casefold().split())
    return norm(stored) == norm(meant)


def wrong_fields(inquiry: Inquiry, expected: Dict[str, Any]) -> List[str]:
    """The fields of a delivered inquiry that are not what the visitor meant."""
    if expected.get("outcome") != "sent":
        return [f"{f} (nothing was to be sent)" for f in (*FIELDS, "question")]
    wrong = [f"{f}: {getattr(inquiry, f)!r} (meant {expected.get(f)!r})"
             for f in FIELDS if not same(getattr(inquiry, f), expected.get(f))]
    missing = [w for w in expected.get("question_contains") or [] if fold(w) not in fold(inquiry.question or "")]
    if missing:
        wrong.append(f"question: {inquiry.question!r} (lacks {missing})")
    return wrong


def load(path: Path = CORPUS) -> Dict[str, Any]:
    return yaml.safe_load(path.read_text("utf-8"))


def play(url: str, store: OutboxStore, spec: Dict[str, Any],
         only: Optional[Sequence[str]] = None) -> Outcome:
    topics, outcome = spec.get("topics") or {}, Outcome()
    for conv in spec["conversations"]:
        if only and conv["id"] not in only:
            continue
        chat = Conversation(url, f"form-{uuid.uuid4().hex[:12]}")
        all_ok, references = True, []
        for turn in conv["turns"]:
            replies = chat.say(turn["say"])
            references += REFERENCE.findall(" ".join(r.get("text") or "" for r in replies))
            expect = turn.get("expect", "any")
            if expect == "any":
                continue
            ok = turn_ok(replies, expect, turn.get("forbid") or [], topics)
            outcome.turns += 1
            outcome.good_turns += ok
            if not ok:
                all_ok = False
                outcome.failures.append(f"[{conv['id']}] expect {expect}: {turn['say']!r}\n"
                                        f"  -> {flat(replies)[:400]!r}")
        delivered = [i for i in (store.get(r) for r in references) if i is not None]
        outcome.delivered += delivered
        expected = conv.get("expected") or {}
        for inquiry in delivered:
            outcome.wrong_values += [f"[{conv['id']}] {w}" for w in wrong_fields(inquiry, expected)]
        unseen = store.count_since(conversation_key(chat.sender), 0) - len(delivered)
        outcome.wrong_values += [f"[{conv['id']}] an inquiry stored without a reference shown"] * unseen
        if expected.get("outcome") == "sent" and not delivered:
            outcome.undelivered.append(conv["id"])
            all_ok = False
        all_ok = all_ok and not any(w.startswith(f"[{conv['id']}]") for w in outcome.wrong_values)
        outcome.conversations += 1
        outcome.good_conversations += all_ok
    return outcome


def test_form_corpus_over_http(bot: Settings, smtp_peer: SmtpPeer) -> None:
    store = OutboxStore(bot.inquiry_db)
    spec = load()
    result = play(bot.rasa_url, store, spec)
    report = "\n".join([result.summary(), *result.wrong_values, *result.failures])
    assert not result.wrong_values, report
    assert not result.undelivered, report
    assert result.good_turns >= MIN_TURNS * result.turns, report
    assert result.good_conversations >= MIN_CONVERSATIONS * result.conversations, report
    # What the coordinator receives is what was stored: the e-mail of every inquiry sent.
    def mailed() -> Dict[str, str]:
        return {str(m["X-Mutu-Reference"]): m.get_content() for m in smtp_peer.messages}
    wait_for(lambda: all(i.reference in mailed() for i in result.delivered), timeout=60, message="not all mailed")
    bodies = mailed()
    for inquiry in result.delivered:
        for value in (inquiry.name, inquiry.email, inquiry.organisation or "non précisé", inquiry.question):
            assert value in bodies[inquiry.reference], (inquiry.reference, value)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:5005")
    parser.add_argument("--db", required=True, help="the bot's outbox (MUTU_DATA_DIR/inquiries.db)")
    parser.add_argument("--corpus", default=str(CORPUS))
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--show-failures", action="store_true")
    parser.add_argument("--topics", help="more answer keys (e.g. ../shared/eval/questions.dev.yml) for a new corpus")
    args = parser.parse_args(argv)
    spec = load(Path(args.corpus))
    if args.topics:
        spec["topics"] = {**yaml.safe_load(Path(args.topics).read_text("utf-8"))["topics"], **(spec.get("topics") or {})}
    result = play(args.url, OutboxStore(Path(args.db)), spec, args.only)
    if args.show_failures:
        print("\n".join(result.failures + result.wrong_values + [f"undelivered: {c}" for c in result.undelivered]))
    print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
