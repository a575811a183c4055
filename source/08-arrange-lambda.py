# %% [markdown]
# # Lab 08 · Set up the arrange Lambda
#
# A report says *what* is broken (`LIFT`) and sometimes *where* the sender is (`Roma`). Someone
# has to decide *who* goes to fix it. In this lab you write that decision as a Lambda function,
# the *arrange* task, which the workflow will call in lab 09. By the end of it you will:
#
# - query the Companies table through its category index (the GSI you built in lab 07);
# - choose one company, preferring one in the reporter's city;
# - signal "nobody can fix this" with a typed error, `NoCompanyFound`, that Step Functions can
#   recognise by name;
# - add the function to the SAM template with only the permissions it needs, deploy it and
#   invoke it by hand.
#
# **Time:** about 25 minutes.

# %%
from gluelab.lab import open_lab

lab = open_lab("08")
lab.restore()

# %% [markdown]
# ## See where arrange fits
#
# The workflow so far texts one phone. From now on its first step is *arrange*: it receives the
# report, reads the Companies table and hands back an *assignment*, the company that takes the
# job and its on-call phone.
#
# ```mermaid
# flowchart LR
#     receiver["Receiver<br>Lambda"] -- "report<br>{category, city, ...}" --> arrange["Arrange<br>Lambda"]
#     arrange -- "Query ByCategory<br>category = LIFT" --> companies[("Companies<br>GSI ByCategory")]
#     arrange -- "assignment<br>{companyId, company, phone, city}" --> next["next step:<br>notify the company"]
#     arrange -. "NoCompanyFound" .-> error["error handling<br>(lab 10)"]
# ```
#
# The function gets its input from Step Functions, not from API Gateway: no HTTP request, no
# status code. It returns a plain dictionary, and Step Functions stores it in the workflow's
# data. When it cannot do its job it raises an exception, and Step Functions sees a failed task.

# %% [markdown]
# ## Learn why the query goes through the index
#
# The Companies table's key is `id` (`lift-roma`, `water-milano`, ...). To find every company
# for `LIFT` you could **scan** the whole table and keep the lift companies, but a scan reads,
# and bills, every item, however few of them you need. The **global secondary index**
# `ByCategory` keeps the same items partitioned by `category`, so a **query** on it reads only
# the companies of one category.
#
# A query returns at most 1 MB of items per call. When there is more, the reply carries a
# `LastEvaluatedKey`, and you ask again starting from there. With seven companies you will never
# see a second page, but code that pages correctly keeps working when the table grows, so the
# handler below does it anyway.

# %% [markdown]
# ## Learn how a Lambda error gets its name
#
# When a Python handler raises, Lambda reports the failed invocation with an error payload like
#
# ```json
# {"errorType": "NoCompanyFound", "errorMessage": "No company handles GAS reports.", ...}
# ```
#
# `errorType` is the **name of the exception class**. Step Functions uses that name as the
# task's error, and its `Retry` and `Catch` rules (lab 10) pick errors by name. That is why
# arrange defines its own exception class instead of raising a generic `ValueError`: the
# workflow can treat "no company for this category" differently from "Lambda had a hiccup".

# %% [markdown]
# ## Task 1: write the arrange handler
#
# The file below is the whole function. Two parts are blank:
#
# 1. `choose_company(items, category, city)`: from the companies the query returned, keep those
#    of the category. If none is left, raise `NoCompanyFound` with a message that names the
#    category. Otherwise prefer the companies whose `city` equals the reporter's city, ignoring
#    upper and lower case (an empty city matches nothing). Among the candidates, return the one
#    whose `name` comes first in alphabetical order, so the choice is always the same.
# 2. `handler(event, context)`: read the category from the event, get the companies with
#    `companies_for`, choose one (the event's `city` may be missing), and return the assignment
#    `{"companyId", "company", "phone", "city"}` built from the item's `id`, `name`, `phone`
#    and `city`.
#
# The table name comes from the environment variable `COMPANIES_TABLE` (as `companies_table()`
# reads it) and the index name from `COMPANIES_INDEX` (`os.environ["COMPANIES_INDEX"]`); you set
# both in task 2.

