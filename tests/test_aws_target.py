"""The aws target never goes to a local endpoint left over from `eval "$(gluelab env)"`, and
`gluelab env --unset` clears those settings; `gluelab --version` says which gluelab this is."""
import os
import subprocess
import sys
from importlib.metadata import version

import pytest

import gluelab
from gluelab import aws_target
from gluelab.cli import main

GLUELAB = [sys.executable, "-m", "gluelab.cli"]


@pytest.mark.parametrize("variable,url", [
    ("AWS_ENDPOINT_URL", "http://127.0.0.1:4747"),
    ("AWS_ENDPOINT_URL", "http://localhost:4566"),
    ("AWS_ENDPOINT_URL_DYNAMODB", "http://[::1]:8000"),
    ("AWS_ENDPOINT_URL_S3", "http://0.0.0.0:9000"),
])
def test_aws_target_refuses_an_endpoint_on_this_machine_and_names_the_variable(
        monkeypatch, variable, url):
    monkeypatch.setenv("GLUELAB_TARGET", "aws")
    monkeypatch.setenv(variable, url)
    with pytest.raises(aws_target.LocalEndpointError) as refused:
        gluelab.client("dynamodb")
    assert f"unset {variable}" in str(refused.value) and url in str(refused.value)


def test_aws_target_accepts_a_remote_endpoint(monkeypatch):
    monkeypatch.setenv("GLUELAB_TARGET", "aws")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "https://dynamodb.eu-south-1.amazonaws.com")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-south-1")
    assert gluelab.client("dynamodb").meta.endpoint_url == "https://dynamodb.eu-south-1.amazonaws.com"


def test_the_cli_refuses_with_the_message_and_no_traceback(monkeypatch, capsys):
    monkeypatch.setenv("GLUELAB_TARGET", "aws")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4747")
    assert main(["teardown", "--yes"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: GLUELAB_TARGET is aws") and "Traceback" not in err


def test_env_unset_clears_what_env_set_in_a_real_shell():
    # Exactly what a user types: set the local environment, then clear it, then look.
    script = (f'eval "$({" ".join(GLUELAB)} env)"; export AWS_ENDPOINT_URL_S3=http://localhost:9; '
              f'eval "$({" ".join(GLUELAB)} env --unset)"; env')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWILIO_"))}
    left = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                          check=True).stdout
    assert not [line for line in left.splitlines() if line.startswith(("AWS_", "TWILIO_"))]


def test_version_names_the_installed_package(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"gluelab {version('gluelab')}"
