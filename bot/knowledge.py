"""What the infographic says about each thing (bot/knowledge.yml), and how a question is read
against it and against the conversation so far.

``decide`` is pure: it takes the text, the NLU parse and the context (the thing and answer of the
last turn) and returns a ``Plan`` — answer a topic, give one fact, say plainly that the
infographic does not say, ask to clarify, or decline. The action (actions/answer.py) renders it; the channels use ``mentions`` to split two-question messages.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml

from bot.focus import focus_text, question_sentences, without_intro_clauses
from bot.text import fold

KNOWLEDGE_FILE = Path(__file__).resolve().parent / "knowledge.yml"

# Attributes a question can ask about, in priority order: the first that matches wins.
# Patterns run on folded text (no accents, no capitals, punctuation as spaces).
ATTRIBUTES: List[Tuple[str, str]] = [
    ("cout", r"couts?|coute(nt)?|couter|prix|tarifs?|frais|cher|cotisations?|how much|costs?|fees?|price"),
    ("financement", r"subventions?|financement|financer|finance|financent|financez|fonds|funding|grants?|"
                    r"aide financiere"),
    ("employeur", r"employeur|employeurs|employer|salaires?|paie|avantages sociaux|salary|wages?|paye|"
                  r"employee? de qui|qui (l )?(emploie|engage|embauche|paie|paye)|who (pays|employs|hires)"),
    ("legal", r"legal|legale|juridiques?|fiscal|fiscale|impots?|taxes?|responsabilite civile|liability|"
              r"lawyer|avocat|notaire|notarie|notariee|loi 25|conforme|conformite|releve 1|t4|cnesst d un"),
    ("gouvernance", r"preside|president|presidente|conseil d administration|directeur general|directrice generale|"
                    r"dirige|board"),
    ("defis", r"defis?|difficultes?|obstacles?|challenges?|ingredients?|facteurs de succes|cles du succes|"
              r"pieges?|risques?"),
    ("modele", r"modele de contrat|modeles de contrat|gabarit|template|contrat type"),
    ("demarches", r"demarches?|incorporer|incorporation|lettres patentes|statuts|formulaires?|paperasse"),
    ("coordonnees", r"adresse (civique|exacte|postale)|code postal|numero de telephone|telephone|numero de tel|no de tel|son tel|leur tel|cellulaire|"
                    r"site web|bureaux?|"
                    r"site internet|phone number"),
    ("qualifie", r"(c est|c|ca|est ce|ca compte|compte|considere)( tu| t il)?( comme)? (de la|une forme de) "
                 r"mutualisation|is (it|that|this) (pooling|mutualisation)|ca se (partage|mutualise)|"
                 r"se (partagent|partage|mutualisent|mutualise) tu|peut (on|tu) (les |le |la )?(partager|mutualiser)|"
                 r"on peut tu (partager|mutualiser)|can (we|you) (share|pool)"),
    ("comite", r"comite|pilotage|participe|participent|fait partie|font partie|siege|siegent|sit on"),
    ("source", r"sources?|references?|d ou (ca )?vien(t|nent)|vien(t|nent) d ou|tire(e|es|s)? de|"
               r"ca vient de|articles?|where does .* come from|where .* from|from where"),
    ("conges", r"vacances|conges?|maladie|vacation|holidays?|sick"),
    ("dispo", r"sorti|sortie|paru|parue|disponibles?|available|est il sorti|deja publie|diffuse|diffusee|"
              r"diffusion|va etre publie|sera publie"),
    ("contenu", r"contien(t|nent)|contenu|dedans|parle de quoi|what is in|what s in|(ses|les|ces) (\w+ )?etapes|steps|"
                r"c est quoi ses|quelles sont ses|ses etapes|resumer|resume|resumez|summarize|summary|"
                r"recommande|recommandations?|conseille|propose"),
    ("region", r"abitibi|bas saint laurent|capitale nationale|chaudiere appalaches|cote nord|estrie|gaspesie|"
               r"lanaudiere|laurentides|laval|mauricie|monteregie|outaouais|saguenay|nord du quebec|"
               r"dans (ma|notre|mon) (region|coin|ville)|dans le coin|pres de chez nous"),
    ("nom", r"s appelle|son nom|leur nom|their name|her name|his name"),
    ("autre", r"une autre|un autre|d autres|autres exemples|l autre|lotre|l otre|another|any other|the other|"
              r"y en a tu d autres"),
    ("forme", r"contrat|entente|structure|formalise|formaliser|signe|signer|signed|agreement"),
    ("membres", r"membres?|members?|adherents?"),
    ("combien", r"combien|how many|nombre"),
    ("exemple", r"exemples?|examples?|par exemple|genre de"),
    ("quebec", r"au quebec|quebecois|quebecoise|quebecois|in quebec|ici au quebec|ca existe au"),
    ("public", r"pour qui|a qui|clientele|serv(e|es|ent)|who .* serve|beneficiaires?|s adresse"),
    ("mutualise", r"(ils|elles) (mutualisent|partagent)|qu est ce qu (ils|elles) (mutualis|partag)|"
                  r"what do they (share|pool)|mutualisent quoi|partagent quoi"),
    ("lieu", r"^ou|c ou|c est ou|est ou|sont ou|ou (est|sont|se trouve|ca|ce|c est|il|elle|ils|elles|trouver)|"
             r"region|regions|situee?s?|located|where|endroit|adresse|ville|territoire|lien|url|"
             r"site|universite|university|abitibi|bas saint laurent|capitale nationale|chaudiere appalaches|cote nord|estrie|"
             r"gaspesie|lanaudiere|laurentides|laval|mauricie|monteregie|outaouais|saguenay|"
             r"centre du quebec|nord du quebec"),
    # (« quand on tombe malade » is not a question about a date)
    ("quand", r"quand(?! (?:on|je|j|y|il|elle|ils|elles|nous|vous|chu|tu|t|ca|c est pas) )|depuis quand|quelle annee|en quelle annee|date|dates|when|since|what year|publie en"),
    ("pourquoi", r"pourquoi|why|raisons?|dans quel but|objectifs?|sert a quoi|a quoi (ca )?sert|utilite|mission|"
                 r"what for|purpose"),
    ("comment", r"comment|marche|fonctionne|fonctionnent|concretement|how does|how do|how it works|works"),
    ("qui", r"^((et|pis|ok|ben|mais|pis|bon) )*qui|c qui|c est qui|qui est ce|qui c est|par qui|avec qui|de qui|who|"
            r"s appelle|son nom|leur nom"),
    ("quoi", r"quoi|c quoi|c koi|c est quoi|qu est ce|what|definition|def"),
]
# Combined FAQ confidence (bot/knowledge.faq_choice) above which the classifiers' topic beats a
# cue word, and under which an unnamed question gets « vouliez-vous dire… » instead of a guess.
CONFIDENT = 0.6
UNSURE = 0.12
# Attributes answered by the thing's full answer when asked in a short follow-up.
GENERIC = {"quoi"}
# Attributes worth a « ne précise pas » even without a named thing (in-domain by themselves).
STANDALONE_UNKNOWN = {"cout", "financement", "employeur", "legal", "defis", "modele", "demarches", "gouvernance",
                      "dispo"}
_ATTRIBUTE_PATTERNS = [(name, re.compile(rf"\b(?:{pattern})\b")) for name, pattern in ATTRIBUTES]
_STOP = set("""
a ah ai alors as au aussi aux avec avez avoir bah ben bon c ca ce ceci cela celle celles celui ces cet cette
chez comme d da dans de des donc du e eh elle elles en est et etait etaient ete etre eu eux fait faire fais
faut hein il ils j je juste l la le les leur leurs lui m ma mais me meme mes moi mon n ne ni nos notre nous
o oh ok on ou ouin par pas peu peut peux pis plus pour pourrait pu puis qu que quel quelle quelles quels
qui quoi s sa sais sans se ses si son sont su sur t ta te tes toi ton tous tout tu un une va vont vos
votre vous y ya a-tu tu-tu ti la-dedans au juste exactement deja ici ok okay alors interessant merci svp
and the a an is are it its this that they them their of to in on for do does did can could be was were
what who where when how why which there ok so please thanks hi hello also about
existe existent exister dit disent parle parler avoir veux voudrais aimerais savoir dire
""".split())
_PRONOUN = re.compile(r"\b(ils|elles|eux|leur|leurs|ces|cette|celle|celui|celle la|ca|ce|cela|il|elle|it|they|them|"
                      r"their|those|that|there)\b")
_FIRST_PERSON = re.compile(r"\b(on|nous|nous autres|je|j|notre|nos|mon|ma|mes|chu|we|i|our|my)\b")
_CONTACT = re.compile(r"\b(contacter|contacte|contact|joindre|rejoindre|appeler|telephoner|ecrire a|parler a|"
                      r"parler avec|reach|call|contact|courriel|email|e mail)\b")
_FOLLOW = re.compile(r"^(et|pis|puis|and|what about|how about|ok|okay|pis pour|et pour|pis dans|et dans|"
                     r"et pour|pis avec|et avec)\b")


def norm(text: str) -> str:
    """Folded text with punctuation turned into spaces (apostrophes and hyphens too)."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(text)))


