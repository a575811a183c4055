"""What `gluelab deploy infra --stack NAME` does after the stack is up, so that the finished app
answers texts at once, with no other step.

The deploy itself packages, creates the stack and loads the seed data (seed/companies.json into
the Companies table). Then, for the reference app only (the attendee's project is connected by
the labs' own cells, which their checks look for), this:

- stores the active Twilio mode's account SID, auth token and number (`gluelab.twilio_local`:
  the local stand-in's, or your real account's) as SecureString parameters, and the stack's
  WebhookUrl output as a String parameter, under the names the stack's parameters give
  (default `/fixit/twilio/...`);
- points the Twilio number's SMS webhook at WebhookUrl, saying where it pointed before: one
  number serves one app at a time, and a lab's restore takes it back for the labs' stack.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from gluelab import config, twilio_local

REFERENCE_APP = config.ROOT / "infra"
# The template's parameters naming the SSM parameters, and what each one holds.
CREDENTIAL_PARAMETERS = {"TwilioAccountSidParameter": "account_sid",
                         "TwilioAuthTokenParameter": "auth_token",
                         "TwilioPhoneNumberParameter": "phone_number"}
WEBHOOK_PARAMETER = "WebhookUrlParameter"


def is_reference_app(path: str | Path) -> bool:
    """Whether `path` (a folder or its template) is the finished app in infra/."""
    path = Path(path).resolve()
    return (path if path.is_dir() else path.parent) == REFERENCE_APP.resolve()


def connect(stack_name: str, echo: Callable[[str], None] = print) -> None:
    """Store the Twilio parameters and the webhook URL, and point the number at the webhook."""
    stack = config.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    names = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters") or []}
    webhook = next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == "WebhookUrl")
    stored = twilio_local.store_credentials(
        {key: names[parameter] for parameter, key in CREDENTIAL_PARAMETERS.items()})
    config.client("ssm").put_parameter(Name=names[WEBHOOK_PARAMETER], Value=webhook,
                                       Type="String", Overwrite=True)
    echo(f"Twilio ({twilio_local.mode()} mode): stored {', '.join(stored)} and "
         f"{names[WEBHOOK_PARAMETER]} = {webhook}")
    previous = twilio_local.webhook()
    number = twilio_local.set_webhook(webhook)
    echo(f"{number['phone_number']} now sends texts to {webhook}"
         + (f" (it sent them to {previous})" if previous and previous != webhook else ""))