# %%
%%save functions/arrange/app.py
"""Workflow task: choose the company that fixes the reported problem.

Input: the report (`category`, and `city` when Twilio knew where the sender is). Output: the
assignment `{"companyId", "company", "phone", "city"}`. Companies serving the category are
read from the Companies table's category index; one in the reporter's city is preferred.
"""
from __future__ import annotations

import functools
import os

import boto3
from boto3.dynamodb.conditions import Key


class NoCompanyFound(Exception):
    """No company serves this category; the workflow catches this and tells the reporter."""


def choose_company(items: list[dict], category: str, city: str = "") -> dict:
    """The company for a report: same category, the reporter's city first, then by name."""
    # BEGIN SOLUTION
    serving = [item for item in items if item.get("category") == category]
    if not serving:
        raise NoCompanyFound(f"No company handles {category} reports.")
    local = [item for item in serving if city and item.get("city", "").lower() == city.lower()]
    return min(local or serving, key=lambda item: item["name"])
    # END SOLUTION


def companies_for(table, index: str, category: str) -> list[dict]:
    query = {"IndexName": index, "KeyConditionExpression": Key("category").eq(category)}
    items = []
    while True:
        reply = table.query(**query)
        items += reply["Items"]
        if "LastEvaluatedKey" not in reply:
            return items
        query["ExclusiveStartKey"] = reply["LastEvaluatedKey"]


@functools.cache
def companies_table():
    return boto3.resource("dynamodb").Table(os.environ["COMPANIES_TABLE"])


def handler(event, context):
    # BEGIN SOLUTION
    category = event["category"]
    items = companies_for(companies_table(), os.environ["COMPANIES_INDEX"], category)
    company = choose_company(items, category, event.get("city", ""))
    return {"companyId": company["id"], "company": company["name"], "phone": company["phone"],
            "city": company["city"]}
    # END SOLUTION

# %% [markdown]
# `companies_table()` is wrapped in `functools.cache`: the boto3 resource is created once per
# execution environment and reused by every warm invocation, instead of once per report.

# %% [markdown]
# ## Task 2: add the function to the template
#
# The entry names the code folder and gives the function two environment variables: the
# table's name, which CloudFormation knows only after it has created the table (`!Ref
# CompaniesTable`), and the index name `ByCategory`.
#
# For permissions, use the SAM policy template `DynamoDBReadPolicy` on the Companies table. It
# allows reads (GetItem, Query, Scan, ...) on that table **and its indexes**, and nothing else:
# arrange cannot write, and cannot read any other table.
#
# Fill in the `Variables` (`COMPANIES_TABLE` and `COMPANIES_INDEX`, the names the handler reads)
# and the `Policies`.

# %%
%%sam Resources
ArrangeFunction:
  Type: AWS::Serverless::Function
  Properties:
    Description: Chooses the company for a report's category, preferring the reporter's city.
    CodeUri: functions/arrange/
    Environment:
      Variables:
        # BEGIN SOLUTION
        COMPANIES_TABLE: !Ref CompaniesTable
        COMPANIES_INDEX: ByCategory
        # END SOLUTION
    Policies:
      # BEGIN SOLUTION
      - DynamoDBReadPolicy:
          TableName: !Ref CompaniesTable
      # END SOLUTION

# %% [markdown]
# ## Deploy
#
# The deploy creates the function and its role. Nothing calls it yet: the workflow still
# starts with its notify task.

# %% tags=["deploy"]
outputs = lab.deploy()

