"""One long conversation: the same realistic cycle of turns (questions, short follow-ups that need
the last answer, thanks, off-topic, a long self-introduced message, the inquiry form left half-way
with a side question) played again and again in ONE conversation. Used by `make bench` (latency at
messages 1-20 and 480-500) and by tests/test_long_conversation.py (cost and answers stay the same).

Each turn has loose expectations (groups of words, one alternative per group, folded); the cycle is
written so that every turn's answer depends only on the turns of the same cycle."""
from __future__ import annotations

import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple, Union

from tests.helpers import Conversation, matches

# (message, expected groups). The form is opened, filled up to the organisation, interrupted by a
# question, then cancelled: its slots must survive the side question, whatever came before.
CYCLE: Sequence[Tuple[str, Sequence[Sequence[str]]]] = (
    ("bonjour", [["bonjour", "allo"]]),
    ("c'est quoi la mutualisation", [["larousse"]]),
    ("c'est quoi La Halte", [["125"]]),
    ("c'est où?", [["centre-du-quebec"]]),
    ("pis le Relait?", [["saguenay"]]),
    ("merci!", [["plaisir", "bienvenue", "merci"]]),
    ("Bonjour, je suis agente de développement dans une CDC en Montérégie. Entre organismes, on se demande "
     "quelles formes la mutualisation peut prendre concrètement?", [["contrat"], ["copropriete"]]),
    ("et la coentreprise?", [["structure formelle"]]),
    ("quel temps fait-il demain", [["mutualisation"]]),
    ("je voudrais écrire à la coordonnatrice", [["acceptez-vous"]]),
    ("oui", [["nom"]]),
    ("Julie Gagnon", [["courriel"]]),
    ("julie.gagnon@example.org", [["organisme"]]),
    ("c'est quoi une coop de remplacement agricole", [["agents de remplacement"], ["organisme"]]),
    ("CDC du Roc", [["question"]]),
    ("Comment partager une ressource en comptabilité?", [["julie gagnon"], ["julie.gagnon@example.org"], ["cdc du roc"]]),
    ("annuler", [["annul"]]),
)


@dataclass
class Turn:
    index: int            # 1-based position in the conversation
    text: str
    ms: float
    ok: bool


@dataclass
class LongRun:
    turns: List[Turn] = field(default_factory=list)

    def window(self, first: int, last: int) -> List[Turn]:
        """Turns ``first``..``last`` (1-based, inclusive)."""
        return [t for t in self.turns if first <= t.index <= last]

    def median_ms(self, first: int, last: int) -> float:
        return statistics.median(t.ms for t in self.window(first, last))

    def accuracy(self, first: int, last: int) -> float:
        chosen = self.window(first, last)
        return sum(t.ok for t in chosen) / len(chosen)


def play(rasa_urls: Union[str, Sequence[str]], messages: int, sender: Optional[str] = None,
         on_turn: Optional[Callable[[Turn], None]] = None) -> LongRun:
    """Send ``messages`` turns of the cycle in one conversation (to each server in turn when
    several are given); time and check each one."""
    urls = [rasa_urls] if isinstance(rasa_urls, str) else list(rasa_urls)
    sender = sender or f"long-{uuid.uuid4().hex[:10]}"
    conversations = [Conversation(url, sender) for url in urls]
    run = LongRun()
    for index in range(1, messages + 1):
        text, expect = CYCLE[(index - 1) % len(CYCLE)]
        start = time.perf_counter()
        replies = conversations[index % len(conversations)].say(text)
        turn = Turn(index, text, (time.perf_counter() - start) * 1000, matches(replies, expect))
        run.turns.append(turn)
        if on_turn:
            on_turn(turn)
    return run


if __name__ == "__main__":  # python -m tests.long_conversation URL N: the curve, 20 turns a line
    import sys

    url, count = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 100
    result = play(url, count, on_turn=lambda t: None if t.ok else print(f"  miss #{t.index}: {t.text}"))
    for start in range(1, count + 1, 20):
        print(f"{start:4d}-{min(count, start + 19):4d}: median {result.median_ms(start, start + 19):7.1f} ms, "
              f"answers {result.accuracy(start, start + 19):.0%}")
