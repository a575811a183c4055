# %% [markdown]
# # Lab 07 · Add the Companies table
#
# To pass a report on, Fixit must know which company repairs what, and where. That list lives in
# a DynamoDB table. In this lab you add it to the template, fill it with sample companies and
# learn to read it the fast way. By the end you will:
#
# - know how DynamoDB organises items by key, and what a global secondary index (GSI) adds;
# - know when to use `query` and when `scan`, and what each costs;
# - have declared the Companies table with a `ByCategory` index in SAM, and exported its name;
# - have loaded the seed data and queried the companies for one category.
#
# **Time:** about 25 minutes.

# %%
from gluelab.lab import open_lab

lab = open_lab("07")
lab.restore()

# %% [markdown]
# ## Learn how DynamoDB finds an item
#
# A DynamoDB table stores **items** (JSON-like records) and needs only one thing declared up
# front: the **primary key**.
#
# - The **partition key** (`HASH`) is hashed to choose the partition that stores the item.
#   Reading by partition key goes straight to the right place, however big the table.
# - An optional **sort key** (`RANGE`) orders the items that share a partition key, so you can
#   ask for ranges ("orders of customer 42 since March").
#
# Every other attribute is free-form: two items in the same table may have different
# attributes. You declare in `AttributeDefinitions` only the attributes used in a key.
#
# Fixit's companies have an `id` (`lift-milano`) as their partition key. But the workflow does
# not know the id: it knows the **category** (`LIFT`) of the report. That is what an index is
# for.

# %% [markdown]
# ## Learn what a secondary index adds
#
# An index is a second copy of (some of) the table's items, organised by another key, which
# DynamoDB keeps up to date on every write. There are two kinds:
#
# | | global secondary index (GSI) | local secondary index (LSI) |
# | --- | --- | --- |
# | key | any partition key and optional sort key | same partition key as the table, another sort key |
# | spans | the whole table | the items of one partition key |
# | when | add or remove at any time | only when the table is created |
# | reads | eventually consistent | can be strongly consistent |
#
# Fixit needs "all companies of category X", a different partition key from `id`: a GSI,
# `ByCategory`, keyed by `category`. Its **projection** says which attributes it copies; `ALL`
# copies every attribute, so a query on the index returns whole companies.
#
# ```mermaid
# flowchart LR
#     subgraph table ["Companies (key: id)"]
#         a["lift-milano · LIFT · Milano"]
#         b["lift-roma · LIFT · Roma"]
#         c["water-roma · WATER · Roma"]
#     end
#     subgraph index ["ByCategory (key: category)"]
#         L["LIFT → lift-milano, lift-roma"]
#         W["WATER → water-roma, ..."]
#     end
#     table -- "copied on every write" --> index
# ```

# %% [markdown]
# ## Know the difference between query and scan
#
# - **`query`** reads the items of **one** partition key (of the table or of an index),
#   optionally narrowed by the sort key. It reads, and you pay for, only what it returns.
# - **`scan`** reads **every** item of the table, page by page, and can filter afterwards. The
#   filter makes the answer smaller, not the bill: you pay for everything read.
#
# A scan is fine for a seven-company table and for one-off jobs; on a request path it grows with
# the table. The arrange function you write in lab 08 uses `query` on `ByCategory`.

# %% [markdown]
# ## Declare the table
#
# `AWS::DynamoDB::Table` gives you every option; SAM's shorter `AWS::Serverless::SimpleTable`
# (you will use it for the Reports table in lab 13) cannot declare indexes.
# `BillingMode: PAY_PER_REQUEST` is on-demand capacity: no read or write units to plan, a price
# per request, and no request charges when idle (storage is still billed per GB-month).
#
# **Your task:** declare the `category` attribute (a string, `S`) and the global secondary index
# `ByCategory`, whose partition key is `category` and whose projection is `ALL`. The two go
# together: DynamoDB refuses a key whose attribute is not in `AttributeDefinitions`, and an
# attribute there that no key uses, and the stack rolls back with the reason.

# %%
%%sam Resources
CompaniesTable:
  Type: AWS::DynamoDB::Table
  Properties:
    BillingMode: PAY_PER_REQUEST
    AttributeDefinitions:
      - {AttributeName: id, AttributeType: S}
      # BEGIN SOLUTION
      - {AttributeName: category, AttributeType: S}
      # END SOLUTION
    KeySchema:
      - {AttributeName: id, KeyType: HASH}
    # BEGIN SOLUTION
    GlobalSecondaryIndexes:
      - IndexName: ByCategory
        KeySchema:
          - {AttributeName: category, KeyType: HASH}
        Projection: {ProjectionType: ALL}
    # END SOLUTION

