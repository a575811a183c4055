"""Write requirements.lock: every dependency of pyproject.toml (with the test extra), pinned, with
the hashes of every file PyPI has for each pinned version, resolved once for every platform and
Python 3.11+ (uv's universal resolution). `make lock` runs this; rerun it whenever pyproject.toml's
dependencies change (tests/test_lock.py fails, naming this command, until you do).

The lock's first line fingerprints the pyproject.toml inputs it was made from, so a test can tell
without the network whether the two are in step.
"""
import hashlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

from bootstrap import environment  # scripts/ is on sys.path when this runs as a script

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
COMMAND = "make lock"
FINGERPRINT_PREFIX = "# pyproject.toml inputs sha256: "
UV_ARGS = ["pip", "compile", "pyproject.toml", "--extra", "test", "--universal",
           "--python-version", "3.11", "--generate-hashes", "--no-header", "--quiet"]


def fingerprint(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """A hash of what the lock is resolved from: requires-python, dependencies, extras."""
    project = tomllib.loads(pyproject.read_text())["project"]
    inputs = {key: project.get(key) for key in
              ("requires-python", "dependencies", "optional-dependencies")}
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def main() -> int:
    # The environment's pinned uv resolves, so every lock is made by the same uv; the environment
    # need not be installed (a lock with merge conflicts could not be), only to have uv.
    python, have_uv = environment(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / ".venv"))
    if not have_uv:
        print("could not install uv, which makes the lock; see the lines above.", file=sys.stderr)
        return 1
    resolved = subprocess.run([str(python), "-m", "uv", *UV_ARGS], cwd=ROOT,
                              capture_output=True, text=True)
    if resolved.returncode:
        sys.stderr.write(resolved.stderr)
        return resolved.returncode
    LOCK.write_text(f"{FINGERPRINT_PREFIX}{fingerprint()}\n"
                    f"# Made by `{COMMAND}` (scripts/lock.py): do not edit by hand.\n"
                    + resolved.stdout)
    print(f"wrote {LOCK.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
