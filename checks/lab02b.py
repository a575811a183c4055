"""Lab 02b "Configure Twilio": a text from the handset reaches the receiver, the reply comes back."""
from __future__ import annotations

from checks.fixit import output
from checks.runner import Context, check_for
from gluelab import config, twilio_local
from gluelab.restore_files import restored_at

PARAMETER = "/fixit/twilio/webhook_url"


def _webhook_url() -> str:
    return output("WebhookUrl", "there is no stack fixit: run this lab's restore cell",
                  "the stack has no WebhookUrl output: run lab 02 first")


@check_for("02b", "The Fixit number's SMS webhook is your WebhookUrl, stored in Parameter Store too",
           hint="Run the setup cell with twilio_local.set_webhook(webhook_url) and "
                "put_parameter(Name='/fixit/twilio/webhook_url', Value=webhook_url, Type='String', "
                "Overwrite=True).")
def webhook_set(ctx: Context) -> str:
    url = _webhook_url()
    creds = twilio_local.credentials()
    numbers = twilio_local.rest_client(creds).incoming_phone_numbers.list(phone_number=creds.phone_number)
    assert numbers, f"{creds.phone_number} is not a number of the Twilio account"
    assert numbers[0].sms_url == url, f"the number sends texts to {numbers[0].sms_url or 'nowhere'!r}"
    ssm = config.client("ssm")
    try:
        stored = ssm.get_parameter(Name=PARAMETER)["Parameter"]
    except ssm.exceptions.ParameterNotFound:
        raise AssertionError(f"there is no parameter {PARAMETER}") from None
    assert stored["Value"] == url, f"{PARAMETER} holds {stored['Value']!r}, not the WebhookUrl"
    # Both may be left from another run (a later lab's restore sets them): only a change made
    # after this lab's restore cell is yours. Twilio's dates have whole seconds, Parameter
    # Store's milliseconds: a leftover set in the same second as the restore is still caught.
    since = restored_at("02b")
    assert numbers[0].date_updated.timestamp() >= int(since) and \
        stored["LastModifiedDate"].timestamp() >= since, \
        "the webhook and the parameter were set before this lab's restore cell ran: run your cell"
    return ""


@check_for("02b", "A text from your handset reaches the receiver and its reply comes back",
           hint="Set the webhook first (the check above). If the webhook answers with an error, "
                "read the function's log: gluelab.logs.function_logs(...) in a cell.")
def round_trip(ctx: Context) -> str:
    if twilio_local.mode() != "local":
        return "real Twilio: text the number from your phone and watch for the reply"
    handset = config.my_phone()
    sent = twilio_local.text_app(handset, "Hello Fixit, this is the lab 02b check")
    delivery = sent["delivery"]
    assert not delivery["error"], f"Twilio error {delivery['error']['code']}: {delivery['error']['message']}"
    statuses = [attempt["status"] for attempt in delivery["attempts"]]
    assert statuses and statuses[-1] == 200, f"the webhook answered {statuses}"
    assert sent["replies"], "the webhook answered but its TwiML sent no reply"
    last = twilio_local.conversation(handset)[-1]
    assert last["to"] == handset and last["body"] == sent["replies"][-1]["body"], \
        "the reply is not in your handset's conversation"
    return last["body"]
