"""An instructor's commands, exactly as typed, in a fresh clone: `make`'s install step installs
exactly the locked versions, then `pytest --nbval solutions/` passes with no cloud running before
it and none left behind (the root conftest.py applies the sanitize rules and runs a cloud of its
own). Slow (every solution runs), so it is the suite's one run of `pytest --nbval solutions/`: it
also proves that the solutions reproduce their stored outputs. The clone carries the tree's
uncommitted edits, so the solutions checked are the ones in the tree, as an in-place run would."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.test_lock import locked

ROOT = Path(__file__).resolve().parent.parent
INSTALLED = ("import json, importlib.metadata as m; "
             "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))")


def cloud_processes(clone: Path) -> list[str]:
    """Command lines of local cloud processes started from the clone's environment."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile, or not a process
            continue
        if "gluelab.cloud.server" in command and str(clone) in command:
            found.append(command)
    return found


def git(*args: str) -> list[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.splitlines()


def clone_as_it_stands(clone: Path) -> None:
    """A fresh clone, then the tree's edits that are not committed yet (changed, added, deleted)."""
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    deleted = set(git("ls-files", "--deleted"))
    for path in git("ls-files", "--modified", "--others", "--exclude-standard"):
        if path not in deleted:
            (clone / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, clone / path)
    for path in deleted:
        (clone / path).unlink(missing_ok=True)


def test_fresh_clone_installs_the_lock_and_passes_pytest_nbval_solutions_as_typed(tmp_path):
    clone = tmp_path / "clone"
    clone_as_it_stands(clone)
    # A newcomer's shell: nothing of this test session's cloud, target or pytest settings.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("GLUELAB_", "AWS_", "TWILIO_", "PYTEST_", "VIRTUAL_ENV"))}
    made = subprocess.run(["make", ".venv/.gluelab-installed", f"PYTHON={sys.executable}"],
                          cwd=clone, env=env, capture_output=True, text=True, timeout=900)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    installed = json.loads(subprocess.run([str(clone / ".venv" / "bin" / "python"), "-c", INSTALLED],
                                          capture_output=True, text=True, check=True).stdout)
    installed = {name.lower().replace("_", "-").replace(".", "-"): version for name, version in installed.items()}
    wanted = locked(for_this_machine=True)
    assert {name: installed.get(name) for name in wanted} == wanted

    typed = subprocess.run(["bash", "-c", ". .venv/bin/activate && pytest --nbval solutions/"],
                           cwd=clone, env=env, capture_output=True, text=True, timeout=1800)
    # The first failure is the one to read (later cells fail for want of its variables).
    first = max(typed.stdout.find("_____"), 0)  # no failure header: from the start
    assert typed.returncode == 0, (typed.stdout[first:first + 6000] + "\n...\n"
                                   + typed.stdout[-2000:] + typed.stderr[-2000:])
    assert " passed" in typed.stdout.splitlines()[-1] and "failed" not in typed.stdout.splitlines()[-1]
    assert cloud_processes(clone) == []
