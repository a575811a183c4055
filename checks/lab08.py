"""Lab 08 "Set up the arrange Lambda": the deployed function picks the right company and names
its failure NoCompanyFound."""
from __future__ import annotations

import json

from checks.fixit import DENIAL, STACK, invoke, physical_id
from checks.runner import Context, Hinted, check_for
from gluelab.config import client

# (report, company expected): the city first, then the first by name.
SAMPLES = [
    ({"category": "LIFT", "city": "Roma"}, "Elevatori Capitale"),
    ({"category": "LIFT", "city": "milano"}, "Ascensori Rapidi Milano"),
    ({"category": "LIFT"}, "Ascensori Rapidi Milano"),
    ({"category": "LIFT", "city": "Napoli"}, "Ascensori Rapidi Milano"),
    ({"category": "WATER", "city": "Roma"}, "Idraulica Tevere"),
]


def arrange_function() -> str:
    return physical_id("ArrangeFunction", f"the stack {STACK} has no ArrangeFunction", say_why=True)


@check_for("08", "ArrangeFunction is deployed with the table and index names",
           hint="Fill in the ArrangeFunction cell (COMPANIES_TABLE: !Ref CompaniesTable, "
                "COMPANIES_INDEX: ByCategory), run it, then run the deploy cell.")
def deployed(ctx: Context) -> str:
    name = arrange_function()
    variables = client("lambda").get_function_configuration(FunctionName=name).get(
        "Environment", {}).get("Variables", {})
    missing = sorted({"COMPANIES_TABLE", "COMPANIES_INDEX"} - set(variables))
    assert not missing, f"the function has no environment variable {', '.join(missing)}"
    assert variables["COMPANIES_INDEX"] == "ByCategory", (
        f"COMPANIES_INDEX is {variables['COMPANIES_INDEX']!r}, not the index name 'ByCategory'")
    table = physical_id("CompaniesTable", f"the stack {STACK} has no CompaniesTable: run lab 07 "
                                          "(or this lab's restore cell)")
    if variables["COMPANIES_TABLE"] != table:
        raise Hinted(f"COMPANIES_TABLE is {variables['COMPANIES_TABLE']!r}, not the stack's table {table}",
                     "Give COMPANIES_TABLE the value !Ref CompaniesTable: CloudFormation makes the "
                     "table's name up when it creates it. Run the ArrangeFunction cell, then deploy again.")
    return ""


def refused(payload: dict) -> None:
    """An invocation that AWS refused a read names the policy to add, not the code to change."""
    if denial := DENIAL.search(str(payload.get("errorMessage", ""))):
        raise Hinted(f"Arrange failed: {denial.group(0)}",
                     "Give ArrangeFunction the policy DynamoDBReadPolicy with TableName: !Ref "
                     "CompaniesTable (it covers the table's indexes), run the cell and deploy again.")


@check_for("08", "Arrange returns the expected company for sample reports",
           hint="In choose_company keep the items of the category, prefer those whose city equals "
                "the reporter's (compare lower-cased), and return the one with the smallest name; "
                "return {companyId, company, phone, city} from the handler. Redeploy after editing.")
def expected_companies(ctx: Context) -> str:
    name = arrange_function()
    for report, company in SAMPLES:
        error, payload = invoke(name, report)
        if error:
            refused(payload)
        assert error is None, (f"{json.dumps(report)} failed with "
                               f"{payload.get('errorType')}: {payload.get('errorMessage')}")
        assert isinstance(payload, dict) and set(payload) == {"companyId", "company", "phone", "city"}, (
            f"{json.dumps(report)} returned {json.dumps(payload)}, not "
            "{companyId, company, phone, city}")
        assert payload["company"] == company, (
            f"{json.dumps(report)} chose {payload['company']}, expected {company}")
    return f"{len(SAMPLES)} sample reports"


@check_for("08", "A category nobody serves fails with the error type NoCompanyFound",
           hint="Raise NoCompanyFound (the class defined in app.py, not a ValueError or a "
                "returned message) when no item has the category.")
def typed_error(ctx: Context) -> str:
    error, payload = invoke(arrange_function(), {"category": "GAS", "city": "Roma"})
    if error:
        refused(payload)
    assert error is not None, f"the invocation succeeded and returned {json.dumps(payload)}"
    assert payload.get("errorType") == "NoCompanyFound", (
        f"the error type is {payload.get('errorType')!r} ({payload.get('errorMessage')})")
    return payload.get("errorMessage", "")
