"""The labs teach IAM: a policy missing from the attendee's template fails the lab's checks
through the real AccessDenied in the function's log, and the failure names the fix."""
from __future__ import annotations

import pytest

from checks import runner
from gluelab.config import settings
from gluelab.lab import Lab
from tests.conftest import running_cloud


@pytest.fixture
def lab_cloud(tmp_path_factory):
    # A cloud per case: each case's project is its own folder, and a stack made from one
    # project folder is never replaced from another (gluelab.stack_owner).
    with running_cloud(tmp_path_factory.mktemp("lab-iam-cloud")) as handle:
        yield handle


@pytest.mark.parametrize("lab, following, policy, fix", [
    # Lab 04: two of the three SSM read policies, the mistake issue 10 found.
    ("04", "05", "        - SSMParameterWithSlashPrefixReadPolicy:\n"
                 "            ParameterName: !Ref TwilioPhoneNumberParameter\n",
     "lacks a read policy for /fixit/twilio/phone_number"),
    # Lab 06: the receiver without StepFunctionsExecutionPolicy.
    ("06", "07", "        - StepFunctionsExecutionPolicy:\n"
                 "            StateMachineName: !GetAtt FixitStateMachine.Name\n",
     "StepFunctionsExecutionPolicy with StateMachineName"),
])
def test_a_missing_policy_fails_the_labs_checks_with_the_access_denied(
        lab, following, policy, fix, lab_cloud, tmp_path, monkeypatch):
    for key, value in lab_cloud.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GLUELAB_WORKSPACE", str(tmp_path))
    # The project as lab `lab` leaves it, then the same without the one policy.
    finished = Lab(following, settings())
    finished.restore(echo=lambda line: None)
    template = tmp_path / "template.yaml"
    assert policy in template.read_text()
    template.write_text(template.read_text().replace(policy, "", 1))
    finished.deploy(echo=lambda line: None)
    failed = [result for result in runner.run(lab).results if not result.passed]
    assert failed, f"lab {lab}'s checks pass without the policy"
    detail = failed[0].detail
    assert "is not authorized to perform:" in detail and fix in detail, detail
