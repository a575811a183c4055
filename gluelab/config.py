"""One place for where things live and which cloud gluelab talks to.

The target is `local` (the embedded local cloud, the default) or `aws` (the standard AWS
credential chain and region). Every gluelab call goes through `client()`, so switching the
target never touches lab code.
"""
from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

import boto3

from gluelab import aws_target
from gluelab.cloud import twilio_standin

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 4747  # clashes with neither LocalStack (4566) nor moto_server (5000)
LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT = "123456789012"  # moto's default account
TARGETS = ("local", "aws")


@dataclass(frozen=True)
class Settings:
    target: str
    port: int
    state_dir: Path
    workspace: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_local(self) -> bool:
        return self.target == "local"


def _saved() -> dict:
    path = state_dir() / "config.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def state_dir() -> Path:
    return Path(os.environ.get("GLUELAB_STATE_DIR", ROOT / ".gluelab"))


def settings() -> Settings:
    saved = _saved()
    target = os.environ.get("GLUELAB_TARGET") or saved.get("target") or "local"
    if target not in TARGETS:
        raise ValueError(
            f"GLUELAB_TARGET is {target!r}; it must be one of {', '.join(TARGETS)}. "
            "Unset it to use the local cloud.")
    if target == "aws":
        aws_target.refuse_local_endpoints()
    # The port is the running cloud's, whatever GLUELAB_PORT says now: env, status, stop,
    # notebooks and checks follow the cloud that was started (`gluelab cloud start --port`).
    port = running_port(state_dir()) or int(
        os.environ.get("GLUELAB_PORT") or saved.get("port") or DEFAULT_PORT)
    workspace = Path(os.environ.get("GLUELAB_WORKSPACE", ROOT / "workspace"))
    return Settings(target=target, port=port, state_dir=state_dir(), workspace=workspace)


def running_port(state: Path) -> int | None:
    """The port of the local cloud started from the state folder `state`, if it still runs
    (gluelab.cloud.process records its pid and port there when it starts it)."""
    try:
        pid = int((state / "cloud.pid").read_text())
        port = int((state / "cloud.port").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return port


def saved_setting(key: str, default=None):
    """A value saved with save_setting (in the state folder's config.json), else `default`."""
    return _saved().get(key, default)


def save_setting(key: str, value) -> None:
    data = _saved()
    data[key] = value
    path = state_dir() / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True))


def local_environment(s: Settings | None = None) -> dict[str, str]:
    """Variables that point the AWS CLI, boto3 and the Twilio stand-in users at the local cloud."""
    s = s or settings()
    return {
        "AWS_ENDPOINT_URL": s.endpoint,
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_REGION": LOCAL_REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        **twilio_standin.ENVIRONMENT,
    }


def session() -> boto3.Session:
    s = settings()
    if s.is_local:
        env = local_environment(s)
        return boto3.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                             aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                             region_name=LOCAL_REGION)
    return boto3.Session()


def client(service: str):
    """A boto3 client for the active target; locally it talks HTTP to the local cloud."""
    return _client(service, settings())


@functools.lru_cache(maxsize=64)
def _client(service: str, s: Settings):
    # Building a client costs 0.1-0.3 s; checks and labs ask for the same few many times.
    if s.is_local:
        return session().client(service, endpoint_url=s.endpoint)
    return session().client(service)


EXAMPLE_PHONE = "+393331234567"  # lab 00's example number, used until you save your own


def my_phone() -> str:
    """Your handset number as lab 00's check saved it (MY_PHONE), else lab 00's example."""
    return saved_setting("my_phone", EXAMPLE_PHONE)
