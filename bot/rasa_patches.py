"""Costs of Rasa 3.6 that do no useful work, removed without changing behaviour.

Found by profiling the Rasa server (py-spy) and measuring its memory:

- ``Event.resolve_by_type`` walks every subclass of ``Event`` (``all_subclasses``: ~60 classes,
  ``inspect.isabstract`` on each) for **every** event it deserialises: each stored event of the
  tracker, each event an action returns. The answer never changes for a type name, so it is kept.
- ``RemoteAction._validate_action_result`` calls ``jsonschema.validate``, which first checks the
  (constant) schema itself against the meta-schema, then builds a new validator, for every action
  server reply, and tries each returned event against the schemas of all 23 event types
  (``oneOf``). The validators are built once, and each event is checked against the schema of
  its own type (the types' ``event`` constants are distinct, so it is the one ``oneOf`` can
  accept); a reply that fails, or anything unusual, goes through the full validator, which raises
  the same ``ValidationError`` as before.
- ``RasaModel.load`` (DIET, ResponseSelector) builds a model's weights by *training it on one
  example* with an Adam optimizer, then overwrites them with the saved ones: the training graph,
  the gradients and the optimizer's two copies of every weight stay in memory (~500 MB of the
  Rasa server's 1.2 GB peak). For a model loaded to predict, the saved weights are restored as
  the first prediction creates them (TensorFlow's restore-on-create), which gives the same
  weights, hence the same predictions (tests/test_rasa_patches.py compares them), for ~510 MB
  less. Fine-tuning (``rasa train --finetune``) keeps Rasa's way.

``apply()`` is called on import by the modules Rasa loads from our configuration (our NLU components,
our tracker store), so the peer of `make bench` (stock components and store) runs stock Rasa.
``apply()`` is idempotent.
"""
from __future__ import annotations

import functools
from typing import Any, Dict, Optional, Text, Type

from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.utils.tensorflow.constants import RUN_EAGERLY
from rasa.utils.tensorflow.models import RasaModel

_APPLIED = {"done": False}
_ORIGINAL_RESOLVE = Event.resolve_by_type
_BY_TYPE: Dict[Text, Type[Event]] = {}


def resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Optional[Type[Event]]:
    """``Event.resolve_by_type`` with the found class remembered per type name."""
    found = _BY_TYPE.get(type_name)
    if found is not None:
        return found
    found = _ORIGINAL_RESOLVE(type_name, default)
    if found is not None and found is not default:
        _BY_TYPE[type_name] = found
    return found


@functools.lru_cache(maxsize=1)
def _action_result_validator() -> Any:
    from jsonschema.validators import validator_for

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, as jsonschema.validate does on every call
    return cls(schema)


@functools.lru_cache(maxsize=1)
def _event_validators() -> Dict[Text, Any]:
    """One validator per event type: the common part of Rasa's event schema and that type's
    alternative of its ``oneOf``. Empty (always the full path) if the types are not distinct."""
    from jsonschema.validators import validator_for

    event_schema = RemoteAction.action_response_format_spec()["properties"]["events"]["items"]
    common = {k: v for k, v in event_schema.items() if k != "oneOf"}
    by_type: Dict[Text, Any] = {}
    for alternative in event_schema["oneOf"]:
        name = alternative.get("properties", {}).get("event", {}).get("const")
        if not isinstance(name, str) or name in by_type:
            return {}
        schema = {**common, "allOf": [alternative]}
        by_type[name] = validator_for(schema)(schema)
    return by_type


def _plainly_valid(result: Any) -> bool:
    """True when the reply is valid, checked one event against its own type's schema."""
    if not isinstance(result, dict):
        return False
    events, responses = result.get("events", []), result.get("responses", [])
    if not isinstance(events, list) or not isinstance(responses, list):
        return False
    if not all(isinstance(response, dict) for response in responses):
        return False
    validators = _event_validators()
    for event in events:
        validator = validators.get(event.get("event")) if isinstance(event, dict) else None
        if validator is None or not validator.is_valid(event):
            return False
    return True


def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    """``RemoteAction._validate_action_result``, with validators built once."""
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match

    if _plainly_valid(result):
        return True
    error = best_match(_action_result_validator().iter_errors(result))
    if error is None:
        return True
    if isinstance(error, ValidationError):
        error.message += (". Failed to validate Action server response from API, make sure your response from "
                          f"the Action endpoint is valid. For more information about the format visit "
                          f"{DOCS_BASE_URL}/custom-actions")
    raise error


_ORIGINAL_LOAD = RasaModel.load.__func__  # type: ignore[attr-defined]


def load_for_prediction(cls: Any, model_file_name: Text, model_data_example: Any, predict_data_example: Any = None,
                        finetune_mode: bool = False, *args: Any, **kwargs: Any) -> RasaModel:
    """``RasaModel.load`` without the one-example training when the model is loaded to predict."""
    if finetune_mode or predict_data_example is None:
        return _ORIGINAL_LOAD(cls, model_file_name, model_data_example, predict_data_example, finetune_mode,
                              *args, **kwargs)
    model = cls(*args, **kwargs)
    model.compile(run_eagerly=kwargs.get("config", {}).get(RUN_EAGERLY))
    # restore-on-create: each saved weight is given to its variable when the variable is built;
    # the optimizer's saved slots are not wanted (expect_partial)
    model.load_weights(model_file_name).expect_partial()
    model.run_inference(predict_data_example)  # builds every variable prediction uses, and traces it
    return model


def apply() -> None:
    if _APPLIED["done"]:
        return
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[assignment]
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[assignment]
    RasaModel.load = classmethod(load_for_prediction)  # type: ignore[assignment]
    _APPLIED["done"] = True


def keep_rasas_own() -> None:
    """Make ``apply()`` do nothing in this process (to compare with stock Rasa)."""
    _APPLIED["done"] = True