# %% [markdown]
# ## Try it: invoke arrange by hand
#
# Before you put the function in the workflow, call it yourself with the input the workflow
# will give it. `invoke` waits for the result (`RequestResponse`); the function's return value
# comes back as JSON in the `Payload`.
#
# First, find the function's name: CloudFormation chose it when it created the function, and
# the stack remembers which physical name belongs to `ArrangeFunction`.

# %% tags=["needs-task"]
import json

from gluelab.config import client
from gluelab.tryit import TryItFailed

ASSIGNMENT = {"companyId", "company", "phone", "city"}  # what the handler returns
arrange_name = client("cloudformation").describe_stack_resource(
    StackName="fixit", LogicalResourceId="ArrangeFunction")["StackResourceDetail"]["PhysicalResourceId"]


def arrange(report: dict, fails: bool = False) -> dict:
    """Invoke the deployed arrange function with a report; its reply, parsed. A reply other than
    the one expected (an error, or none when it `fails`) stops the cell, saying what came back."""
    reply = client("lambda").invoke(FunctionName=arrange_name, Payload=json.dumps(report))
    payload = json.loads(reply["Payload"].read())
    if fails != ("FunctionError" in reply):
        said = (f"failed with {payload.get('errorType')}: {payload.get('errorMessage')}"
                if "FunctionError" in reply else f"returned {json.dumps(payload)}")
        raise TryItFailed(f"Arrange {said} for {json.dumps(report)}. Fix app.py or the template, "
                          "deploy again, and run this cell again.")
    if not fails and not (isinstance(payload, dict) and set(payload) == ASSIGNMENT):
        raise TryItFailed(f"Arrange returned {json.dumps(payload)} for {json.dumps(report)}, not an "
                          "assignment {companyId, company, phone, city}: fix what the handler "
                          "returns, deploy again, and run this cell again.")
    return {"FunctionError": reply.get("FunctionError"), "Payload": payload}


arrange({"category": "LIFT", "city": "Roma"})

# %% [markdown]
# Two lift companies exist, one in Milano and one in Roma: a reporter in Roma gets the Roman
# one. Now try a report without a city, and one from a city where no lift company is based:
# both still get a company, the first by name. The third writes its city in capitals and still
# gets the Milano water company, because the comparison ignores case.

# %% tags=["needs-task"]
for report in ({"category": "LIFT"}, {"category": "LIFT", "city": "Napoli"}, {"category": "WATER", "city": "MILANO"}):
    print(report, "->", arrange(report)["Payload"]["company"])

# %% [markdown]
# ## Try it: a category nobody serves
#
# `GAS` is a category the receiver accepts, but no company in the table handles it. The
# invocation fails: Lambda sets `FunctionError` and the payload names the exception class.

# %% tags=["needs-task"]
failed = arrange({"category": "GAS", "city": "Roma"}, fails=True)
print("FunctionError:", failed["FunctionError"])
print("errorType:    ", failed["Payload"]["errorType"])
print("errorMessage: ", failed["Payload"]["errorMessage"])

# %% [markdown]
# ## Run the checks for this lab
#
# The checks invoke your deployed function with sample reports and compare the company it
# picks, then make sure an unserved category fails with the error type `NoCompanyFound`.

# %% tags=["check"]
from checks import check

check("08")

# %% [markdown]
# ## What you did, and what comes next
#
# You wrote a Lambda function that Step Functions will call as a task: it queries a global
# secondary index page by page, applies a simple business rule, returns a plain dictionary and
# reports a business failure as a named error. Its role may read one table and nothing more.
#
# **On real AWS** the code and the template are the same. CloudFormation creates the function
# with a real IAM role built from `DynamoDBReadPolicy`, and a query on the GSI is billed in read
# request units for the items it reads (a scan would be billed for the whole table). The
# function's log group in CloudWatch Logs shows each invocation, and a failed one shows the
# `NoCompanyFound` traceback. Twilio plays no part in this lab.
#
# Next, in **lab 09**, you put arrange in the workflow and pass its assignment to the step that
# texts the company.
