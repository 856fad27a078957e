"""Finding the question in a chatty message, and the questions in a two-question message.

People write « Bonjour! Je m'appelle Josée, je suis coordonnatrice d'une CDC en Estrie. … Est-ce que
ça s'est déjà fait ailleurs? ». The greeting and the self-introduction say who they are, not what
they ask: ``focus_spans`` keeps the sentences that carry the request, and the tokenizer gives the
classifiers only those words. ``question_segments`` splits « la Halte a combien de membres pis le
Relait c'est dans quelle région? » into its two questions. Pure functions, no model.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

from bot.text import fold

Span = Tuple[int, int]

_SENTENCE = re.compile(r"[^.!?;:\n]+[.!?;:\n]*")
# Words that alone make a greeting, thanks or sign-off sentence (folded).
_POLITE = set("""
bonjour bonsoir allo alo salut hello hi hey coucou bon matin yo re merci mercii thanks thank you
beaucoup davance d avance svp stp please bonne bon journee soiree fin semaine day have nice a
l avance lavance cordialement ok okay oui ben bien parfait super genial cool interessant wow
ah oh eh madame monsieur mutu questions question deux 2 petite rapide j ai une quick dear bye
""".split())
# Self-introductions: « je m'appelle », « je suis DG d'un organisme », « on est une coop de 4 »…
_INTRO = re.compile(
    r"^(bonjour|bonsoir|allo|salut|hello|hi|hey)?\W*("
    r"je m appelle|mon nom|moi c est|ici \w+|je suis|chu|j suis|je travaille|je m occupe|"
    r"je represente|je coordonne|je dirige|je gere|on est|nous sommes|nous representons|"
    r"notre (organisme|organisation|coop|cooperative|centre|entreprise|obnl|equipe)|"
    r"j ecris|je fais|je prepare|ma (directrice|patronne|boss|dg)|mon (directeur|patron|boss|dg|ca)|"
    r"i m|i am|my name|we are|we re|i work|our (organization|nonprofit|group|team)"
    r")\b")
_QUESTION_WORDS = re.compile(
    r"\b(qui|quoi|quand|comment|combien|pourquoi|quel|quelle|quels|quelles|laquelle|lequel|"
    r"est ce|qu est ce|c est quoi|c quoi|c koi|c qui|c est qui|c ou|ya tu|y a tu|y a t il|"
    r"peut on|peux tu|pouvez vous|on peut tu|ca marche|faut tu|est ou|sont ou|ou est|ou sont|"
    r"who|what|where|when|how|why|which|is there|are there|can i|can you|do you|does)\b")
_REJECTION = re.compile(r"^(non|nope|no)?\W*(c est pas ca|c pas ca|cest pas ca|pas ca|c est pas ce que|"
                        r"ce n est pas ca|mauvaise reponse|c pas ma question)\W*")
_LEADING_GREETING = re.compile(r"\s*((bonjour|bonsoir|allo|salut|hello|hi|hey|merci|ok|okay)\b[\s,!.]*)+",
                               re.IGNORECASE)
_SPLIT = re.compile(r"((?:,\s*|\s+)(?:pis|puis|et|and)\s+)", re.IGNORECASE)


def sentence_spans(text: str) -> List[Span]:
    """(start, end) of each sentence: runs ending at . ! ? ; : or a line break."""
    return [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.group().strip()]


def _folded_words(text: str) -> List[str]:
    return re.findall(r"[a-z0-9]+", fold(text))


def is_polite(sentence: str) -> bool:
    """A greeting, thanks or sign-off with nothing else in it."""
    found = _folded_words(sentence)
    return bool(found) and all(w in _POLITE for w in found)


def is_question(sentence: str) -> bool:
    """A question mark, a question word, or « … où » at the end (« la Cantine est située où »)."""
    flat = " ".join(_folded_words(sentence))
    return "?" in sentence or bool(_QUESTION_WORDS.search(flat)) or flat.endswith(" ou")


def _opens_with_question(sentence: str) -> bool:
    flat = " ".join(_folded_words(sentence))
    return "?" in sentence or bool(_QUESTION_WORDS.match(flat))


def is_intro(sentence: str) -> bool:
    """A self-introduction (who the person is), not a question."""
    flat = " ".join(_folded_words(sentence))
    return "?" not in sentence and bool(_INTRO.match(flat))


def focus_spans(text: str) -> List[Span]:
    """The spans of ``text`` worth classifying: greetings, thanks, self-introductions and a
    leading « non c'est pas ça » are dropped when something else is left; otherwise all of it."""
    spans = sentence_spans(text)
    kept = [(s, e) for s, e in spans if not is_polite(text[s:e]) and not is_intro(text[s:e])]
    if not kept:
        return [(0, len(text))]
    start, end = kept[0]
    greeting = _LEADING_GREETING.match(text[start:end])
    if greeting and is_question(text[start + greeting.end():end]):
        start += greeting.end()  # « Bonjour, c'est quoi… » but not « bonjour tout le monde »
    if _REJECTION.match(" ".join(_folded_words(text[start:end]))):
        start = _skip_rejection(text, start, end) or start
    kept[0] = (start, end)
    return kept


