"""The lab notebooks: generated from their sources, blanks that really fail, solutions that run."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from gluelab import notebooks
from gluelab.cli import main
from gluelab.config import ROOT
from tests.conftest import running_cloud

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"


def notebook_env(cloud, workspace: Path) -> dict[str, str]:
    return {**os.environ, **cloud.env(), "GLUELAB_WORKSPACE": str(workspace)}


@pytest.fixture
def notebook_cloud(tmp_path_factory):
    """A local cloud of the notebooks' own, per test: each test's notebooks deploy their own
    project folder as the stack `fixit`, which gluelab refuses to update from another folder."""
    with running_cloud(tmp_path_factory.mktemp("notebook-cloud")) as handle:
        yield handle


def build_tree(tree: dict[str, Path]) -> None:
    notebooks.build(source_dir=tree["source"], labs_dir=tree["labs"],
                    solutions_dir=tree["solutions"], log=lambda *_: None)


@pytest.fixture(scope="module")
def built_fixture(tmp_path_factory) -> Path:
    """The fixture lab's source with its lab and solution notebooks, built once."""
    root = tmp_path_factory.mktemp("built")
    (root / "source").mkdir()
    shutil.copy(FIXTURES / "90-fixture.py", root / "source")
    build_tree({name: root / name for name in ("source", "labs", "solutions")})
    return root


@pytest.fixture
def fixture_tree(built_fixture, tmp_path) -> dict[str, Path]:
    """A private copy of the built fixture tree, free to edit."""
    shutil.copytree(built_fixture, tmp_path, dirs_exist_ok=True)
    return {name: tmp_path / name for name in ("source", "labs", "solutions")}


def stale_in(tree: dict[str, Path]) -> list[str]:
    return notebooks.stale(tree["source"], tree["labs"], tree["solutions"])


def test_shipped_notebooks_match_their_sources(capsys):
    assert main(["notebooks", "check"]) == 0, capsys.readouterr().out


def test_stale_check_fails_after_a_source_edit_and_passes_after_rebuild(fixture_tree):
    assert stale_in(fixture_tree) == []

    source = fixture_tree["source"] / "90-fixture.py"
    source.write_text(source.read_text().replace("A fixture lab", "An edited fixture lab"))
    assert stale_in(fixture_tree) == ["labs/90-fixture.ipynb does not match 90-fixture.py",
                                      "solutions/90-fixture.ipynb does not match 90-fixture.py"]

    build_tree(fixture_tree)
    assert stale_in(fixture_tree) == []


def test_stale_check_names_missing_and_orphaned_notebooks(fixture_tree):
    (fixture_tree["solutions"] / "90-fixture.ipynb").unlink()
    shutil.copy(fixture_tree["labs"] / "90-fixture.ipynb", fixture_tree["labs"] / "95-gone.ipynb")
    assert stale_in(fixture_tree) == ["solutions/90-fixture.ipynb is missing",
                                      "labs/95-gone.ipynb has no source in source/"]


def test_regenerating_changes_nothing(fixture_tree):
    first = {p.name: p.read_text() for p in fixture_tree["solutions"].glob("*.ipynb")}
    build_tree(fixture_tree)
    assert {p.name: p.read_text() for p in fixture_tree["solutions"].glob("*.ipynb")} == first


def test_rebuilding_keeps_a_copy_of_a_lab_notebook_an_attendee_ran_cells_in(fixture_tree):
    lab = fixture_tree["labs"] / "90-fixture.ipynb"
    worked = nbformat.read(lab, as_version=4)
    worked.cells[1].source = "def answer():\n    return 41"  # the attendee's answer, run
    worked.cells[1].execution_count = 1
    nbformat.write(worked, lab)
    said = []
    notebooks.build(source_dir=fixture_tree["source"], labs_dir=fixture_tree["labs"],
                    solutions_dir=fixture_tree["solutions"], log=said.append)
    copies = list((lab.parent.parent / "workspace/replaced-by-build").rglob("*.ipynb"))
    assert [copy.relative_to(lab.parent.parent).parts[-2:] for copy in copies] \
        == [("labs", "90-fixture.ipynb")]
    assert nbformat.read(copies[0], as_version=4).cells[1].source.endswith("return 41")
    assert said[0] == (f"labs/90-fixture.ipynb had cells run in it: that version is kept in "
                       f"{copies[0]} (the rebuilt lab replaced it)")
    assert stale_in(fixture_tree) == []

    # A lab as built (no cell run) is no one's work: rebuilding it keeps no copy.
    build_tree(fixture_tree)
    assert len(list((lab.parent.parent / "workspace").rglob("*.ipynb"))) == 1


