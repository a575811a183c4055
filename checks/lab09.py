"""Lab 09 "Put arrange in the workflow": an execution's output carries the assignment and the
company's phone gets the job."""
from __future__ import annotations

import json

from checks.fixit import run_workflow, sample_report, succeeded, texts_to
from checks.runner import Context, check_for


@check_for("09", "The execution output carries the report and the assignment",
           hint="Give Arrange \"ResultPath\": \"$.assignment\" (without it the result replaces the "
                "report), add the ArrangeFunctionArn substitution and the LambdaInvokePolicy for "
                "ArrangeFunction, then deploy again.")
def assignment_in_output(ctx: Context) -> str:
    report = sample_report("09")
    output = succeeded(run_workflow(report))
    assert isinstance(output, dict) and "assignment" in output, (
        f"the output has no 'assignment': {json.dumps(output)[:200]}")
    missing = sorted(key for key in ("reportId", "category", "text", "reporter") if key not in output)
    assert not missing, f"the output lost the report's {', '.join(missing)}"
    company = output["assignment"].get("company")
    assert company == "Elevatori Capitale", f"the assignment names {company!r}, not Elevatori Capitale"
    return company


@check_for("09", "The company's phone got the job",
           hint="NotifyCompany's Parameters must be {\"to.$\": \"$.assignment.phone\", \"body.$\": "
                "States.Format('Fixit job {}: ...', $.reportId, ...)}, and its ResultPath must not "
                "replace the report.")
def company_notified(ctx: Context) -> str:
    report = sample_report("09")
    succeeded(run_workflow(report))
    jobs = [text for text in texts_to("+15555550112") if report["reportId"] in text]
    assert jobs, f"no text to Elevatori Capitale (+15555550112) mentions {report['reportId']}"
    assert jobs[0].startswith(f"Fixit job {report['reportId']}: LIFT problem"), (
        f"the job text is {jobs[0]!r}")
    return "Elevatori Capitale, +15555550112"
