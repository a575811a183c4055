"""requirements.lock is what every install uses (make, CI, conda/Binder), it is in step with
pyproject.toml, this environment holds exactly its versions, and lab 00's stored output shows them."""
import importlib.util
import re
import sys
import tomllib
from importlib.metadata import distributions
from pathlib import Path

import nbformat
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)(?:\s*;\s*(?P<marker>[^\\]+?))?\s*\\?$")


def _lock_script():
    spec = importlib.util.spec_from_file_location("lock", ROOT / "scripts" / "lock.py")
    sys.path.insert(0, str(ROOT / "scripts"))  # lock.py imports bootstrap.py beside it
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return module


def locked(for_this_machine: bool = False) -> dict[str, str]:
    """{canonical name: version} from the lock, optionally only what applies on this machine."""
    pins = {}
    for line in LOCK.read_text().splitlines():
        match = PIN.match(line)
        if match and not (for_this_machine and match["marker"] and not Marker(match["marker"]).evaluate()):
            pins[canonicalize_name(match["name"])] = match["version"]
    return pins


def test_lock_is_in_step_with_pyproject():
    lock = _lock_script()
    first_line = LOCK.read_text().splitlines()[0]
    assert first_line == lock.FINGERPRINT_PREFIX + lock.fingerprint(), (
        "requirements.lock was made from other pyproject.toml dependencies: run `make lock` "
        "and commit requirements.lock.")


def test_every_pyproject_requirement_is_locked_at_an_allowed_version():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = locked()
    for text in project["dependencies"] + project["optional-dependencies"]["test"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside {requirement.specifier}: run `make lock`")


def test_every_pin_carries_hashes():
    blocks = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text().split("\n", 2)[2])
    assert blocks and all("--hash=sha256:" in block for block in blocks if PIN.match(block.split("\n")[0]))


def test_this_environment_holds_exactly_the_locked_versions():
    # make, CI and this test's environment install from the lock with --require-hashes.
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in distributions()}
    wanted = locked(for_this_machine=True)
    assert {name: installed.get(name) for name in wanted} == wanted


def test_conda_and_binder_install_the_lock_on_a_pinned_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert [d for d in env["dependencies"] if isinstance(d, str)] == ["python=3.11", "pip"]
    assert {"pip": ["-r requirements.lock"]} in env["dependencies"]
    # pip cannot mix a hash-checked lock and an editable install: Binder's postBuild adds gluelab.
    assert "pip install --no-deps -e ." in (ROOT / "postBuild").read_text()


def test_uv_is_pinned_where_the_environment_is_made():
    bootstrap = (ROOT / "scripts" / "bootstrap.py").read_text()
    assert re.search(r'^UV = "uv==\d+\.\d+\.\d+"', bootstrap, re.MULTILINE)


def test_lab_00_stored_output_shows_the_locked_versions():
    solution = nbformat.read(ROOT / "solutions" / "00-welcome.ipynb", as_version=4)
    printed = next(cell.outputs[0].text for cell in solution.cells
                   if "importlib.metadata" in cell.source)
    shown = dict(line.split() for line in printed.splitlines() if not line.startswith("Python"))
    pins = locked()
    assert shown == {name: pins[canonicalize_name(name)] for name in shown}, (
        "lab 00's stored versions are not the locked ones: run `gluelab notebooks build 00`")