@dataclass(frozen=True)
class Thing:
    key: str
    label: str
    aliases: Tuple[str, ...]
    topic: str
    topics: Tuple[str, ...] = ()
    section: str = ""
    facts: Dict[str, str] = field(default_factory=dict)
    unknown: Dict[str, str] = field(default_factory=dict)
    weak: bool = False
    parent: Optional[str] = None
    attractor: bool = False  # the classifier's default answer: a named thing beats it
    only_facts: bool = False  # named only to ask one of its facts (« les définitions, d'où viennent-elles? »)


@dataclass(frozen=True)
class Knowledge:
    things: Dict[str, Thing]
    source_line: str
    what: Dict[str, str] = field(default_factory=dict)  # attribute → how « ne précise pas … » names it

    def children(self, things: Sequence[Thing], depth: int = 2) -> List[Thing]:
        """Things whose parent (or grandparent) is one of ``things`` (the sectors → the arts → the
        Petit guide orange)."""
        found: List[Thing] = []
        level = list(things)
        for _ in range(depth):
            keys = {t.key for t in level}
            level = [t for t in self.things.values() if t.parent in keys and t not in things and t not in found]
            found += level
        return found

    def sibling(self, thing: Thing) -> Optional[Thing]:
        """Another thing with the same parent (Le Relait → La Halte), if any."""
        for other in self.things.values():
            if thing.parent and other.parent == thing.parent and other.key != thing.key:
                return other
        return None

    def thing_of_topic(self, topic: str) -> Optional[Thing]:
        for thing in self.things.values():
            if thing.topic == topic:
                return thing
        for thing in self.things.values():
            if topic in thing.topics:
                return thing
        return None


