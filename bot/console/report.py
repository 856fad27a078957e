"""`python -m bot report` (`make report`): the dashboard's figures in a terminal, and the
questions Mutu missed most often (read from the tracker store first, like the console)."""
from __future__ import annotations

from typing import IO, Optional

from bot.console.store import ANSWERED, CATEGORY_LABELS, CHAT, CLARIFIED, NOT_SAID, OUT_OF_SCOPE, ConsoleStore
from bot.console.web import nombre, pourcent, quand, topic_labels
from bot.settings import Settings


def _bar(value: int, top: int, width: int = 30) -> str:
    return "█" * (round(width * value / top) if top else 0)


def report(conf: Settings, out: IO[str], days: int = 30, missed: int = 15, now: Optional[float] = None) -> int:
    store = ConsoleStore(conf)
    try:
        store.ingest()
        stats = store.stats(days, now)
    finally:
        store.close()
    labels = topic_labels(conf)
    conversations, messages = sum(d[1] for d in stats.days), sum(d[2] for d in stats.days)
    print(f"Mutu : les {days} derniers jours", file=out)
    print(f"  {nombre(conversations)} conversations, {nombre(messages)} messages, "
          f"{nombre(stats.questions)} questions", file=out)
    print("\nPar jour (conversations / messages)", file=out)
    top = max([d[2] for d in stats.days] + [1])
    for day, convs, msgs in stats.days:
        if msgs:
            print(f"  {day.isoformat()}  {convs:>5} / {msgs:<6} {_bar(msgs, top)}", file=out)
    print("\nComment Mutu a répondu", file=out)
    for key in (ANSWERED, CLARIFIED, NOT_SAID, OUT_OF_SCOPE):
        print(f"  {CATEGORY_LABELS[key]:<30} {stats.categories[key]:>6}  {pourcent(stats.share(key)):>6}", file=out)
    print(f"  {CATEGORY_LABELS[CHAT]:<30} {stats.categories[CHAT]:>6}", file=out)
    print("\nLes 10 sujets les plus demandés", file=out)
    for rank, (topic, count) in enumerate(stats.top_topics, 1):
        print(f"  {rank:>2}. {labels.get(topic, topic)[:50]:<50} {count:>5}", file=out)
    if not stats.top_topics:
        print("  (aucune question répondue)", file=out)
    print("\nAvis des visiteurs par sujet (👍 / 👎)", file=out)
    for topic, up, down in stats.feedback[:10]:
        print(f"  {labels.get(topic, topic)[:50]:<50} {up:>4} / {down:<4}", file=out)
    if not stats.feedback:
        print("  (aucun avis)", file=out)
    print(f"\nLes {missed} questions les plus souvent manquées", file=out)
    for text, times, last in stats.missed[:missed]:
        print(f"  {times:>3} ×  {' '.join(text.split())[:90]}  ({quand(last)})", file=out)
    if not stats.missed:
        print("  (aucune)", file=out)
    return 0
