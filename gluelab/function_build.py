"""What `sam build` does for a Python function: its code over its third-party packages.

Lambda's Python runtime has the standard library and boto3, nothing else. A function folder
with a `requirements.txt` therefore goes to AWS with those packages installed next to its
code, as Linux wheels for the function's architecture and Python version (the machine that
deploys may be a Mac, an x86 laptop or an arm64 CodeBuild host: what counts is Lambda's):

    pip install -r requirements.txt --target <build dir> --platform manylinux2014_aarch64
        --implementation cp --python-version 3.12 --only-binary=:all:

The installed packages are kept under the state folder, keyed by the requirements file's
bytes, the architecture and the Python version, so a redeploy that changes only the code
installs nothing.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REQUIREMENTS = "requirements.txt"
# Lambda's architecture names -> the machine names in manylinux wheel tags.
MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}
DEFAULT_ARCHITECTURE = "x86_64"  # Lambda's, when a function names none
PYTHON_RUNTIME = re.compile(r"^python(?P<version>3\.\d+)$")
OUTPUT_TAIL_LINES = 20

Installer = Callable[[list[str]], None]  # runs a pip command line, raising BuildError if it fails


class BuildError(RuntimeError):
    """A function's packages could not be built; the message says which and why."""


@dataclass(frozen=True)
class Platform:
    """Where a function runs on Lambda."""
    python_version: str  # "3.12"
    architecture: str  # "arm64" or "x86_64", as Lambda names them

    @property
    def wheel_platform(self) -> str:
        return f"manylinux2014_{MACHINES[self.architecture]}"


def needs_build(source: Path) -> bool:
    return source.is_dir() and (source / REQUIREMENTS).is_file()


def platform_of(where: str, properties: dict, function_globals: dict) -> Platform:
    """The Runtime and Architectures of a function, from its properties or else the
    template's Globals (SAM's rule); `where` names the function in errors."""
    runtime = properties.get("Runtime", function_globals.get("Runtime"))
    match = PYTHON_RUNTIME.match(runtime) if isinstance(runtime, str) else None
    if not match:
        raise BuildError(f"{where} has a {REQUIREMENTS}, so it is built for a Python runtime, but "
                         f"its Runtime is {runtime!r}. Set Runtime (on the function or in "
                         f"Globals: Function) to a Python runtime such as python3.12.")
    architectures = properties.get("Architectures",
                                   function_globals.get("Architectures", [DEFAULT_ARCHITECTURE]))
    if not (isinstance(architectures, list) and len(architectures) == 1
            and architectures[0] in MACHINES):
        raise BuildError(f"{where}: Architectures is {architectures!r}; Lambda takes one of "
                         f"{', '.join(f'[{name}]' for name in MACHINES)}.")
    return Platform(match["version"], architectures[0])


def pip_command(requirements: Path, target: Path, platform: Platform) -> list[str]:
    return [sys.executable, "-m", "pip", "install", "--quiet", "-r", str(requirements),
            "--target", str(target), "--platform", platform.wheel_platform,
            "--implementation", "cp", "--python-version", platform.python_version,
            "--only-binary=:all:"]


def run_pip(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        output = (done.stdout + done.stderr).strip().splitlines()[-OUTPUT_TAIL_LINES:]
        raise BuildError("pip could not install the packages. It printed:\n"
                         + "\n".join(f"  {line}" for line in output))


def cache_key(requirements: bytes, platform: Platform) -> str:
    digest = hashlib.sha256(requirements)
    digest.update(f"\0{platform.architecture}\0{platform.python_version}".encode())
    return digest.hexdigest()[:32]


class FunctionBuilder:
    """Builds function folders, keeping installed packages in `cache` across deploys."""

    def __init__(self, cache: Path, install: Installer = run_pip):
        self.cache = cache
        self.install = install

    def packages(self, where: str, requirements: Path, platform: Platform) -> Path:
        """A folder holding what `requirements` installs for `platform`, installed once."""
        folder = self.cache / cache_key(requirements.read_bytes(), platform)
        if folder.is_dir():
            return folder
        partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        try:
            self.install(pip_command(requirements, partial, platform))
        except BuildError as exc:
            shutil.rmtree(partial, ignore_errors=True)
            raise BuildError(f"{where}: {requirements} could not be installed for Lambda "
                             f"(Linux {platform.architecture}, Python {platform.python_version}). "
                             f"{exc}\nCheck the package names and versions there: a package "
                             f"without a wheel for that platform cannot go to Lambda.") from None
        try:
            partial.rename(folder)  # atomic: a folder in the cache is always complete
        except OSError:  # another deploy finished the same install first
            shutil.rmtree(partial, ignore_errors=True)
        return folder

    def build(self, where: str, source: Path, platform: Platform, into: Path) -> Path:
        """`into` (emptied first) holding the function's packages with its own files copied
        over them, as `sam build` lays out .aws-sam/build/<Function>/."""
        packages = self.packages(where, source / REQUIREMENTS, platform)
        shutil.rmtree(into, ignore_errors=True)
        shutil.copytree(packages, into, symlinks=True)
        shutil.copytree(source, into, symlinks=True, dirs_exist_ok=True)
        return into
