"""bot/rasa_patches.py changes no result: event types resolve as Rasa resolves them, invalid action
replies are still refused, and the model loaded without Rasa's one-example training predicts exactly
what Rasa's own loading predicts, for much less memory."""
from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Dict, List

import pytest
import yaml
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event, SlotSet

from bot import rasa_patches
from tests.conftest import ROOT

MODEL = ROOT / "models" / "mutu.tar.gz"


def test_event_types_are_resolved_as_rasa_does() -> None:
    for cls in {c for c in Event.__subclasses__()}:
        if getattr(cls, "type_name", None) and not getattr(cls, "__abstractmethods__", None):
            assert rasa_patches.resolve_by_type(cls.type_name) is rasa_patches._ORIGINAL_RESOLVE(cls.type_name)
    assert rasa_patches.resolve_by_type("topic") is None
    assert rasa_patches.resolve_by_type("nope", default=SlotSet) is SlotSet
    with pytest.raises(ValueError):
        rasa_patches.resolve_by_type("nope")


def test_the_per_type_check_accepts_exactly_what_rasas_schema_accepts() -> None:
    from jsonschema.validators import validator_for

    schema = RemoteAction.action_response_format_spec()
    full = validator_for(schema)(schema)
    assert len(rasa_patches._event_validators()) == len(schema["properties"]["events"]["items"]["oneOf"])
    replies = [
        {"events": [{"event": "slot", "name": "a", "value": 1}, {"event": "bot", "text": "allo"}], "responses": []},
        {"events": [{"event": "action", "name": "action_listen", "timestamp": None}]},
        {"events": [{"event": "active_loop", "name": None}, {"event": "followup", "name": "x"}]},
        {"events": [{"event": "slot", "name": 3, "value": 1}]},  # a name must be a string
        {"events": [{"event": "slot"}]},
        {"events": [{"event": "user", "text": "x", "parse_data": {"intent": "pas un objet"}}]},
        {"events": [{"event": "bot", "text": "x", "timestamp": "hier"}]},
        {"events": [{"name": "a"}]},
        {"events": [{"event": "no_such_event"}]},
        {"events": ["slot"]},
        {"events": {}},
        {"responses": ["texte"]},
        {"responses": [{"text": "ok", "buttons": []}]},
        {},
    ]
    for reply in replies:
        assert rasa_patches._plainly_valid(reply) == full.is_valid(reply), reply


def test_action_replies_are_still_validated() -> None:
    action = RemoteAction("action_answer", None)
    assert action._validate_action_result({"events": [{"event": "slot", "name": "a", "value": 1}], "responses": []})
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": "not a list"})
    with pytest.raises(ValidationError):
        action._validate_action_result({"events": [{"event": "no_such_event"}]})


# Run in a child process: one model per process, its peak memory (VmHWM) measured alone.
PARSE_ALL = """
import asyncio, json, sys
import bot.rasa_patches
if sys.argv[1] == "stock":
    bot.rasa_patches.keep_rasas_own()  # our components' module would apply them
from rasa.core.agent import Agent
agent = Agent.load(sys.argv[2])
out = []
for text in json.loads(sys.argv[3]):
    parse = asyncio.run(agent.parse_message(text))
    out.append([parse["intent"], parse["intent_ranking"][:5],
                parse.get("response_selector", {}).get("faq", {}).get("ranking", [])[:5]])
peak = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(json.dumps({"parses": out, "peak_kb": int(peak)}))
"""


def parse_in_child(mode: str, texts: List[str]) -> Dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", PARSE_ALL, mode, str(MODEL), json.dumps(texts)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={"PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
                               "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_model_loaded_to_predict_gives_rasas_predictions_for_less_memory() -> None:
    if not MODEL.exists():
        pytest.fail("no trained model: run the tests with `make test`")
    cases = yaml.safe_load((ROOT / "tests" / "questions.yml").read_text("utf-8"))["cases"]
    texts = [question for _, question in cases][:40] + ["bonjour", "merci", "je veux parler a quelqu'un", "asdf qwer"]
    stock, patched = parse_in_child("stock", texts), parse_in_child("patched", texts)
    assert patched["parses"] == stock["parses"]  # same intents, rankings and confidences, to the last digit
    assert patched["peak_kb"] < 0.8 * stock["peak_kb"], (patched["peak_kb"], stock["peak_kb"])
