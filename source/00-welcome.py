# %% [markdown]
# # Lab 00 · Welcome: get ready and meet Fixit
#
# This first lab sets you up for the rest of the day. By the end of it you will:
#
# - know what application you are going to build, and which services carry it;
# - know how a lab works: blanks, checks, restore, and the two places your code can run;
# - have confirmed that Python, the packages and the local cloud work on your laptop;
# - have told Fixit which phone number is yours.
#
# **Time:** about 15 minutes.

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
# ## Run the checks for this lab
#
# The checks confirm your environment once more and validate `MY_PHONE`. When it passes, your
# number is saved, so later labs can use it without asking again.

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
# You met Fixit, learned how labs, blanks and checks work, confirmed that your laptop is ready
# and saved your phone number.
#
# On real AWS this lab works the same way: `connect()` has nothing to start, and the check
# for the cloud asks your AWS account who you are instead of asking the local cloud.
#
# Next, in **lab 01**, you create Fixit's project: a SAM template kept in git, and its first
# deployment.
