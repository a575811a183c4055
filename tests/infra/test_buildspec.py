"""The pipeline's build: the buildspec's packaging command works as CodeBuild would run it."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import yaml
from samtranslator.yaml_helper import yaml_parse

from gluelab.config import client
from tests.infra.conftest import INFRA

BUILDSPEC = yaml.safe_load((INFRA / "buildspec.yml").read_text())


def test_the_build_runs_the_tests_and_hands_the_packaged_template_to_the_deploy_stage():
    commands = BUILDSPEC["phases"]["install"]["commands"] + BUILDSPEC["phases"]["build"]["commands"]
    assert any("pytest" in command and "tests/infra" in command for command in commands)
    assert BUILDSPEC["artifacts"]["files"] == ["packaged.yaml"]  # the pipeline's TemplatePath
    pipeline = yaml_parse((INFRA / "pipeline" / "template.yaml").read_text())
    stages = {s["Name"]: s for s in pipeline["Resources"]["Pipeline"]["Properties"]["Stages"]}
    deploy = stages["Deploy"]["Actions"][0]["Configuration"]
    assert (deploy["ActionMode"], deploy["TemplatePath"]) == ("CREATE_UPDATE", "BuildOutput::packaged.yaml")


def test_the_package_command_uploads_code_and_definition(local, tmp_path):
    bucket = f"fixit-build-{uuid.uuid4().hex[:8]}"
    client("s3").create_bucket(Bucket=bucket)
    (tmp_path / "infra").symlink_to(INFRA)  # CodeBuild runs from the repository root
    package = next(c for c in BUILDSPEC["phases"]["build"]["commands"] if "cloudformation package" in c)
    aws = str(Path(sys.executable).with_name("aws"))
    env = {**os.environ, **local.env(), "ARTIFACTS_BUCKET": bucket, "AWS_ENDPOINT_URL": local.endpoint}
    subprocess.run(package.replace("aws ", aws + " ", 1), shell=True, cwd=tmp_path, env=env,
                   check=True, capture_output=True, timeout=60)
    resources = yaml_parse((tmp_path / "packaged.yaml").read_text())["Resources"]
    code = [r["Properties"]["CodeUri"] for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    assert len(code) == 4 and all(uri.startswith(f"s3://{bucket}/fixit/") for uri in code)
    assert resources["FixitStateMachine"]["Properties"]["DefinitionUri"]["Bucket"] == bucket
