"""Function folders with a requirements.txt go to AWS with their packages, as `sam build` does
(gluelab/function_build.py, used by gluelab/deploy.py's packaging); local deploys stay as they were."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from gluelab.config import Settings
from gluelab.deploy import DeployError, Packager, function_builder, zip_bytes
from gluelab.function_build import BuildError, FunctionBuilder, Platform, pip_command, platform_of

TEMPLATE = {
    "Globals": {"Function": {"Runtime": "python3.12", "Architectures": ["arm64"]}},
    "Resources": {
        "Receiver": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "receiver"}},
        "Arrange": {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": "arrange"}},
    },
}


def local_wheel(folder: Path, name: str = "fixit_fake") -> Path:
    """A pure-Python wheel pip can install with no index and no internet."""
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-1.0-py3-none-any.whl"
    info = f"{name}-1.0.dist-info"
    files = {f"{name}/__init__.py": "ANSWER = 42\n",
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                              "Tag: py3-none-any\n"}
    files[f"{info}/RECORD"] = "".join(f"{path},,\n" for path in [*files, f"{info}/RECORD"])
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


class FakePip:
    """Stands in for pip: records each command and installs one module per requirement."""

    def __init__(self):
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str]) -> None:
        self.commands.append(command)
        target = Path(command[command.index("--target") + 1])
        for line in Path(command[command.index("-r") + 1]).read_text().splitlines():
            if line and not line.startswith("#"):
                package = target / line.split(">")[0].split("=")[0]
                package.mkdir(parents=True, exist_ok=True)
                (package / "__init__.py").write_text(f"# {line}\n")


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "receiver").mkdir()
    (tmp_path / "receiver" / "app.py").write_text("import twilio\n")
    (tmp_path / "receiver" / "requirements.txt").write_text("twilio>=9.0,<10\n")
    (tmp_path / "arrange").mkdir()
    (tmp_path / "arrange" / "app.py").write_text("import boto3\n")
    return tmp_path


def packaged_zips(project: Path, builder: FunctionBuilder | None) -> dict[str, bytes]:
    """Package TEMPLATE; return each function's uploaded zip by logical id."""
    uploads: dict[str, bytes] = {}

    def upload(content: bytes, extension: str) -> str:
        uploads[f"key{len(uploads)}"] = content
        return f"key{len(uploads) - 1}"

    packaged = Packager(project, upload, builder).package(TEMPLATE, "bucket")
    return {name: uploads[resource["Properties"]["CodeUri"].rsplit("/", 1)[1]]
            for name, resource in packaged["Resources"].items()}


def names(content: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(content)).namelist()


def test_the_pip_command_installs_linux_wheels_for_the_functions_runtime_and_architecture():
    from_globals = platform_of("Receiver.CodeUri", {}, TEMPLATE["Globals"]["Function"])
    assert from_globals == Platform("3.12", "arm64")
    command = pip_command(Path("receiver/requirements.txt"), Path("build"), from_globals)
    assert command[command.index("install"):] == [
        "install", "--quiet", "-r", "receiver/requirements.txt", "--target", "build",
        "--platform", "manylinux2014_aarch64", "--implementation", "cp",
        "--python-version", "3.12", "--only-binary=:all:"]
    own = platform_of("F", {"Runtime": "python3.11", "Architectures": ["x86_64"]},
                      TEMPLATE["Globals"]["Function"])
    assert own == Platform("3.11", "x86_64") and own.wheel_platform == "manylinux2014_x86_64"
    assert platform_of("F", {"Runtime": "python3.13"}, {}).architecture == "x86_64"  # Lambda's default


def test_a_function_that_cannot_be_built_for_python_is_refused_in_plain_words():
    with pytest.raises(BuildError, match=r"Receiver.CodeUri has a requirements.txt.*Runtime is "
                                        r"'nodejs20.x'.*such as python3.12"):
        platform_of("Receiver.CodeUri", {"Runtime": "nodejs20.x"}, {})
    with pytest.raises(BuildError, match=r"Architectures is \['arm64', 'x86_64'\]; Lambda takes one"):
        platform_of("F", {"Runtime": "python3.12", "Architectures": ["arm64", "x86_64"]}, {})


