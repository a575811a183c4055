"""Lab 10 "Handle workflow errors": a transient arrange failure is retried and the execution
recovers; an unserved category ends in NoCompanyForCategory after the reporter's apology."""
from __future__ import annotations

from checks.fixit import (deployed_states, entered_states, history_events, run_workflow,
                          sample_report, succeeded, texts_to)
from checks.lab08 import arrange_function
from checks.runner import Context, check_for
from gluelab import faults

FALLBACK_ERROR = "Lambda.ServiceException"  # injected when the retrier matches States.ALL


def arrange_retriers() -> list[dict]:
    states = deployed_states()
    assert "Arrange" in states, f"the deployed definition has no Arrange state ({', '.join(states)})"
    retriers = states["Arrange"].get("Retry", [])
    assert retriers, "the deployed Arrange state has no Retry"
    return retriers


@check_for("10", "A transient failure of arrange is retried and the execution recovers",
           hint="Give Arrange a Retry for the Lambda.* errors (IntervalSeconds 1, MaxAttempts 2, "
                "BackoffRate 2), keep NoCompanyFound out of it, and deploy again.")
def retried_and_recovered(ctx: Context) -> str:
    retriers = arrange_retriers()
    error = next(name for name in retriers[0]["ErrorEquals"])
    error = FALLBACK_ERROR if error.startswith("States.") else error
    attempts = retriers[0].get("MaxAttempts", 3)
    assert attempts >= 1, f"the retrier for {error} allows MaxAttempts {attempts}: no retry at all"
    if not ctx.settings.is_local:  # only the local cloud can fail a function on purpose
        return f"Arrange retries {error} up to {attempts} times (not injected on AWS)"
    faults.fail_next(arrange_function(), 1, error_type=error)
    try:
        execution = run_workflow(sample_report("10", category="WATER", city="Milano"))
    finally:
        faults.clear()
    output = succeeded(execution)
    events = history_events(execution)
    failed = [e["lambdaFunctionFailedEventDetails"]["error"] for e in events
              if e["type"] == "LambdaFunctionFailed"]
    assert failed == [error], f"expected one failed arrange call with {error}, found {failed}"
    assert output.get("assignment", {}).get("company") == "Acqua Pronto Milano", (
        f"after the retry the assignment is {output.get('assignment')}")
    return f"{error} once, then Acqua Pronto Milano"


@check_for("10", "A category nobody serves ends in NoCompanyForCategory and the reporter is told",
           hint="Catch NoCompanyFound on Arrange with \"ResultPath\": \"$.error\" and Next "
                "TellReporterNoCompany (a notify task to $.reporter whose body names the report "
                "id), which goes to the Fail state NoCompanyForCategory with Error NoCompanyFound.")
def named_failure(ctx: Context) -> str:
    report = sample_report("10", category="GAS", city="Torino", text="smell on the stairs, Via Po 3")
    execution = run_workflow(report)
    assert execution["status"] == "FAILED", f"the execution ended {execution['status']}, not FAILED"
    events = history_events(execution)
    entered = entered_states(events)
    assert entered[-2:] == ["TellReporterNoCompany", "NoCompanyForCategory"], (
        f"the states entered were {' -> '.join(entered)}")
    error = events[-1].get("executionFailedEventDetails", {}).get("error")
    assert error == "NoCompanyFound", f"the execution failed with {error!r}, not NoCompanyFound"
    apologies = [text for text in texts_to(report["reporter"]) if report["reportId"] in text]
    assert apologies, f"no text to the reporter {report['reporter']} mentions {report['reportId']}"
    return "NoCompanyForCategory, apology sent"
