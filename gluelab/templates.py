"""Is a SAM template valid before it is deployed? The SAM transform, run offline, and cfn-lint.

    from gluelab.templates import validate
    problems = validate("template.yaml")      # [] when the template is fine
    print(problems)                           # its errors, then cfn-lint's warnings

The transform is the one CloudFormation runs for `Transform: AWS::Serverless-2016-10-31`; it
needs no account, because the local code folders are first replaced by placeholder S3
locations (as `aws cloudformation package` would) and no managed policy is looked up.
cfn-lint then checks the template against the resource specifications of the regions the
workshop deploys to. Its errors (rules E...) make the template invalid; its warnings (W...)
do not, but they are shown, as `cfn-lint` on the attendee's machine would print them.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

# The translator warns about usage metrics it records for AWS when nobody publishes them.
logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)
# The slides' region and the local cloud's: the app must deploy to both.
REGIONS = ["eu-west-1", "us-east-1"]


def _policy_loader():
    from samtranslator.public.translator import ManagedPolicyLoader

    class OfflinePolicies(ManagedPolicyLoader):
        """SAM asks IAM for managed policy ARNs; the workshop's templates name none."""

        def __init__(self):
            pass

        def load(self):
            return {}

    return OfflinePolicies()


def packaged(path: str | Path) -> dict:
    """The template as `aws cloudformation package` leaves it: code and definitions in S3
    (at placeholder keys; nothing is uploaded)."""
    from samtranslator.yaml_helper import yaml_parse

    from gluelab.deploy import Packager
    path = Path(path)
    return Packager(path.parent, lambda content, ext: f"key{ext}").package(
        yaml_parse(path.read_text()), "artifacts")


def transform(path: str | Path, region: str = REGIONS[0]) -> dict:
    """The plain CloudFormation template SAM expands `path` into (offline)."""
    from samtranslator.translator.transform import transform as sam_transform
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region  # the translator reads the region from here
    try:
        return sam_transform(packaged(path), {}, _policy_loader())
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


def _transform_problems(path: Path) -> list[str]:
    from samtranslator.model.exceptions import InvalidDocumentException

    from gluelab.deploy import DeployError
    try:
        transform(path)
    except InvalidDocumentException as exc:
        return [f"SAM transform: {cause.message}" for cause in exc.causes] or [f"SAM transform: {exc}"]
    except DeployError as exc:
        return [f"SAM transform: {exc}"]
    except Exception as exc:  # a YAML error or a template SAM cannot read at all
        return [f"SAM transform: {type(exc).__name__}: {exc}"]
    return []


class Problems(list):
    """The errors that make a template invalid (the list itself) and cfn-lint's warnings,
    which do not; printed, both, warnings marked as such."""

    def __init__(self, errors: list[str], warnings: list[str] = ()):
        super().__init__(errors)
        self.warnings = list(warnings)

    def __str__(self) -> str:
        verdict = [] if self else ["No errors: the template is valid."]
        return "\n".join([*verdict, *self, *(f"warning: {w}" for w in self.warnings)])


def _lint(path: Path) -> list:
    from cfnlint.api import lint
    return lint(path.read_text(), regions=REGIONS)


def _line(match) -> str:
    return f"cfn-lint {match.rule.id} line {match.linenumber}: {match.message}"


def lint_errors(path: str | Path) -> list[str]:
    """cfn-lint's errors (not warnings) for the template, one line each."""
    return [_line(m) for m in _lint(Path(path)) if m.rule.id.startswith("E")]


def validate(path: str | Path) -> Problems:
    """Every error the SAM transform and cfn-lint find in the template (empty when valid), with
    cfn-lint's warnings in `.warnings`."""
    path = Path(path)
    if not path.is_file():
        return Problems([f"{path} does not exist"])
    matches = _lint(path)
    return Problems(_transform_problems(path) + [_line(m) for m in matches if m.rule.id.startswith("E")],
                    [_line(m) for m in matches if m.rule.id.startswith("W")])
