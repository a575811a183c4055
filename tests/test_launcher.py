"""The README's start command, headless: `make lab` serves JupyterLab on the labs and a local cloud."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

from gluelab.cloud import process
from gluelab.config import ROOT
from tests.conftest import CloudHandle, free_port

STARTUP_TIMEOUT_S = 90


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_for_jupyter(url: str, lab: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        assert lab.poll() is None, f"`make lab` exited with {lab.returncode}:\n{log.read_text()}"
        try:
            get(url)
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise AssertionError(f"JupyterLab did not answer within {STARTUP_TIMEOUT_S} s:\n{log.read_text()}")


def wait_until_down(endpoint: str, timeout_s: float = 20) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            get(f"{endpoint}/_gluelab/health")
        except (urllib.error.URLError, OSError):
            return True
        time.sleep(0.2)
    return False


def test_make_lab_opens_lab_00_starts_the_local_cloud_and_ctrl_c_stops_both(tmp_path):
    jupyter_port, token = free_port(), "gluelab-test-token"
    cloud = CloudHandle(tmp_path / "state", free_port())
    env = {**os.environ, **cloud.env(), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    log = tmp_path / "lab.log"
    lab = subprocess.Popen(
        ["make", "lab", f"LAB_ARGS=--port {jupyter_port} --no-browser --token {token}"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{jupyter_port}"
    try:
        wait_for_jupyter(f"{base}/api/status?token={token}", lab, log)

        status, _ = get(f"{base}/lab?token={token}")
        assert status == 200
        status, body = get(f"{base}/api/contents/labs?token={token}")
        assert status == 200
        assert "00-welcome.ipynb" in [item["name"] for item in json.loads(body)["content"]]
        status, _ = get(f"{cloud.endpoint}/_gluelab/health")
        assert status == 200, "make lab did not start the local cloud"
        # The page a browser would be sent to (written with --no-browser too) is lab 00.
        opened = "".join(page.read_text() for page in (tmp_path / "runtime").glob("jpserver-*-open.html"))
        assert "/lab/tree/labs/00-welcome.ipynb" in opened

        # Ctrl-C in the terminal (twice: JupyterLab asks on the first) stops the cloud too.
        for _ in range(2):
            os.killpg(lab.pid, signal.SIGINT)
            time.sleep(0.5)
        lab.wait(timeout=30)
        assert wait_until_down(cloud.endpoint), f"the local cloud still runs:\n{log.read_text()}"
    finally:
        if lab.poll() is None:
            os.killpg(lab.pid, signal.SIGTERM)
            lab.wait(timeout=30)
        process.stop(cloud.settings)


def test_make_clean_leaves_the_attendees_project_and_says_so(tmp_path):
    # The README's Makefile run in a scratch folder: its .venv and .gluelab go, the project stays.
    (tmp_path / "workspace").mkdir()
    (tmp_path / "workspace/template.yaml").write_text("Resources: {}\n")
    (tmp_path / ".gluelab").mkdir()
    done = subprocess.run(["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "clean"],
                          cwd=tmp_path, capture_output=True, text=True, check=True)
    assert (tmp_path / "workspace/template.yaml").read_text() == "Resources: {}\n"
    assert not (tmp_path / ".gluelab").exists()
    assert done.stdout.splitlines()[-1] == ("Kept workspace/, your project: delete it yourself to "
                                            "start it over.")
