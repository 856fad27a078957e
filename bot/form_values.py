"""Reading the inquiry form's values out of what people type around them (pure: no Rasa).

Each reader takes one message and says whether it holds a value for its field:
``Reading("value", "Josée Gagnon-Roy")`` for « Je m'appelle Josée Gagnon-Roy »,
``Reading("none")`` for « j'ai pas d'organisme, je suis citoyenne », ``Reading("invalid")`` for an
attempt of the wrong shape (« marc.gagnon(at)exemple »), ``Reading("other")`` for anything that is
not a value at all (a question, a protest, a button, a sentence about something else). Other
helpers read what a message asks of the form: leaving, a privacy question, a correction of a
field, a request to write to someone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

from bot.text import fold, one_line

NAME, EMAIL, ORGANISATION, QUESTION = "inquiry_name", "inquiry_email", "inquiry_organisation", "inquiry_question"


@dataclass(frozen=True)
class Reading:
    kind: str  # "value", "none" (no organisation), "invalid" (a value of the wrong shape), "other"
    value: Optional[str] = None

    @property
    def found(self) -> bool:
        return self.kind in ("value", "none")


OTHER = Reading("other")
INVALID = Reading("invalid")

# --- shared ------------------------------------------------------------------------------------

PAYLOAD = re.compile(r"^\s*/[a-z_]+(?:/[a-z0-9_]+)?(?:\{.*\})?\s*$", re.IGNORECASE | re.DOTALL)


def is_payload(text: str) -> bool:
    """A quick-reply payload (« /faq/form_contrat », « /cancel »): never a value."""
    return bool(PAYLOAD.match(text or ""))


def _norm(text: str) -> str:
    """One line, typographic apostrophes made plain, outer spaces trimmed."""
    return one_line(text or "").replace("’", "'").replace("`", "'").strip()


def _folded(text: str) -> str:
    return " ".join(fold(_norm(text)).split())


def _clauses(text: str, brackets: bool = True) -> List[str]:
    """``text`` cut at commas, semicolons, sentence ends and line breaks (not inside addresses);
    at brackets too unless ``brackets`` is False (« Centre (CAB) de Rimouski »)."""
    cuts = r"[,;!?\n()]+" if brackets else r"[,;!?\n]+"
    sentence_end = r"(?<!\b\w)(?<!\b[Ss]t)(?<!\b[Ss]te)(?<!\b[Dd]r)\.(?=\s|$)"  # not « A. », « St. »
    parts = re.split(cuts + "|" + sentence_end + r"|\s[-–—:]\s|\s+(?:et|and|pis)\s+(?=mon |ma |my |j'|je )", text)
    return [p.strip(" .-–—:«»\"") for p in parts if p and p.strip(" .-–—:«»\"")]


# Fillers around a value: « oui », « ok », « bonjour », « merci », « svp »…
_FILLER = (r"(?:oui|ouais|ok|okay|hum+|hmm+|d'accord|parfait|bien sur|certainement|alors|bon|ben|euh+|heu+|"
           r"bonjour|allo|"
           r"salut|hello|hi|merci|thanks|svp|stp|s'il vous plait|s'il te plait|please|voici|voila|ah|oh|sure|yes)")
_LEADING_FILLERS = re.compile(rf"^(?:{_FILLER}\b[\s,.!:]*)+", re.IGNORECASE)
_TRAILING_FILLERS = re.compile(rf"(?:[\s,.!:]*\b{_FILLER})+[\s.!]*$", re.IGNORECASE)


def _strip_fillers(folded: str) -> str:
    return _TRAILING_FILLERS.sub("", _LEADING_FILLERS.sub("", folded)).strip(" ,.!:")


def _cut(original: str, folded_start: int, folded_end: int) -> str:
    """The part of ``original`` matching a span of its folded form (folding keeps lengths when
    the text has no ligature; otherwise fall back to the folded text)."""
    if len(fold(original)) != len(original):
        return original[folded_start:folded_end] if folded_start <= len(original) else ""
    return original[folded_start:folded_end]


# --- leaving, privacy, writing to someone --------------------------------------------------------

LEAVE = re.compile(
    r"\b(?:laisse[rz]? (?:donc )?faire|laisse[rz]? tomber|je laisse tomber|j'arrete|on arrete|arretons|arretez|"
    r"j'abandonne|on abandonne|abandonner|annule[rz]?|j'annule|on annule|oublie[rz]? (?:ca|ça|ma demande|tout)|"
    r"je (?:ne )?veux (?:pu|plus|pas) (?:envoyer|continuer|ecrire|laisser)|"
    r"(?:pas|pu|plus) besoin (?:finalement|de (?:ma demande|continuer|l'envoyer|lui ecrire))|"
    r"je vais (?:juste |plutot |simplement )?(?:lui |leur |vous )?(?:ecrire|envoyer un courriel|envoyer un mail|"
    r"la contacter|les contacter|l'appeler|la joindre|lui envoyer un courriel)"
    r"(?: moi-meme| moi meme| directement| par moi-meme)|"
    r"je (?:lui |vous )?(?:ecrirai|ecris) (?:moi-meme|moi meme|directement)|"
    r"je vais (?:plutot |juste |simplement )?(?:lui|leur) (?:ecrire|telephoner|envoyer un courriel)|"
    r"je vais (?:plutot |juste |simplement )?(?:l'appeler|la contacter|la joindre|lui parler)|"
    r"j'ai change d'idee|je change d'idee|tant pis|cancel|never ?mind|forget it|i'll (?:just )?write|"
    r"(?:n')?envo(?:ie|yez) (?:rien|pas)|ne (?:l'|la |le )?envo(?:ie|yez) (?:pas|rien)|finalement non|"
    r"non,? finalement)\b")
LEAVE_ALONE = re.compile(r"^(?:non merci|stop|arrete|non,? (?:c'est )?(?:correct|beau) merci|bye|au revoir)[\s.!]*$")
WRITE_MYSELF = re.compile(r"\b(?:moi-meme|moi meme|directement|par moi-meme)\b")


def says_to_stop(text: str) -> bool:
    """Leaving said in so many words (« j'arrête », « laissez faire »), not a bare « non merci »."""
    return not is_payload(text) and bool(LEAVE.search(_folded(text)))


def wants_to_leave(text: str) -> bool:
    """« laissez faire », « j'arrête », « non merci, j'arrête là », « je vais lui écrire moi-même »."""
    folded = _folded(text)
    return not is_payload(text) and bool(LEAVE.search(folded) or LEAVE_ALONE.match(folded))


PRIVACY = re.compile(
    r"\b(?:donnees|renseignements|informations personnelles|infos personnelles|mes infos|mes informations|"
    r"vie privee|confidentiel\w*|loi 25|rgpd|gdpr|privacy|personal data|"
    r"(?:partage|partagees?|partages|transmis\w*|vendu\w*|revendu\w*|conserv\w*|gard\w*|stock\w*|supprim\w*|"
    r"effac\w*|detrui\w*|utilis\w*)\s+(?:mes|mon|ma|vos|ces|les)\s+(?:donnees|infos|informations|renseignements|"
    r"nom|courriel|adresse|coordonnees)|"
    r"qui (?:va|vont|peut|peuvent|pourra|pourront) (?:voir|lire|avoir acces|recevoir|consulter)|"
    r"pourquoi (?:vous |tu )?(?:avez|as|auriez|voulez|veux|demandez|demandes|faut)[- ](?:vous |tu |il )?"
    r"(?:besoin |savoir |demander |connaitre |avoir )?(?:de |d')?(?:mon|ma|mes|ca|ces)\b|"
    r"pourquoi (?:mon|ma|mes) (?:nom|courriel|adresse|organisme)|"
    r"c'est (?:pas )?de (?:vos|tes) affaires|(?:infolettre|liste d'envoi|spam|pourriel))")


def is_privacy_question(text: str) -> bool:
    """A question or a worry about what happens to the person's data."""
    return not is_payload(text) and bool(PRIVACY.search(_folded(text)))


# Asking to write to a person (the form's trigger), in the many ways people say it.
_PERSON = (r"(?:qu'une personne|qu'isabelle(?: lapointe)?|quelqu'un|qqn|quelqu un|quelquun|une personne|un humain|"
           r"une vraie personne|un vrai monde|la personne|"
           r"la responsable|le responsable|la coordo\w*|la coordinatrice|la coordonatrice|la coordonnatrice|"
           r"votre coordo\w*|madame lapointe|mme lapointe|isabelle|lapointe|l'equipe|votre equipe|"
           r"concertation horizon|la charge\w* de projet|une intervenante|un intervenant|someone|a person|"
           r"the coordinator|a human)")
WRITE_TO = re.compile(
    r"\b(?:ecrire|ecrit|envoyer|envoie|envoyez|laisser|laisse|transmettre|transmets|transmettez|transmet|"
    r"faire suivre|faire parvenir|faire passer|acheminer|poser|adresser|contacter|rejoindre|parler|jaser|"
    r"communiquer|write|talk|speak|send|leave|demander|adresser|soumettre)\b"
    rf"[^?.!]{{0,60}}?\b(?:a|au|aux|avec|pour|to|with|for)\s+{_PERSON}|"
    rf"\b(?:contacter|joindre|rejoindre|contact|reach)\s+{_PERSON}|"
    r"\b(?:contact|parler a un|parler avec un) humain\b|"
    r"\b(?:lui|leur) (?:ecrire|envoyer|laisser|transmettre|poser|faire suivre|faire parvenir)\b|"
    r"\b(?:laisser|laisse) (?:un|une|mon|ma) (?:petit )?(?:mot|message|note|question|courriel)\b|"
    r"\b(?:transmettre|faire suivre|faire parvenir|faire passer|acheminer) (?:ma|mon|notre|une) "
    r"(?:question|message|demande|commentaire)\b|"
    r"\b(?:envoyer|envoie|soumettre|ecrire) (?:un|une|ma|mon) (?:petit )?(?:message|mot|question|courriel|demande)\b|"
    rf"\b(?:{_PERSON}|qu'on|qu'elle|on)(?: [^\s?.!]+){{0,4}}? (?:me|nous|m') ?(?:reponde|repondre|contacte|contacter|"
    r"ecrive|ecrire|rappelle|rappeler|joigne|joindre|revienne|revenir)\b|"
    r"\b(?:someone|somebody|anyone|a person)\b.{0,30}\b(?:email|e-mail|call|contact|write to|get back to|reach) me\b|"
    rf"\b(?:question|message|demande|mot) pour {_PERSON}|"
    r"\b(?:laisser|donner|laisse) mes coordonnees\b|\b(?:mis|mise|mettre|mettez-moi|mettez moi) en (?:contact|lien)\b|"
    r"\b(?:leave|send|pass|forward)\b.{0,30}\b(?:message|note|question)\b|"
    # « j'aimerais qu'Isabelle sache que… », « pouvez-vous l'aviser que… », « informer la coordonnatrice »
    rf"\b(?:{_PERSON}|qu'elle|qu'il) (?:sache|soit au courant|soit informee?|soit avisee?)\b|"
    rf"\b(?:informer|aviser|prevenir|avertir|faire savoir a|faire part a) {_PERSON}|"
    r"\b(?:l'|la |le )(?:informer|aviser|prevenir|avertir)\b|\b(?:lui|leur) (?:faire savoir|faire part|dire)\b")
INFO_QUESTION = re.compile(r"^(?:c'est qui|qui est|qui|quel|quelle|c'est quoi|ou )\b")


def asks_to_write(text: str) -> bool:
    """« Je peux laisser un mot à la responsable? », « pouvez-vous faire suivre ma question? »…"""
    folded = _folded(text)
    return not is_payload(text) and not INFO_QUESTION.match(folded) and bool(WRITE_TO.search(folded))


# --- corrections -------------------------------------------------------------------------------

_FIELD_WORDS = [
    (ORGANISATION, r"nom (?:de|du) (?:l'|mon |notre )?(?:organisme|organisation|employeur)|organisme|organisation|"
                   r"entreprise|employeur|org"),
    (EMAIL, r"adresse (?:courriel|e-?mail|mail|electronique)|courriel|e-?mail|mail|adresse"),
    (NAME, r"nom de famille|nom complet|prenom|nom|name"),
    (QUESTION, r"question|message|demande"),
]
_OWNER = r"(?:le|la|l'|les|mon|ma|mes|votre|vos|ton|ta|son|sa|du|de|d')\s*"
_COMPLAINT = (r"(?:(?:est|c'est|c est|cest|n'est|est pas)\s+)?(?:pas (?:ca|bon|le bon|la bonne|correct|comme ca|la|"
              r"complet|complete|exact|exacte|juste|bien ecrit|bien ecrite)\b|incomplet|incomplete|"
              r"(?:vraiment |tout )?(?:faux|fausse|mauvais|mauvaise|errone|erronee|incorrect|incorrecte|"
              r"mal ecrit|mal ecrite|pas le bon|pas la bonne|pas bon|pas bonne)|"
              r"(?:a|est a) (?:changer|corriger|modifier))")
_VALUE_CUE = r"(?:c'est|c est|cest|est|:|=|->|devrait etre|serait|sera|plutot|pour|par)"
_EDIT_VERB = (r"(?:changer|change|changez|modifier|modifie|modifiez|corriger|corrige|corrigez|remplacer|remplace|"
              r"remplacez|mettre|mets|mettez|ajuster|erreur dans|faute dans|faute a|trompee? (?:de|dans)|"
              r"trompee? sur|reecrire|reformuler|ajouter quelque chose a)")


_SOFTENER = r"(?:(?:plutot|donc|juste|svp|stp|s'il vous plait|alors)\s+)?"  # « mettez plutôt mon nom … »
_WHOLE = r"(?:\s+(?:au complet|en entier|complet|complete|exact|exacte|correct|correcte))?"  # « mon nom au complet »


@dataclass(frozen=True)
class Correction:
    field: str
    rest: str  # the text after the field's name (the new value may be in it), as typed
    complaint: bool  # the field was said wrong (« faux », « pas ça »), not just named


def read_correction(text: str) -> Optional[Correction]:
    """The field a message corrects: « le nom est faux, c'est … », « oups, mon courriel c'est … »,
    « l'organisme c'est pas ça », « changer mon nom pour … », « modifier ma question »."""
    if is_payload(text):
        return None
    original = _norm(text)
    folded = fold(original)
    for field, words in _FIELD_WORDS:
        named = rf"(?:{_OWNER})(?:{words})\b{_WHOLE}"
        edit = re.search(rf"{_EDIT_VERB}\s+{_SOFTENER}(?:{_OWNER})?(?:{words})\b{_WHOLE}", folded)
        said = re.search(rf"{named}\s*,?\s*(?P<complaint>{_COMPLAINT})?", folded)
        if edit and len(folded[:edit.start()].split()) <= 6:
            return Correction(field, _cut(original, edit.end(), len(original)), True)
        if not said or len(folded[:said.start()].split()) > 6:
            continue
        after = folded[said.end():]
        if said.group("complaint"):
            return Correction(field, _cut(original, said.end(), len(original)), True)
        before = _strip_fillers(folded[:said.start()])
        alone = not after.strip(" .!") and (not before or bool(OOPS.fullmatch(before.strip(" ,"))))
        if re.match(rf"\s*{_VALUE_CUE}\s*\S", after) or alone:
            return Correction(field, _cut(original, said.end(), len(original)), False)
    return None


_COMPLAINT_LEAD = re.compile(rf"^[\s,.;:!-]*(?:{_COMPLAINT})?[\s,.;:!-]*"
                             r"(?:(?:ca devrait etre|ca serait|il faut lire|lire|le bon c'est|la bonne c'est|"
                             r"c'est plutot|mettez|mets|pour|par|plutot)\b)?[\s,.;:!-]*", re.IGNORECASE)


_VALUE_LEAD = re.compile(r"^\s*est\s+(?=\w)", re.IGNORECASE)  # « mon nom est Josée … » (not « est-ce »)


def correction_value_text(rest: str) -> str:
    """The new value's part of a correction's rest: « est faux, c'est Karine Dubé » → « c'est Karine Dubé »;
    « est Josée Gagnon-Roy » (« mon nom est … ») → « Josée Gagnon-Roy »."""
    original = _norm(rest)
    match = _COMPLAINT_LEAD.match(fold(original))
    value = _cut(original, match.end(), len(original)).strip() if match else original
    cue = _VALUE_LEAD.match(fold(value))
    return _cut(value, cue.end(), len(value)).strip() if cue and cue.end() else value


OOPS = re.compile(r"\b(?:oups|oops|erreur|trompee?|je voulais dire|plutot|en fait|correction|finalement|desole)\b")


def is_oops(text: str) -> bool:
    """A correction cue without a field named (« oups je me suis trompé, c'est … »)."""
    return bool(OOPS.search(_folded(text)))


# --- names -------------------------------------------------------------------------------------

_NAME_LEAD = re.compile(
    r"^(?:(?:je m'appelle|je m appelle|jm'appelle|je me nomme|je me presente|mon nom (?:complet |de famille )?"
    r"(?:est|c'est|c est|:|serait)|mon prenom (?:est|c'est|:)|moi,? c'est|moi c est|ici|c'est|c est|cest|ce serait|"
    r"ca serait|my name is|my name's|name's|name is|name:|i am|i'm|it's|this is|nom(?: complet)? ?:|"
    r"vous pouvez m'appeler|appelez-moi|appelez moi|je suis|je suis madame|je suis monsieur|"
    r"le nom (?:est|c'est|:)|plutot|en fait|oups|desole)\b[\s,:]*)+")
_PARTICLES = {"de", "du", "des", "la", "le", "van", "von", "der", "den", "da", "di", "del", "dos", "st", "ste",
              "saint", "sainte", "mc", "mac", "ben", "bin", "al", "el", "y", "ter", "ten", "d", "l", "o"}
# Words that make a message a sentence rather than a name (folded).
_NOT_NAME = set("""
je j tu il elle on nous vous ils elles me m te t se s moi toi lui leur mon ma mes ton ta tes son sa ses notre votre
nos vos ce c ca cela ceci qui que qu quoi quel quelle quels quelles pourquoi comment combien quand ou est sont suis
es etes ai as avez avons ont a fait faire veux voulez peux pouvez dois devez faut besoin pas ne n non oui ok merci
bonjour allo salut svp stp avec pour dans sur par sans chez une un les au aux et pis mais donc car si the is are my
your what why how who where when do does can name i you it this that not no yes hello thanks please nom prenom courriel
adresse organisme organisation question demande message mail email passer aucun aucune rien personne test inconnu
anonyme confidentiel secret voir lire savoir donner dire ecrire envoyer annuler attendez attends oups erreur trompe
trompee mauvais faux quelqu quelque chose madame monsieur mme mr mrs ms
""".split())
_NAME_TOKEN = re.compile(r"^[^\W\d_]+(?:['-][^\W\d_]+)*\.?$")


def _name_shaped(candidate: str) -> bool:
    tokens = candidate.split()
    if not 1 <= len(tokens) <= 6 or sum(c.isalpha() for c in candidate) < 2:
        return False
    folded = [fold(t).strip(".") for t in tokens]
    if not all(_NAME_TOKEN.match(t) for t in tokens):
        return False
    if folded[0] in _PARTICLES and tokens[0][:1].islower():
        return False  # « le contrat », « la halte »: a name starts with a particle only capitalised
    initials = {i for i, t in enumerate(tokens) if re.fullmatch(r"[^\W\d_]\.", t)}  # « Anne A. Roy »
    words = [w for i, t in enumerate(folded) if i not in initials for w in re.split(r"['-]", t) if w]
    if any(w in _NOT_NAME and w not in _PARTICLES for w in words):
        return False
    return not all(w in _PARTICLES for w in words)


# « Marie Roy de la CDC du Granit »: the name stops where an organisation starts.
_ORG_AFTER_NAME = re.compile(
    r"\s+(?:de la|de l'|du|des|de|d'|chez|pour|à|a|au|aux|with|from|at)\s*(?=[A-Z]{2,}\b|(?i:cdc|coop\w*|centre|"
    r"maison|corporation|table|regroupement|association|fondation|mrc|ville|municipalit\w*|universit\w*|[ée]cole|"
    r"organisme|ferme|comit[ée]\w*|conseil|soci[ée]t[ée]|entreprise|groupe|r[ée]seau|caisse|c[ée]gep|cisss|ciusss|"
    r"clsc|p[ôo]le|carrefour|centraide)\b)")


def _with_given_name(candidate: str, original: str) -> str:
    """« Tremblay, Marie »: a single-word name followed by another one after a comma is kept whole."""
    if " " in candidate:
        return candidate
    match = re.search(re.escape(candidate) + r"\s*,\s*([^\W\d_]+(?:['-][^\W\d_]+)*)\s*[.!]?\s*$", original)
    return f"{candidate}, {match.group(1)}" if match and _name_shaped(match.group(1)) else candidate


# A button's word typed alone (« Confirmer » at the wrong moment) is never a name.
_COMMANDS = {"confirmer", "confirme", "modifier", "annuler", "passer", "envoyer", "envoie", "envoyez", "valider",
             "ok", "okay", "oui", "non", "correct", "parfait", "merci", "suivant", "continuer"}


def read_name(text: str) -> Reading:
    """« Je m'appelle Josée Gagnon-Roy » → Josée Gagnon-Roy; « My name is Sarah O'Connor » → Sarah
    O'Connor; « pourquoi vous avez besoin de mon nom? » → other."""
    if is_payload(text) or _folded(text).strip(" .!") in _COMMANDS:
        return OTHER
    original = re.sub(r"\S+@\S+", " ", _norm(text))  # an address typed with the name is read apart
    if not original.strip():
        return OTHER
    had_lead = False
    clauses = _clauses(original)
    for index, clause in enumerate(clauses):
        folded = fold(clause)
        stripped = _strip_fillers(folded)
        lead = _NAME_LEAD.match(stripped)
        if lead:
            had_lead = True
            stripped = stripped[lead.end():].strip(" ,:")
        elif index and not had_lead:
            continue  # after a sentence, only « c'est … », « je m'appelle … » give the name
        stripped = re.sub(r"\s+(?:ici|here|speaking|qui vous ecrit|qui ecrit|qui vous parle|a l'appareil)$", "",
                          _strip_fillers(stripped))
        if not stripped:
            continue
        start = folded.find(stripped)
        candidate = _cut(clause, start, start + len(stripped)) if start >= 0 else stripped
        candidate = _ORG_AFTER_NAME.split(candidate.strip(" .,:;!\"«»"))[0].strip()
        # after a sentence, « c'est important » is no name: a later clause's needs two words or a capital
        later_ok = not index or len(candidate.split()) >= 2 or candidate[:1].isupper()
        # « Franchement, c'est bien compliqué… », « Juste avant : c'est quoi… ? »: a first clause
        # without a lead, followed by a sentence, is not a name
        rest = " ".join(clauses[index + 1:])
        sentence_follows = not lead and len(rest.split()) >= 3 and (
            "?" in rest or bool(re.search(r"\b(?:je|j|tu|vous|il|elle|on|c'est|c est|est|sont|pas|quoi)\b", fold(rest))))
        if _name_shaped(candidate) and later_ok and not sentence_follows:
            return Reading("value", _with_given_name(candidate, original))
        later_lead = any(_NAME_LEAD.match(_strip_fillers(fold(c))) for c in clauses[index + 1:])
        if "?" not in original and not had_lead and not later_lead:
            return OTHER  # the message's first words are a sentence, not a name
    return OTHER


# --- e-mail addresses --------------------------------------------------------------------------

EMAIL_SHAPE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,}$")
EMAIL_IN_TEXT = re.compile(r"[^\s<>()\[\]\"',;:«»]+@[^\s<>()\[\]\"',;:«»]+\.[A-Za-z]{2,}")
_AT = re.compile(r"\s*(?:[\(\[]\s*(?:at|arobase?|arrobas?e?)\s*[\)\]]|\s(?:arobase?|arrobas?e?)\s)\s*", re.IGNORECASE)
_DOT = re.compile(r"\s*(?:[\(\[]\s*(?:dot|point)\s*[\)\]]|\s(?:dot|point)\s)\s*", re.IGNORECASE)
_ADDRESS_ATTEMPT = re.compile(r"@|\(at\)|\[at\]|\barobase?\b|\barrobas|^\S+\.(?:com|ca|org|net|qc\.ca|quebec)\S*$",
                              re.IGNORECASE)


