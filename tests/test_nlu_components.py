"""The custom NLU components, run on Rasa messages directly."""
from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from bot.nlu import FoldingTokenizer, RetrievalPayloadClassifier


def tokenizer() -> FoldingTokenizer:
    return FoldingTokenizer(FoldingTokenizer.get_default_config())


def test_tokens_are_folded_and_keep_their_offsets() -> None:
    text = "Qu'est-ce qu'une COOPÉRATIVE?"
    tokens = tokenizer().tokenize(Message({"text": text}), "text")
    assert [t.text for t in tokens] == ["qu", "est", "ce", "qu", "une", "cooperative"]
    assert text[tokens[-1].start:tokens[-1].end].lower() == "coopérative"


def test_emoji_only_message_still_gets_one_token() -> None:
    tokens = tokenizer().tokenize(Message({"text": "🙂🙂"}), "text")
    assert len(tokens) == 1


def _selected(text: str) -> Message:
    message = Message({"text": text})
    message.set("intent", {"name": "greet", "confidence": 0.3})
    message.set("response_selector", {"all_retrieval_intents": ["faq"], "faq": {"response": {}}})
    RetrievalPayloadClassifier().process([message])
    return message


def test_a_retrieval_payload_selects_that_exact_answer() -> None:
    message = _selected("/faq/example_relait")
    assert message.get("intent") == {"name": "faq", "confidence": 1.0}
    selected = message.get("response_selector")["faq"]["response"]
    assert selected["utter_action"] == "utter_faq/example_relait"
    assert selected["intent_response_key"] == "faq/example_relait"


def test_other_texts_and_unknown_retrieval_intents_are_left_alone() -> None:
    for text in ("et le relait?", "/chitchat/ask_name", "/faq", "/faq/Bad-Key"):
        assert _selected(text).get("intent")["name"] == "greet", text


def test_unknown_words_fallback_marks_gibberish_but_not_typos(tmp_path) -> None:
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.nlu import UnknownWordsFallback
    storage = LocalModelStorage(tmp_path)
    component = UnknownWordsFallback.create({}, storage, Resource("unknown"), None)
    component.train(TrainingData([Message({"text": t, "intent": "faq"}) for t in
                                  ("c'est quoi la mutualisation", "les coopératives agricoles")]))
    assert component.unknown_ratio("c quoi la mutalisation") == 0.0     # a typo is still known
    assert component.unknown_ratio("zxqv plok trumf") == 1.0
    assert component.unknown_ratio("🙂🙂") == 1.0
    message = Message({"text": "zxqv plok trumf", "intent": {"name": "faq", "confidence": 0.9}})
    component.process([message])
    assert message.get("intent")["name"] == "nlu_fallback"
    message = Message({"text": "les cooperatives", "intent": {"name": "faq", "confidence": 0.9}})
    component.process([message])
    assert message.get("intent")["name"] == "faq"
