"""What the console changes in the project (``MUTU_PROJECT_DIR``, default the repository):
training examples in data/nlu/*.yml and the answers of data/responses/faq.yml.

Files are edited as text, block by block, so that their comments and layout stay as written;
each result is read back with YAML before it replaces the file (atomically)."""
from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import yaml

from bot.text import fold

GENERATED = "generated_preambles.yml"
CONSOLE_NLU = "console.yml"  # the examples of the topics created in the console
TOPIC_KEY = re.compile(r"^[a-z][a-z0-9_]{2,40}$")
LOCK = threading.Lock()  # one edit at a time in this process


class EditError(ValueError):
    """A change that cannot be made, explained in plain French."""


@dataclass
class Answer:
    topic: str
    text: str
    buttons: List[Tuple[str, str]] = field(default_factory=list)  # (title, payload)

    @property
    def label(self) -> str:
        return self.text.split("\n", 1)[0][:80]


def faq_path(project: Path) -> Path:
    return project / "data" / "responses" / "faq.yml"


def nlu_paths(project: Path) -> List[Path]:
    return [p for p in sorted((project / "data" / "nlu").glob("*.yml")) if p.name != GENERATED]


def answers(project: Path) -> Dict[str, Answer]:
    """Every FAQ answer, in the file's order."""
    data = yaml.safe_load(faq_path(project).read_text("utf-8")) or {}
    found: Dict[str, Answer] = {}
    for name, variants in (data.get("responses") or {}).items():
        if not name.startswith("utter_faq/") or not variants:
            continue
        first = variants[0]
        buttons = [(str(b.get("title", "")), str(b.get("payload", ""))) for b in first.get("buttons") or []]
        found[name.split("/", 1)[1]] = Answer(name.split("/", 1)[1], str(first.get("text", "")), buttons)
    return found


def examples(project: Path) -> Dict[str, List[str]]:
    """Intent (``faq/topic``…) → its training examples, from every written data/nlu file."""
    found: Dict[str, List[str]] = {}
    for path in nlu_paths(project):
        for block in (yaml.safe_load(path.read_text("utf-8")) or {}).get("nlu") or []:
            if "intent" in block and isinstance(block.get("examples"), str):
                lines = [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]
                found.setdefault(block["intent"], []).extend(lines)
    return found


def clean_example(text: str) -> str:
    """One line of training data: no brackets or braces (Rasa would read entities), one line."""
    text = re.sub(r"[\[\]{}]", "", " ".join((text or "").split()))
    return text.strip()[:300]


def _write(path: Path, text: str) -> None:
    yaml.safe_load(text)  # never write a file Rasa cannot read
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def _examples_block_end(lines: List[str], start: int) -> Tuple[int, str]:
    """(index after the last example line, the examples' indentation) of the intent at ``start``."""
    i = start + 1
    while i < len(lines) and not lines[i].strip().startswith("examples:"):
        if lines[i].lstrip().startswith("- intent:"):
            raise EditError("Bloc d'exemples introuvable.")
        i += 1
    if i >= len(lines):
        raise EditError("Bloc d'exemples introuvable.")
    base = len(lines[i]) - len(lines[i].lstrip())
    j, indent, last = i + 1, None, i + 1
    while j < len(lines):
        line = lines[j]
        if line.strip():
            current = len(line) - len(line.lstrip())
            if current <= base:
                break
            if indent is None:
                indent = " " * current
            last = j + 1
        j += 1
    return last, indent or " " * (base + 2)


def add_examples(project: Path, intent: str, phrasings: Sequence[str]) -> List[str]:
    """Append ``phrasings`` to the examples of ``intent`` (``faq/<topic>``) in the data/nlu file
    that holds it; phrasings already in the training data (any intent) are skipped. Returns
    those added."""
    with LOCK:
        existing = {fold(e) for lines in examples(project).values() for e in lines}
        new: List[str] = []
        for text in phrasings:
            line = clean_example(text)
            if line and not line.startswith("/") and fold(line) not in existing:
                existing.add(fold(line))
                new.append(line)
        if not new:
            return []
        for path in nlu_paths(project):
            lines = path.read_text("utf-8").splitlines(keepends=True)
            for number, line in enumerate(lines):
                if re.fullmatch(rf"\s*- intent:\s*{re.escape(intent)}\s*", line.rstrip("\n")):
                    end, indent = _examples_block_end(lines, number)
                    if end > 0 and not lines[end - 1].endswith("\n"):
                        lines[end - 1] += "\n"
                    lines[end:end] = [f"{indent}- {text}\n" for text in new]
                    _write(path, "".join(lines))
                    return new
        raise EditError(f"Aucun fichier d'exemples ne contient le sujet « {intent} ».")