def valid_email(text: str) -> bool:
    return len(text) <= 254 and bool(EMAIL_SHAPE.match(text))


def find_email(text: str) -> Optional[str]:
    """The first well-formed address anywhere in ``text`` (« mailto: », brackets and end
    punctuation removed), or None."""
    for match in EMAIL_IN_TEXT.finditer((text or "").replace("mailto:", " ")):
        candidate = match.group(0).strip(".!?")
        if valid_email(candidate):
            return candidate
    return None


_BEFORE_ADDRESS = {"voici", "voila", "bon", "ben", "correct", "plutot", "desole", "desolee", "here", "ici", "alors",
                   "donc", "soit", "moi", "ecrivez", "ecrivez-moi", "ecrire", "m'ecrire", "contact", "utilisez"}


def _split_address(text: str, address: str) -> bool:
    """Is the word right before ``address`` (no punctuation between) a name-like word rather than
    a lead-in (« c'est », « à », « courriel »)? Then the visitor may have typed a space in it."""
    start = text.find(address)
    before = re.search(r"([^\W\d_]+(?:['-][^\W\d_]+)*) $", text[:start]) if start > 0 else None
    if not before:
        return False
    word = fold(before.group(1))
    parts = re.split(r"['-]", word)
    return not any(p in _NOT_NAME or p in _BEFORE_ADDRESS for p in parts + [word])


