"""The checks every text Mutu shows must pass (the source check of tests/test_source_check.py,
also run by the console before it saves an answer): numbers, dates, e-mail addresses, links and
proper names only from the infographic (data/source/), bot/links.yml or the reviewed allow-list;
links as markdown to addresses of bot/links.yml; the « Source : » line of every FAQ answer; a few
French rules. ``{placeholders}`` are filled by the response generator from bot/links.yml.

    PYTHONPATH=. .venv/bin/python -m bot.checks FILE.yml|FILE.py ...
"""
from __future__ import annotations

import ast
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Set, Tuple

import yaml

from bot import settings
from bot.nlg import response_values
from bot.text import fold

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "data" / "source"
INFOGRAPHIC = SOURCE_DIR / "mutualisation-infographie.txt"
SOURCE_README = SOURCE_DIR / "README.md"
VERIFIED_HEADING = "## Facts checked outside the infographic"
LINKS = ROOT / "bot" / "links.yml"
ALLOWLIST = ROOT / "tests" / "source_allowlist.yml"  # reviewed with the tests
KNOWLEDGE = ROOT / "bot" / "knowledge.yml"
CHANNELS = ROOT / "bot" / "channels.py"
ANSWER = ROOT / "actions" / "answer.py"
DONT_KNOW = ROOT / "bot" / "dont_know.py"
DELIVERY = ROOT / "bot" / "inquiries" / "delivery.py"

# The section titles of the infographic, as the « Source » lines name them.
SECTIONS = ("De quoi parle-t-on ?", "Définitions", "Les éléments de mutualisation",
            "Secteurs où la mutualisation de ressources est répandue", "Les formes de mutualisation",
            "Quelques exemples de mutualisation", "Recherche et rédaction", "Comité de pilotage",
            "Coordination et mise en page", "Contactez-nous !")
SOURCE_LINE = re.compile(
    r"^(?P<word>Sources?) : infographie « La mutualisation », (?:en-tête et )?sections? (?P<sections>.+?)"
    r"(?P<tail>, d'après le \[(?:Larousse|CNRTL)\]\([^()\s]+\)"
    r"|; \[site du RCAAQ\]\([^()\s]+\))?$")
MAX_ANSWER_CHARS = 600  # before the « Source » line; aim for about 450

PLACEHOLDER = re.compile(r"\{[^{}\n]*\}")
MD_LINK = re.compile(r"\[([^\[\]\n]+)\]\(([^()\s]+)\)")
URL = re.compile(r"https?://[^\s<>()\[\]«»\"']+")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
NUMBER = re.compile(r"\d+(?:[ \u00a0\u202f]\d{3})*")
MONTHS = "janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre"
EXPANSION = re.compile(r"\b([A-Z]{2,})\s*\(([^\W\d_][^()«»\d]*)\)")  # « CPMT (Commission des…) »
DATE = re.compile(rf"\b\d{{1,2}}(?:er)? (?:{MONTHS})(?: \d{{4}})?|\b(?:printemps|ete|automne|hiver) \d{{4}}")
OPENERS = "«“\"'([*•–—-"
SPACES = " \t\u00a0\u202f"


# --- what the texts may quote ----------------------------------------------------------------------
def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@lru_cache(maxsize=1)
def source_text() -> str:
    """The infographic, and the facts data/source/README.md records as checked elsewhere."""
    readme = SOURCE_README.read_text("utf-8")
    verified = readme.split(VERIFIED_HEADING, 1)[1].split("\n## ", 1)[0] if VERIFIED_HEADING in readme else ""
    return INFOGRAPHIC.read_text("utf-8") + "\n" + verified


@lru_cache(maxsize=1)
def links_text() -> str:
    return "\n".join(_strings(yaml.safe_load(LINKS.read_text("utf-8"))))


