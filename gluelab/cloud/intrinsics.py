"""Intrinsic functions refused as CloudFormation refuses them, in its words, not Python's.

CloudFormation checks each intrinsic function's arguments before it changes anything, and
refuses the template (ValidationError at CreateStack, UpdateStack or CreateChangeSet) with its
own message; moto resolved whatever it was given, so a one-argument Fn::Join, a Fn::FindInMap
key missing from its mapping or a Fn::If on an undefined condition failed the resource as an
IndexError or KeyError inside the local cloud, and a Fn::Join of a string joined its letters.
`problem` finds what CloudFormation refuses in the (transformed) template; the resolution hooks
refuse, in the same words, what only shows once values are known (a mapping key from a pseudo
parameter, a Fn::Join over a Ref to a String). The wordings are AWS's as recorded in LocalStack's
AWS-validated snapshots (tests/aws/services/cloudformation/*.snapshot.json) or quoted from
CloudFormation by its users, cited at each.

moto resolves Fn::Select by indexing a Python list, so an index past its end failed the resource
as an IndexError. CloudFormation fails it with "Template error: Fn::Select cannot select
nonexistent value at index N" (the Fn::Select reference: "Fn::Select does not check ... if the
index is out of bounds of the array ... will result in a stack error").
"""
from __future__ import annotations

from typing import Any, Iterator

# LocalStack snapshots test_change_set_fn_split (a CreateChangeSet refusal) for these two.
JOIN = ("Template error: every Fn::Join object requires two parameters, (1) a string delimiter and (2) a "
        "list of strings to be joined or a function that returns a list of strings (such as Fn::GetAZs) "
        "to be joined.")
SPLIT = ("Template error: every Fn::Split object requires two parameters, (1) a string delimiter and (2) a "
         "string to be split or a function that returns a string to be split.")
# LocalStack's engine/test_references.py quotes AWS for a Fn::Sub list without its second argument.
SUB = ("Template error: One or more Fn::Sub intrinsic functions don't specify expected arguments. Specify "
       "a string as first argument, and an optional second argument to specify a mapping of values to "
       "replace in the string")
# LocalStack snapshots test_change_set_fn_select and test_change_set_fn_get_attr.
SELECT = "Template error: Fn::Select requires a list argument with two elements: an integer index and a list"
GET_ATT = ("Template error: every Fn::GetAtt object requires two non-empty parameters, the resource name and "
           "the resource attribute")
# LocalStack snapshot engine/test_conditions (test_validate_equals_args_len).
EQUALS = "Template error: every Fn::Equals object requires a list of 2 string parameters."
# aws/aws-cdk#27987 and cloudtools/troposphere#479 quote CloudFormation's template validation.
FIND_IN_MAP = ("Template error: every Fn::FindInMap object requires three parameters, the map name, map key "
               "and the attribute for return value.")
# aws-quickstart/quickstart-tableau-server#83 (a stack's event).
NO_MAPPING = "Template error: Mapping named '{}' is not present in the 'Mappings' section of template."
# LocalStack snapshot engine/test_mappings (CreateChangeSet: "...for TopicSuffixMap::C::Suffix").
NO_MAPPING_VALUE = "Template error: Unable to get mapping for {}"
# LocalStack snapshot test_change_set_conditions.
NO_CONDITION = "Template error: unresolved condition dependency {} in Fn::If"
# LocalStack snapshot engine/test_mappings (a mapping one level deep, and one three levels deep).
MAPPING_MEMBER = "Template format error: Every Mappings member {} must be a map"
MAPPING_ATTRIBUTE = "Template format error: Every Mappings attribute must be a String or a List."
SCALARS = (str, int, float, bool)


