"""Lab 09 "Put arrange in the workflow": an execution's output carries the assignment and the
company's phone gets the job."""
from __future__ import annotations

import json

from checks.fixit import run_workflow, sample_report, texts_to
from checks.runner import Context, Hinted, check_for
from checks.workflow_hints import failed, output_of

COMPANY, COMPANY_PHONE = "Elevatori Capitale", "+15555550112"
REPORT_FIELDS = ("reportId", "category", "text", "reporter")


@check_for("09", "The execution output carries the report and the assignment",
           hint="Give Arrange \"ResultPath\": \"$.assignment\" (without it the result replaces the "
                "report), add the ArrangeFunctionArn substitution and the LambdaInvokePolicy for "
                "ArrangeFunction, then deploy again.")
def assignment_in_output(ctx: Context) -> str:
    output = output_of(run_workflow(sample_report("09")))
    shown = json.dumps(output)[:200]
    if isinstance(output, dict) and {"sid", "to"} <= set(output) and "assignment" not in output:
        raise Hinted(f"the output is the text's receipt, not the report: {shown}",
                     "NotifyCompany has no ResultPath, so the notify function's answer replaced "
                     "the report and its assignment: give NotifyCompany \"ResultPath\": "
                     "\"$.companyMessage\" and deploy again.")
    assert isinstance(output, dict) and "assignment" in output, f"the output has no 'assignment': {shown}"
    missing = sorted(key for key in REPORT_FIELDS if key not in output)
    if missing:
        raise Hinted(f"the output lost the report's {', '.join(missing)}: {shown}",
                     "A ResultPath of \"$\" (or none) replaces the whole input with the result: "
                     "Arrange's must be \"$.assignment\" and NotifyCompany's \"$.companyMessage\".")
    company = output["assignment"].get("company")
    assert company == COMPANY, f"the assignment names {company!r}, not {COMPANY}"
    return company


@check_for("09", "The company's phone got the job",
           hint="NotifyCompany's Parameters must be {\"to.$\": \"$.assignment.phone\", \"body.$\": "
                "States.Format('Fixit job {}: {} problem reported by {}: {}', $.reportId, "
                "$.category, $.reporter, $.text)}; deploy again after a change.")
def company_notified(ctx: Context) -> str:
    report = sample_report("09")
    execution = run_workflow(report)
    output_of(execution)
    jobs = [text for text in texts_to(COMPANY_PHONE) if report["reportId"] in text]
    if not jobs:
        raise failed(execution, f"no text to {COMPANY} ({COMPANY_PHONE}) mentions {report['reportId']}")
    expected = f"Fixit job {report['reportId']}: LIFT problem reported by {report['reporter']}: {report['text']}"
    assert jobs[0] == expected, f"the job text is {jobs[0]!r}, not {expected!r}"
    return f"{COMPANY}, {COMPANY_PHONE}"