@lru_cache(maxsize=4)
def load(path: Path = KNOWLEDGE_FILE) -> Knowledge:
    raw = yaml.safe_load(path.read_text("utf-8"))
    things = {}
    for key, item in raw["things"].items():
        things[key] = Thing(key=key, label=item["label"], topic=item["topic"],
                            aliases=tuple(norm(a) for a in item.get("aliases") or []),
                            topics=tuple(item.get("topics") or []), section=item.get("section", ""),
                            facts=dict(item.get("facts") or {}), unknown=dict(item.get("unknown") or {}),
                            weak=bool(item.get("weak")), parent=item.get("parent"),
                            attractor=bool(item.get("attractor")), only_facts=bool(item.get("only_facts")))
    return Knowledge(things=things, source_line=raw["source_line"], what=dict(raw.get("what") or {}))


def without_names(text: str, things: Sequence[Thing]) -> str:
    """``text`` folded, without the names of ``things`` (« et le contrat » asks no « forme »)."""
    flat = norm(text)
    for thing in things:
        for alias in thing.aliases:
            flat = re.sub(rf"\b{re.escape(alias)}\b", " ", flat)
    return " ".join(flat.split())


def attribute(text: str) -> Optional[str]:
    """The attribute a question asks about (« c'est où? » → lieu), or None."""
    flat = norm(text)
    for name, pattern in _ATTRIBUTE_PATTERNS:
        if pattern.search(flat):
            return name
    return None


