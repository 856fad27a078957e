"""The dashboard's charts, drawn on the server with matplotlib (Agg) as PNG: no script, no CDN."""
from __future__ import annotations

import io
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bot.console.store import ANSWERED, CLARIFIED, NOT_SAID, OUT_OF_SCOPE, CATEGORY_LABELS, Stats  # noqa: E402

BLUE, GREEN, ORANGE, GREY, RED = "#0b5c8a", "#2e7d32", "#b45309", "#6b7280", "#b91c1c"
_LOCK = threading.Lock()  # pyplot is not thread-safe
MONTHS = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juill.", "août", "sept.", "oct.", "nov.", "déc."]


def _png(draw: Callable[[plt.Figure], None], size: Tuple[float, float]) -> bytes:
    with _LOCK:
        fig = plt.figure(figsize=size, dpi=100)
        try:
            draw(fig)
            fig.tight_layout()
            out = io.BytesIO()
            fig.savefig(out, format="png")
            return out.getvalue()
        finally:
            plt.close(fig)


def per_day(stats: Stats) -> bytes:
    def draw(fig: plt.Figure) -> None:
        ax = fig.add_subplot(1, 1, 1)
        xs = list(range(len(stats.days)))
        ax.bar(xs, [d[2] for d in stats.days], color=BLUE, label="Messages")
        ax.plot(xs, [d[1] for d in stats.days], color=ORANGE, marker="o", markersize=3, linewidth=2,
                label="Conversations")
        ticks = xs[::5] if len(xs) > 10 else xs
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{stats.days[i][0].day} {MONTHS[stats.days[i][0].month - 1]}" for i in ticks])
        ax.set_ylabel("par jour")
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(frameon=False)
    return _png(draw, (8, 3.2))


def shares(stats: Stats) -> bytes:
    order = [ANSWERED, CLARIFIED, NOT_SAID, OUT_OF_SCOPE]
    colors = [GREEN, BLUE, ORANGE, GREY]

    def draw(fig: plt.Figure) -> None:
        ax = fig.add_subplot(1, 1, 1)
        values = [stats.share(c) * 100 for c in order]
        labels = [CATEGORY_LABELS[c] for c in order]
        bars = ax.barh(labels[::-1], values[::-1], color=colors[::-1])
        for bar, value in zip(bars, values[::-1]):
            ax.text(bar.get_width() + 1, bar.get_y() + bar.get_height() / 2, f"{value:.0f} %".replace(".", ","),
                    va="center")
        ax.set_xlim(0, 110)
        ax.set_xlabel("% des questions")
        ax.spines[["top", "right"]].set_visible(False)
    return _png(draw, (8, 2.6))


def _bar_axes(fig: plt.Figure, rows: List[Tuple[Any, ...]], empty: str) -> Tuple[Any, Optional[List[str]]]:
    """The axes of a horizontal bar chart and its labels (top row first), or a note when empty."""
    ax = fig.add_subplot(1, 1, 1)
    if not rows:
        ax.text(0.5, 0.5, empty, ha="center", va="center")
        ax.axis("off")
        return ax, None
    return ax, [r[0][:45] for r in rows][::-1]


def bars(rows: List[Tuple[str, int]], xlabel: str) -> bytes:
    def draw(fig: plt.Figure) -> None:
        ax, labels = _bar_axes(fig, rows, "Aucune donnée pour l'instant")
        if labels is None:
            return
        ax.barh(labels, [r[1] for r in rows][::-1], color=BLUE)
        ax.set_xlabel(xlabel)
        ax.spines[["top", "right"]].set_visible(False)
    return _png(draw, (8, 0.9 + 0.35 * max(len(rows), 2)))


def votes(rows: List[Tuple[str, int, int]]) -> bytes:
    def draw(fig: plt.Figure) -> None:
        ax, labels = _bar_axes(fig, rows, "Aucun avis pour l'instant")
        if labels is None:
            return
        ax.barh(labels, [r[1] for r in rows][::-1], color=GREEN, label="Utile")
        ax.barh(labels, [-r[2] for r in rows][::-1], color=RED, label="Pas utile")
        ax.axvline(0, color="#111", linewidth=0.8)
        ax.set_xlabel("avis (pas utile à gauche, utile à droite)")
        ax.legend(frameon=False, loc="lower right")
        ax.spines[["top", "right"]].set_visible(False)
    return _png(draw, (8, 0.9 + 0.35 * max(len(rows), 2)))


def render(name: str, stats: Stats, labels: Dict[str, str]) -> bytes:
    if name == "jours":
        return per_day(stats)
    if name == "reponses":
        return shares(stats)
    if name == "sujets":
        return bars([(labels.get(t, t), n) for t, n in stats.top_topics], "questions répondues")
    if name == "avis":
        return votes([(labels.get(t, t), up, down) for t, up, down in stats.feedback[:10]])
    raise KeyError(name)
