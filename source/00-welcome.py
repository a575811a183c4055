# %% [markdown]
# # Lab 00 · Welcome: get ready and meet Fixit
#
# This first lab sets you up for the rest of the day. By the end of it you will:
#
# - know what application you are going to build, and which services carry it;
# - know how a lab works: blanks, checks, restore, and the two places your code can run;
# - have confirmed that Python, the packages and the local cloud work on your laptop;
# - have told Fixit which phone number is yours;
# - know what an app like Fixit costs to run each month, and how to estimate it yourself.
#
# **Time:** about 25 minutes.

# %% [markdown]
# ## Meet Fixit, the app you build today
#
# A lift gets stuck. Someone in the building sends one text message to a single phone number:
#
# > `LIFT stuck between floors 3 and 4, Via Roma 12`
#
# Fixit reads the category word (`LIFT`), finds the company that repairs lifts, texts that
# company's on-call phone, texts the sender to say help is on the way, and files a report
# anyone can look up later. Nobody runs a server for any of this: managed services do the
# heavy lifting, and you write the small pieces of glue code in between.

# %% [markdown]
# ## Follow one text message through the system
#
# ```mermaid
# flowchart LR
#     phone["Reporter's phone"] -- SMS --> twilio["Twilio"]
#     twilio -- webhook --> api["API Gateway<br>POST /sms"]
#     api --> receiver["Receiver<br>Lambda"]
#     receiver -- starts --> arrange
#     subgraph workflow ["Step Functions workflow"]
#         arrange["Arrange<br>Lambda"] --> parallel
#         subgraph parallel ["In parallel"]
#             company["Notify company"]
#             reporter["Notify reporter"]
#         end
#         parallel --> glue["Glue<br>Pass state"]
#         glue --> store["Store report"]
#     end
#     companies[("DynamoDB<br>Companies")] --- arrange
#     store --> reports[("DynamoDB<br>Reports")]
#     reports --> get["API Gateway<br>GET /reports/{id}"]
# ```
#
# 1. Twilio receives the text and calls your webhook on **API Gateway**.
# 2. The **receiver Lambda** makes sure the call really comes from Twilio, reads the category and
#    the description, and starts a workflow. A malformed text gets a reply that explains the format.
# 3. **Step Functions** runs the workflow: the *arrange* Lambda looks up the company for the
#    category in the **DynamoDB** Companies table; two branches then text the company and the
#    reporter at the same time; a *glue* step shapes their results into one report document;
#    the last step writes it to the Reports table.
# 4. `GET /reports/{id}` returns any report as JSON.
#
# Each lab adds one piece of this picture, in this order.

# %% [markdown]
# ## Learn how a lab works
#
# - **Run cells from top to bottom** with Shift+Enter. Each cell does one thing; read the text
#   above it first.
# - **Fill the blanks.** A cell you must complete contains `# YOUR CODE HERE` followed by
#   `raise NotImplementedError()`. Replace both lines with your code. If you get stuck, the
#   finished notebook with the same name is in the `solutions/` folder.
# - **Some cells write files.** A cell starting with `%%save PATH` saves its text as that file
#   of your project (in `workspace/`); `%%sam Resources` (or `Parameters`, `Outputs`) adds each
#   entry it holds to that section of `template.yaml`, replacing an entry of the same name and
#   leaving the rest alone; `%reference PATH` copies a ready-made file. The cloud changes only
#   when you run the deploy cell.
# - **Run the checks.** Near the end of each lab a cell calls `check("NN")`. It tests what you
#   built against the running cloud and lists every check as passed (✓) or failed (✗), with a
#   hint for each failure. Until you fill the blanks it fails: that is expected.
# - **Start anywhere.** From lab 01 on, the first code cell restores the finished state of all
#   earlier labs, so you can begin any lab on its own or recover from a step that went wrong.
# - **Pick a target.** Everything runs against the *local cloud*, a program on your laptop that
#   answers the same HTTP calls as AWS: boto3, the AWS CLI and your functions cannot tell the
#   difference, and you need no account, no Docker and no internet. To run the same labs on a
#   real AWS account, start the workshop with `GLUELAB_TARGET=aws make lab`; gluelab then uses
#   your usual AWS credentials, and real charges apply.

# %% [markdown]
# ## Check that Python and the packages are installed
#
# This cell looks up each package the workshop relies on, in the Python that runs this
# notebook, and prints its version. An error here means the installation is incomplete: run
# `make lab` again from the repository folder.

# %%
import sys
from importlib.metadata import version
from importlib.util import find_spec

print(f"{'Python':<20}{sys.version.split()[0]}")
for package, module in [("boto3", "boto3"), ("moto", "moto"), ("aws-sam-translator", "samtranslator"),
                        ("cfn-lint", "cfnlint"), ("twilio", "twilio"), ("jupyterlab", "jupyterlab")]:
    assert find_spec(module), f"{package} cannot be imported here: run `make lab` again"
    print(f"{package:<20}{version(package)}")

# %% [markdown]
# ## Check that the cloud answers
#
# `connect()` returns the target you work against. For the local cloud it starts the cloud if
# `make lab` has not already done so and waits until it answers; if it cannot, the error says
# why and what to do.

# %%
from gluelab.cloud.process import connect

target = connect()
print(f"You work against the {target.target} cloud.")

# %% [markdown]
# ## Check that you have disk space to spare
#
# Deployments, build folders and the local cloud's saved state need room on disk.

# %%
import shutil