def _alias_found(alias: str, flat: str, words: Sequence[str]) -> bool:
    if re.search(rf"\b{re.escape(alias)}\b", flat):
        return True
    if " " in alias or len(alias) < 8:
        return False  # typos only in long single-word names (« coentrepise »)
    # (a word that begins the name, or that the name begins, is another word: « personne » is not
    # « personnel », « équipe » not « équipement »)
    return any(len(w) >= 7 and w[:2] == alias[:2] and abs(len(w) - len(alias)) <= 2
               and not alias.startswith(w) and not w.startswith(alias)
               and difflib.SequenceMatcher(None, w, alias).ratio() >= 0.88 for w in words)


def mentioned(knowledge: Knowledge, text: str, short: bool) -> List[Thing]:
    """Things named in ``text``, in order of appearance; weak ones only in a short message.
    A longer alias wins over a shorter one inside it (« petit guide » over « guide »)."""
    flat = norm(text)
    words = flat.split()
    found: List[Tuple[int, int, Thing]] = []
    for thing in knowledge.things.values():
        if thing.weak and not short:
            continue
        for alias in thing.aliases:
            if alias and _alias_found(alias, flat, words):
                match = re.search(rf"\b{re.escape(alias)}\b", flat)
                found.append((match.start() if match else len(flat), -len(alias), thing))
                break
    found.sort(key=lambda item: (item[0], item[1]))
    return [thing for _, _, thing in found]


def most_specific(things: Sequence[Thing], flat: str) -> Thing:
    """The thing named by the longest alias (« farm replacement coops » → the replacement coops)."""
    def longest(thing: Thing) -> int:
        return max((len(a) for a in thing.aliases if re.search(rf"\b{re.escape(a)}\b", flat)), default=0)
    return max(things, key=longest)


def content_words(text: str, things: Sequence[Thing]) -> List[str]:
    """Words that are neither function words, question cues nor the names of ``things``."""
    flat = norm(text)
    for thing in things:
        for alias in thing.aliases:
            flat = re.sub(rf"\b{re.escape(alias)}\b", " ", flat)
    for _, pattern in _ATTRIBUTE_PATTERNS:
        flat = pattern.sub(" ", flat)
    return [w for w in flat.split() if w not in _STOP and not w.isdigit()]


@dataclass
class Context:
    thing: Optional[str] = None      # the thing of the last answer
    answer: Optional[str] = None     # the key of the last answer
    attribute: Optional[str] = None  # the attribute of the last question


@dataclass
class Plan:
    kind: str                        # topic | fact | dont_know | clarify | give_up | out_of_scope | other | nothing_more
    topic: Optional[str] = None
    thing: Optional[str] = None
    attribute: Optional[str] = None
    text: Optional[str] = None
    again: bool = False              # the answer just given, given again (said as such)

    @property
    def key(self) -> str:
        return ":".join(p for p in (self.kind, self.topic or "", self.thing or "", self.attribute or "") if p)