def read_email(text: str) -> Reading:
    """An address anywhere in the message (« c'est marc@exemple.org merci »); spelled-out « (at) »
    accepted when the result is well formed; a failed attempt is ``invalid``; a sentence is other."""
    if is_payload(text):
        return OTHER
    found = find_email(text)
    if found and _split_address(_norm(text), found):
        return INVALID  # « marie roy@gmail.com »: part of the address may be the word before it
    if found:
        return Reading("value", found)
    spelled = _DOT.sub(".", _AT.sub("@", _norm(text)))
    found = find_email(spelled)
    if found and len(_norm(text).split()) <= 10:
        return Reading("value", found)
    stripped = _strip_fillers(_folded(text))
    if _ADDRESS_ATTEMPT.search(_norm(text)) or (stripped and " " not in stripped and "." in stripped):
        return INVALID
    return OTHER


NO_EMAIL = re.compile(r"\b(?:pas d'?(?:adresse|courriel|e-?mail)|j'en ai pas|je n'en ai pas|aucune adresse|"
                      r"pas de courriel|no email|don't have (?:an )?email)\b")


def says_no_email(text: str) -> bool:
    return bool(NO_EMAIL.search(_folded(text)))


# --- organisations -----------------------------------------------------------------------------

NO_ORGANISATION = re.compile(
    r"\b(?:pas d'organisme|pas d'organisation|pas d'employeur|aucun organisme|aucune organisation|sans organisme|"
    r"pas (?:vraiment )?d'org\w*|(?:non,? )?j'en ai (?:pas|aucun)|je n'en ai pas|aucun|aucune|rien|n/?a|none|"
    r"passer|je passe|skip|sauter|no organi[sz]ation|not with an organi[sz]ation|just me|myself|"
    r"(?:simple )?citoyen(?:ne)?|a titre (?:personnel|individuel)|a mon compte|a mon propre compte|"
    r"travailleu(?:r|se) autonome|pigiste|particulier|particuliere|pour moi-meme|pour moi meme|personnel|"
    r"retraite|retraitee|je ne travaille (?:pas|pour aucun)|je travaille pas|sans emploi|independant(?:e)?|"
    r"pas (?:d')?(?:organisme|organisation)|je prefere (?:ne )?pas (?:le )?(?:dire|repondre|preciser)|"
    r"pas envie de (?:le )?dire|"
    r"je (?:ne )?(?:represente|fais partie d') ?(?:aucun|personne|rien))\b")