# %% [markdown]
# CloudFormation names the table for you (`fixit-CompaniesTable-...`), so that two stacks never
# clash. The seed step below, the arrange function and you need that name.
#
# **Your task:** make the `CompaniesTableName` output's `Value` the table's name. For a table,
# `!Ref` gives the name.

# %%
%%sam Outputs
CompaniesTableName:
  # BEGIN SOLUTION
  Value: !Ref CompaniesTable
  # END SOLUTION

# %% [markdown]
# ## Add the seed data
#
# Two ready-made files: `seed/companies.json`, seven fictional companies (their phones are
# in the +1 555 test range), and `seed/seed.py`, which writes them to a table with a batch
# writer. Open both in the file browser.

# %%
%reference seed/companies.json

# %%
%reference seed/seed.py

# %% [markdown]
# ## Deploy

# %% tags=["deploy"]
outputs = lab.deploy()

# %% [markdown]
# ## Load the companies
#
# Data is not part of a stack: deploying creates an empty table. This cell loads the seed data,
# using `seed.py`'s own functions. Writing an item with an existing key replaces it, so running
# the cell again leaves the same seven companies. Later labs' restore runs it for you.

# %% tags=["setup", "needs-task"]
import importlib.util

from gluelab.config import session

spec = importlib.util.spec_from_file_location("seed", lab.project / "seed" / "seed.py")
seed = importlib.util.module_from_spec(spec)
spec.loader.exec_module(seed)
endpoint = {"endpoint_url": lab.settings.endpoint} if lab.settings.is_local else {}
companies_table = session().resource("dynamodb", **endpoint).Table(lab.outputs()["CompaniesTableName"])
loaded = seed.seed(companies_table, seed.companies(lab.project / "seed" / "companies.json"))

# %% [markdown]
# ## Try it: look at the table and its index
#
# `describe_table` shows the key schema and the index you declared.

# %% tags=["needs-task"]
from gluelab.config import client

dynamodb = client("dynamodb")
table_name = outputs["CompaniesTableName"]
described = dynamodb.describe_table(TableName=table_name)["Table"]
print("table key:", described["KeySchema"])
for index in described.get("GlobalSecondaryIndexes", []):
    print(f"index {index['IndexName']}:", index["KeySchema"], index["Projection"])

# %% [markdown]
# ## Query the companies that fix lifts
#
# A query on the index names it with `IndexName` and gives the partition key's value in a
# `KeyConditionExpression`. Values travel with their DynamoDB type: `{"S": "LIFT"}` is a string.

# %% tags=["needs-task"]
lifts = dynamodb.query(TableName=table_name, IndexName="ByCategory",
                       KeyConditionExpression="category = :category",
                       ExpressionAttributeValues={":category": {"S": "LIFT"}})
for company in sorted(lifts["Items"], key=lambda item: item["id"]["S"]):
    print(f"{company['id']['S']:<14} {company['name']['S']:<26} {company['city']['S']:<8} {company['phone']['S']}")
print("items read:", lifts["ScannedCount"])

# %% [markdown]
# ## Compare with a scan
#
# The same answer with a scan and a filter. Look at `ScannedCount`: the scan read every
# company to return two.

# %% tags=["needs-task"]
scanned = dynamodb.scan(TableName=table_name, FilterExpression="category = :category",
                        ExpressionAttributeValues={":category": {"S": "LIFT"}})
print("returned:", scanned["Count"], "| items read:", scanned["ScannedCount"])

# %% [markdown]
# ## Run the checks for this lab
#
# The checks look at the table's keys and index, and query the index for each category in the
# seed file.

# %% tags=["check"]
from checks import check

check("07")

# %% [markdown]
# ## What you did, and how it runs for real
#
# You added an on-demand DynamoDB table with a global secondary index, exported its name, loaded
# sample data and read it with a query that touches only what it returns.
#
# - **On real AWS** the same template creates the table; a new GSI on a full table is built in
#   the background (its status is `CREATING` until then). Load the data with the same script
#   from a terminal: `python seed/seed.py <CompaniesTableName>`. On-demand reads and writes are
#   billed per request unit; a query on the index costs what it returns, a scan what the whole
#   table holds. The console's *Explore items* page runs the same queries and scans.
# - **On real Twilio** nothing changes here; put a phone you own in `companies.json` if you want
#   the company's text to reach you.
#
# Next, in **lab 08**, the arrange function queries this index to pick a company for a report.