def test_lab_gets_blanks_and_solution_keeps_the_code(fixture_tree):
    lab = nbformat.read(fixture_tree["labs"] / "90-fixture.ipynb", as_version=4)
    solution = nbformat.read(fixture_tree["solutions"] / "90-fixture.ipynb", as_version=4)

    assert lab.cells[1].source == ("def answer():\n    # YOUR CODE HERE\n"
                                   "    raise NotImplementedError()")
    assert lab.cells[2].source.endswith("    # YOUR CODE HERE\n    raise NotImplementedError()")
    assert solution.cells[1].source == "def answer():\n    return 42"
    assert "SOLUTION" not in "".join(cell.source for cell in solution.cells)

    assert [cell.metadata.get("tags", []) for cell in lab.cells] == [
        [], ["raises-exception"], ["raises-exception"], ["check", "raises-exception"]]
    assert all(not cell.get("outputs") for cell in lab.cells)
    assert solution.cells[3].outputs[0].text == "Hello, Ada!\n"
    assert [cell.id for cell in lab.cells] == [f"90-fixture-{i:03d}" for i in range(4)]
    assert lab.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("text, message", [
    ("print('no marker')\n", "line 1: text before the first '# %%'"),
    ("# %% [markdown]\nnot a comment\n", "line 2: a markdown cell line must start with '#'"),
    ("# %% tags=check\n", "line 1: cannot read the cell marker"),
    ("# %% tags=[1]\n", "line 1: cannot read the cell marker"),
    ("# %%\n# BEGIN SOLUTION\nx = 1\n", "'# BEGIN SOLUTION' is never closed"),
    ("# %%\nx = 1\n# END SOLUTION\n", "'# END SOLUTION' without a '# BEGIN SOLUTION'"),
])
def test_bad_source_says_where_and_what(tmp_path, text, message):
    (tmp_path / "50-bad.py").write_text(text)
    with pytest.raises(notebooks.SourceError, match="50-bad.py") as caught:
        notebooks.stale(tmp_path, tmp_path / "labs", tmp_path / "solutions")
    assert message in str(caught.value)


def run_nbval(cloud, workspace: Path, *args: str) -> subprocess.CompletedProcess:
    # The instructor's commands as typed: the root conftest.py adds the sanitize rules and this
    # environment's kernel, and uses the given cloud (GLUELAB_STATE_DIR is set).
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT, env=notebook_env(cloud, workspace), capture_output=True, text=True,
        timeout=1200)  # a guard against a hang, not a speed limit: a loaded machine takes 8+ min


# `pytest --nbval solutions/` (the solutions reproduce their stored outputs) runs once, as an
# instructor types it in a fresh clone: tests/test_nbval_as_typed.py.


def test_labs_run_with_only_their_blank_and_check_cells_failing_and_every_check_failing(
        notebook_cloud, tmp_path):
    """`pytest --nbval-lax labs/` passes: no cell fails but a blank or a check. With
    tests/check_cells_must_fail.py the same run also fails any check cell that passes in the
    lab as shipped (a lab that leaks its solution): one run of the labs proves both."""
    result = run_nbval(notebook_cloud, tmp_path, "--nbval-lax", "labs/", "-p", "tests.check_cells_must_fail")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout.splitlines()[-1]


def test_leak_check_catches_a_lab_that_leaks_its_solution(cloud, tmp_path):
    # The leaky lab touches no cloud; the session's is passed so that none is started for it.
    shutil.copy(FIXTURES / "91-leaky.py", tmp_path)
    lab, _ = notebooks.render(notebooks.LabSource(tmp_path / "91-leaky.py"))
    nbformat.write(lab, tmp_path / "91-leaky.ipynb")
    result = run_nbval(cloud, tmp_path, "--nbval-lax", str(tmp_path / "91-leaky.ipynb"),
                       "-p", "tests.nbval_plugin", "-p", "tests.check_cells_must_fail")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "check cell 91-leaky-003 passed in the lab as shipped" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("1 failed, 2 passed"), result.stdout