@lru_cache(maxsize=1)
def allowlist() -> Dict[str, Dict[str, str]]:
    data = yaml.safe_load(ALLOWLIST.read_text("utf-8")) or {}
    lists = {key: {fold(str(k)): str(v) for k, v in (data.get(key) or {}).items()}
             for key in ("names", "numbers", "email_domains")}
    lists["expansions"] = {str(k): str(v) for k, v in (data.get("expansions") or {}).items()}
    return lists


def _clean_url(url: str) -> str:
    return url.rstrip(".,;:!?")


@lru_cache(maxsize=1)
def known() -> Dict[str, Set[str]]:
    """Words, numbers, dates, addresses and links of the source, the links file and the allow-list."""
    allowed = allowlist()
    text = source_text() + "\n" + links_text() + "\n" + "\n".join(allowed["expansions"].values())
    words: Set[str] = set()
    for match in WORD.finditer(text):
        word = fold(match.group())
        words.add(word)
        words.update(word.split("-"))
    return {
        "words": words | set(allowed["names"]),
        "numbers": {re.sub(r"\D", "", n) for n in NUMBER.findall(text)} | set(allowed["numbers"]),
        "dates": {m.group() for m in DATE.finditer(" ".join(fold(text).split()))},
        "expansions": {f"{a} ({fold(e)})" for a, e in EXPANSION.findall(text)}
        | {f"{a} ({fold(e)})" for a, e in allowed["expansions"].items()},
        "emails": {fold(e) for e in EMAIL.findall(text)},
        "email_domains": set(allowed["email_domains"]),
        "urls": {_clean_url(u) for u in URL.findall(text)},
        "link_urls": {_clean_url(u) for u in URL.findall(links_text())},
    }


# --- the texts ---------------------------------------------------------------------------------------
Text = Tuple[str, str]  # (where, text)


def response_texts(path: Path, content: Any = None) -> List[Text]:
    """Texts and button titles of the responses of one YAML file."""
    data = yaml.safe_load(path.read_text("utf-8")) if content is None else content
    texts: List[Text] = []
    for name, variations in ((data or {}).get("responses") or {}).items():
        for variation in variations or []:
            if variation.get("text"):
                texts.append((f"{path.name}:{name}", variation["text"]))
            for button in variation.get("buttons") or []:
                texts.append((f"{path.name}:{name} (button)", button.get("title") or ""))
    return texts


def _joined(node: ast.JoinedStr) -> str:
    return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)


def python_texts(path: Path, source: str = "") -> List[Text]:
    """The reply strings (``*_REPLY``) and the e-mail template (``email_body``, the subject)."""
    tree = ast.parse(source or path.read_text("utf-8"))
    texts: List[Text] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if any(n.endswith("_REPLY") for n in names):
                texts.append((f"{path.name}:{names[0]}", node.value.value))
        if isinstance(node, ast.FunctionDef) and node.name == "email_body":
            parts = {id(v) for n in ast.walk(node) if isinstance(n, ast.JoinedStr) for v in n.values}
            for sub in ast.walk(node):
                if isinstance(sub, ast.JoinedStr):
                    texts.append((f"{path.name}:email_body", _joined(sub)))
                elif isinstance(sub, ast.Constant) and isinstance(sub.value, str) and id(sub) not in parts \
                        and sub.value.strip():
                    texts.append((f"{path.name}:email_body", sub.value))
        if isinstance(node, ast.FunctionDef) and node.name == "build_email":
            for sub in ast.walk(node):
                if isinstance(sub, ast.Assign) and isinstance(sub.value, ast.JoinedStr) \
                        and isinstance(sub.targets[0], ast.Subscript) \
                        and getattr(sub.targets[0].slice, "value", None) == "Subject":
                    texts.append((f"{path.name}:Subject", _joined(sub.value)))
    return texts


