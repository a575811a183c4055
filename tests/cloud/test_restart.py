"""Acceptance: a deployed app keeps working across `gluelab cloud stop` / `start`."""
from __future__ import annotations

import requests

from gluelab.cloud import process
from gluelab.deploy import deploy
from tests.cloud.test_sam_app import SAM_APP, assert_round_trip
from tests.conftest import CloudHandle, free_port


def test_table_items_and_the_deployed_api_survive_a_restart(tmp_path, monkeypatch):
    handle = CloudHandle(tmp_path, free_port())
    for key, value in {**handle.env(), "AWS_ACCESS_KEY_ID": "test",
                       "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    process.start(handle.settings, quiet=True)
    try:
        outputs = deploy(SAM_APP, "restart-app", echo=lambda line: None)
        created = assert_round_trip(outputs)
        item_url = outputs["ApiUrl"] + f"items/{created['id']}"
        before = requests.get(item_url, timeout=30).json()

        process.stop(handle.settings)
        process.start(handle.settings, quiet=True)

        reply = requests.get(item_url, timeout=30)  # same URL: API id, stage, function, table
        assert (reply.status_code, reply.json()) == (200, before)
        assert_round_trip(outputs)  # and new reports still run the workflow end to end
    finally:
        process.stop(handle.settings)
