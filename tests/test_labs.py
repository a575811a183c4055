"""Every lab can be started cold, and the labs build exactly the reference app in infra/."""
from __future__ import annotations

from pathlib import Path

import pytest

from gluelab import notebooks
from gluelab.config import ROOT
from gluelab.lab import lab_number, plan_before

LABS = [lab.name for lab in notebooks.sources() if lab_number(lab.name) != "00"]
# Files the tools leave in a project that are not part of it.
NOT_PROJECT = (".git", "__pycache__", ".aws-sam", "packaged.yaml")


def project_files(root: Path) -> dict[str, str]:
    return {str(path.relative_to(root)): path.read_text()
            for path in sorted(root.rglob("*")) if path.is_file()
            and not any(part in NOT_PROJECT for part in path.relative_to(root).parts)}


def test_the_finished_project_is_the_reference_app():
    last = lab_number(notebooks.sources()[-1].name)
    reference = project_files(ROOT / "infra")
    reference.pop("README.md")
    built = plan_before(last, including=True).files
    assert sorted(built) == sorted(reference)
    assert {path: text for path, text in built.items() if reference[path] != text} == {}


@pytest.mark.parametrize("name", LABS)
def test_a_lab_started_cold_restores_and_passes_its_checks(name, tmp_path):
    """A fresh local cloud and an empty project: the solution's restore cell rebuilds the
    earlier labs, its checks pass, and the project ends as the labs so far describe it."""
    import nbformat
    cloud, env = notebooks.private_cloud_env(tmp_path)
    nb = nbformat.read(notebooks.SOLUTIONS_DIR / f"{name}.ipynb", as_version=4)
    from gluelab.cloud import process
    try:
        notebooks.execute(nb, cwd=cloud.workspace, env=env)
    finally:
        process.stop(cloud)
    assert project_files(cloud.workspace) == plan_before(lab_number(name), including=True).files
