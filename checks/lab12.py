"""Lab 12 "Glue the results into one report": the execution's output is exactly the report
document, shaped by a Pass state."""
from __future__ import annotations

import json

from checks.fixit import deployed_states, run_workflow, sample_report, sent, succeeded
from checks.lab11 import COMPANY_PHONE
from checks.runner import Context, check_for

COMPANY = "Elevatori Capitale"  # the lift company in Roma
FIELDS = ("id", "category", "text", "city", "reporter", "company", "companyPhone",
          "companyMessageSid", "reporterMessageSid", "summary", "receivedAt", "status")


def expected_document(report: dict, messages: tuple[str, str]) -> dict:
    """The report document Glue must build for a sample report (LIFT, Roma)."""
    return {"id": report["reportId"], "category": report["category"], "text": report["text"],
            "city": report["city"], "reporter": report["reporter"], "company": COMPANY,
            "companyPhone": COMPANY_PHONE, "companyMessageSid": messages[0],
            "reporterMessageSid": messages[1],
            "summary": f"{report['category']} problem: {report['text']} (assigned to {COMPANY})",
            "receivedAt": report["receivedAt"], "status": "ASSIGNED"}


def check_document(document, report: dict) -> None:
    """Assert that `document` is exactly the report document for `report`."""
    assert isinstance(document, dict), f"the output is {json.dumps(document)[:200]}, not an object"
    missing = [name for name in FIELDS if name not in document]
    extra = sorted(set(document) - set(FIELDS))
    assert not missing, f"the document has no {', '.join(missing)} (it has {', '.join(document)})"
    assert not extra, f"the document has fields a report does not: {', '.join(extra)}"
    company_sid, reporter_sid = document["companyMessageSid"], document["reporterMessageSid"]
    to_company, to_reporter = sent(company_sid), sent(reporter_sid)
    assert to_company[0] == COMPANY_PHONE, (
        f"companyMessageSid names a text to {to_company[0]}, not to the company {COMPANY_PHONE}")
    assert to_reporter[0] == report["reporter"], (
        f"reporterMessageSid names a text to {to_reporter[0]}, not to the reporter")
    wrong = [f"{name} is {document[name]!r}, expected {value!r}"
             for name, value in expected_document(report, (company_sid, reporter_sid)).items()
             if document[name] != value]
    assert not wrong, "; ".join(wrong)


@check_for("12", "The execution's output is exactly the report document",
           hint="The reason above names the field that is missing or wrong. In Glue's "
                "Parameters a key ending in .$ takes a path or an intrinsic function: the company "
                "fields come from $.assignment, each SID is one item of $.messages "
                "(States.ArrayGetItem), and summary is built with States.Format in the shape the "
                "task shows. Notify's Next must be Glue; deploy again after each change.")
def output_is_the_report(ctx: Context) -> str:
    report = sample_report("12")
    check_document(succeeded(run_workflow(report)), report)
    return f"{len(FIELDS)} fields, {COMPANY}"


@check_for("12", "Glue is a Pass state that follows Notify",
           hint="Add a state named Glue with \"Type\": \"Pass\" and its Parameters, make it "
                "Notify's Next, and deploy again.")
def glue_is_a_pass_state(ctx: Context) -> str:
    states = deployed_states()
    assert "Glue" in states, f"the deployed definition has no Glue state ({', '.join(states)})"
    assert states["Glue"].get("Type") == "Pass", f"Glue is a {states['Glue'].get('Type')} state"
    assert states.get("Notify", {}).get("Next") == "Glue", "Notify does not go on to Glue"
    return "Notify -> Glue (Pass)"
