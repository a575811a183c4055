"""Fault test: the local cloud is killed (kill -9) in the middle of a burst of texts to Fixit.

Every report the app acknowledged (the webhook answered 200 with "Thanks! We got your ...") must
be stored in the Reports table once the cloud is back and the resumed executions have ended.
A task that was in flight when the cloud died runs again (at-least-once, as on AWS): the SMS
sent twice because of that are counted and printed.
"""
from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
import requests

from gluelab import twilio_local
from gluelab.cloud import process
from gluelab.cloud.twilio_standin import LOCAL_AUTH_TOKEN, LOCAL_NUMBER, signature
from gluelab.config import client
from gluelab.deploy import deploy
from gluelab.executions import execution_arn, wait_for_end
from tests.cloud.test_durable_cloud import kill_9
from tests.conftest import running_cloud, use_cloud
from tests.infra.conftest import INFRA, load_seed

TEXTS = 100
SENDERS = 2
KILL_AFTER_ACKS = 12  # acknowledged reports before the crash: the rest of the burst meets it
HANDSETS = "+447700900"  # Ofcom's drama range: never a real phone


@pytest.fixture(scope="module")
def fixit(tmp_path_factory):
    with running_cloud(tmp_path_factory.mktemp("kill-9")) as handle, \
            pytest.MonkeyPatch.context() as monkeypatch:
        use_cloud(handle, monkeypatch)
        monkeypatch.setenv("AWS_ENDPOINT_URL", handle.endpoint)
        outputs = deploy(INFRA, "fixit-kill-9", echo=lambda line: None)
        seed = load_seed()
        seed.seed(boto3.resource("dynamodb").Table(outputs["CompaniesTableName"]), seed.companies())
        twilio_local.store_credentials()
        client("ssm").put_parameter(Name="/fixit/twilio/webhook_url", Value=outputs["WebhookUrl"],
                                    Type="String", Overwrite=True)
        yield handle, outputs


def text(url: str, n: int) -> tuple[str, requests.Response | None]:
    """What Twilio posts for an inbound SMS, signed with the account's token."""
    sid = "SM" + uuid.uuid4().hex
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32,
              "From": f"{HANDSETS}{n % 1000:03d}", "To": LOCAL_NUMBER,
              "Body": f"LIFT stuck between floors {n % 9} and {n % 9 + 1}", "FromCity": "ROMA",
              "NumMedia": "0", "NumSegments": "1"}
    try:
        return sid, requests.post(url, data=params, timeout=30, headers={
            "X-Twilio-Signature": signature(LOCAL_AUTH_TOKEN, url, params)})
    except requests.ConnectionError:  # the cloud is down: Twilio would see no answer either
        return sid, None


def test_every_acknowledged_report_is_stored_after_a_kill_9_mid_burst(fixit):
    handle, outputs = fixit
    acknowledged: list[str] = []
    enough = threading.Event()

    def send(n: int) -> None:
        sid, reply = text(outputs["WebhookUrl"], n)
        if reply is not None and reply.status_code == 200 and "Thanks! We got your" in reply.text:
            acknowledged.append(sid)
            if len(acknowledged) >= KILL_AFTER_ACKS:
                enough.set()

    with ThreadPoolExecutor(SENDERS) as senders:
        for n in range(TEXTS):
            senders.submit(send, n)
        assert enough.wait(120), f"only {len(acknowledged)} acknowledged before the crash"
        kill_9(handle)
    process.start(handle.settings, quiet=True)

    machine = outputs["StateMachineArn"]
    ended = {sid: wait_for_end(execution_arn(machine, sid), timeout_s=120) for sid in acknowledged}
    failed = Counter(f"{e['status']}: {e.get('error')}: {e.get('cause')}"
                     for e in ended.values() if e["status"] != "SUCCEEDED")
    reports = boto3.resource("dynamodb").Table(outputs["ReportsTableName"])
    missing = [sid for sid in acknowledged if "Item" not in reports.get_item(Key={"id": sid})]
    sent = Counter(sid for m in twilio_local.messages(limit=10 * TEXTS) if m.direction != "inbound"
                   for sid in acknowledged if sid in m.body)
    repeated = {sid: count - 2 for sid, count in sent.items() if count > 2}  # company + reporter
    log = (handle.state_dir / "cloud.log").read_text()
    print(f"\n{len(acknowledged)} of {TEXTS} texts acknowledged before or after the crash; "
          f"{log.count('resumed execution ')} executions resumed; "
          f"{sum(repeated.values())} SMS repeated by resumed tasks in {len(repeated)} reports")

    assert missing == [], f"{len(missing)} acknowledged but not stored; executions: {failed}"
    assert failed == Counter()
    assert "running execution(s) from their last completed transition" in log
