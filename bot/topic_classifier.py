"""A second, simpler reading of the FAQ topic, blended with Rasa's ResponseSelector.

The ResponseSelector (a neural network on sparse features) is near perfect on questions close to
its examples and poorly calibrated on the others: for a question worded unlike any example it
spreads ~0.1 over every topic and its first choice is often an « attractor » (the same few topics
win whatever is asked). A regularised logistic regression on word and character n-grams of the
focused, folded text generalises more smoothly on little data. ``TopicEnsemble`` trains one on
the same FAQ examples and averages the two probability distributions, so that a topic wins when
both readings agree and the confidence stays low when they do not (bot/knowledge.py then offers
the likeliest topics instead of guessing).

``TopicModel`` is plain scikit-learn (tested without Rasa); ``TopicEnsemble`` is the Rasa
graph component around it.
"""
from __future__ import annotations

import pickle
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.focus import focus_text
from bot.text import fold


def _prepared(text: str) -> str:
    return fold(focus_text(text))


class TopicModel:
    """TF-IDF (words 1–2, characters 2–5 within words) and a multinomial logistic regression."""

    def __init__(self, c: float = 8.0, seed: int = 20233) -> None:
        self.words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=1,
                                     token_pattern=r"[a-z0-9]+")
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
        self.model = LogisticRegression(C=c, max_iter=2000, random_state=seed, class_weight="balanced")

    def _features(self, texts: Sequence[str], fit: bool = False) -> Any:
        prepared = [_prepared(t) for t in texts]
        if fit:
            return hstack([self.words.fit_transform(prepared), self.chars.fit_transform(prepared)]).tocsr()
        return hstack([self.words.transform(prepared), self.chars.transform(prepared)]).tocsr()

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "TopicModel":
        self.model.fit(self._features(texts, fit=True), list(labels))
        return self

    def probabilities(self, text: str) -> Dict[str, float]:
        row = self.model.predict_proba(self._features([text]))[0]
        return {label: float(p) for label, p in zip(self.model.classes_, row)}


def blend(scores: Dict[str, float], probabilities: Dict[str, float], weight: float = 0.5) -> List[Tuple[str, float]]:
    """(label, confidence) best first: ``weight`` × the regression's probability plus the rest ×
    the neural classifier's score (a label missing from its ranking counts 0 there)."""
    keys = set(scores) | set(probabilities)
    blended = {k: weight * probabilities.get(k, 0.0) + (1 - weight) * scores.get(k, 0.0) for k in keys if k}
    return sorted(blended.items(), key=lambda item: item[1], reverse=True)


try:  # the Rasa adapter (the pure parts above are used and tested without Rasa)
    from rasa.engine.graph import ExecutionContext, GraphComponent
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.engine.storage.resource import Resource
    from rasa.engine.storage.storage import ModelStorage
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData
except ImportError:  # pragma: no cover
    GraphComponent = object  # type: ignore
else:
    @DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
    class TopicEnsemble(GraphComponent):
        """Blends a logistic regression's FAQ topic probabilities into the ResponseSelector's."""

        @staticmethod
        def get_default_config() -> Dict[Text, Any]:
            # Rasa's training cache fingerprints this class's source, not the modules it calls: the
            # hash of bot/focus.py and bot/text.py here retrains the regression when they change.
            from bot.nlu import _helpers_version
            return {"retrieval_intent": "faq", "weight": 0.5, "c": 8.0, "random_seed": 20233, "ranking_length": 10,
                    "helpers": _helpers_version()}

        def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                     model: Optional[TopicModel] = None) -> None:
            self._config = {**self.get_default_config(), **config}
            self._storage, self._resource, self._model = model_storage, resource, model

        @classmethod
        def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                   execution_context: ExecutionContext) -> "TopicEnsemble":
            return cls(config, model_storage, resource)

        @classmethod
        def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 execution_context: ExecutionContext, **kwargs: Any) -> "TopicEnsemble":
            try:
                with model_storage.read_from(resource) as directory:
                    model = pickle.loads((directory / "topics.pkl").read_bytes())
            except (ValueError, FileNotFoundError):
                model = None
            return cls(config, model_storage, resource, model)

        def _pairs(self, training_data: TrainingData) -> List[Tuple[str, str]]:
            prefix = self._config["retrieval_intent"] + "/"
            return [(m.get("text"), m.get("intent_response_key")) for m in training_data.intent_examples
                    if (m.get("intent_response_key") or "").startswith(prefix) and m.get("text")]

        def train(self, training_data: TrainingData) -> Resource:
            pairs = self._pairs(training_data)
            if len({label for _, label in pairs}) >= 2:
                self._model = TopicModel(self._config["c"], self._config["random_seed"]).fit(
                    [t for t, _ in pairs], [label for _, label in pairs])
                with self._storage.write_to(self._resource) as directory:
                    (directory / "topics.pkl").write_bytes(pickle.dumps(self._model))
            return self._resource

        def process(self, messages: List[Message]) -> List[Message]:
            for message in messages:
                text = message.get("text") or ""
                if self._model is not None and text and not text.startswith("/"):
                    self._blend(message, self._model.probabilities(text))
            return messages

        def _blend(self, message: Message, probabilities: Dict[str, float]) -> None:
            selectors = message.get("response_selector") or {}
            selector = selectors.get(self._config["retrieval_intent"])
            if not selector:
                return
            scores = {r.get("intent_response_key"): float(r.get("confidence") or 0.0) for r in selector.get("ranking") or []}
            ranked = blend(scores, probabilities, self._config["weight"])[: self._config["ranking_length"]]
            key, confidence = ranked[0]
            selector["ranking"] = [{"intent_response_key": k, "confidence": c} for k, c in ranked]
            response = {k: v for k, v in (selector.get("response") or {}).items() if k != "responses"}
            selector["response"] = {**response, "intent_response_key": key, "confidence": confidence,
                                    "utter_action": f"utter_{key}"}
            message.set("response_selector", selectors, add_to_output=True)

    @DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
    class IntentEnsemble(TopicEnsemble):
        """Blends a logistic regression's intent probabilities into DIET's (put it right after DIET,
        before the FallbackClassifier reads the intent's confidence)."""

        def _pairs(self, training_data: TrainingData) -> List[Tuple[str, str]]:
            return [(m.get("text"), m.get("intent")) for m in training_data.intent_examples
                    if m.get("intent") and m.get("text")]

        def _blend(self, message: Message, probabilities: Dict[str, float]) -> None:
            scores = {r.get("name"): float(r.get("confidence") or 0.0) for r in message.get("intent_ranking") or []}
            if not scores:
                return
            ranked = blend(scores, probabilities, self._config["weight"])[: self._config["ranking_length"]]
            message.set("intent", {"name": ranked[0][0], "confidence": ranked[0][1]}, add_to_output=True)
            message.set("intent_ranking", [{"name": k, "confidence": c} for k, c in ranked], add_to_output=True)