def knowledge_texts(path: Path = KNOWLEDGE) -> List[Text]:
    """What bot/knowledge.yml makes Mutu say: facts, what it does not say, labels, the source line."""
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text("utf-8")) or {}
    texts: List[Text] = []

    def walk(value: Any, where: str, shown: bool) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{where}.{key}", shown or key in ("text", "label", "source_line", "section",
                                                               "facts", "unknown", "what", "summary",
                                                               "called", "phrasing"))
        elif isinstance(value, list):
            for item in value:
                walk(item, where, shown)
        elif isinstance(value, str) and shown and not value.startswith("topic:"):
            texts.append((f"knowledge.yml:{where.lstrip('.')}", value))

    walk(data, "", False)
    return texts


def response_paths() -> List[Path]:
    return [ROOT / "domain.yml"] + sorted((ROOT / "data" / "responses").glob("*.yml"))


def all_texts() -> List[Text]:
    texts: List[Text] = []
    for path in response_paths():
        texts += response_texts(path)
    return texts + python_texts(CHANNELS) + python_texts(DELIVERY) + python_texts(ANSWER) + python_texts(DONT_KNOW) \
        + knowledge_texts()


@lru_cache(maxsize=1)
def values() -> Dict[str, str]:
    conf = settings.load({})
    return response_values(conf.links, conf.retention_days, conf.max_question_chars)


def render(text: str) -> str:
    """The text as shown: links-file values filled in, other variables (the user's name…) as X."""
    return PLACEHOLDER.sub(lambda m: values().get(m.group()[1:-1], "X"), text)


# --- the checks -------------------------------------------------------------------------------------
def _starts_sentence(text: str, start: int) -> bool:
    i = start - 1
    while i >= 0 and (text[i] in SPACES or text[i] in OPENERS or text[i] == "\n"):
        if text[i] in "\n«“":  # a new line, a quotation
            return True
        i -= 1
    return i < 0 or text[i] in ".!?…"


def source_problems(where: str, text: str) -> List[str]:
    """Numbers, dates, addresses, links and names that neither the source nor links.yml has."""
    facts = known()
    problems: List[str] = []
    text = PLACEHOLDER.sub(" ", text)
    for url in URL.findall(text):
        if _clean_url(url) not in facts["urls"]:
            problems.append(f"{where}: link not in the source nor in bot/links.yml: {url}")
    text = URL.sub(" ", text)
    for email in EMAIL.findall(text):
        if fold(email) not in facts["emails"] and fold(email).split("@")[1] not in facts["email_domains"]:
            problems.append(f"{where}: e-mail address not in the source nor in bot/links.yml: {email}")
    text = EMAIL.sub(" ", text)
    flat = " ".join(fold(text).split())
    for date in DATE.findall(flat):
        if date not in facts["dates"]:
            problems.append(f"{where}: date not in the source: « {date} »")
    for acronym, expansion in EXPANSION.findall(text):
        if re.match(r"voir\b|see\b", expansion) or f"{acronym} ({fold(expansion)})" in facts["expansions"]:
            continue
        problems.append(f"{where}: expansion of {acronym} not in the source nor in the allow-list: {expansion}")
    for number in NUMBER.findall(text):
        if re.sub(r"\D", "", number) not in facts["numbers"]:
            problems.append(f"{where}: number not in the source nor in bot/links.yml: {number}")
    for match in WORD.finditer(text):
        word = match.group()
        letters = word.replace("-", "")
        acronym = len(letters) >= 2 and letters.isupper()
        if len(letters) < 2 or not word[0].isupper() or (not acronym and _starts_sentence(text, match.start())):
            continue
        folded = fold(word)
        if folded not in facts["words"] and not all(p in facts["words"] for p in folded.split("-")):
            kind = "acronym" if acronym else "name"
            problems.append(f"{where}: {kind} not in the source nor in bot/links.yml: {word}")
    return problems


def link_problems(where: str, shown: str) -> List[str]:
    """A link must be markdown, and lead to an address of bot/links.yml."""
    problems = []
    for label, url in MD_LINK.findall(shown):
        if url not in known()["link_urls"]:
            problems.append(f"{where}: link to an address that is not in bot/links.yml: [{label}]({url})")
    for url in URL.findall(MD_LINK.sub(" ", shown)):
        problems.append(f"{where}: bare address, write [label]({{placeholder}}) instead: {url}")
    return problems


