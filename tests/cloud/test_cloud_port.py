"""The local cloud's port is a property of the running cloud: after `gluelab cloud start --port
P`, `env`, `status`, `stop` and every gluelab client follow it, whatever GLUELAB_PORT says."""
from __future__ import annotations

from gluelab.cli import main
from gluelab.config import client, settings
from tests.conftest import free_port


def test_env_status_clients_and_stop_follow_the_port_the_cloud_was_started_on(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GLUELAB_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("GLUELAB_PORT", "1")  # what the shell says later: not the cloud's port
    port = free_port()
    try:
        assert main(["cloud", "start", "--port", str(port)]) == 0
        monkeypatch.setenv("GLUELAB_PORT", "1")  # `start --port` set it for its own process
        assert f"127.0.0.1:{port}" in capsys.readouterr().out

        assert main(["env"]) == 0
        assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}\n" in capsys.readouterr().out
        assert main(["cloud", "status"]) == 0
        assert f"endpoint: http://127.0.0.1:{port}" in capsys.readouterr().out
        assert settings().port == port
        assert client("sts").get_caller_identity()["Account"]  # a client reaches that cloud

        assert main(["cloud", "start", "--port", str(free_port())]) == 0
        monkeypatch.setenv("GLUELAB_PORT", "1")
        assert f"already runs on port {port}" in capsys.readouterr().err
    finally:
        assert main(["cloud", "stop"]) == 0
    assert capsys.readouterr().out == "Local cloud stopped.\n"
    assert settings().port == 1  # no cloud runs: the environment decides again
