"""`gluelab pipeline run`: your delivery pipeline's build and deploy stages, run on your laptop.

On AWS, a push to your git repository starts CodePipeline: CodeBuild runs the phases of the
project's `buildspec.yml` in a fresh container, and CloudFormation deploys the template the
build hands over (`packaged.yaml`). This module does the same two stages against the active
target, so the first deploy of a lab goes the way every deploy goes in production:

    from gluelab.pipeline import run_pipeline
    outputs = run_pipeline(".", "fixit")

The buildspec's commands run in order, in a shell, in the project folder, with the target's
environment (for the local cloud the values `gluelab env` prints) plus `ARTIFACTS_BUCKET`, the
bucket `gluelab deploy` packages into (created if missing). The `install` phase is skipped: it
installs the tools into CodeBuild's empty container, and your workshop environment has them.
Then the build's output template is deployed through a CloudFormation change set.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import yaml

from gluelab import config
from gluelab.deploy import ArtifactsBucket, DeployError, deploy_packaged, load_template

BUILDSPEC = "buildspec.yml"
PHASES = ("install", "pre_build", "build", "post_build")  # CodeBuild's order
SKIPPED = {"install": "CodeBuild installs the tools in a fresh container; your workshop "
                      "environment already has them"}
COMMAND_TIMEOUT_S = 600
OUTPUT_TAIL_LINES = 20


class PipelineError(RuntimeError):
    """A stage of the pipeline failed; the message says which, and what it printed."""


def read_buildspec(project: Path) -> dict:
    """The project's buildspec.yml, checked for what the pipeline needs."""
    path = project / BUILDSPEC
    if not path.is_file():
        raise PipelineError(f"There is no {BUILDSPEC} in {project}: the build stage runs the "
                            f"commands it lists. Add it at the project's root.")
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise PipelineError(f"{BUILDSPEC} is not valid YAML: {exc}") from exc
    if not isinstance(spec, dict) or not isinstance(spec.get("phases"), dict):
        raise PipelineError(f"{BUILDSPEC} has no `phases:` section: list the build's commands "
                            f"under phases -> build -> commands.")
    unknown = sorted(set(spec["phases"]) - set(PHASES))
    if unknown:
        raise PipelineError(f"{BUILDSPEC} has phases CodeBuild does not know: {', '.join(unknown)}. "
                            f"Its phases are {', '.join(PHASES)}.")
    files = (spec.get("artifacts") or {}).get("files") or []
    if not files:
        raise PipelineError(f"{BUILDSPEC} names no output artifact: add `artifacts: files: "
                            f"[packaged.yaml]`, the template the deploy stage deploys.")
    return spec


def commands_of(spec: dict, phase: str) -> list[str]:
    commands = ((spec["phases"].get(phase) or {}).get("commands")) or []
    return [str(command) for command in commands]


def build_environment(bucket: str) -> dict[str, str]:
    """What the build's commands see: this environment, the target's (`gluelab env` for the
    local cloud), the artifacts bucket, and this Python's tools (aws, cfn-lint) first on PATH.

    For the local cloud also GLUELAB_LOCAL=1, which the buildspec reads (never handler code):
    the local Lambda runtime runs handlers with this environment's packages, so the build
    installs no function requirements: that would need the internet, and Lambda's arm64
    Linux wheels, first on the function's path, would shadow the packages that work here."""
    env = dict(os.environ)
    if config.settings().is_local:
        env.update(config.local_environment())
        env["GLUELAB_LOCAL"] = "1"
    env["ARTIFACTS_BUCKET"] = bucket
    tools = str(Path(sys.executable).parent)
    env["PATH"] = tools + os.pathsep + env.get("PATH", "")
    return env


def run_command(command: str, project: Path, env: dict[str, str], phase: str) -> None:
    try:
        done = subprocess.run(["bash", "-c", command], cwd=project, env=env, capture_output=True,
                              text=True, timeout=COMMAND_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise PipelineError(f"Phase {phase} failed: `{command.strip()}` ran for more than "
                            f"{COMMAND_TIMEOUT_S} s.") from exc
    if done.returncode:
        output = (done.stdout + done.stderr).strip().splitlines()[-OUTPUT_TAIL_LINES:]
        raise PipelineError(f"Phase {phase} failed: `{' '.join(command.split())}` exited with "
                            f"status {done.returncode}. It printed:\n"
                            + "\n".join(f"  {line}" for line in output)
                            + "\nFix what it names in your project, then run the pipeline again.")


def run_pipeline(project: str | Path, stack: str, echo: Callable[[str], None] = print,
                 parameters: dict[str, str] | None = None) -> dict[str, str]:
    """Run the build stage (the buildspec's phases) and the deploy stage (its output template
    as `stack`); print one line per phase and the stack's status; return the stack's outputs."""
    project = Path(project).resolve()
    spec = read_buildspec(project)
    bucket = ArtifactsBucket.for_account()
    bucket.ensure(recheck=True)
    env = build_environment(bucket.name)
    for phase in PHASES:
        commands = commands_of(spec, phase)
        if phase in SKIPPED and phase in spec["phases"]:
            echo(f"Phase {phase}: skipped ({SKIPPED[phase]}).")
            continue
        if not commands:
            continue
        for command in commands:
            run_command(command, project, env, phase)
        echo(f"Phase {phase}: {len(commands)} command{'s' * (len(commands) != 1)} succeeded.")
    artifacts = spec["artifacts"]["files"]
    missing = [name for name in artifacts if not (project / name).is_file()]
    if missing:
        raise PipelineError(f"The build did not produce {', '.join(missing)}, its output "
                            f"artifact: check the --output-template-file of the package command.")
    template_file = project / artifacts[0]
    echo(f"Artifact: {artifacts[0]}, handed to the deploy stage.")
    try:
        template = load_template(template_file)
        lines: list[str] = []
        outputs = deploy_packaged(template, stack, parameters, lines.append, bucket,
                                  project=project)
    except DeployError as exc:
        raise PipelineError(f"Deploy stage failed: {exc}") from exc
    status = config.client("cloudformation").describe_stacks(
        StackName=stack)["Stacks"][0]["StackStatus"]
    unchanged = any(line.startswith("No changes") for line in lines)
    echo(f"Deploy: stack {stack} is {status}" + (" (no changes)." if unchanged else "."))
    return outputs


# --- command line -----------------------------------------------------------------------------

def add_commands(subparsers) -> None:
    pipeline = subparsers.add_parser(
        "pipeline", help="run a project's pipeline locally: buildspec phases, then deploy")
    actions = pipeline.add_subparsers(dest="pipeline_command", required=True)
    run = actions.add_parser("run", help="build with buildspec.yml and deploy the output template")
    run.add_argument("path", nargs="?", default=".", metavar="DIR",
                     help="project folder with buildspec.yml (default: the current folder)")
    run.add_argument("--stack", required=True, help="stack name")
    run.set_defaults(func=_run_command)


def _run_command(args) -> int:
    try:
        outputs = run_pipeline(args.path, args.stack)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for key, value in outputs.items():
        print(f"  {key} = {value}")
    return 0