def new_intent(project: Path, intent: str, phrasings: Sequence[str]) -> List[str]:
    """A new intent block with its examples, in data/nlu/console.yml."""
    with LOCK:
        existing = {fold(e) for lines in examples(project).values() for e in lines}
        lines_out: List[str] = []
        for text in phrasings:
            line = clean_example(text)
            if line and fold(line) not in existing:
                existing.add(fold(line))
                lines_out.append(line)
        path = project / "data" / "nlu" / CONSOLE_NLU
        text = path.read_text("utf-8") if path.exists() else (
            "# Topics created in the coordinator's console (python -m bot web, /console).\n"
            'version: "3.1"\nnlu:\n')
        if not text.endswith("\n"):
            text += "\n"
        text += f"- intent: {intent}\n  examples: |\n" + "".join(f"    - {line}\n" for line in lines_out)
        _write(path, text)
        return lines_out


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def answer_block(topic: str, text: str, buttons: Sequence[Tuple[str, str]]) -> str:
    block = f"  utter_faq/{topic}:\n  - text: {_quoted(text)}\n"
    if buttons:
        block += "    buttons:\n" + "".join(
            f"    - {{title: {_quoted(title)}, payload: {_quoted(payload)}}}\n" for title, payload in buttons)
    return block


def _answer_span(lines: List[str], topic: str) -> Tuple[int, int]:
    start = next((i for i, line in enumerate(lines) if line.rstrip() == f"  utter_faq/{topic}:"), None)
    if start is None:
        raise EditError(f"La réponse « {topic} » est introuvable.")
    end = start + 1
    while end < len(lines) and (lines[end].startswith("  - ") or lines[end].startswith("    ")):
        end += 1
    return start, end


def save_answer(project: Path, topic: str, text: str, buttons: Sequence[Tuple[str, str]]) -> None:
    with LOCK:
        path = faq_path(project)
        lines = path.read_text("utf-8").splitlines(keepends=True)
        start, end = _answer_span(lines, topic)
        lines[start:end] = [answer_block(topic, text, buttons)]
        _write(path, "".join(lines))


def add_answer(project: Path, topic: str, text: str, buttons: Sequence[Tuple[str, str]]) -> None:
    with LOCK:
        path = faq_path(project)
        content = path.read_text("utf-8")
        if f"  utter_faq/{topic}:" in content:
            raise EditError(f"Une réponse « {topic} » existe déjà.")
        if not content.endswith("\n"):
            content += "\n"
        _write(path, content + answer_block(topic, text, buttons))


def add_button(project: Path, topic: str, title: str, payload: str) -> None:
    """A button under the answer ``topic`` (a new topic needs one: it gives its label)."""
    current = answers(project).get(topic)
    if current is None:
        raise EditError(f"La réponse « {topic} » est introuvable.")
    if any(p == payload for _t, p in current.buttons):
        return
    save_answer(project, topic, current.text, current.buttons + [(title, payload)])


def topic_key(question: str, taken: Sequence[str]) -> str:
    """A new topic's key from its question: « Combien coûte l'adhésion? » → ``combien_coute_adhesion``."""
    words = [w for w in re.sub(r"[^a-z0-9 ]", " ", fold(question)).split() if len(w) > 2][:4]
    base = "_".join(words)[:36] or "sujet"
    if not base[0].isalpha():
        base = "sujet_" + base
    key, number = base, 2
    while key in taken:
        key, number = f"{base}_{number}", number + 1
    return key