_ORG_LEAD = re.compile(
    r"^(?:(?:je suis (?:la |le |une? )?(?:directrice|directeur|coordonnatrice|coordonnateur|agente?|responsable|"
    r"presidente?|intervenante?|employee?|benevole|membre|travailleuse|travailleur)(?:\s+generale?)?|"
    r"je travaille|je bosse|on travaille|je suis employee?|je represente|je fais partie|je viens|j'appelle|"
    r"j'ecris|je suis|on est|nous sommes|l'organisme|mon organisme|notre organisme|l'organisation|"
    r"mon organisation|mon employeur|c'est|c est|cest|ca serait|ce serait|plutot|en fait|chez|pour|avec|"
    r"s'appelle|se nomme|s'intitule|organisme ?:|organisation ?:)\b[\s,:]*"
    r"(?:(?:est|c'est|:)\s*)?(?:(?:pour|au|aux|a|chez|avec|dans|de|du|des)\b|d')?\s*)+")
_ORG_STOP = set("je j tu vous me m te t mon ma mes pourquoi comment quoi quel quelle combien quand pas ne "
                "oups attendez attends trompe trompee erreur voulez veux pouvez peux faut besoin savoir".split())


def read_organisation(text: str) -> Reading:
    """« Je travaille à la CDC du Granit » → CDC du Granit; « pas d'organisme, je suis citoyenne »
    → none; « /faq/form_contrat », « oups je me suis trompé, c'est …@… » → other."""
    if is_payload(text) or "@" in text:
        return OTHER
    folded = _folded(text)
    if NO_ORGANISATION.search(folded) or _strip_fillers(folded) in ("non", "-", "no", "x", "pas"):
        return Reading("none")
    found: List[str] = []
    for clause in _clauses(_norm(text), brackets=False):
        cfolded = fold(clause)
        stripped = _strip_fillers(cfolded)
        lead = _ORG_LEAD.match(stripped)
        if lead:
            stripped = stripped[lead.end():]
        if not stripped:
            continue
        start = cfolded.find(stripped)
        candidate = (_cut(clause, start, start + len(stripped)) if start >= 0 else stripped).strip(" .,:;!\"«»")
        words = re.findall(r"[\w]+", fold(candidate))
        # a stop word marks a sentence unless it is capitalised inside a name (« CPE Les Petits Pas »)
        stops = [w for w in re.findall(r"[\w]+", candidate) if fold(w) in _ORG_STOP and not w[:1].isupper()]
        if "?" in text and not lead or stops or not 1 <= len(words) <= 15:
            break  # a sentence: what came before it (if anything) is the organisation
        if not found:
            article = re.match(r"^(?:la|le|les|l')\s*(?=\S)", candidate)
            if article and candidate[:1].islower():
                # « la CDC du Granit » → « CDC du Granit »; « La Halte » stays
                candidate = candidate[article.end():]
        found.append(candidate)
    value = ", ".join(found)[:300]
    return Reading("value", value) if sum(c.isalnum() for c in value) >= 2 else OTHER


