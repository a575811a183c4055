# %% [markdown]
# # Lab 01 · Start the project and set up git
#
# Every piece of Fixit lives in one project: a template that describes the cloud resources, the
# code of the functions, and the instructions that build and deploy them. In this lab you create
# that project and ship it once. By the end you will:
#
# - know what AWS CodeStar used to set up for a serverless project, and which services do each
#   part of the job now that CodeStar is gone;
# - have written the first SAM template and a receiver function that answers with a hello;
# - have your project in git, with a first commit;
# - have deployed it through a pipeline: the build commands of `buildspec.yml`, then a
#   CloudFormation deploy of what the build produced.
#
# **Time:** about 25 minutes.

# %%
from gluelab.lab import open_lab

lab = open_lab("01")
lab.restore()

# %% [markdown]
# ## Learn what replaced AWS CodeStar
#
# In 2018 this step was "start a CodeStar project": one wizard created a git repository, a
# build project, a pipeline and a first deploy. AWS stopped CodeStar on **31 July 2024**. The
# services it wired together are all still there, and you now connect them yourself:
#
# | part of the job | what CodeStar used | what you use today |
# | --- | --- | --- |
# | source | a CodeCommit repository | a git repository on GitHub, GitLab or Bitbucket, connected to AWS through **CodeConnections** (formerly CodeStar Connections) |
# | build | CodeBuild | **CodeBuild**, following the `buildspec.yml` in your repository |
# | deploy | CloudFormation | **CloudFormation** with the SAM transform (`Transform: AWS::Serverless-2016-10-31`) |
# | pipeline | CodePipeline | **CodePipeline**, which runs the three stages on every push |
#
# ```mermaid
# flowchart LR
#     you["You<br>git push"] --> repo["Git repository<br>(GitHub)"]
#     repo -- CodeConnections --> source
#     subgraph pipeline ["CodePipeline"]
#         source["Source"] --> build["Build<br>CodeBuild runs buildspec.yml"]
#         build -- packaged.yaml --> deploy["Deploy<br>CloudFormation + SAM"]
#     end
#     deploy --> stack[("Stack fixit")]
# ```
#
# The pipeline is itself a template, `pipeline/template.yaml`, which you deploy once per
# account. Today you run the same two middle stages on your laptop with `gluelab pipeline run`:
# it executes the buildspec's commands in order, then deploys the result, exactly as the
# pipeline would after a push.

# %% [markdown]
# ## Write the first template
#
# A SAM template is a CloudFormation template with one extra line, `Transform:`. The transform
# expands short resource types such as `AWS::Serverless::Function` into the plain resources
# behind them (a Lambda function, its IAM role, later an API). The `Globals` section holds
# settings every function shares, so each function below it stays short.
#
# Complete the `Resources` section: add `ReceiverFunction`, of type `AWS::Serverless::Function`,
# whose `Properties` are a `Description` and `CodeUri: functions/receiver/` (the folder with its
# code). Runtime, handler and memory come from `Globals`.

# %%
%%save template.yaml
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: >
  Fixit, an SMS incident desk: people text a problem in a building to one Twilio number; a
  workflow finds the company that fixes it, texts the company and the reporter, and stores the
  report, which GET /reports/{id} serves to signed-in users.

Globals:
  Function:
    Runtime: python3.12
    Handler: app.handler
    Timeout: 10
    MemorySize: 256
    Architectures: [arm64]

Resources:
  # BEGIN SOLUTION
  ReceiverFunction:
    Type: AWS::Serverless::Function
    Properties:
      Description: Twilio SMS webhook; for now it answers every text with a hello.
      CodeUri: functions/receiver/
  # END SOLUTION

# %% [markdown]
# ## Write the receiver's first version
#
# `Handler: app.handler` means: in the file `app.py`, call the function `handler`. Lambda calls
# it with the event (what happened) and a context (facts about this run). Later the event will
# be Twilio's webhook; for now the function ignores it.
#
# Twilio expects the answer to a text in **TwiML**, a small XML language: a `<Message>` element
# is a text sent back to the sender. The `twiml` helper builds it with the official `twilio`
# package. Make `handler` return a response with status code 200, the header
# `Content-Type: text/xml` and, as body, `twiml("Hello from Fixit!")`.

# %%
%%save functions/receiver/app.py
"""POST /sms: Twilio's webhook for texts sent to the Fixit number. For now: a hello."""
from twilio.twiml.messaging_response import MessagingResponse


def twiml(message: str) -> str:
    """A TwiML document answering the sender with one SMS."""
    response = MessagingResponse()
    response.message(message)
    return str(response)


def handler(event, context):
    # BEGIN SOLUTION
    return {"statusCode": 200, "headers": {"Content-Type": "text/xml"},
            "body": twiml("Hello from Fixit!")}
    # END SOLUTION

# %% [markdown]
# The receiver imports `twilio`, but Lambda's Python runtime has only the standard library and
# boto3, so each function lists its other packages in a `requirements.txt` next to its code,
# and the build installs them into what goes to Lambda (as `sam build` does).

# %%
%reference functions/receiver/requirements.txt