def test_on_aws_the_function_goes_up_with_its_packages_and_its_own_files_win(project, tmp_path):
    (project / "receiver" / "twilio").mkdir()  # a module of the function shadows the package's
    (project / "receiver" / "twilio" / "__init__.py").write_text("# the function's own\n")
    pip = FakePip()
    zips = packaged_zips(project, FunctionBuilder(tmp_path / "cache", pip))
    receiver = zipfile.ZipFile(io.BytesIO(zips["Receiver"]))
    assert sorted(receiver.namelist()) == ["app.py", "requirements.txt", "twilio/__init__.py"]
    assert receiver.read("twilio/__init__.py") == b"# the function's own\n"
    assert zips["Arrange"] == zip_bytes(project / "arrange")  # no requirements.txt: as it is
    assert len(pip.commands) == 1


def test_a_code_only_redeploy_reuses_the_installed_packages(project, tmp_path):
    pip = FakePip()
    builder = FunctionBuilder(tmp_path / "cache", pip)
    first = packaged_zips(project, builder)["Receiver"]
    assert packaged_zips(project, builder)["Receiver"] == first  # same bytes: same S3 key
    (project / "receiver" / "app.py").write_text("import twilio  # changed\n")
    changed = packaged_zips(project, FunctionBuilder(tmp_path / "cache", pip))["Receiver"]
    assert changed != first and "twilio/__init__.py" in names(changed)
    assert len(pip.commands) == 1  # three deploys, one install

    (project / "receiver" / "requirements.txt").write_text("twilio>=9.0,<10\nrequests\n")
    assert "requests/__init__.py" in names(packaged_zips(project, builder)["Receiver"])
    x86 = {**TEMPLATE, "Globals": {"Function": {"Runtime": "python3.12"}}}
    Packager(project, lambda content, extension: "key", builder).package(x86, "bucket")
    assert [c[c.index("--platform") + 1] for c in pip.commands] == [
        "manylinux2014_aarch64", "manylinux2014_aarch64", "manylinux2014_x86_64"]


def test_on_the_local_cloud_nothing_is_installed_and_the_zip_is_the_folder(project, tmp_path):
    local = Settings(target="local", port=1, state_dir=tmp_path / "state", workspace=tmp_path)
    aws = Settings(target="aws", port=1, state_dir=tmp_path / "state", workspace=tmp_path)
    assert function_builder(local) is None
    assert function_builder(aws).cache == tmp_path / "state" / "function-packages"
    zips = packaged_zips(project, function_builder(local))
    assert zips["Receiver"] == zip_bytes(project / "receiver")
    assert sorted(names(zips["Receiver"])) == ["app.py", "requirements.txt"]


def test_a_failed_install_names_the_function_and_caches_nothing(project, tmp_path):
    def failing_pip(command):
        raise BuildError("pip could not install the packages. It printed:\n"
                         "  ERROR: No matching distribution found for twilio>=9.0,<10")

    cache = tmp_path / "cache"
    with pytest.raises(DeployError, match=r"(?s)Receiver.CodeUri: .*requirements.txt could not "
                                          r"be installed for Lambda \(Linux arm64, Python 3.12\).*"
                                          r"No matching distribution.*Check the package names"):
        packaged_zips(project, FunctionBuilder(cache, failing_pip))
    assert list(cache.iterdir()) == []  # the next deploy tries again


def test_real_pip_installs_a_local_wheel_offline_into_the_build(project, tmp_path):
    wheels = local_wheel(tmp_path / "wheels").parent
    (project / "receiver" / "requirements.txt").write_text(
        f"--no-index\n--find-links {wheels}\nfixit_fake==1.0\n")
    receiver = packaged_zips(project, FunctionBuilder(tmp_path / "cache"))["Receiver"]
    assert {"app.py", "fixit_fake/__init__.py", "fixit_fake-1.0.dist-info/METADATA"} <= set(names(receiver))
