"""Intrinsic functions that fail as CloudFormation says they fail, not with Python's words.

moto resolves Fn::Select by indexing a Python list, so an index past its end failed the resource
as an IndexError inside the local cloud. CloudFormation fails it with "Template error:
Fn::Select cannot select nonexistent value at index N" (the Fn::Select reference: "Fn::Select
does not check ... if the index is out of bounds of the array ... will result in a stack error").
"""
from __future__ import annotations

from typing import Any


def _install(parsing) -> None:
    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        arguments = resource_json.get("Fn::Select") if isinstance(resource_json, dict) else None
        if not (isinstance(arguments, list) and len(arguments) == 2):
            return original(resource_json, resources_map)
        try:
            index = int(arguments[0])
        except (TypeError, ValueError):  # an index moto cannot read: its own handling
            return original(resource_json, resources_map)
        values = parsing.clean_json(arguments[1], resources_map)
        if isinstance(values, list) and not 0 <= index < len(values):
            from moto.cloudformation.exceptions import ValidationError
            raise ValidationError(message=f"Template error: Fn::Select cannot select nonexistent "
                                          f"value at index {index}")
        return values[index]

    parsing.clean_json = clean_json


def install() -> None:
    from gluelab.cloud.lazy import when_imported
    when_imported("moto.cloudformation.parsing", _install)