# Machine or archival wording a visitor cannot use.
MACHINE_WORDS = re.compile(r"non conservée?s?|n'a pas été conservée?|(?:D|d)'après l'article cité|"
                           r"\(le nom complet de l'organisme n'y figure pas\)", re.IGNORECASE)
# An internal label appended in parentheses at the end of a sentence: « … frais) (le contrat). »
INTERNAL_LABEL = re.compile(r"\((?:le|la|les|l')\s?[^()]{1,60}\)(?=\s*[.!?]?\s*(?:\n|$))", re.IGNORECASE)
TWO_PARENTHESES = re.compile(r"\([^()\n]*\)\s*\([^()\n]*\)")
# « préciser » with a partitive object: « ne précise pas de modèle », « d'exemple ».
PRECISER_DE = re.compile(r"\bpr[ée]cis(?:e|es|ent|er|é|ée)\s+(?:pas\s+|plus\s+|jamais\s+|rien\s+)?(?:de|d'|d’)(?=\s|\w)",
                         re.IGNORECASE)
PRECISE = re.compile(r"\bpr[ée]cis(?:e|es|ent|er|é|ée)\b", re.IGNORECASE)
PRECIS = re.compile(r"\bpr[ée]cis(?:e|es|ion|ions|ément)?\b", re.IGNORECASE)
SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
MAX_SENTENCE_WORDS = 45
# Facts of 2023 told in the present tense (the infographic dates from 2023).
DATED_PRESENT = re.compile(r"\b(?:La Halte (?:offre|compte)|(?:les|Les) deux CDC partagent)\b")
# « Réponse pas utile », « soit plus que les 2 000 permis », « si c'en est »
CLUMSY = {
    re.compile(r"\b\w+ pas utiles?\b(?! (?:de|à|d'))", re.IGNORECASE): "« pas utile » as an adjective: « peu utile », « inutile »",
    re.compile(r"\bsoit plus que\b", re.IGNORECASE): "« soit plus que … » reads as arithmetic: « alors que la limite est de … »",
    re.compile(r"\bsi c'en est\b", re.IGNORECASE): "« si c'en est »: name what it is",
    re.compile(r"\bconsultez « [^»]{1,40} »\s*\.", re.IGNORECASE): "a button label presented as something to read",
}


