"""Lab 11 "Notify in parallel": both texts are sent by the branches of the Parallel state."""
from __future__ import annotations

from checks.fixit import (entered_states, history_events, run_workflow, sample_report, sent,
                          succeeded, texts_to, unreachable_company)
from checks.runner import Context, check_for

COMPANY_PHONE = "+15555550112"  # Elevatori Capitale, the lift company in Roma


@check_for("11", "Both texts are sent and their SIDs are in messages, the company's first",
           hint="Put two branches in Notify's Branches, NotifyCompany first and NotifyReporter "
                "second, each task with \"OutputPath\": \"$.sid\" and \"End\": true; keep the "
                "Parallel state's \"ResultPath\": \"$.messages\".")
def both_sent(ctx: Context) -> str:
    report = sample_report("11")
    output = succeeded(run_workflow(report))
    messages = output.get("messages") if isinstance(output, dict) else None
    assert isinstance(messages, list) and len(messages) == 2, (
        f"the output's messages is {messages!r}, not a list of two SIDs")
    to_company, to_reporter = sent(messages[0]), sent(messages[1])
    assert to_company[0] == COMPANY_PHONE and report["reportId"] in to_company[1], (
        f"element 0 is a text to {to_company[0]}: {to_company[1]!r}; expected the job for "
        f"{COMPANY_PHONE}")
    assert to_reporter[0] == report["reporter"] and report["reportId"] in to_reporter[1], (
        f"element 1 is a text to {to_reporter[0]}: {to_reporter[1]!r}; expected the reporter's")
    assert "Elevatori Capitale" in to_reporter[1], (
        f"the reporter's text does not name the company: {to_reporter[1]!r}")
    return "company, then reporter"


@check_for("11", "The history shows the Parallel state and both branches",
           hint="Replace NotifyCompany with one Parallel state named Notify (Arrange's Next), "
                "whose branches start at NotifyCompany and NotifyReporter.")
def branches_in_history(ctx: Context) -> str:
    events = history_events(run_workflow(sample_report("11")))
    assert any(e["type"] == "ParallelStateEntered" for e in events), "no Parallel state was entered"
    entered = entered_states(events)
    missing = [name for name in ("Notify", "NotifyCompany", "NotifyReporter") if name not in entered]
    assert not missing, f"never entered {', '.join(missing)} (entered: {' -> '.join(entered)})"
    return "Notify: NotifyCompany, NotifyReporter"


@check_for("11", "A text that cannot be sent leaves NOT_SENT in its place, and the reporter hears "
                 "when the company could not be reached",
           hint="In NotifyReporter add \"Catch\": [{\"ErrorEquals\": [\"States.ALL\"], \"Next\": "
                "\"ReporterNotReached\"}] and the Pass state ReporterNotReached with \"Result\": "
                "\"NOT_SENT\" and \"End\": true, in the reporter's branch; keep the company's "
                "branch as given.")
def failed_text_caught(ctx: Context) -> str:
    with unreachable_company() as unreachable:
        report = sample_report("11", city=unreachable["city"])
        messages = succeeded(run_workflow(report)).get("messages")
    assert isinstance(messages, list) and len(messages) == 2 and messages[0] == "NOT_SENT", (
        f"with a company Twilio cannot text, messages is {messages!r}, not [\"NOT_SENT\", SID]")
    update = f"Update on report {report['reportId']}: we could not reach {unreachable['name']}"
    assert any(text.startswith(update) for text in texts_to(report["reporter"])), (
        f"the reporter {report['reporter']} got no text saying {update!r}")
    nobody = {**sample_report("11"), "reporter": "nobody"}  # no phone number to text back
    messages = succeeded(run_workflow(nobody)).get("messages")
    assert isinstance(messages, list) and len(messages) == 2 and messages[1] == "NOT_SENT", (
        f"with a reporter Twilio cannot text, messages is {messages!r}, not [SID, \"NOT_SENT\"]")
    return "NOT_SENT for the company (reporter told), NOT_SENT for the reporter"
