"""What a lab's try-it cell says when the step before it did not work: what happened and what to
do, in one plain message, instead of a KeyError or IndexError further down the cell.

    answer = requests.get(url, timeout=10)
    expect(answer, 200)   # else: the status, the body and, for a 5xx, the function's logged error
"""
from __future__ import annotations

from gluelab.plain_errors import PlainError


class TryItFailed(PlainError):
    """A try-it cell found that the attendee's step did not work; the message says what to do."""


def expect(answer, status: int) -> None:
    """Raise TryItFailed unless the API `answer` (a requests.Response) has the `status` expected:
    the message gives the status and body, and, when the API answered 5xx, the error in the log
    of the function behind the route."""
    if answer.status_code == status:
        return
    said = f"The API answered {answer.status_code}, not {status}, with the body {answer.text[:300]!r}."
    if answer.status_code >= 500:
        from gluelab.webhook_errors import explain
        why = explain(answer.url, answer.request.method)
        raise TryItFailed(f"{said} {why}\nFix what it names, deploy again, then run this cell again.")
    raise TryItFailed(f"{said} Check the function's answer for this case and the route in the "
                      "template (its Events), deploy again, then run this cell again.")


def replies(sent: dict) -> list[str]:
    """The bodies of the app's replies to a text sent with `twilio_local.text_app`; if the text
    reached no working webhook, TryItFailed with Twilio's error and the function's logged one."""
    hook = sent["delivery"]
    if not hook.get("error"):
        return [reply["body"] for reply in sent["replies"]]
    from gluelab.webhook_errors import explain
    why = explain(hook["url"], hook["method"]) if hook.get("url") else ""
    raise TryItFailed(f"Your text reached no working webhook (Twilio error {hook['error']['code']}: "
                      f"{hook['error']['message']}). {why}\nFix what it names, deploy again, then "
                      "run this cell again.")