def faq_choice(parse: Dict[str, Any]) -> Tuple[Optional[str], float]:
    """The FAQ topic the response selector chose and the combined confidence."""
    intent = parse.get("intent") or {}
    selector = ((parse.get("response_selector") or {}).get("faq") or {}).get("response") or {}
    key = selector.get("intent_response_key") or ""
    topic = key.split("/", 1)[1] if "/" in key else None
    confidence = float(selector.get("confidence") or 0.0)
    if intent.get("name") == "faq":
        confidence *= float(intent.get("confidence") or 0.0) ** 0.5
    else:
        confidence = 0.0
    return topic, confidence


def prefer_named(knowledge: Knowledge, parse: Dict[str, Any], topic: Optional[str],
                 named: Sequence[Thing], ratio: float = 0.25) -> Optional[str]:
    """``topic``, or a close runner-up about one of the ``named`` things (the classifier took
    « la différence entre formelle et informelle » for the definition; « informelle » names a thing)."""
    if not named or not topic:
        return topic
    keys = {t.key for t in named} | {t.parent for t in named if t.parent}
    current = knowledge.thing_of_topic(topic)
    if current and current.key in keys:
        return topic
    if current and current.attractor and topic == current.topic:
        return named[0].topic  # the bare definition is the classifier's default, a named thing is not
    ranking = ((parse.get("response_selector") or {}).get("faq") or {}).get("ranking") or []
    best = float(ranking[0].get("confidence") or 0) if ranking else 0.0
    for item in ranking[:3]:
        candidate = (item.get("intent_response_key") or "").split("/", 1)[-1]
        owner = knowledge.thing_of_topic(candidate)
        if owner and (owner.key in keys or owner.parent in keys) and float(item.get("confidence") or 0) >= ratio * best:
            return candidate
    return topic


def _child_fact(knowledge: Knowledge, candidates: Sequence[Thing], attr: str, flat: str) -> Optional[Plan]:
    """A fact of one of the candidates' children: the only one that has it, or the one whose
    name the question uses (« ce guide-là » after the arts → the Petit guide orange)."""
    plans = [(child, p) for child in knowledge.children(candidates)
             for p in [_fact_plan(knowledge, child, attr)] if p]
    if len(plans) > 1:
        words = set(flat.split()) - _STOP
        plans = [(c, p) for c, p in plans if words & set(norm(c.label).split())]
    return plans[0][1] if len(plans) == 1 else None


def _fact_plan(knowledge: Knowledge, thing: Thing, attr: str) -> Optional[Plan]:
    """The thing's fact, or its parent's (La Halte → the replacement coops)."""
    value = thing.facts.get(attr)
    if value is None and thing.unknown.get(attr) is None and thing.parent in knowledge.things:
        plan = _fact_plan(knowledge, knowledge.things[thing.parent], attr)
        if plan and plan.kind == "fact":
            plan.thing = thing.key  # the conversation stays on La Halte, not on all the coops
        return plan
    if value is None:
        return None
    if value.startswith("topic:"):
        topic = value.split(":", 1)[1]
        owner = knowledge.thing_of_topic(topic) or thing
        return Plan("topic", topic=topic, thing=owner.key, attribute=attr)
    return Plan("fact", thing=thing.key, attribute=attr, text=value)


def _aspect_plan(knowledge: Knowledge, candidates: Sequence[Thing], attr: str, flat: str,
                 intent: Optional[str]) -> Optional[Plan]:
    """One fact of the candidates (or of a child), or « ne précise pas » when the knowledge file
    lists that aspect as not given, or the aspect is precise and the thing named."""
    for thing in candidates:
        plan = _fact_plan(knowledge, thing, attr)
        if plan:
            return plan
    plan = _child_fact(knowledge, candidates, attr, flat)
    if plan:
        return plan
    first = candidates[0]
    # « Ne précise pas » is a statement about the source: only for an aspect that the knowledge
    # file lists as not given for that thing, or that the classifiers, too, read as not in it.
    if attr in first.unknown or (not first.weak and intent == "not_in_source"):
        return Plan("dont_know", thing=first.key, attribute=attr, text=first.unknown.get(attr))
    return None


