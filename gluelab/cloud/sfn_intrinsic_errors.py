"""Step Functions intrinsic functions that cannot work on their arguments fail the state in words.

moto 5.2.5's interpreter ran `States.Format('{} {}', $.a)` and `States.ArrayGetItem($.messages,
2)` on a two-item array as Python does, so the execution failed with "The local cloud failed
..." (an IndexError in its log), `States.ArrayGetItem($.messages, -1)` answered the last item,
and `States.StringToJson` of a string that is no JSON failed with a JSONDecodeError. Here each
intrinsic's arguments are checked, once evaluated, before it runs; one that cannot work fails the
state with `States.Runtime`, naming the state, the field, the function call as written and what
is wrong with its arguments:

    An error occurred while executing the state 'Glue' (entered at the event id #9). The
    function 'States.ArrayGetItem($.messages, 2)' specified for the field 'reporterSid.$' could
    not be evaluated: index 2 is out of bounds for an array of 2 items (the first item is 0)

Not checked against AWS here: no recorded AWS execution of a failing intrinsic was found
(LocalStack's AWS-validated snapshots have none). The error name follows the other failures of a
payload template AWS records (`States.Runtime`, which no Retry or Catch takes; Step Functions
also documents `States.IntrinsicFailure`, which `States.ALL` would catch); the sentence after the
state's prefix is this module's. An intrinsic that still fails in a way not checked below fails
the same way, its Python error going to the cloud's log only.
"""
from __future__ import annotations

import base64
import binascii
import functools
import json
import logging

log = logging.getLogger("gluelab.sfn_intrinsic_errors")

HASH_ALGORITHMS = ("MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512")  # the developer guide's list


class IntrinsicFailed(Exception):
    """An intrinsic function that cannot work on its arguments; worded by `cause`."""

    def __init__(self, call: str, reason: str):
        super().__init__(reason)
        self.call, self.reason = call, reason

    def cause(self, field: str | None) -> str:
        where = f" specified for the field '{field}'" if field else ""
        return f"The function '{self.call}'{where} could not be evaluated: {self.reason}"


def _shown(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _array(value, which: str = "first") -> str | None:
    return None if isinstance(value, list) else f"its {which} argument must be an array, and is {_shown(value)}"


def _string(value, which: str = "first") -> str | None:
    return None if isinstance(value, str) else f"its {which} argument must be a string, and is {_shown(value)}"


def _format(args) -> str | None:
    template, values = args[0], args[1:]
    if not isinstance(template, str):
        return _string(template)
    wanted = template.count("{}")
    if wanted > len(values):
        return (f"the string '{template}' has {wanted} placeholders {{}} but {len(values)} "
                f"value{'s' if len(values) != 1 else ''} follow{'s' if len(values) == 1 else ''} it")
    return None


def _array_get_item(args) -> str | None:
    array, index = args
    if not isinstance(array, list):
        return _array(array)
    if not isinstance(index, int) or isinstance(index, bool):
        return f"its second argument must be an integer index, and is {_shown(index)}"
    if not 0 <= index < len(array):
        return (f"index {index} is out of bounds for an array of {len(array)} "
                f"item{'s' if len(array) != 1 else ''} (the first item is 0)")
    return None


def _string_to_json(args) -> str | None:
    text = args[0]
    if text is None:
        return None
    if not isinstance(text, str):
        return _string(text)
    try:
        json.loads(text)
    except ValueError:
        return f"its argument is not a JSON text: {_shown(text)}"
    return None


def _math_add(args) -> str | None:
    for which, value in zip(("first", "second"), args):
        if not _is_number(value):
            return f"its {which} argument must be a number, and is {_shown(value)}"
    return None


def _base64_decode(args) -> str | None:
    if _string(args[0]):
        return _string(args[0])
    try:
        base64.b64decode(args[0], validate=True)
    except (binascii.Error, ValueError):
        return f"its argument is not Base64 text: {_shown(args[0])}"
    return None


def _hash(args) -> str | None:
    data, algorithm = args
    if algorithm not in HASH_ALGORITHMS:
        return f"its second argument must be one of {', '.join(HASH_ALGORITHMS)}, and is {_shown(algorithm)}"
    return None if data is not None else "its first argument must not be null"


def _json_merge(args) -> str | None:
    for which, value in zip(("first", "second"), args[:2]):
        if not isinstance(value, dict):
            return f"its {which} argument must be a JSON object, and is {_shown(value)}"
    return None


CHECKS = {
    "Format": _format,
    "ArrayGetItem": _array_get_item,
    "StringToJson": _string_to_json,
    "MathAdd": _math_add,
    "ArrayLength": lambda args: _array(args[0]),
    "ArrayContains": lambda args: _array(args[0]),
    "ArrayUnique": lambda args: _array(args[0]),
    "ArrayPartition": lambda args: _array(args[0]),
    "StringSplit": lambda args: _string(args[0]) or _string(args[1], "second"),
    "Base64Encode": lambda args: _string(args[0]),
    "Base64Decode": _base64_decode,
    "Hash": _hash,
    "JsonMerge": _json_merge,
}


def _evaluated_arguments(function, env) -> list:
    function.argument_list.eval(env=env)
    return list(env.stack.pop())


def _intrinsic_body(original):
    # StringIntrinsicFunction: the one component every `.$` intrinsic (and CausePath's) runs in.
    @functools.wraps(original)
    def eval_body(self, env):
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
            FailureEventException)
        from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError
        function = self.function
        # The enum member's own name: moto's `name()` cuts a letter off each end ("orma").
        check = CHECKS.get(getattr(getattr(function.name, "function_type", None), "_name_", None))
        if check is not None:
            reason = check(_evaluated_arguments(function, env))
            if reason:
                raise IntrinsicFailed(self.intrinsic_function_derivation, reason)
        try:
            original(self, env)
        except (FailureEventException, NoSuchJsonPathError):
            raise
        except Exception as exc:
            log.error("intrinsic %s: %r", self.intrinsic_function_derivation, exc, exc_info=exc)
            raise IntrinsicFailed(self.intrinsic_function_derivation,
                                  "its arguments cannot be used by this function") from None
    return eval_body


def install(context) -> None:
    from gluelab.cloud.lazy import when_imported

    def patch(module):
        cls = module.StringIntrinsicFunction
        cls._eval_body = _intrinsic_body(cls._eval_body)
    when_imported("moto.stepfunctions.parser.asl.component.common.string.string_expression", patch)
