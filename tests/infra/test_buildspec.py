"""The pipeline's build: the buildspec lints the project, builds its functions with their
requirements and packages it as CodeBuild runs it, from the root of the app's repository (the
attendee's project, which infra/ is the finished form of)."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tomllib
import uuid
import zipfile
from pathlib import Path

import yaml
from samtranslator.yaml_helper import yaml_parse

from gluelab.config import client
from tests.infra.conftest import INFRA
from tests.test_function_build import local_wheel

BUILDSPEC = yaml.safe_load((INFRA / "buildspec.yml").read_text())


def build_commands() -> list[str]:
    return BUILDSPEC["phases"]["build"]["commands"]


def copy_of_infra(tmp_path: Path) -> Path:
    project = tmp_path / "project"  # CodeBuild runs from the repository root: the project
    shutil.copytree(INFRA, project, ignore=shutil.ignore_patterns("README.md", "__pycache__"))
    return project


def run_build(local, project: Path, commands: list[str], **extra: str) -> dict:
    """Run build commands in `project` as the pipeline does; the packaged template's resources."""
    bucket = f"fixit-build-{uuid.uuid4().hex[:8]}"
    client("s3").create_bucket(Bucket=bucket)
    tools = str(Path(sys.executable).parent)  # aws, cfn-lint and pip, installed with the workshop
    env = {**os.environ, **local.env(), "ARTIFACTS_BUCKET": bucket, "AWS_ENDPOINT_URL": local.endpoint,
           "PATH": tools + os.pathsep + os.environ["PATH"], **extra}
    for command in commands:
        subprocess.run(["bash", "-c", command], cwd=project, env=env, check=True,
                       capture_output=True, timeout=120)
    return yaml_parse((project / "packaged.yaml").read_text())["Resources"]


def code_files(resources: dict, function: str) -> list[str]:
    bucket, key = resources[function]["Properties"]["CodeUri"].removeprefix("s3://").split("/", 1)
    zipped = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return sorted(zipfile.ZipFile(io.BytesIO(zipped)).namelist())


def test_the_build_lints_and_hands_the_packaged_template_to_the_deploy_stage():
    commands = build_commands()
    assert commands[0] == "cfn-lint --non-zero-exit-code error template.yaml"  # errors fail, warnings do not
    assert not any("pytest" in command for command in commands)  # the repo's tests are not the app's
    assert not any("infra/" in command for command in commands)  # paths from the project root
    assert BUILDSPEC["artifacts"]["files"] == ["packaged.yaml"]  # the pipeline's TemplatePath
    pipeline = yaml_parse((INFRA / "pipeline" / "template.yaml").read_text())
    assert pipeline["Resources"]["BuildProject"]["Properties"]["Source"]["BuildSpec"] == "buildspec.yml"
    stages = {s["Name"]: s for s in pipeline["Resources"]["Pipeline"]["Properties"]["Stages"]}
    deploy = stages["Deploy"]["Actions"][0]["Configuration"]
    assert (deploy["ActionMode"], deploy["TemplatePath"]) == ("CREATE_UPDATE", "BuildOutput::packaged.yaml")


def test_the_build_installs_requirements_for_the_platform_the_template_declares():
    template = yaml_parse((INFRA / "template.yaml").read_text())
    function_globals = template["Globals"]["Function"]
    assert (function_globals["Runtime"], function_globals["Architectures"]) == ("python3.12", ["arm64"])
    install = next(command for command in build_commands() if "pip install" in command)
    assert "--platform manylinux2014_aarch64 --implementation cp --python-version 3.12" in install
    assert "--only-binary=:all:" in install
    assert BUILDSPEC["phases"]["install"]["runtime-versions"]["python"] == 3.12
    workshop = tomllib.loads((INFRA.parent / "pyproject.toml").read_text())["project"]["dependencies"]
    twilio = next(requirement for requirement in workshop if requirement.startswith("twilio"))
    for function in ("receiver", "notify"):  # they import twilio, which Lambda's runtime lacks
        lines = (INFRA / "functions" / function / "requirements.txt").read_text().splitlines()
        assert [line for line in lines if not line.startswith("#")] == [twilio]  # boto3: in the runtime
    assert not (INFRA / "functions" / "arrange" / "requirements.txt").exists()  # boto3 only


def test_the_build_commands_lint_and_package_code_and_definition(local, tmp_path):
    project = copy_of_infra(tmp_path)
    # As `gluelab pipeline run` does: the local runtime lends the workshop's packages (no internet).
    resources = run_build(local, project, build_commands(), GLUELAB_LOCAL="1")
    code = [r["Properties"]["CodeUri"] for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    bucket = resources["FixitStateMachine"]["Properties"]["DefinitionUri"]["Bucket"]
    assert len(code) == 4 and all(uri.startswith(f"s3://{bucket}/") for uri in code)
    assert code_files(resources, "ReceiverFunction") == ["app.py", "requirements.txt"]


def test_on_codebuild_each_function_goes_up_with_its_requirements_installed(local, tmp_path):
    project = copy_of_infra(tmp_path)
    wheels = local_wheel(tmp_path / "wheels").parent  # stands in for PyPI: no download in tests
    (project / "functions" / "receiver" / "requirements.txt").write_text(
        f"--no-index\n--find-links {wheels}\nfixit_fake==1.0\n")
    (project / "functions" / "notify" / "requirements.txt").unlink()
    lint, *build = build_commands()
    resources = run_build(local, project, build)
    receiver = code_files(resources, "ReceiverFunction")
    assert {"app.py", "requirements.txt", "fixit_fake/__init__.py"} <= set(receiver)
    assert code_files(resources, "NotifyFunction") == ["app.py"]
    assert sorted(p.name for p in (project / "functions" / "receiver").iterdir()) == [
        "app.py", "requirements.txt"]  # the build works on a copy: the sources stay clean