# --- questions ---------------------------------------------------------------------------------

EDIT_ONLY = re.compile(r"^(?:je veux |j'aimerais |je voudrais )?(?:modifier|changer|corriger|reecrire|reformuler)"
                       r" (?:ma|la|mon) (?:question|demande|message)[\s.!]*$")
_QUESTION_LEAD = re.compile(r"^(?:ma question|ma demande|mon message|question)\s*:\s*", re.IGNORECASE)


# « Bon, ma question : … », « ma demande c'est … », « je voudrais savoir si Concertation Horizon … »
_STATED = re.compile(r"\b(?:ma question|ma demande|mon message|ma vraie question)\s*(?:c'est|c est|cest|est|serait|:)\s*"
                     r"(?=\S)", re.IGNORECASE)
_ASKED_OF_THEM = re.compile(r"\b(?:je voudrais|j'aimerais|on voudrait|on aimerait|nous voudrions|je veux)\s+savoir\s+si\s+"
                            r"(?:concertation horizon|vous|isabelle|elle|la coordonnatrice|votre equipe)\b")
_PROTEST = re.compile(r"^(?:non,? )?(?:ma question|ma demande|la question)\s*(?:c'est|c est|cest|est|n'est)\s*pas\b")
_DENIAL = re.compile(r"^(?:pas ca|pas la bonne|pas celle|pas ce que)\b")
# Answers to the form itself, never a question: « c'est beau, envoie », « Confirmer », « passer »
_FORM_WORDS = re.compile(r"^(?:(?:c'est beau|c est beau|cest beau|ok|okay|oui|parfait|go|envoie|envoie-la|envoyez|"
                         r"envoyer|confirmer|confirme|je confirme|passer|passe|suivant|merci|c'est bon|c bon)"
                         r"[\s,.!]*)+$")


