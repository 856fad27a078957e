"""Custom Rasa NLU graph components.

* ``FoldingTokenizer``: splits on anything that is not a letter or digit (so « l'agriculture »
  gives « l », « agriculture ») and folds case and accents, so « cooperative », « Coopérative »
  and « COOPÉRATIVE » share their features. No model to download.
* ``UnknownWordsFallback``: marks gibberish (mostly unknown words, even with typos allowed)
  as ``nlu_fallback``, which the classifiers alone may answer with confidence.
* ``RetrievalPayloadClassifier``: lets a quick-reply button carry a retrieval intent payload
  such as ``/faq/form_contrat``, which Rasa 3.6's own payload handler does not understand.
"""
from __future__ import annotations

import difflib
import json
import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa.shared.nlu.constants import TEXT

from bot import rasa_patches
from bot.focus import focus_spans, is_question
from bot.text import fold, words

rasa_patches.apply()  # Rasa's savings, in the process that loads our components or store


def _helpers_version() -> str:
    from pathlib import Path
    import hashlib
    here = Path(__file__).resolve().parent
    return hashlib.sha256(b"".join((here / name).read_bytes() for name in ("focus.py", "text.py"))).hexdigest()[:16]


RETRIEVAL_PAYLOAD = re.compile(r"^/(?P<intent>[a-z_]+)/(?P<response>[a-z0-9_]+)$")


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False
)
class FoldingTokenizer(Tokenizer):
    """Word tokenizer that folds case, accents and ligatures."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            "focus": True,  # drop greetings and self-introductions around the question
            # Rasa's training cache fingerprints this class's source, not the modules it calls:
            # their hash here makes a change of bot/focus.py or bot/text.py retrain what depends on it.
            "helpers_version": _helpers_version(),
        }

    @staticmethod
    def not_supported_languages() -> Optional[List[Text]]:
        return ["zh", "ja", "th"]

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = message.get(attribute) or ""
        tokens = [Token(word, start) for word, start in words(text)]
        if attribute == TEXT and self._config.get("focus", True):
            tokens = self._focused(text, tokens)
        if not tokens:
            # Punctuation or emoji only: keep one token so featurizers still see something.
            tokens = [Token(fold(text.strip()) or "_", 0)]
        return self._apply_token_pattern(tokens)

    @staticmethod
    def _focused(text: str, tokens: List[Token]) -> List[Token]:
        """Only the tokens of the sentences that carry the request (see bot/focus.py)."""
        spans = focus_spans(text)
        kept = [t for t in tokens if any(start <= t.start < end for start, end in spans)]
        return kept or tokens


# Asking for a person, not for information about one (« parler à la personne responsable », « me
# répondre personnellement »): the classifiers often take it for the coordinator's FAQ answer.
WANTS_PERSON = re.compile(
    r"\b(parler|jaser|discuter|communiquer)( directement)? (a|avec) (quelqu.un|une personne|un humain|une vraie|"
    r"la personne|le responsable|la responsable|isabelle|la coordonnatrice|votre equipe|l.equipe)|"
    r"(me|nous) (repondre|rappeler|contacter|ecrire) personnellement|repondre personnellement|"
    r"laisser un message|transmettre (ma|mon|notre) (question|message|demande)|"
    r"(talk|speak) (to|with) (a|someone|a human|a person|somebody)|someone (call|contact|email) me")


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class PersonRequestClassifier(GraphComponent):
    """Marks a clear request to reach a person as ``contact_human`` (the inquiry form's rule)."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "PersonRequestClassifier":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get("text") or ""
            if not text.startswith("/") and WANTS_PERSON.search(fold(text)):
                ranking = [r for r in message.get("intent_ranking") or [] if r.get("name") != "contact_human"]
                message.set("intent", {"name": "contact_human", "confidence": 1.0}, add_to_output=True)
                message.set("intent_ranking", [{"name": "contact_human", "confidence": 1.0}] + ranking,
                            add_to_output=True)
        return messages


YES_NO = ("affirm", "deny")
QUESTION_READINGS = ("faq", "not_in_source", "out_of_scope")
SURE_TOPIC = 0.6  # the FAQ reading's own confidence above which an unsure message is a question
SOME_FAQ = 0.05  # … when the intent classifiers give « faq » at least this much
THANKS = re.compile(r"\b(merci|mci|thanks|thank you|remercie)\b")


def _promote(message: Message, name: str) -> None:
    """Make ``name`` the message's intent, with the confidence the classifiers gave it."""
    ranking = message.get("intent_ranking") or []
    found = next((r for r in ranking if r.get("name") == name), {"name": name, "confidence": 0.0})
    message.set("intent", dict(found), add_to_output=True)
    message.set("intent_ranking", [found] + [r for r in ranking if r.get("name") != name], add_to_output=True)


def shape_reading(text: str, intent: str, ranking: List[Dict[str, Any]], topic_confidence: float = 0.0) -> Optional[str]:
    """The intent a message's shape calls for, when the classifiers' choice contradicts it:
    a question (« pis qu'est-ce qu'ils mettent en commun exactement ») is not a « oui » or a
    « non », so its best question reading wins; a thank-you with chatter and no question
    (« ok je vais lire ça, merci ») is a thank-you when the classifiers rank it close; a message
    the intent classifiers are unsure of but whose FAQ answer is clear is a question."""
    if text.startswith("/"):
        return None
    names = [r.get("name") for r in ranking]
    if intent in YES_NO and len(list(words(text))) >= 3 and is_question(text):
        return next((n for n in names if n in QUESTION_READINGS), None)
    if intent in ("nlu_fallback", "faq") and not is_question(text) and THANKS.search(fold(text)) \
            and "thank" in names[:3]:
        return "thank"
    faq = next((float(r.get("confidence") or 0.0) for r in ranking if r.get("name") == "faq"), 0.0)
    if intent == "nlu_fallback" and topic_confidence >= SURE_TOPIC and faq >= SOME_FAQ:
        return "faq"  # unsure which kind of message, sure which answer: « y'a tu un guide pour nous aider? »
    return None


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class MessageShapeGuard(GraphComponent):
    """Put it after the FallbackClassifier: see ``shape_reading``."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "MessageShapeGuard":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = (message.get("intent") or {}).get("name") or ""
            selector = ((message.get("response_selector") or {}).get("faq") or {}).get("response") or {}
            gibberish = intent == "nlu_fallback" and (message.get("intent") or {}).get("confidence") == 1.0
            reading = None if gibberish else shape_reading(message.get("text") or "", intent,
                                                            message.get("intent_ranking") or [],
                                                            float(selector.get("confidence") or 0.0))
            if reading:
                _promote(message, reading)
        return messages


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class RetrievalPayloadClassifier(GraphComponent):
    """Turns a ``/faq/<response>`` button payload into a certain retrieval prediction.

    Put it after the ResponseSelector and the FallbackClassifier: it overwrites their guesses
    (made on the payload text) with the button's exact choice.
    """

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "RetrievalPayloadClassifier":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._apply_payload(message)
        return messages

    @staticmethod
    def _apply_payload(message: Message) -> None:
        match = RETRIEVAL_PAYLOAD.match((message.get("text") or "").strip())
        if not match:
            return
        intent = match.group("intent")
        selectors = message.get("response_selector") or {}
        if intent not in selectors.get("all_retrieval_intents", []):
            return
        key = f"{intent}/{match.group('response')}"
        message.set("intent", {"name": intent, "confidence": 1.0}, add_to_output=True)
        message.set("intent_ranking", [{"name": intent, "confidence": 1.0}], add_to_output=True)
        selectors[intent] = {
            "response": {
                "responses": None,
                "confidence": 1.0,
                "intent_response_key": key,
                "utter_action": f"utter_{key}",
            },
            "ranking": [{"confidence": 1.0, "intent_response_key": key}],
        }
        message.set("response_selector", selectors, add_to_output=True)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class UnknownWordsFallback(GraphComponent):
    """Sends gibberish to ``nlu_fallback``: classifiers are often confident about text made of
    words they never saw ("zxqv plok"), so this one checks the words themselves.

    A word counts as known when it, or a word close to it (typos), is in the training data;
    when most of a message's words are unknown, or it has no letter at all, the message is
    marked ``nlu_fallback``.
    """

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"max_unknown_ratio": 0.6, "min_similarity": 0.75, "min_word_length": 3}

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 vocabulary: Optional[set] = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage, self._resource = model_storage, resource
        self._vocabulary = vocabulary or set()
        self._fuzzy_cache: Dict[str, bool] = {}  # typo look-ups are slow: remember them

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "UnknownWordsFallback":
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "UnknownWordsFallback":
        try:
            with model_storage.read_from(resource) as directory:
                vocabulary = set(json.loads((directory / "vocabulary.json").read_text("utf-8")))
        except (ValueError, FileNotFoundError):
            vocabulary = set()
        return cls(config, model_storage, resource, vocabulary)

    def train(self, training_data: TrainingData) -> Resource:
        vocabulary = set()
        for example in training_data.training_examples:
            vocabulary.update(word for word, _ in words(example.get("text") or ""))
        self._vocabulary = vocabulary
        with self._model_storage.write_to(self._resource) as directory:
            (directory / "vocabulary.json").write_text(json.dumps(sorted(vocabulary)), "utf-8")
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get("text") or ""
            if self._vocabulary and not text.startswith("/") and self.unknown_ratio(text) > self._config["max_unknown_ratio"]:
                confidence = 1.0
                message.set("intent", {"name": "nlu_fallback", "confidence": confidence}, add_to_output=True)
                ranking = [r for r in message.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
                message.set("intent_ranking", [{"name": "nlu_fallback", "confidence": confidence}] + ranking,
                            add_to_output=True)
        return messages

    def _known(self, word: str) -> bool:
        if word in self._vocabulary or word.isdigit():
            return True
        if word not in self._fuzzy_cache:
            if len(self._fuzzy_cache) > 50_000:
                self._fuzzy_cache.clear()
            self._fuzzy_cache[word] = bool(difflib.get_close_matches(
                word, self._vocabulary, n=1, cutoff=self._config["min_similarity"]))
        return self._fuzzy_cache[word]

    def unknown_ratio(self, text: str) -> float:
        """Share of the message's words (of 3 letters or more) not known from training."""
        if not any(c.isalnum() for c in text):
            return 1.0
        long_words = [w for w, _ in words(text) if len(w) >= self._config["min_word_length"]]
        if not long_words:
            return 0.0
        return sum(not self._known(w) for w in long_words) / len(long_words)
