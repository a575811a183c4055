"""Imports at the top of a moto module that wait until what they import is used.

Some moto modules import services they use only for rare calls: CloudFormation's parsing.py
imports some 30 services' models to list its resource types, the Step Functions interpreter
imports Batch (which imports EC2 and ECS) for its Batch tasks, API Gateway imports an OpenAPI
validator for imports with fail-on-warnings. A restart's first calls paid for all of them.

`defer(module, deferred)`: while `module` runs its own code, each `from X import a` in it for
which `deferred(X)` is true (X resolved if relative) binds `a` to a stand-in (`Later`) instead of
importing X. A stand-in imports X when it is used (called, subscripted, an attribute read;
`isinstance(x, stand_in)` is False while X was never imported, as nothing can be an instance of
its classes then), and is replaced by the real object as soon as X is imported, by anything. In
a package's __init__, whose names other modules read as attributes, the package instead gets a
module __getattr__ (PEP 562) that imports X on the first read of a deferred name.

`install` defers the imports below; cfn_models.py defers CloudFormation's.
"""
from __future__ import annotations

import builtins
import importlib
import importlib.util
import sys
import threading
from contextlib import contextmanager
from functools import partial
from typing import Callable

from gluelab.cloud import warm_start
from gluelab.cloud.lazy import when_imported, while_importing


class Later:
    """`from <module> import <name>`, until <module> is imported."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def load(self):
        module = importlib.import_module(self.module)
        try:
            return getattr(module, self.name)
        except AttributeError:  # a submodule its package does not import (it defers it), as
            return importlib.import_module(f"{self.module}.{self.name}")  # `from` imports it

    def __getattr__(self, attribute):
        return getattr(self.load(), attribute)

    def __getitem__(self, key):
        return self.load()[key]

    def __call__(self, *args, **kwargs):
        return self.load()(*args, **kwargs)

    def __instancecheck__(self, instance) -> bool:
        return self.module in sys.modules and isinstance(instance, self.load())


class _Stand:
    """What `from <module> import a, b` gets instead of <module>."""

    def __init__(self, module: str, names: tuple[str, ...]):
        for name in names:
            setattr(self, name, Later(module, name))


def defer(module_name: str, deferred: Callable[[str], bool]) -> None:
    """Defer `module_name`'s top-level imports of the modules `deferred` names (see above)."""
    while_importing(module_name, lambda: _deferring(module_name, deferred))
    when_imported(module_name, _bind_later)


_active: dict[str, Callable[[str], bool]] = {}  # modules running their own code: what they defer
_waiting: dict[str, dict[str, Later]] = {}  # imported modules: their stand-ins, by name
_lock = threading.Lock()
_real_import = builtins.__import__


def _import(name, globals=None, locals=None, fromlist=(), level=0):
    deferred = _active.get(globals.get("__name__")) if fromlist and globals is not None else None
    if deferred is not None:
        absolute = importlib.util.resolve_name("." * level + name, globals["__package__"]) \
            if level else name
        if deferred(absolute) and "*" not in fromlist:  # a star import binds what X has
            return _Stand(absolute, fromlist)
    return _real_import(name, globals, locals, fromlist, level)


@contextmanager
def _deferring(module_name: str, deferred: Callable[[str], bool]):
    # builtins.__import__ is ours only while a module with deferred imports runs its own code
    # (other threads' imports pass through); imports in its functions, later, are not deferred.
    with _lock:
        _active[module_name] = deferred
        builtins.__import__ = _import
    try:
        yield
    finally:
        with _lock:
            del _active[module_name]
            if not _active:
                builtins.__import__ = _real_import


def _bind_later(module) -> None:
    later = _waiting[module.__name__] = {
        name: value for name, value in vars(module).items() if isinstance(value, Later)}
    if hasattr(module, "__path__"):  # a package: its names are read as attributes
        for name in later:
            delattr(module, name)

        def __getattr__(name):
            if name not in later:
                raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")
            value = later[name].load()
            setattr(module, name, value)
            return value
        module.__getattr__ = __getattr__
        return
    for name, stand_in in later.items():
        when_imported(stand_in.module, partial(_replace, module, name, stand_in))


def _replace(module, name: str, stand_in: Later, imported) -> None:
    value = vars(imported).get(stand_in.name)
    if value is not None:
        setattr(module, name, value)
    else:  # a submodule a package does not import itself (its package defers it): when it is
        when_imported(f"{stand_in.module}.{stand_in.name}", partial(setattr, module, name))


# module: which of its imports wait (by the absolute name of the module imported)
DEFERRED = {
    # The Step Functions interpreter imports moto.batch.utils for its Batch tasks; Batch's
    # package __init__ imports its models, which import EC2's and ECS's.
    "moto.batch": lambda name: name == "moto.batch.models",
    # For import_rest_api/put_rest_api with failOnWarnings only.
    "moto.apigateway.models": lambda name: name.split(".")[0] == "openapi_spec_validator",
    # The interpreter (about 0.3 s): for validating a definition and running an execution, not
    # for listing or describing what a restart brought back.
    "moto.stepfunctions.parser.models": lambda name: name.startswith((
        "moto.stepfunctions.parser.asl.", "moto.stepfunctions.parser.backend.")),
}


def load(module_name: str) -> None:
    """What `module_name` (if imported) deferred, imported now."""
    for stand_in in list(_waiting.get(module_name, {}).values()):
        stand_in.load()


def _load_everything() -> None:
    for module_name in list(_waiting):
        load(module_name)


def install(context) -> None:
    for module_name, deferred in DEFERRED.items():
        defer(module_name, deferred)
    # in the background once a start's callers are served: a first deploy does not wait for it
    warm_start.later(_load_everything)