# %% [markdown]
# ## Add the build instructions and the pipeline template
#
# These two files are given to you ready-made. `buildspec.yml` tells CodeBuild what to run: an
# `install` phase that adds cfn-lint to the build container, and a `build` phase that lints the
# template, builds the functions in `.aws-sam/build` with the packages their `requirements.txt`
# lists, and packages the result. Packaging uploads each code folder to an S3 bucket and writes
# `packaged.yaml`, a copy of the template that points at the uploads. That file is the build's
# output, and the deploy stage deploys it.

# %%
%reference buildspec.yml

# %%
print(open("buildspec.yml").read())

# %% [markdown]
# `pipeline/template.yaml` creates the pipeline on AWS: the connection to GitHub, the CodeBuild
# project, the roles, an artifacts bucket and the three stages. You do not deploy it today;
# here are its stages.

# %%
%reference pipeline/template.yaml

# %%
from samtranslator.yaml_helper import yaml_parse

pipeline = yaml_parse(open("pipeline/template.yaml").read())
for stage in pipeline["Resources"]["Pipeline"]["Properties"]["Stages"]:
    action = stage["Actions"][0]
    print(f"{stage['Name']:<8}{action['ActionTypeId']['Provider']}")

# %% [markdown]
# ## Check the template before you deploy it
#
# A typo in a template is cheaper to find on your laptop than halfway through a deploy.
# `validate` runs the SAM transform offline and cfn-lint, the linter for CloudFormation
# templates, and lists what they find: errors, which would make the deploy fail, then cfn-lint's
# warnings (rules `W...`, such as W3005 for a `DependsOn` that a `!Ref` already implies), which
# do not stop a deploy but point at something to tidy up. `cfn-lint template.yaml` in a
# terminal prints the same.

# %%
from gluelab.templates import validate

problems = validate("template.yaml")
print(problems)

# %% [markdown]
# ## Put the project in git
#
# The pipeline starts from a commit, so the project must be a git repository. This cell makes
# the project folder a repository and commits the files you have so far. It only commits when
# something changed, so you can run it again safely. `packaged.yaml` stays out of git: the build
# makes it fresh every time.

# %% tags=["setup", "needs-task"]
lab.git("init", "--quiet", "--initial-branch=main")
lab.git("add", "template.yaml", "functions", "buildspec.yml", "pipeline")
if lab.git("status", "--porcelain", "--untracked-files=no"):
    lab.git("commit", "--quiet", "-m", "Start Fixit: SAM template, receiver, buildspec, pipeline")

# %% [markdown]
# See what the commit holds: its message and the files git now tracks.

# %% tags=["needs-task"]
print(lab.git("log", "--format=%s"))
print(lab.git("ls-files"))

# %% [markdown]
# On AWS, you would now create an empty repository on GitHub and push to it
# (`git remote add origin ...`, then `git push -u origin main`); each push starts the pipeline.

# %% [markdown]
# ## Deploy through the pipeline
#
# Run the pipeline's build and deploy stages. Each phase of the buildspec prints one line; the
# `install` phase is skipped because your workshop environment already has the tools CodeBuild
# would install. The deploy creates the stack `fixit` from `packaged.yaml`.

# %% tags=["deploy", "needs-task"]
from gluelab.pipeline import run_pipeline

outputs = run_pipeline(lab.project, "fixit")

# %% [markdown]
# ## Try your function
#
# The stack has no web address yet (that comes in lab 02), but the function exists. Find its
# name among the stack's resources and invoke it directly, as Lambda will when a text arrives.

# %% tags=["needs-task"]
import json

from gluelab.config import client

receiver = client("cloudformation").describe_stack_resource(
    StackName="fixit", LogicalResourceId="ReceiverFunction")["StackResourceDetail"]["PhysicalResourceId"]
reply = client("lambda").invoke(FunctionName=receiver, Payload=json.dumps({}))
answer = json.loads(reply["Payload"].read())
for key, value in answer.items():  # what your handler returned, or the error it raised
    print(f"{key}: {value}")

# %% [markdown]
# ## Run the checks for this lab
#
# The checks look at your project folder and at the cloud: a git repository with a commit that
# tracks the template, a template the SAM transform and cfn-lint accept, the stack `fixit`
# deployed, and its receiver answering exactly as the task asks (they invoke it, as above).

# %% tags=["check"]
from checks import check

check("01")

# %% [markdown]
# ## What you did, and what comes next
#
# You created Fixit's project: a SAM template, a first function, the build instructions and
# the pipeline template, all in git. You validated the template and deployed it the way a
# pipeline does: build, then deploy the build's output.
#
# **On real AWS**, push the repository to GitHub and deploy the pipeline once:
# `aws cloudformation deploy --template-file pipeline/template.yaml --stack-name fixit-pipeline
# --capabilities CAPABILITY_IAM --parameter-overrides FullRepositoryId=<you>/<repo>`. The
# connection it creates waits in the PENDING state until you approve it in the console
# (Developer Tools, Settings, Connections); from then on every push to `main` builds and deploys
# the stack. Without a pipeline, `gluelab pipeline run workspace --stack fixit`, run from the
# repository folder, does the same from your laptop. Twilio plays no part yet.
#
# Next, in **lab 02**, the receiver learns to read a real webhook request, and the template gets
# an API so that Twilio can reach it.