def french_problems(where: str, shown: str) -> List[str]:
    problems = []
    shown = EMAIL.sub("X", URL.sub("X", MD_LINK.sub(lambda m: m.group(1), shown)))
    for match in re.finditer(r"\b(?:[Dd]e|[Qq]ue) (?=[AEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜ])\w+", shown):
        problems.append(f"{where}: elide before a vowel (« d'Isabelle », « qu'Annie »): « {match.group()} »")
    for match in re.finditer(r"\S[?!]", shown):
        problems.append(f"{where}: a space before « ? » and « ! »: « {match.group()} »")
    for match in re.finditer(r"\d+(?: \d{3})+|\d{4,}", shown):
        number = match.group()
        is_year = re.fullmatch(r"(?:19|20)\d\d", number) is not None
        if not is_year:
            problems.append(f"{where}: write numbers of 1 000 and more with a non-breaking space (U+00A0): "
                            f"« {number} »")
    if re.search(r"\bnon merci\b", shown, re.IGNORECASE):
        problems.append(f"{where}: « Non, merci » (with a comma)")
    for match in PRECISER_DE.finditer(shown):
        problems.append(f"{where}: « préciser » takes no partitive object (« ne donne pas de modèle »): "
                        f"« {match.group()} »")
    for match in SENTENCE.finditer(shown):
        sentence = match.group()
        if PRECISE.search(sentence) and len(PRECIS.findall(sentence)) >= 2:
            problems.append(f"{where}: « précise » and « précis… » in one sentence: « {sentence.strip()[:80]} »")
        words = len(re.findall(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", sentence))
        if words > MAX_SENTENCE_WORDS:
            problems.append(f"{where}: a sentence of {words} words (at most {MAX_SENTENCE_WORDS}): "
                            f"« {sentence.strip()[:60]}… »")
    for match in TWO_PARENTHESES.finditer(shown):
        problems.append(f"{where}: two parenthesised groups in a row: « {match.group()} »")
    for match in INTERNAL_LABEL.finditer(shown):
        problems.append(f"{where}: an internal label appended in parentheses: « {match.group()} »")
    for match in MACHINE_WORDS.finditer(shown):
        problems.append(f"{where}: machine or archival wording a visitor cannot use: « {match.group()} »")
    for match in DATED_PRESENT.finditer(shown):
        problems.append(f"{where}: a fact of 2023 in the present tense (« selon l'infographie (2023), … "
                        f"offrait »): « {match.group()} »")
    for pattern, advice in CLUMSY.items():
        for match in pattern.finditer(shown):
            problems.append(f"{where}: {advice}: « {match.group()} »")
    return problems


# Object pronouns before a verb (« qui la dirige », « où le trouver »), by the gender they need.
_PRONOUN_BEFORE_VERB = re.compile(r"\b(?:qui|où|comment) (les|le|la|l')(?: |(?<='))(?=[a-zéèêâ]+(?:er|ir|re|oir|ige|igent|ent)\b)")
_PRONOUN_GENDER = {"le": ("m",), "la": ("f",), "les": ("mp", "fp"), "l'": ("m", "f")}
_SUMMARY_PRONOUN = re.compile(r"^Elle (les|le|la|l')(?: |(?<='))")


def pronoun_problems(where: str, shown: str, gender: str) -> List[str]:
    """Pronouns that stand for the thing of a reply must agree with it (``gender``: m, f, mp, fp):
    « qui la dirige » about Le Relait is wrong."""
    problems = []
    first = shown.split("\n", 1)[0]
    found = [m.group(1) for m in _PRONOUN_BEFORE_VERB.finditer(first)]
    found += [m.group(1) for s in SENTENCE.finditer(first) for m in [_SUMMARY_PRONOUN.match(s.group().strip())] if m]
    for pronoun in found:
        if gender not in _PRONOUN_GENDER[pronoun]:
            problems.append(f"{where}: « {pronoun} » does not agree with a thing of gender « {gender} »")
    return problems


def source_line_problems(where: str, shown: str) -> List[str]:
    """An FAQ answer ends with « Source : infographie « La mutualisation », section … »."""
    body, _, last = shown.rpartition("\n")
    match = SOURCE_LINE.match(last)
    if not body or not match:
        return [f"{where}: the last line must be the « Source : » line, not « {last[:80]} »"]
    problems = [f"{where}: not a section of the infographic: « {s} »"
                for s in match.group("sections").split(", ") if s not in SECTIONS]
    plural = match.group("word") == "Sources"
    if plural != (match.group("tail") or "").startswith(";"):
        problems.append(f"{where}: « Sources » for two sources, « Source » for one")
    if len(body) > MAX_ANSWER_CHARS:
        problems.append(f"{where}: {len(body)} characters before the source line, want at most {MAX_ANSWER_CHARS}")
    return problems


def check_texts(texts: Iterable[Text]) -> List[str]:
    problems: List[str] = []
    for where, text in texts:
        shown = render(text)
        problems += source_problems(where, text) + link_problems(where, shown) + french_problems(where, shown)
        if ":utter_faq/" in where and not where.endswith("(button)"):
            problems += source_line_problems(where, shown)
    return problems


def main(paths: List[str]) -> int:
    """Print the problems of the given response files (.yml) or Python sources (.py)."""
    problems: List[str] = []
    for name in paths:
        path = Path(name)
        texts = python_texts(path) if path.suffix == ".py" else response_texts(path)
        problems += check_texts(texts)
    print("\n".join(problems) or "no problem")
    print(f"{len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
