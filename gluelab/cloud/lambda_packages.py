"""What a Lambda function may import: the standard library, what Lambda's Python runtime provides,
what its package brings, and what its requirements.txt names. Anything else fails to import, as
on AWS (`Runtime.ImportModuleError: Unable to import module 'app': No module named 'twilio'`).

The local cloud cannot pip-install at deploy (the workshop runs offline), so a function whose
requirements.txt names a distribution borrows the workshop environment's copy of it and of its
dependencies: what `sam build` would have installed into the package. A function that forgot
its requirements.txt must not borrow anything, or it passes here and fails on AWS.

The cloud's side, `worker_environment(task_root)`, works out the allowed top-level module names
from the packages' published metadata (importlib.metadata: requirements, and the modules each
distribution installs); the worker's side, `guard()`, run before the handler's module is
imported (and in the zygote before its boto3 preloads, so that botocore sees no awscrt, as on
Lambda), forgets modules the worker had loaded that the function may not import and hides the
rest from the import system: such an import fails as for a module that is not installed. This
file is also imported by path in workers (as `lambda_packages`): at module level it imports
nothing but the standard library's basics.
"""
from __future__ import annotations

import contextlib
import functools
import os
import sys
from importlib.machinery import BuiltinImporter, FrozenImporter, PathFinder
from pathlib import Path

# "The Lambda Python runtimes include the AWS SDK for Python (Boto3) and its dependencies"
# (AWS Lambda Developer Guide, Building Lambda functions with Python: runtime dependencies).
RUNTIME_PROVIDED = ("boto3",)
REQUIREMENTS = "requirements.txt"
ENV_VAR = "_GLUELAB_IMPORTABLE"  # the worker takes these out of the function's environment
MISSING_VAR = "_GLUELAB_NOT_INSTALLED"
RUNTIME_MODULES = frozenset({"__main__", "lambda_worker", "lambda_packages"})  # the worker itself


# --- the cloud's side -------------------------------------------------------------------------

def worker_environment(task_root: Path | None, also: tuple[str, ...] = ()) -> dict[str, str]:
    """What a worker for the code in `task_root` (None: the zygote, whose preloads are the
    runtime's and the distributions `also` names) needs to know to guard its imports."""
    modules, missing = resolve(task_root, also)
    environment = {ENV_VAR: ",".join(sorted(modules))}
    if missing:
        environment[MISSING_VAR] = ",".join(missing)
    return environment


@functools.lru_cache(maxsize=256)
def resolve(task_root: Path | None,
            also: tuple[str, ...] = ()) -> tuple[frozenset[str], tuple[str, ...]]:
    """(Top-level modules of the third-party distributions the function may import: the
    runtime's, those `also` names and those its requirements.txt names, with their
    dependencies; the distributions named that the workshop's environment lacks). task_root is
    one code version's folder: what it holds never changes."""
    from packaging.requirements import Requirement
    wanted = [Requirement(name) for name in RUNTIME_PROVIDED + also]
    if task_root is not None:
        wanted += requirements(task_root / REQUIREMENTS, task_root)
    modules = _modules_by_distribution()
    found, missing = installed_closure(wanted)
    return (frozenset(module for dist in found for module in modules.get(dist, ())),
            tuple(sorted(missing)))


def requirements(path: Path, task_root: Path, seen: frozenset = frozenset()) -> list:
    """The requirements a pip requirements file names (following -r includes inside the
    package), those whose environment markers hold here. Lines pip would install without a
    name (a bare URL or path) or could not parse name nothing borrowable: skipped."""
    from packaging.requirements import InvalidRequirement, Requirement
    try:
        text = path.read_text(errors="replace")
    except OSError:  # no requirements.txt (or a folder of that name): nothing named
        return []
    found = []
    for line in text.replace("\\\n", "").splitlines():
        line = line.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ", "-r", "--requirement=")):
            include = line.split("=", 1)[1] if line.startswith("--requirement=") else \
                line.removeprefix("--requirement").removeprefix("-r").strip()
            nested = (path.parent / include).resolve()
            if nested.is_relative_to(task_root.resolve()) and nested not in seen:
                found += requirements(nested, task_root, seen | {nested})
            continue
        if line.startswith("-"):  # -c constraints, -e, --index-url, ...: they name nothing
            continue
        line = line.split(" --", 1)[0].split(" -", 1)[0]  # per-line options such as --hash
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            found.append(requirement)
    return found