def _agrees(knowledge: Knowledge, plan: Plan, topic: str, strong: Sequence[Thing]) -> bool:
    """Is ``plan`` about the thing of ``topic``, or about a thing the question names itself?"""
    owner = knowledge.thing_of_topic(topic)
    if plan.topic == topic or plan.thing in {t.key for t in strong}:
        return True
    return owner is not None and plan.thing == owner.key


def leans_on_context(knowledge: Knowledge, text: str) -> bool:
    """Does ``text`` only make sense with the last answer (« elle travaille pour qui? », « pis
    combien? », « et en France? »): it names nothing itself and points back or is bare?"""
    focused = focus_text(text)
    flat = norm(focused)
    words = flat.split()
    things = mentioned(knowledge, focused, len(words) <= 6)
    if any(not t.weak for t in things):
        return False
    content = content_words(focused, things)
    bare = len(content) <= (1 if len(words) <= 6 else 0)
    return bare or _points_back(flat) or (bool(_FOLLOW.match(flat)) and len(words) <= 14 and len(content) <= 3)


def _points_back(flat: str) -> bool:
    """A pronoun points back in a short message, or one that opens as a follow-up (« pis … ça »);
    « ça » is everywhere in a longer one."""
    words = len(flat.split())
    return bool(_PRONOUN.search(flat)) and not _FIRST_PERSON.search(flat) and (
        words <= 8 or (bool(_FOLLOW.match(flat)) and words <= 14))


