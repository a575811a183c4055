"""Resource properties checked against the CloudFormation registry schemas, as CloudFormation does.

Before a resource is created or updated, CloudFormation validates its properties (after the SAM
transform and with intrinsic functions resolved) against the type's provider schema, and fails
the resource with "Encountered unsupported property X" or "Properties validation failed for
resource X with message: #/Path: ...". The schemas are the ones cfn-lint bundles (read straight
from its data files: importing cfn-lint itself costs 3 s); the messages are worded as
CloudFormation's validator words them.

CloudFormation converts scalar values for the declared type ("128" is a fine MemorySize, 5 a
fine string), so this does too; a value the local cloud could not resolve is accepted as is,
never refused.

jsonschema (about 0.2 s with the format checkers JupyterLab brings) is imported at the first
validation, not when the cloud starts: a start, and a restart's first calls, need none.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema

log = logging.getLogger("gluelab.resource_schemas")
REGION_FILE = "us-east-1"  # the local cloud answers in us-east-1's shape
TYPE_NAMES = {"string": "String", "integer": "Integer", "number": "Number", "boolean": "Boolean",
              "object": "JSONObject", "array": "JSONArray", "null": "Null"}


class Unresolved:
    """A value the local cloud cannot resolve before creation (a Ref to a model without a
    physical id, an intrinsic moto does not implement): it satisfies every constraint."""

    def __repr__(self) -> str:
        return "<unresolved>"


UNRESOLVED = Unresolved()


def _data_dir() -> Path:
    spec = importlib.util.find_spec("cfnlint")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "schemas"


@functools.cache
def _schema_files() -> dict[str, str]:
    """Resource type -> file name of its schema, from cfn-lint's per-region index."""
    return json.loads((_data_dir() / "providers" / f"{REGION_FILE}.json").read_text())


def is_resource_type(name: str) -> bool:
    """Whether CloudFormation knows this resource type (custom resources are anyone's to name)."""
    return (name in _schema_files() or name.startswith("Custom::")
            or name == "AWS::CloudFormation::CustomResource")


@functools.lru_cache(maxsize=None)
def _schema(resource_type: str) -> dict | None:
    name = _schema_files().get(resource_type)
    return json.loads((_data_dir() / "resources" / f"{name}.json").read_text()) if name else None


def lacks_attribute(resource_type: str, attribute: str) -> bool:
    """Whether the registry schema shows the type has no such Fn::GetAtt attribute: neither a
    read-only property (what GetAtt returns) nor a property. Unknown types are not judged."""
    schema = _schema(resource_type)
    if schema is None:
        return False
    pointer = "/properties/" + attribute.replace(".", "/")
    return (pointer not in schema.get("readOnlyProperties", [])
            and attribute.split(".", 1)[0] not in schema.get("properties", {}))


def _number(value: Any) -> Any:
    """CloudFormation's reading of a scalar where the schema wants a number."""
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return value
    return value


def _is_number(checker, value: Any) -> bool:
    value = _number(value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_integer(checker, value: Any) -> bool:
    value = _number(value)
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer())


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str):
    """The registry's patterns are Java regexes (\\p{L}, ...): `regex` reads them, `re` cannot.
    One that neither reads constrains nothing here, rather than refuse a valid value."""
    import regex
    try:
        return regex.compile(pattern)
    except regex.error:
        return None


def _matches(pattern: str, text: str) -> bool:
    compiled = _compiled(pattern)
    return compiled is None or compiled.search(text) is not None


def _extra_keys(instance: dict, schema: dict) -> list[str]:
    known, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    return [key for key in instance
            if key not in known and not any(_matches(pattern, key) for pattern in patterns)]


def _pattern(validator, pattern, instance, schema):
    import jsonschema
    if isinstance(instance, str) and not _matches(pattern, instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator, patterns, instance, schema):
    if isinstance(instance, dict):
        for pattern, subschema in patterns.items():
            for key, value in instance.items():
                if _matches(pattern, key):
                    yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator, allowed, instance, schema):
    import jsonschema
    if not isinstance(instance, dict):
        return
    extras = _extra_keys(instance, schema)
    if allowed is False and extras:
        yield jsonschema.ValidationError(f"extraneous keys {extras}")
    elif isinstance(allowed, dict):
        for key in extras:
            yield from validator.descend(instance[key], allowed, path=key)


NUMERIC = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def _lenient(keyword: str, keyword_check):
    """A keyword check that passes unresolved values and reads numbers as CloudFormation does."""
    def check(validator, value, instance, schema):
        if isinstance(instance, Unresolved):
            return
        if keyword in NUMERIC:
            instance = _number(instance)  # a number given as text
        yield from keyword_check(validator, value, instance, schema)
    return check


@functools.cache
def _validator_class() -> type:
    import jsonschema
    types = jsonschema.Draft7Validator.TYPE_CHECKER.redefine_many({
        "string": lambda checker, value: isinstance(value, (str, int, float, bool)),
        "number": _is_number,
        "integer": _is_integer,
        "boolean": lambda checker, value: isinstance(value, bool) or value in ("true", "false"),
    })
    return jsonschema.validators.extend(
        jsonschema.Draft7Validator,
        {keyword: _lenient(keyword, check) for keyword, check in {
            **jsonschema.Draft7Validator.VALIDATORS, "pattern": _pattern,
            "patternProperties": _pattern_properties,
            "additionalProperties": _additional_properties}.items()},
        type_checker=types)


