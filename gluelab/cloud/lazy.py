"""Patch a module when it is first imported, not before.

moto loads a service's code on the first request for it (the Step Functions interpreter alone
takes about a second); patching eagerly would make every start of the local cloud pay for all of
them. `when_imported` runs a patch right after the module's own code, or at once if it is loaded;
`while_importing` runs the module's own code inside a context (for what it does at import).
"""
from __future__ import annotations

import importlib.abc
import sys
from contextlib import ExitStack
from typing import Callable, ContextManager

_pending: dict[str, list[Callable]] = {}
_around: dict[str, list[Callable[[], ContextManager]]] = {}


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in _pending and name not in _around:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        run_module = spec.loader.exec_module

        def exec_module(module):
            with ExitStack() as contexts:
                for context in _around.pop(name, []):
                    contexts.enter_context(context())
                run_module(module)
            for patch in _pending.pop(name, []):
                patch(module)

        spec.loader.exec_module = exec_module
        return spec


_finder = _PatchAfterImport()


def when_imported(module_name: str, patch: Callable) -> None:
    """Call patch(module) once `module_name` is imported (now, if it already is)."""
    if module_name in sys.modules:
        patch(sys.modules[module_name])
        return
    _pending.setdefault(module_name, []).append(patch)
    _install()


def while_importing(module_name: str, context: Callable[[], ContextManager]) -> None:
    """Run `module_name`'s own code, when it is first imported, inside `context()`; nothing if
    it is imported already (its module-level code has run)."""
    if module_name not in sys.modules:
        _around.setdefault(module_name, []).append(context)
        _install()


def _install() -> None:
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