def installed_closure(wanted: list) -> tuple[set[str], set[str]]:
    """(Canonical names of the installed distributions `wanted` needs, dependencies included
    (with the extras asked for), as pip would install them; names of those not installed)."""
    from importlib.metadata import PackageNotFoundError, distribution
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name
    found: set[str] = set()
    missing: set[str] = set()
    visited: set[tuple[str, str]] = set()
    todo = [(requirement, extra) for requirement in wanted
            for extra in ("", *requirement.extras)]
    while todo:
        requirement, extra = todo.pop()
        name = canonicalize_name(requirement.name)
        if (name, extra) in visited:
            continue
        visited.add((name, extra))
        try:
            dist = distribution(requirement.name)
        except PackageNotFoundError:  # not in the workshop's environment: nothing to borrow
            missing.add(requirement.name)
            continue
        found.add(name)
        for line in dist.requires or ():
            try:
                dependency = Requirement(line)
            except InvalidRequirement:
                continue
            if dependency.marker is None or dependency.marker.evaluate({"extra": extra}):
                todo += [(dependency, wanted_extra) for wanted_extra in ("", *dependency.extras)]
    return found, missing


@functools.cache
def _modules_by_distribution() -> dict[str, set[str]]:
    """Canonical distribution name -> the top-level modules it installs (published metadata)."""
    from importlib.metadata import packages_distributions
    from packaging.utils import canonicalize_name
    modules: dict[str, set[str]] = {}
    for module, dists in packages_distributions().items():
        for dist in dists:
            modules.setdefault(canonicalize_name(dist), set()).add(module)
    return modules


# --- the worker's side ------------------------------------------------------------------------

class ImportGuard:
    """Hides from the import system every top-level module that is neither the standard
    library's, nor importable, nor in the function's own package: such an import fails as for a
    module that is not installed (`importlib.util.find_spec` says None, `import` raises
    ModuleNotFoundError), while submodules of what was imported resolve as usual. It filters
    path entries outside the package (the environment's site-packages) and finders that Lambda
    does not have (an editable install's)."""

    def __init__(self, importable: frozenset[str], task_root: str | None):
        self.importable = importable
        self.task_root = os.path.realpath(task_root) if task_root else None

    def allows(self, name: str) -> bool:
        return (name in self.importable or name in sys.stdlib_module_names
                or name in RUNTIME_MODULES)

    def owns(self, path: str) -> bool:
        """Whether `path` is in the function's own package."""
        if self.task_root is None:
            return False
        path = os.path.realpath(path)
        return path == self.task_root or path.startswith(self.task_root + os.sep)

    def path_hook(self, entry: str):
        if self.owns(entry or "."):
            raise ImportError  # the usual finder: everything in the package is the function's
        for hook in sys.path_hooks:
            if hook != self.path_hook:
                try:
                    return Filtered(hook(entry), self.allows)
                except ImportError:
                    continue
        raise ImportError

    def install(self) -> None:
        self.hide_disallowed()
        sys.meta_path[:] = [finder if finder in STANDARD_FINDERS else Filtered(finder, self.allows)
                            for finder in sys.meta_path]
        sys.path_hooks.insert(0, self.path_hook)
        sys.path_importer_cache.clear()

    def uninstall(self) -> None:
        sys.meta_path[:] = [finder.finder if isinstance(finder, Filtered) else finder
                            for finder in sys.meta_path]
        sys.path_hooks.remove(self.path_hook)
        sys.path_importer_cache.clear()

    def hide_disallowed(self) -> None:
        for name in list(sys.modules):
            origin = getattr(sys.modules[name], "__file__", None)
            if not self.allows(name.partition(".")[0]) and not (origin and self.owns(origin)):
                del sys.modules[name]  # whoever holds it keeps it; an import no longer finds it


class Filtered:
    """A finder that finds top-level modules only where `allows` says so."""

    def __init__(self, finder, allows):
        self.finder, self.allows = finder, allows

    def find_spec(self, name, *args):
        if "." not in name and not self.allows(name):
            return None
        return self.finder.find_spec(name, *args)

    def invalidate_caches(self) -> None:
        if hasattr(self.finder, "invalidate_caches"):
            self.finder.invalidate_caches()


STANDARD_FINDERS = (BuiltinImporter, FrozenImporter, PathFinder)
_guard: ImportGuard | None = None  # this process's


def guard(task_root: str | None) -> None:
    """Before the handler's import (or the zygote's preloads): forget loaded modules it may not
    import and hide them from now on."""
    global _guard
    if _guard is not None:  # a worker forked from the zygote: its own rules replace the zygote's
        _guard.uninstall()
    importable = frozenset(filter(None, os.environ.pop(ENV_VAR, "").split(",")))
    _guard = ImportGuard(importable, task_root)
    _guard.install()
    for name in filter(None, os.environ.pop(MISSING_VAR, "").split(",")):  # in the init log
        print(f"[WARNING] requirements.txt names {name}, which the workshop's environment does "
              f"not have, and the local cloud cannot install packages (it works offline): "
              f"install it there (`.venv/bin/pip install {name}`), then restart the local "
              f"cloud (`gluelab cloud stop`, `gluelab cloud start`).",
              file=sys.stderr)


@contextlib.contextmanager
def runtime_imports():
    """The runtime's own imports (the Twilio stand-in's redirect): unguarded, and hidden from
    the function's imports afterwards."""
    _guard.uninstall()
    try:
        yield
    finally:
        _guard.install()
