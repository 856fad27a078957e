"""Two per-message costs of Rasa 3.6 that do no useful work, removed without changing behaviour.

Found by profiling the Rasa server (``make profile``):

- ``Event.resolve_by_type`` walks every subclass of ``Event`` (``all_subclasses``: ~60 classes,
  ``inspect.isabstract`` on each) for **every** event it deserialises: each stored event of the
  tracker, each event an action returns. The answer never changes for a type name, so it is kept.
- ``RemoteAction._validate_action_result`` calls ``jsonschema.validate``, which first checks the
  (constant) schema itself against the meta-schema, then builds a new validator, for every action
  server reply. The validator is built once; replies are still validated the same way and an
  invalid one raises the same ``ValidationError``.

Applied once, on import, by the modules Rasa loads from our configuration (tracker store, NLG,
channels). ``apply()`` is idempotent.
"""
from __future__ import annotations

import functools
from typing import Any, Dict, Optional, Text, Type

from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event

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


def validate_action_result(self: RemoteAction, result: Dict[Text, Any]) -> bool:
    """``RemoteAction._validate_action_result`` with a validator built once."""
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match

    error = best_match(_action_result_validator().iter_errors(result))
    if error is None:
        return True
    if isinstance(error, ValidationError):
        error.message += (". Failed to validate Action server response from API, make sure your response from "
                          f"the Action endpoint is valid. For more information about the format visit "
                          f"{DOCS_BASE_URL}/custom-actions")
    raise error


def apply() -> None:
    if _APPLIED["done"]:
        return
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[assignment]
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[assignment]
    _APPLIED["done"] = True


apply()
