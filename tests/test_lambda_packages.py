"""What a local Lambda function may import, read from its requirements.txt as pip reads it and
from the installed distributions' metadata (the worker's enforcement is tested in
tests/cloud/test_lambda_runtime.py)."""
from __future__ import annotations

from gluelab.cloud.lambda_packages import resolve, worker_environment

# "The Lambda Python runtimes include the AWS SDK for Python (Boto3) and its dependencies."
RUNTIME = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"}


def test_without_requirements_only_the_runtimes_boto3_and_its_dependencies(tmp_path):
    assert resolve(tmp_path) == (RUNTIME, ())


def test_requirements_name_distributions_as_pip_reads_them(tmp_path):
    (tmp_path / "requirements.txt").write_text(
        "twilio>=9 --hash=sha256:abc \\\n    --hash=sha256:def  # SMS\n"
        "-r more/extra.txt\n"
        "--index-url https://example.org/simple\n"
        "moto; python_version < '3.0'\n"  # a marker that does not hold here: not installed
        "https://example.org/unnamed.whl\n"
        "no-such-distribution-here==1.0\n")
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "extra.txt").write_text("PyYAML\n-r ../../outside.txt\n")
    (tmp_path.parent / "outside.txt").write_text("moto\n")  # not in the package: not read
    modules, missing = resolve(tmp_path)
    # The distributions' top-level modules, with what pip installs with them (twilio's
    # requests and PyJWT), as packages_distributions() maps them: yaml for PyYAML, jwt for PyJWT.
    assert {"twilio", "requests", "jwt", "aiohttp", "yaml"} | RUNTIME <= modules
    assert not {"moto", "gluelab", "pytest"} & modules
    # What the workshop's environment lacks cannot be lent offline: the worker's init log says so.
    assert missing == ("no-such-distribution-here",)
    assert worker_environment(tmp_path)["_GLUELAB_NOT_INSTALLED"] == "no-such-distribution-here"
