"""The pipeline's build: the buildspec lints and packages the project as CodeBuild runs it, from
the root of the app's repository (the attendee's project, which infra/ is the finished form of)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import yaml
from samtranslator.yaml_helper import yaml_parse

from gluelab.config import client
from tests.infra.conftest import INFRA

BUILDSPEC = yaml.safe_load((INFRA / "buildspec.yml").read_text())


def build_commands() -> list[str]:
    return BUILDSPEC["phases"]["build"]["commands"]


def test_the_build_lints_and_hands_the_packaged_template_to_the_deploy_stage():
    commands = build_commands()
    assert commands[0] == "cfn-lint template.yaml"
    assert not any("pytest" in command for command in commands)  # the repo's tests are not the app's
    assert not any("infra/" in command for command in commands)  # paths from the project root
    assert BUILDSPEC["artifacts"]["files"] == ["packaged.yaml"]  # the pipeline's TemplatePath
    pipeline = yaml_parse((INFRA / "pipeline" / "template.yaml").read_text())
    assert pipeline["Resources"]["BuildProject"]["Properties"]["Source"]["BuildSpec"] == "buildspec.yml"
    stages = {s["Name"]: s for s in pipeline["Resources"]["Pipeline"]["Properties"]["Stages"]}
    deploy = stages["Deploy"]["Actions"][0]["Configuration"]
    assert (deploy["ActionMode"], deploy["TemplatePath"]) == ("CREATE_UPDATE", "BuildOutput::packaged.yaml")


def test_the_build_commands_lint_and_package_code_and_definition(local, tmp_path):
    bucket = f"fixit-build-{uuid.uuid4().hex[:8]}"
    client("s3").create_bucket(Bucket=bucket)
    project = tmp_path / "project"  # CodeBuild runs from the repository root: the project
    shutil.copytree(INFRA, project, ignore=shutil.ignore_patterns("README.md", "__pycache__"))
    tools = str(Path(sys.executable).parent)  # aws and cfn-lint, installed with the workshop
    env = {**os.environ, **local.env(), "ARTIFACTS_BUCKET": bucket, "AWS_ENDPOINT_URL": local.endpoint,
           "PATH": tools + os.pathsep + os.environ["PATH"]}
    for command in build_commands():
        subprocess.run(["bash", "-c", command], cwd=project, env=env, check=True,
                       capture_output=True, timeout=120)
    resources = yaml_parse((project / "packaged.yaml").read_text())["Resources"]
    code = [r["Properties"]["CodeUri"] for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    assert len(code) == 4 and all(uri.startswith(f"s3://{bucket}/") for uri in code)
    assert resources["FixitStateMachine"]["Properties"]["DefinitionUri"]["Bucket"] == bucket