free_gb = shutil.disk_usage(".").free / 1e9
print("Free disk space:", "more than 1 GB, enough" if free_gb > 1 else f"only {free_gb:.1f} GB: free some space")

# %% [markdown]
# ## Tell Fixit your phone number
#
# In later labs Fixit texts *you*: you play both the reporter and the on-call technician.
# On the local cloud the texts go to a simulated handset with the number you choose here; on
# AWS with a real Twilio account, use your real mobile number.
#
# Write the number in **E.164** format: a `+`, the country code, then the number, with no
# spaces and no leading zero. An Italian mobile number looks like `"+393331234567"`.
#
# Set `MY_PHONE` to your number, as text in quotes.

# %%
# BEGIN SOLUTION
MY_PHONE = "+393331234567"
# END SOLUTION

# %% [markdown]
# ## Serverless costs: read the slides' monthly bill
#
# With serverless services you pay for what runs, not for servers waiting. The 2018 workshop
# slides priced a real use case: an API answering **48,618 calls a day** for a 31-day month,
# each answer 512 bytes, with a 0.5 GB API cache, 512 MB Lambda functions and a DynamoDB table
# provisioned with 50 read and 10 write capacity units holding 2.5 GB. Search and other services
# add a flat 25 USD.
#
# ```mermaid
# flowchart LR
#     calls["48,618 calls/day"] --> api["API Gateway<br>requests + cache + transfer"]
#     api --> fn["Lambda<br>GB-seconds + requests"]
#     fn --> db[("DynamoDB<br>capacity + storage")]
# ```
#
# Each service bills a few things: API Gateway per million requests, per cache hour and per GB
# sent out; Lambda per request and per **GB-second** (memory in GB times running time);
# provisioned DynamoDB per capacity unit per hour, plus storage beyond the free 25 GB.
#
# `gluelab.cost.slides_example()` recomputes every line with the slides' own inputs and 2018
# prices, next to the figure the slides printed. Rows marked `!` (red in the HTML view) differ
# by more than one cent.

# %%
from gluelab import cost

cost.slides_example()

# %% [markdown]
# Most lines agree. The Lambda compute line does not: the slides' own numbers, 21,290 GB-s a
# day for 31 days at 0.00001667 USD, give 11.00 USD rather than the 10.96 printed, which moves
# the Lambda subtotal and the total by about 4 cents. The notes under the table list the other
# small slips (a 3.75 written where 3.50 is used, a per-day formula labelled as per-month, a
# free tier applied to one service and not the others). None of them changes the message:
# about 67 USD a month for one and a half million API calls.

# %% [markdown]
# ## Price the same month today
#
# `cost.Usage` describes a month of traffic and `cost.estimate` prices it with a dated price
# list. The June 2025 prices are for us-east-1, the slides' for eu-west-1 (Ireland): Lambda now
# bills per millisecond instead of per 100 ms, and DynamoDB capacity and storage cost less in
# us-east-1 than in Ireland (a difference of region, not of year). Compare without and with the
# free tier; the estimator counts only the offers that never expire (Lambda, DynamoDB, data
# transfer out), not 12-month ones such as API Gateway's.

# %%
slides_month = cost.Usage(
    requests_per_day=cost.SLIDES_CALLS_PER_DAY, days=cost.SLIDES_DAYS, response_bytes=512,
    api_cache_gb=0.5, lambda_duration_ms=876, lambda_memory_mb=512,
    dynamodb_mode="provisioned", dynamodb_rcu=50, dynamodb_wcu=10, dynamodb_storage_gb=2.5,
    fixed={"ElasticSearch": 15, "other services": 10})

for free_tier in (False, True):
    print(cost.estimate(slides_month, cost.PRICES_2025, free_tier=free_tier))

# %% [markdown]
# ## Try your own what-ifs
#
# Change the numbers below and watch the bill update: halve the Lambda duration, switch
# DynamoDB to on-demand (give it reads and writes per request), drop the cache, or add
# Step Functions transitions and SMS per request, as Fixit will have. The price list starts
# at the slides' 2018 prices; switch it to 2025.
#
# A Fixit report costs more in SMS than in AWS: try 1,000 requests a day with 2 SMS per
# request and 8 transitions per request.

# %% tags=["nbval-ignore-output"]
cost.estimator_widget()

# %% [markdown]
# ## Run the checks for this lab
#
# The checks confirm your environment once more, validate `MY_PHONE` and make sure the cost
# estimator reproduces the slides' figures. When they pass, your number is saved, so later
# labs can use it without asking again.

# %% tags=["check"]
from checks import check

check("00", MY_PHONE=MY_PHONE)

# %% [markdown]
# ## See your progress
#
# Each time a lab's checks run, the result is saved on your laptop. This table shows where you
# are; come back to it whenever you like.

# %% tags=["nbval-ignore-output"]
from checks import progress

progress()

# %% [markdown]
# ## What you did, and what comes next
#
# You met Fixit, learned how labs, blanks and checks work, confirmed that your laptop is ready,
# saved your phone number and read a serverless monthly bill line by line.
#
# On real AWS this lab works the same way: `connect()` has nothing to start, and the check
# for the cloud asks your AWS account who you are instead of asking the local cloud. For real
# prices, use the AWS Pricing Calculator (calculator.aws) and Twilio's SMS pricing page for your
# country: prices change, and the dated figures here are a starting point, not a quote.
#
# Next, in **lab 01**, you create Fixit's project: a SAM template kept in git, and its first
# deployment.