@functools.lru_cache(maxsize=None)
def validator_for(resource_type: str) -> Any:
    """The compiled validator for a type's properties, or None for a type with no schema."""
    schema = _schema(resource_type)
    return _validator_class()(schema) if schema else None


def resolved(value: Any) -> Any:
    """Properties as CloudFormation validates them: AWS::NoValue gone, unresolvable values marked."""
    if isinstance(value, dict):
        if len(value) == 1 and (next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::")):
            return UNRESOLVED
        return {key: resolved(inner) for key, inner in value.items() if inner is not None}
    if isinstance(value, list):
        return [resolved(inner) for inner in value if inner is not None]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return UNRESOLVED  # moto hands a model itself for a Ref to one without a physical id


# CloudFormation's words for a value that breaks one keyword, given (value, the keyword's value).
MESSAGES = {
    "enum": lambda value, expected: f"{value} is not a valid enum value",
    "const": lambda value, expected: f"{value} is not a valid enum value",
    "minimum": lambda value, expected: f"{value} is not greater or equal to {expected}",
    "maximum": lambda value, expected: f"{value} is not less or equal to {expected}",
    "exclusiveMinimum": lambda value, expected: f"{value} is not greater than {expected}",
    "exclusiveMaximum": lambda value, expected: f"{value} is not less than {expected}",
    "minLength": lambda value, expected: f"expected minLength: {expected}, actual: {len(value)}",
    "maxLength": lambda value, expected: f"expected maxLength: {expected}, actual: {len(value)}",
    "pattern": lambda value, expected: f"string [{value}] does not match pattern {expected}",
    "minItems": lambda value, expected: f"expected minimum item count: {expected}, found: {len(value)}",
    "maxItems": lambda value, expected: f"expected maximum item count: {expected}, found: {len(value)}",
    "uniqueItems": lambda value, expected: "array items are not unique",
}


def _where(error: jsonschema.ValidationError) -> str:
    return "/".join(["#", *(str(part) for part in error.absolute_path)])


def _describe(error: jsonschema.ValidationError, validator: Any) -> list[str]:
    """CloudFormation's wording of one schema violation (one line per offending key)."""
    where, kind, expected, value = _where(error), error.validator, error.validator_value, error.instance
    if kind == "additionalProperties":
        return [f"{where}: extraneous key [{key}] is not permitted" for key in _extra_keys(value, error.schema)]
    if kind == "required":
        return [f"{where}: required key [{key}] not found" for key in expected if key not in value]
    if kind == "type":
        import jsonschema
        wanted = expected if isinstance(expected, list) else [expected]
        found = next(TYPE_NAMES[name] for name in ("boolean", "integer", "number", "string", "array",
                                                    "object", "null")
                     if jsonschema.Draft7Validator.TYPE_CHECKER.is_type(value, name))
        return [f"{where}: expected type: {'|'.join(TYPE_NAMES.get(w, w) for w in wanted)}, found: {found}"]
    if kind in ("oneOf", "anyOf"):
        matched = sum(validator.evolve(schema=sub).is_valid(value) for sub in expected)
        return [f"{where}: #: {matched} subschemas matched instead of one" if kind == "oneOf"
                else f"{where}: #: no subschema matched out of the total {len(expected)} subschemas"]
    value = _number(value) if kind in NUMERIC else value
    message = MESSAGES.get(kind)
    return [f"{where}: {message(value, expected) if message else error.message}"]


def problems(resource_type: str, properties: dict) -> list[str]:
    """CloudFormation's messages for what is wrong with these (resolved) properties."""
    validator = validator_for(resource_type)
    if validator is None:
        return []
    found: list[str] = []
    for error in sorted(validator.iter_errors(resolved(properties)), key=lambda e: list(map(str, e.absolute_path))):
        for message in _describe(error, validator):
            if message not in found:
                found.append(message)
    return found


def failure_reason(logical_id: str, resource_type: str, properties: dict) -> str | None:
    """The reason CloudFormation gives for refusing these properties, or None if they are fine."""
    found = problems(resource_type, properties)
    if not found:
        return None
    unsupported = [m.split("[", 1)[1].split("]", 1)[0] for m in found
                   if m.startswith("#: extraneous key [")]
    if unsupported:
        return f"Encountered unsupported property {unsupported[0]}"
    detail = found[0] if len(found) == 1 else f"[{', '.join(found)}]"
    return f"Properties validation failed for resource {logical_id} with message: {detail}"


def _validating(parse_resource_and_generate_name):
    """moto's step that resolves a resource's properties, followed by CloudFormation's check."""
    def parse(logical_id: str, resource_json: dict, resources_map: Any):
        parsed = parse_resource_and_generate_name(logical_id, resource_json, resources_map)
        if parsed:
            kind = resource_json["Type"]
            try:
                reason = failure_reason(logical_id, kind, parsed[1].get("Properties") or {})
            except Exception:  # a schema this validator cannot read must not refuse a resource
                log.exception("could not validate %s (%s) against its schema", logical_id, kind)
                reason = None
            if reason:
                from moto.cloudformation.exceptions import ValidationError
                raise ValidationError(message=reason)
        return parsed
    return parse


def _install(parsing) -> None:
    parsing.parse_resource_and_generate_name = _validating(parsing.parse_resource_and_generate_name)


def install(context) -> None:
    from gluelab.cloud.lazy import when_imported
    when_imported("moto.cloudformation.parsing", _install)
