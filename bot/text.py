"""Pure text helpers shared by the NLU components, the channels and the actions."""
from __future__ import annotations

import re
import unicodedata
from typing import Iterator, Tuple

_WORD = re.compile(r"\w+", re.UNICODE)
_LIGATURES = {"œ": "oe", "æ": "ae", "’": "'", "ß": "ss"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u2028\u2029\ufeff]")


def fold(text: str) -> str:
    """Lower-case ``text`` and remove accents and ligatures (« Coopérative » → « cooperative »)."""
    text = text.lower()
    for ligature, plain in _LIGATURES.items():
        text = text.replace(ligature, plain)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> Iterator[Tuple[str, int]]:
    """Yield (folded word, start offset in ``text``) for every word; apostrophes and hyphens split."""
    for match in _WORD.finditer(text):
        token = fold(match.group()).replace("_", "")
        if token:
            yield token, match.start()


def strip_control(text: str) -> str:
    """Remove control and invisible formatting characters, keeping newlines and tabs."""
    return _CONTROL.sub("", text)


def has_letters(text: str) -> bool:
    """True when ``text`` contains at least one letter or digit."""
    return any(c.isalnum() for c in text)


_BREAKS = re.compile(r"[\r\n\t\x00-\x1f\x7f\u2028\u2029]+")


def one_line(text: str, limit: int = 0) -> str:
    """``text`` on one line: line breaks and control characters become spaces, runs of spaces
    are collapsed, and the result is cut to ``limit`` characters (0: no limit)."""
    flat = " ".join(_BREAKS.sub(" ", text).split())
    return flat[:limit] if limit else flat