def stated_question(text: str) -> Optional[str]:
    """The question a message states as such, wherever it starts (« euh je voulais voir le contrat.
    Bon, ma question : … » → « … »), or None (« ma question c'est pas ça » states none)."""
    text = (text or "").strip()
    found = list(_STATED.finditer(text))
    if found:
        rest = text[found[-1].end():].strip()
        if _DENIAL.match(_folded(rest)) or len(_folded(rest).split()) < 3:
            return None
        return rest
    asked = _ASKED_OF_THEM.search(_folded(text))
    return text if asked else None


def read_question(text: str, limit: int) -> Reading:
    """The question as written (a lead « Ma question : » dropped); too short or too long is
    ``invalid``; a button, a request to modify the question or a word to the form (« c'est beau,
    envoie ») is other."""
    if is_payload(text) or EDIT_ONLY.match(_folded(text)) or _FORM_WORDS.match(_folded(text)):
        return OTHER
    if _PROTEST.match(_folded(text)) and stated_question(text) is None:
        return OTHER  # « ma question c'est pas ça! » gives no question
    found = list(_STATED.finditer((text or "").strip()))
    later = bool(found) and found[-1].start() > 0  # « … Bon, ma question : X » (a leading one stays as written)
    question = (later and stated_question(text)) or _QUESTION_LEAD.sub("", (text or "").strip()).strip()
    meaningful = _strip_fillers(_folded(question))
    if sum(c.isalnum() for c in meaningful) < 3 or (" " not in meaningful and len(meaningful) < 8) \
            or len(question) > limit:
        return INVALID
    return Reading("value", question)


def question_problem(text: str, limit: int) -> Tuple[str, int]:
    """Why a question is ``invalid``: ("too_long", length) or ("too_short", length)."""
    question = (text or "").strip()
    return ("too_long" if len(question) > limit else "too_short"), len(question)


# --- the privacy answer -------------------------------------------------------------------------

def privacy_text(consent_text: str) -> str:
    """What the consent text says about the data, without its offer (« Je peux transmettre … »)
    and its questions (« Acceptez-vous ? »)."""
    sentences = re.split(r"(?<=[.!?])\s+", (consent_text or "").strip())
    return " ".join(s for s in sentences
                    if s and not s.rstrip().endswith("?") and not s.startswith("Je peux")).strip()
