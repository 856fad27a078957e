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
