"""The promises of the set-up (the lock's are in test_lock.py): moto pinned exactly, a CI script that runs
the README's test command."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_moto_is_pinned_exactly_because_gluelab_patches_it():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    moto = [d for d in deps if d.startswith("moto")]
    assert len(moto) == 1 and re.search(r"==\d+\.\d+\.\d+$", moto[0])


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    assert re.search(r"^make test$", ci, re.MULTILINE)
