"""Lab 10 "Handle workflow errors": a transient arrange failure is retried and the execution
recovers; an unserved category ends in NoCompanyForCategory after the reporter's apology."""
from __future__ import annotations

from checks.fixit import (deployed_states, entered_states, history_events, run_workflow,
                          sample_report, succeeded, texts_to)
from checks.lab08 import arrange_function
from checks.runner import Context, check_for
from gluelab import faults

# Lambda's transient errors and a function timeout, spelt as Step Functions reports them.
TRANSIENT = ("Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
             "Lambda.TooManyRequestsException", "Sandbox.Timedout")
INJECTED = ("Lambda.ServiceException", "Sandbox.Timedout")


def arrange_retriers() -> list[dict]:
    states = deployed_states()
    assert "Arrange" in states, f"the deployed definition has no Arrange state ({', '.join(states)})"
    retriers = states["Arrange"].get("Retry", [])
    assert retriers, "the deployed Arrange state has no Retry"
    return retriers


def attempts_for(retriers: list[dict], error: str) -> int:
    """How many retries the first retrier that matches `error` allows (0 when none matches)."""
    for retrier in retriers:
        if error in retrier.get("ErrorEquals", []) or "States.ALL" in retrier.get("ErrorEquals", []):
            return retrier.get("MaxAttempts", 3)
    return 0


@check_for("10", "A transient failure of arrange is retried and the execution recovers",
           hint="Give Arrange a Retry for Lambda.ServiceException, Lambda.AWSLambdaException, "
                "Lambda.SdkClientException, Lambda.TooManyRequestsException and Sandbox.Timedout "
                "(IntervalSeconds 1, MaxAttempts 2, BackoffRate 2), keep NoCompanyFound out of it, "
                "and deploy again.")
def retried_and_recovered(ctx: Context) -> str:
    retriers = arrange_retriers()
    missing = [error for error in TRANSIENT if attempts_for(retriers, error) < 1]
    assert not missing, (f"no retrier on Arrange retries {', '.join(missing)}; ErrorEquals must "
                         f"spell each name exactly")
    assert attempts_for(retriers, "NoCompanyFound") == 0, (
        "a retrier on Arrange matches NoCompanyFound (by name or States.ALL): retrying cannot "
        "make a company appear; list the transient errors by name")
    if not ctx.settings.is_local:  # only the local cloud can fail a function on purpose
        return f"Arrange retries {', '.join(TRANSIENT)} (not injected on AWS)"
    injected = INJECTED[:min(len(INJECTED), attempts_for(retriers, INJECTED[0]),
                             attempts_for(retriers, INJECTED[-1]))]
    for error in injected:
        faults.fail_next(arrange_function(), 1, error_type=error)
    try:
        execution = run_workflow(sample_report("10", category="WATER", city="Milano"))
    finally:
        faults.clear()
    output = succeeded(execution)
    events = history_events(execution)
    failed = [e["lambdaFunctionFailedEventDetails"]["error"] for e in events
              if e["type"] == "LambdaFunctionFailed"]
    assert failed == list(injected), f"expected failed arrange calls {list(injected)}, found {failed}"
    assert output.get("assignment", {}).get("company") == "Acqua Pronto Milano", (
        f"after the retry the assignment is {output.get('assignment')}")
    return f"{' then '.join(injected)}, then Acqua Pronto Milano"


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
