"""The promises of the set-up: one dependency list, moto pinned exactly, a CI script that runs
the README's test command."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_environment_yml_installs_exactly_the_pyproject_dependencies():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = [d for d in env["dependencies"] if isinstance(d, dict)]
    conda_packages = [d for d in env["dependencies"] if isinstance(d, str)]
    assert pip_section == [{"pip": ["-e .[test]"]}]
    assert sorted(re.split(r"[<>=]", p)[0] for p in conda_packages) == ["pip", "python"]


def test_moto_is_pinned_exactly_because_gluelab_patches_it():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    moto = [d for d in deps if d.startswith("moto")]
    assert len(moto) == 1 and re.search(r"==\d+\.\d+\.\d+$", moto[0])


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    assert re.search(r"^make test$", ci, re.MULTILINE)