def _skip_rejection(text: str, start: int, end: int) -> "int | None":
    """Offset after a leading « non c'est pas ça, » when a real request follows it."""
    piece = text[start:end]
    match = re.match(r"\s*(non|nope|no)?[\s,!.]*(c'?est pas (ça|ca)|c pas (ça|ca)|pas (ça|ca)|"
                     r"ce n'?est pas (ça|ca)|mauvaise réponse|mauvaise reponse)[\s,!.:;-]*",
                     piece, re.IGNORECASE)
    if not match or len(_folded_words(piece[match.end():])) < 3:
        return None  # « non c'est pas ça, autre chose » stays whole
    return start + match.end()


def focus_text(text: str) -> str:
    return " ".join(text[s:e].strip() for s, e in focus_spans(text))


def _split_sentence(sentence: str, is_thing: "callable[[str], bool]") -> List[str]:
    """« A pis B? » → [A, B] when A is a question and B is one too, or a bare « pis X? »."""
    parts = _SPLIT.split(sentence)  # [text, separator, text, separator, text…]
    if len(parts) < 3:
        return [sentence]
    pieces: List[str] = [parts[0]]
    for separator, part in zip(parts[1::2], parts[2::2]):
        left = pieces[-1]
        if part.strip() and is_question(left) and (
                _QUESTION_WORDS.search(" ".join(_folded_words(part))) or is_thing(part)):
            pieces.append(separator.strip(" ,") + " " + part)  # « pis le 3e? » stays a follow-up
        else:
            pieces[-1] = left + separator + part
    return pieces if len(pieces) > 1 else [sentence]


def question_segments(text: str, is_thing: "callable[[str], bool]" = lambda _: False,
                      limit: int = 2) -> List[str]:
    """The separate questions of ``text`` (at most ``limit``), or [] when there is only one.

    ``is_thing(part)`` says whether a tail such as « une mutuelle de prévention? » names a thing
    the bot knows, so that « C'est quoi X pis Y? » counts as two questions.
    """
    sentences = [text[s:e].strip() for s, e in focus_spans(text)]
    questions: List[str] = []
    for sentence in sentences:
        if not _opens_with_question(sentence):
            continue  # « il existe une coop qui… » is context, not a second question
        questions.extend(p.strip(" ,") for p in _split_sentence(sentence, is_thing))
    questions = [q for q in questions if _folded_words(q)]
    if len(questions) < 2:
        return []
    return questions[:limit]


def without_intro_clauses(text: str) -> str:
    """``text`` without the self-introduction that opens a sentence before a comma (« chu coordo
    dans un organisme en sécurité alimentaire, ça veut dire quoi? »): who the person is names
    what they work on, not what they ask about."""
    kept: List[str] = []
    for start, end in sentence_spans(text):
        clauses = text[start:end].split(",")
        while len(clauses) > 1 and is_intro(clauses[0]) and _folded_words(",".join(clauses[1:])):
            clauses = clauses[1:]
        kept.append(",".join(clauses).strip())
    return " ".join(k for k in kept if k)


def question_sentences(text: str) -> List[str]:
    """The focused sentences that ask something (a « ? » or a leading question word); when
    none does, all of them. The attribute asked is read there, not in the context around it."""
    sentences = [text[s:e].strip() for s, e in focus_spans(text)]
    asked = [s for s in sentences if _opens_with_question(s)]
    return asked or sentences


def question_sentence(text: str) -> Optional[str]:
    """The one question of a longer message (with context around it), or None."""
    sentences = [text[s:e].strip() for s, e in sentence_spans(text)]
    asked = [s for s in sentences if _opens_with_question(s)]
    if len(sentences) < 2 or len(asked) != 1 or len(_folded_words(asked[0])) < 3:
        return None
    return asked[0]
