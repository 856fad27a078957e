"""Custom Rasa NLU graph components.

* ``FoldingTokenizer``: splits on anything that is not a letter or digit (so « l'agriculture »
  gives « l », « agriculture ») and folds case and accents, so « cooperative », « Coopérative »
  and « COOPÉRATIVE » share their features. No model to download.
* ``RetrievalPayloadClassifier``: lets a quick-reply button carry a retrieval intent payload
  such as ``/faq/form_contrat``, which Rasa 3.6's own payload handler does not understand.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

from bot.text import fold, words

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
        }

    @staticmethod
    def not_supported_languages() -> Optional[List[Text]]:
        return ["zh", "ja", "th"]

    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        text = message.get(attribute) or ""
        tokens = [Token(word, start) for word, start in words(text)]
        if not tokens:
            # Punctuation or emoji only: keep one token so featurizers still see something.
            tokens = [Token(fold(text.strip()) or "_", 0)]
        return self._apply_token_pattern(tokens)


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