def _is_function(value: Any) -> bool:
    """A value some intrinsic function computes (its type is known only once it runs)."""
    return isinstance(value, dict) and len(value) == 1 and (
        next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::"))


def _pair(argument: Any) -> bool:
    return isinstance(argument, list) and len(argument) == 2


def _shape_problem(function: str, argument: Any) -> str | None:
    """CloudFormation's refusal of a function's arguments by their form alone, or None."""
    if function == "Fn::Join":
        fine = _pair(argument) and isinstance(argument[0], str) and (
            isinstance(argument[1], list) or _is_function(argument[1]))
        return None if fine else JOIN
    if function == "Fn::Split":
        fine = _pair(argument) and isinstance(argument[0], str) and (
            isinstance(argument[1], str) or _is_function(argument[1]))
        return None if fine else SPLIT
    if function == "Fn::Sub":
        fine = isinstance(argument, str) or (
            _pair(argument) and isinstance(argument[0], str) and isinstance(argument[1], dict))
        return None if fine else SUB
    if function == "Fn::Select":
        index_fine = _pair(argument) and (_is_function(argument[0]) or isinstance(argument[0], int) or (
            isinstance(argument[0], str) and argument[0].isdigit()))
        fine = index_fine and (isinstance(argument[1], list) or _is_function(argument[1]))
        return None if fine else SELECT
    if function == "Fn::GetAtt":
        if isinstance(argument, str):
            name, _, attribute = argument.partition(".")
            return None if name and attribute else GET_ATT
        fine = _pair(argument) and isinstance(argument[0], str) and argument[0] and (
            _is_function(argument[1]) or isinstance(argument[1], str) and argument[1])
        return None if fine else GET_ATT
    if function == "Fn::FindInMap":
        return None if isinstance(argument, list) and len(argument) == 3 else FIND_IN_MAP
    if function == "Fn::Equals":
        return None if _pair(argument) else EQUALS
    return None


def _mapping_value(mappings: dict, names: list[Any]) -> tuple[Any, str | None]:
    """(value, None) from Mappings by [map, top key, second key], or (None, CloudFormation's error)."""
    mapping = mappings.get(names[0]) if isinstance(names[0], str) else None
    if mapping is None:
        return None, NO_MAPPING.format(names[0])
    top = mapping.get(str(names[1]))
    value = top.get(str(names[2])) if isinstance(top, dict) else None
    if value is None:
        return None, NO_MAPPING_VALUE.format("::".join(map(str, names)))
    return value, None


def _known(value: Any, template: dict, parameters: dict) -> Any:
    """A mapping key's value before anything is created (a literal or a parameter), else None."""
    if isinstance(value, SCALARS):
        return value
    name = value.get("Ref") if isinstance(value, dict) else None
    declared = (template.get("Parameters") or {}).get(name) if isinstance(name, str) else None
    if isinstance(declared, dict) and not str(declared.get("Type", "")).startswith("AWS::SSM::Parameter::Value"):
        return parameters.get(name, declared.get("Default"))
    # A pseudo parameter, an SSM parameter's value or a nested function: resolved when the
    # resource is made.
    return None


def _calls(value: Any, where: str) -> Iterator[tuple[str, str, Any]]:
    """(where, function, argument) for every intrinsic function call in a template fragment."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" or key.startswith("Fn::"):
                yield where, key, inner
            yield from _calls(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _calls(inner, f"{where}[{index}]")


def _mappings_problem(mappings: Any) -> str | None:
    for name, mapping in (mappings or {}).items():
        if not (isinstance(mapping, dict) and all(isinstance(top, dict) for top in mapping.values())):
            return f"{MAPPING_MEMBER.format(name)} (in Mappings.{name})"
        for top in mapping.values():
            for value in top.values():
                if not (isinstance(value, SCALARS) or isinstance(value, list)
                        and all(isinstance(item, SCALARS) for item in value)):
                    return f"{MAPPING_ATTRIBUTE} (in Mappings.{name})"
    return None


def problem(template: dict, parameters: dict) -> str | None:
    """What CloudFormation refuses in the template's Mappings and intrinsic function arguments,
    worded as it words it and followed by where: (in FUNCTION at Resources.ID.Properties...)."""
    found = _mappings_problem(template.get("Mappings"))
    if found:
        return found
    conditions = template.get("Conditions") or {}
    for section in ("Conditions", "Resources", "Outputs"):
        for where, function, argument in _calls(template.get(section) or {}, section):
            message = _shape_problem(function, argument)
            if message is None and function == "Fn::If" and isinstance(argument, list) and argument \
                    and isinstance(argument[0], str) and argument[0] not in conditions:
                message = NO_CONDITION.format(argument[0])
            if message is None and function == "Fn::FindInMap":
                names = [_known(name, template, parameters) for name in argument]
                if names[0] is not None and (None not in names or names[0] not in (template.get("Mappings") or {})):
                    message = _mapping_value(template.get("Mappings") or {}, names)[1]
            if message:
                return f"{message} (in {function} at {where})"
    return None


# ---------------------------------------------------------------------------------------------
# While resources are made: what only shows once values are resolved


def _validation_error(message: str) -> Exception:
    from moto.cloudformation.exceptions import ValidationError
    return ValidationError(message=message)


def _select(arguments: Any, resolve, resources_map: Any) -> Any:
    values = resolve(arguments[1])
    index = resolve(arguments[0])
    if not (isinstance(values, list) and (isinstance(index, int) or str(index).isdigit())):
        raise _validation_error(SELECT)
    index = int(index)
    if not 0 <= index < len(values):
        raise _validation_error(f"Template error: Fn::Select cannot select nonexistent value at index {index}")
    return values[index]


def _find_in_map(arguments: Any, resolve, resources_map: Any) -> Any:
    value, message = _mapping_value(resources_map._template.get("Mappings") or {},
                                    [resolve(name) for name in arguments])
    if message:
        raise _validation_error(message)
    return value


def _join(arguments: Any, resolve, resources_map: Any) -> Any:
    values = resolve(arguments[1])
    if not isinstance(values, list):  # a Ref to a String parameter, say: moto joined its letters
        raise _validation_error(JOIN)
    return arguments[0].join(str(value) for value in values)


def _split(arguments: Any, resolve, resources_map: Any) -> Any:
    text = resolve(arguments[1])
    if not isinstance(text, str):
        raise _validation_error(SPLIT)
    return text.split(arguments[0])


RESOLVERS = {"Fn::Select": _select, "Fn::FindInMap": _find_in_map, "Fn::Join": _join, "Fn::Split": _split}


def _install(parsing) -> None:
    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        function = next(iter(resource_json)) if isinstance(resource_json, dict) and len(resource_json) == 1 else None
        resolver = RESOLVERS.get(function)
        if resolver is None or _shape_problem(function, resource_json[function]):
            return original(resource_json, resources_map)  # problem() refused a bad shape already
        return resolver(resource_json[function], lambda value: parsing.clean_json(value, resources_map),
                        resources_map)

    parsing.clean_json = clean_json


def install() -> None:
    from gluelab.cloud.lazy import when_imported
    when_imported("moto.cloudformation.parsing", _install)