def decide(knowledge: Knowledge, text: str, parse: Dict[str, Any], context: Context) -> Plan:
    """What to answer to ``text``, given its NLU ``parse`` and the conversation's ``context``."""
    focused = focus_text(text)
    flat = norm(focused)
    intent = (parse.get("intent") or {}).get("name")
    short = len(flat.split()) <= 6
    unintroduced = without_intro_clauses(focused)
    asked = " ".join(question_sentences(unintroduced))
    things = mentioned(knowledge, asked, len(norm(asked).split()) <= 6)
    if not any(not t.weak for t in things):
        things = mentioned(knowledge, unintroduced, short) or things  # the context may name it
    # (a self-introduction never names the thing asked about: « chu à la MRC, c'est quoi… »)
    attr = attribute(without_names(" ".join(question_sentences(focused)), things))
    if attr == "autre" and not short:
        attr = None  # « d'autres types » in a long message is not « y en a-tu une autre? »
    strong = [t for t in things if not t.weak]
    bare = len(content_words(focused, things)) <= (1 if short else 0)
    previous = knowledge.things.get(context.thing or "")
    refers_back = _points_back(flat)
    follow_up = bool(_FOLLOW.match(flat)) or bare

    # The classifier is sure it is off-topic (« le Relais pour la vie », « une halte-garderie »): a
    # name that looks like one of ours does not make it a question about it.
    oos = (parse.get("intent") or {}).get("confidence") or 0.0
    if intent == "out_of_scope" and float(oos) >= 0.7 and not bare and attr not in STANDALONE_UNKNOWN:
        return Plan("out_of_scope")
    # 0. « qui je peux contacter? », « comment la joindre? »: the coordinator's address.
    if _CONTACT.search(flat) and attr in (None, "qui", "quoi", "comment", "lieu") and not strong:
        return Plan("topic", topic="contact", thing="coordinator")
    topic, confidence = faq_choice(parse)
    sure_topic = topic if intent == "faq" and confidence >= CONFIDENT else None
    # 1. A question about a named thing, or about the last one (« c'est où? », « pourquoi elles… »).
    candidates: List[Thing] = [t for t in (strong or (things if short else []))]
    specific = [t for t in strong if not t.attractor and not t.only_facts]
    if previous and (refers_back or (bare and not things)) and not (previous.weak and strong) \
            and not specific and previous not in candidates:
        # « c'est où? » after La Halte; a thing named now comes first (« le petit guide, il date de quand? »)
        candidates.insert(len(strong), previous)  # a word like « mutualisation » does not hide La Halte
    if attr == "autre" and candidates:
        sibling = knowledge.sibling(candidates[0])
        if sibling:
            return Plan("topic", topic=sibling.topic, thing=sibling.key)
    if attr and attr not in GENERIC and candidates:
        plan = _aspect_plan(knowledge, candidates, attr, flat, intent)
        # A cue word never overrides a topic the classifiers are sure of, unless the plan is about
        # that topic's own thing (« la Halte, combien de membres? » refines « la Halte »).
        # A bare follow-up (« combien de membres? ») gives the classifiers nothing but the cue.
        about_previous = previous is not None and plan is not None and plan.thing == previous.key and bare
        if plan and (sure_topic is None or about_previous or _agrees(knowledge, plan, sure_topic, strong)):
            return plan
    # 2. « pis le Relait? », « et la coentreprise? »: the named thing's full answer.
    answerable = [t for t in strong if not t.only_facts]
    if answerable and follow_up and (bare or short):
        chosen = most_specific(answerable, flat)
        return Plan("topic", topic=chosen.topic, thing=chosen.key)
    if things and _FOLLOW.match(flat) and bare:
        return Plan("topic", topic=things[0].topic, thing=things[0].key)
    # 3. An in-domain question the infographic does not answer.
    if intent == "not_in_source" or (attr in STANDALONE_UNKNOWN and intent != "out_of_scope" and not sure_topic):
        # the thing of the last answer only when the question is bare (« et ça coûte combien? »)
        thing = candidates[0] if candidates and (candidates[0] in strong or bare) else None
        if thing is not None and attr is None and thing in strong and not thing.only_facts:
            # a named thing and no aspect to say is missing: what the infographic says of it
            return Plan("topic", topic=thing.topic, thing=thing.key)
        return Plan("dont_know", thing=thing.key if thing else None, attribute=attr,
                    text=thing.unknown.get(attr) if thing and attr else None)
    # 4. The classifiers' choice, preferring among their first three a topic about a named thing;
    # when they are unsure and nothing is named, the likeliest topics are offered instead.
    named = [t for t in strong if not t.only_facts]
    if intent == "faq" and confidence < UNSURE and not named:
        return Plan("clarify")
    topic = prefer_named(knowledge, parse, topic, named)
    if intent == "faq" and topic:
        owner = knowledge.thing_of_topic(topic)
        named = [t for t in strong if owner and t.parent == owner.key]
        # « un exemple dans l'alimentation? » → the list of examples, but the conversation is on the Cantine
        thing = named[0] if named else owner
        return Plan("topic", topic=topic, thing=thing.key if thing else None)
    if intent == "not_what_i_meant":
        return Plan("other")
    if intent == "help":
        return Plan("help")
    if intent == "out_of_scope":
        return Plan("out_of_scope")
    chosen = most_specific(named, flat) if named and intent == "nlu_fallback" else None
    if chosen and _clear_first(parse, chosen.topic):  # unsure of the words, not of the thing named
        return Plan("topic", topic=chosen.topic, thing=chosen.key)
    return Plan("clarify")


def _clear_first(parse: Dict[str, Any], topic: str, ratio: float = 0.5) -> bool:
    """Is ``topic`` the FAQ reading's first choice, well ahead of the second?"""
    ranking = ((parse.get("response_selector") or {}).get("faq") or {}).get("ranking") or []
    scores = [float(r.get("confidence") or 0.0) for r in ranking[:2]]
    first = (ranking[0].get("intent_response_key") or "").split("/", 1)[-1] if ranking else None
    return first == topic and (len(scores) < 2 or scores[1] < ratio * scores[0])
