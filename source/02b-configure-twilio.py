# %% [markdown]
# # Lab 02b · Configure Twilio
#
# Your API answers a form, but nobody sends it one yet. In this lab you connect the Fixit phone
# number to it. By the end you will:
#
# - know how Twilio tells your app about a text: the webhook, the form it posts, and the TwiML
#   it expects back;
# - have pointed the number's SMS webhook at your `WebhookUrl` through Twilio's REST API;
# - have stored that address in Parameter Store, where the receiver will read it in lab 03;
# - have texted Fixit from a phone and received its answer.
#
# **Time:** about 15 minutes.

# %%
from gluelab.lab import open_lab

lab = open_lab("02b")
lab.restore()

# %% [markdown]
# ## Learn how Twilio calls your app back
#
# ```mermaid
# sequenceDiagram
#     participant P as Your phone
#     participant T as Twilio
#     participant A as Your API (WebhookUrl)
#     P->>T: SMS "LIFT stuck..."
#     T->>A: POST form: Body, From, To, MessageSid, ... + X-Twilio-Signature
#     A-->>T: 200 text/xml: <Response><Message>...</Message></Response>
#     T->>P: SMS with the Message text
# ```
#
# A Twilio phone number has a setting called **"A message comes in"**: a URL and a method. When
# a text arrives, Twilio sends an HTTP request to that URL (the *webhook*, or *callback*) with
# the text and facts about it as form fields. Your answer decides what happens next: each
# `<Message>` in the TwiML you return becomes a text back to the sender. Twilio waits at most
# 15 seconds for the answer; if it gets no answer or an error, the sender gets nothing (and
# Twilio logs an error you can read in its console).
#
# On the local cloud, a **Twilio stand-in** plays Twilio: it owns the Fixit number, keeps its
# webhook setting, and delivers texts from simulated phones exactly this way, signature
# included.

# %% [markdown]
# ## Point the number at your webhook
#
# `twilio_local.set_webhook(url)` calls Twilio's REST API to update the number's SMS URL (the
# same call the console makes when you edit the number). Call it with `webhook_url`, your
# stack's `WebhookUrl` output.
#
# Then store the same address in Parameter Store, part of AWS Systems Manager, whose client is
# `client("ssm")`: call its `put_parameter` with `Name="/fixit/twilio/webhook_url"`,
# `Value=webhook_url`, `Type="String"` and `Overwrite=True` (so that the cell can run again). In lab 03
# the receiver reads it to check that a request really comes from Twilio. Both must be the
# same, character for character.

# %% tags=["setup"]
from gluelab import twilio_local
from gluelab.config import client

webhook_url = lab.outputs()["WebhookUrl"]
# BEGIN SOLUTION
client("ssm").put_parameter(Name="/fixit/twilio/webhook_url", Value=webhook_url, Type="String",
                            Overwrite=True)
twilio_local.set_webhook(webhook_url)
# END SOLUTION

# %% [markdown]
# Read the setting back from Twilio and from Parameter Store, to see that they agree.

# %% tags=["needs-task"]
creds = twilio_local.credentials()
number = twilio_local.rest_client().incoming_phone_numbers.list(phone_number=creds.phone_number)[0]
stored = client("ssm").get_parameter(Name="/fixit/twilio/webhook_url")["Parameter"]["Value"]
print(f"{number.phone_number} sends texts to: {number.sms_method} {number.sms_url}")
print("Parameter Store holds the same address:", stored == number.sms_url)

# %% [markdown]
# ## Text Fixit from your phone
#
# The phone below is a simulated handset with your number. Type a text, press **Send**, and
# watch the answer arrive. (Nothing happens until the webhook is set: the stand-in, like Twilio,
# has nowhere to deliver the text.)

# %%
from gluelab.config import my_phone
from gluelab.phone import Phone

MY_PHONE = my_phone()  # the number you saved in lab 00
phone = Phone(MY_PHONE)

# %% tags=["nbval-ignore-output"]
phone

# %% [markdown]
# The phone can also be driven from code. `text_app` sends a text from a handset and returns
# what happened on the way: the webhook request and its answer.

# %% tags=["needs-task"]
sent = twilio_local.text_app(MY_PHONE, "LIFT stuck between floors 3 and 4, Via Roma 12")
delivery = sent["delivery"]
print(f"Twilio posted to {delivery['url']}")
print("Your API answered:", ", ".join(a["error"] or f"HTTP {a['status']}" for a in delivery["attempts"]))
for reply in sent["replies"]:
    print("Reply:", reply["body"])

# %% [markdown]
# The whole conversation of your handset, oldest first:

# %% tags=["needs-task"]
for message in twilio_local.conversation(MY_PHONE)[-2:]:
    print(f"{message['from']:>14} -> {message['to']:<14} {message['body']}")

# %% [markdown]
# ## Run the checks for this lab
#
# The check texts Fixit from your handset and expects the receiver's answer to come back.

# %% tags=["check"]
from checks import check

check("02b")

# %% [markdown]
# ## What you did, and what comes next
#
# You set the Fixit number's SMS webhook with one REST call, stored the same address in
# Parameter Store, and sent a text that went phone → Twilio → API Gateway → Lambda and back.
#
# **On real Twilio**, your API must be reachable from the internet: deploy on real AWS first
# (`GLUELAB_TARGET=aws`); a `127.0.0.1` address only works on your laptop. Then you buy a number in the console (a trial account comes with one), then
# either open it under *Phone Numbers → Manage → Active numbers* and paste `WebhookUrl` into
# "A message comes in" (method HTTP POST), or run `gluelab sms webhook <WebhookUrl>` with your
# `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN` and `TWILIO_PHONE_NUMBER` exported. Text the number
# from your own phone. A trial account only texts numbers you have verified, and prefixes its
# replies with a trial notice.
#
# **On real AWS**, put the parameter with
# `aws ssm put-parameter --type String --overwrite --name /fixit/twilio/webhook_url --value <WebhookUrl>`.
#
# Right now anyone who knows the address can post to it and pretend to be Twilio. In **lab 03**
# the receiver checks Twilio's signature, and reads the category and description of a report.