# ---- the checks, in plain French ---------------------------------------------------------------
FRENCH = [
    (r"link not in the source nor in bot/links\.yml: (.*)", "Ce lien n'est ni dans l'infographie ni dans le fichier des liens : {0}"),
    (r"e-mail address not in the source nor in bot/links\.yml: (.*)", "Cette adresse courriel n'est ni dans l'infographie ni dans le fichier des liens : {0}"),
    (r"date not in the source: (.*)", "Cette date n'est pas dans l'infographie : {0}"),
    (r"expansion of (\S+) not in the source nor in the allow-list: (.*)", "Le sens du sigle {0} n'est pas dans l'infographie : {1}"),
    (r"number not in the source nor in bot/links\.yml: (.*)", "Ce nombre n'est pas dans l'infographie : {0}"),
    (r"acronym not in the source nor in bot/links\.yml: (.*)", "Ce sigle n'est pas dans l'infographie : {0}"),
    (r"name not in the source nor in bot/links\.yml: (.*)", "Ce nom propre n'est pas dans l'infographie : {0}"),
    (r"link to an address that is not in bot/links\.yml: (.*)", "Ce lien mène à une adresse absente du fichier des liens : {0}"),
    (r"bare address, write .*?: (.*)", "Écrivez le lien avec une variable du fichier des liens, comme {{contact_email}} : {0}"),
    (r"elide before a vowel .*?: (.*)", "Élidez devant une voyelle (« d'Isabelle », « qu'Annie ») : {0}"),
    (r"a space before « \? » and « ! »: (.*)", "Mettez une espace avant « ? » et « ! » : {0}"),
    (r"write numbers of 1 000 and more .*?: (.*)", "Écrivez les nombres de 1 000 et plus avec une espace : {0}"),
    (r"« Non, merci » \(with a comma\)", "Écrivez « Non, merci » (avec une virgule)."),
    (r"the last line must be the « Source : » line.*", "La dernière ligne doit être la ligne « Source : infographie « La mutualisation », section … »."),
    (r"not a section of the infographic: (.*)", "Cette section n'existe pas dans l'infographie : {0}"),
    (r"« Sources » for two sources.*", "Écrivez « Sources » pour deux sources, « Source » pour une seule."),
    (r"(\d+) characters before the source line, want at most (\d+)", "La réponse compte {0} caractères avant la ligne « Source »; {1} au plus."),
]


def in_french(problem: str) -> str:
    detail = problem.split(": ", 1)[1] if ": " in problem else problem
    for pattern, french in FRENCH:
        match = re.fullmatch(pattern, detail)
        if match:
            return french.format(*match.groups())
    return detail


def problems(project: Path, topic: str, text: str, buttons: Sequence[Tuple[str, str]],
             new_topics: Sequence[str] = ()) -> List[str]:
    """What must be fixed before saving this answer, in plain French."""
    from bot.checks import check_texts
    found: List[str] = []
    if not text.strip():
        return ["La réponse est vide."]
    texts = [(f"faq.yml:utter_faq/{topic}", text)] + [(f"faq.yml:utter_faq/{topic} (button)", t) for t, _p in buttons]
    found += [in_french(p) for p in check_texts(texts)]
    topics = set(answers(project)) | set(new_topics)
    for title, payload in buttons:
        if not title.strip():
            found.append("Chaque bouton a besoin d'un titre.")
        if not payload.startswith("/faq/") or payload[5:] not in topics:
            found.append(f"Le bouton « {title} » doit mener à une réponse existante.")
    if len(buttons) > 3:
        found.append("Trois boutons au plus.")
    return found


def preview(text: str) -> Dict[str, object]:
    """The answer as the widget shows it: links-file values filled in, the last « Source » line
    apart, markdown links as (label, url)."""
    from bot.checks import render
    shown = render(text)
    lines = shown.rstrip().split("\n")
    source = lines.pop() if re.match(r"^\s*Sources?\s*:", lines[-1]) else ""
    return {"body": _pieces("\n".join(lines)), "source": _pieces(source)}


def _pieces(text: str) -> List[Tuple[str, Optional[str]]]:
    out: List[Tuple[str, Optional[str]]] = []
    last = 0
    for match in re.finditer(r"\[([^\[\]\n]{1,300})\]\((https?://[^()\s]+)\)", text):
        out.append((text[last:match.start()], None))
        out.append((match.group(1), match.group(2)))
        last = match.end()
    out.append((text[last:], None))
    return [p for p in out if p[0]]
