# %% [markdown]
# # Lab 15 (optional) · Let only signed-in users read reports
#
# Since lab 14, anyone who learns a report id can read the report, with the reporter's phone
# number in it. In this optional lab you put a sign-in in front of `GET /reports/{id}`, and at
# the end you clean up everything the workshop created. By the end of this lab you will:
#
# - know the ways API Gateway can decide who may call an API: IAM, Lambda authorizers and
#   Cognito user pools, and when each fits;
# - add a Cognito user pool and an app client, and make the API check a user pool token on the
#   reports route (the SMS webhook stays open: Twilio signs its calls instead);
# - sign up, confirm and sign in from the notebook, and see the API answer `401` without a
#   valid token and `200` with one;
# - delete everything with `gluelab teardown`.
#
# **Time:** about 30 minutes.

# %%
from gluelab.lab import open_lab

lab = open_lab("15")
lab.restore()

# %% [markdown]
# ## Learn the three ways to control who calls an API
#
# API Gateway can check every request before your function runs. You choose how, per route:
#
# | option | the caller sends | who checks it | fits |
# | --- | --- | --- | --- |
# | **IAM** (`AWS_IAM`) | a request signed with AWS credentials (Signature V4) | API Gateway, against IAM policies that allow `execute-api:Invoke` | other AWS services, your own back ends, apps that got temporary AWS credentials (STS `AssumeRoleWithWebIdentity`, Cognito identity pools) |
# | **Lambda authorizer** | any token or header you define | a function you write, which returns an IAM policy (cached for a while) | tokens from another identity provider, API keys of your own, rules on headers or source addresses |
# | **Cognito user pool authorizer** | a JSON Web Token from a user pool, in the `Authorization` header | API Gateway itself: signature, expiry and app client | people who sign up and sign in to your app |
#
# IAM also controls who may *manage* the API (`apigateway:*` actions); the table is about who
# may *call* it. API keys with usage plans meter and throttle callers, but they are not a way
# to authenticate anyone.
#
# Fixit's reports are read by people (building managers, back-office staff), so a **Cognito
# user pool** fits: Cognito keeps the users and their passwords, runs sign-up, confirmation and
# sign-in, and issues tokens; API Gateway checks them without any code of yours.

# %% [markdown]
# ## See how a user gets to a report
#
# ```mermaid
# sequenceDiagram
#     participant U as User (notebook, web app)
#     participant C as Cognito user pool
#     participant A as API Gateway
#     participant F as GetReport Lambda
#     U->>C: SignUp(email, password)
#     C-->>U: a confirmation code, by email
#     U->>C: ConfirmSignUp(email, code)
#     U->>C: InitiateAuth(USER_PASSWORD_AUTH)
#     C-->>U: ID, access and refresh tokens
#     U->>A: GET /reports/{id}, Authorization: ID token
#     A->>A: check the token's signature, expiry and app client
#     A->>F: the request, with the user's claims
#     F-->>U: 200 and the report
# ```
#
# Without a token, or with one that fails the check, API Gateway answers `401` itself and your
# function is never called, so it is never billed either.

# %% [markdown]
# ## Task: declare the authorizer for the whole API
#
# The API of your functions is the implicit one SAM creates from their `Api` events. Its
# settings go in the template's `Globals`, under `Api`. Declare one authorizer there, named
# `CognitoAuthorizer`, whose `UserPoolArn` is the user pool's ARN (`!GetAtt UserPool.Arn`).
# Declaring it protects nothing yet: each route chooses to use it.
#
# Mind the nesting: `Auth` holds `Authorizers`, a map from each authorizer's name to its
# settings, so the name is a key of its own with its settings indented under it:
#
# ```yaml
# Api:
#   Auth:
#     Authorizers:
#       NameOfTheAuthorizer:
#         SettingOfThatAuthorizer: value
# ```

# %%
%%sam Globals
Api:
  Auth:
    # BEGIN SOLUTION
    Authorizers:
      CognitoAuthorizer:
        UserPoolArn: !GetAtt UserPool.Arn
    # END SOLUTION

# %% [markdown]
# ## Add the user pool and its app client
#
# These two resources are given. The **user pool** signs people in with their email address
# as user name, verifies that address by sending a code, and wants passwords of at least 12
# characters. The **app client** is how one application talks to the pool: this one has no
# secret (it runs in a notebook or a browser, where a secret would not stay secret) and may
# sign in with a user name and password (`USER_PASSWORD_AUTH`) or with SRP, which never sends
# the password itself.

# %%
%%sam Resources
UserPool:
  Type: AWS::Cognito::UserPool
  Properties:
    UserPoolName: !Sub "${AWS::StackName}-users"
    UsernameAttributes: [email]
    AutoVerifiedAttributes: [email]
    Policies:
      PasswordPolicy:
        MinimumLength: 12

# %%
%%sam Resources
UserPoolClient:
  Type: AWS::Cognito::UserPoolClient
  Properties:
    UserPoolId: !Ref UserPool
    ClientName: fixit-reports
    GenerateSecret: false
    ExplicitAuthFlows: [ALLOW_USER_PASSWORD_AUTH, ALLOW_USER_SRP_AUTH, ALLOW_REFRESH_TOKEN_AUTH]

# %% [markdown]
# Two outputs name the pool and the client: a sign-in needs both.

# %%
%%sam Outputs
UserPoolId:
  Value: !Ref UserPool
UserPoolClientId:
  Value: !Ref UserPoolClient

# %% [markdown]
# ## Task: protect the reports route
#
# Give the `GetReport` event an `Auth` with `Authorizer: CognitoAuthorizer`. Only this route
# gets it: `POST /sms` must stay open to Twilio, which proves who it is with its signature.

# %%
%%sam Resources
GetReportFunction:
  Type: AWS::Serverless::Function
  Properties:
    Description: Serves one stored report.
    CodeUri: functions/get_report/
    Environment:
      Variables:
        REPORTS_TABLE: !Ref ReportsTable
    Policies:
      - DynamoDBReadPolicy:
          TableName: !Ref ReportsTable
    Events:
      GetReport:
        Type: Api
        Properties:
          Path: /reports/{id}
          Method: get
          # BEGIN SOLUTION
          Auth:
            Authorizer: CognitoAuthorizer
          # END SOLUTION

# %% [markdown]
# ## Deploy

# %% tags=["deploy"]
outputs = lab.deploy()

# %% [markdown]
# ## Try it: ask for the report without a token
#
# Put one report in the table by texting Fixit, then ask for it without signing in.

# %% tags=["needs-task"]
import json
import time

import requests

from gluelab import twilio_local
from gluelab.config import client, my_phone

MY_PHONE = my_phone()  # the number you saved in lab 00

report_id = twilio_local.text_app(MY_PHONE, "POWER no lights on the stairs, Corso Como 5",
                                  from_city="MILANO")["message"]["sid"]
arn = outputs["StateMachineArn"].replace(":stateMachine:", ":execution:") + ":" + report_id
while client("stepfunctions").describe_execution(executionArn=arn)["status"] == "RUNNING":
    time.sleep(0.5)
url = outputs["ApiUrl"] + f"reports/{report_id}"

# %% tags=["needs-task"]
answer = requests.get(url, timeout=10)
print(answer.status_code, answer.json())

# %% [markdown]
# A made-up token fails the same way: API Gateway checks its signature against the user pool's
# keys before anything else.

# %% tags=["needs-task"]
answer = requests.get(url, headers={"Authorization": "not-a-real-token"}, timeout=10)
print(answer.status_code, answer.json())

# %% [markdown]
# ## Sign up and confirm a user
#
# `sign_up` creates the user, unconfirmed. On real AWS, Cognito now emails a six-digit code to
# the address, and the user (or your web page) sends it back with `confirm_sign_up`. The local
# cloud sends no email, so here an administrator confirms the user instead, with
# `admin_confirm_sign_up`: the same call a help desk would use. Running the cell again is
# harmless.

# %% tags=["needs-task"]
EMAIL, PASSWORD = "manager@fixit.example.com", "Correct-Horse-Battery-42"
cognito = client("cognito-idp")
try:
    cognito.sign_up(ClientId=outputs["UserPoolClientId"], Username=EMAIL, Password=PASSWORD)
except cognito.exceptions.UsernameExistsException:
    pass  # signed up the first time you ran this cell
pool = outputs["UserPoolId"]
if cognito.admin_get_user(UserPoolId=pool, Username=EMAIL)["UserStatus"] != "CONFIRMED":
    cognito.admin_confirm_sign_up(UserPoolId=pool, Username=EMAIL)
print(EMAIL, cognito.admin_get_user(UserPoolId=pool, Username=EMAIL)["UserStatus"])

# %% [markdown]
# ## Task: sign in
#
# Complete `sign_in`: call `cognito.initiate_auth` with the app client's id, the flow
# `USER_PASSWORD_AUTH` and `AuthParameters` `{"USERNAME": ..., "PASSWORD": ...}`, and return
# the **ID token**, found at `["AuthenticationResult"]["IdToken"]` in the answer. A user pool
# authorizer accepts the ID token in the `Authorization` header as it is, with no `Bearer `
# in front.

# %% tags=["needs-task"]
def sign_in(email: str, password: str) -> str:
    """The ID token of a confirmed user of the Fixit user pool."""
    # BEGIN SOLUTION
    reply = cognito.initiate_auth(ClientId=outputs["UserPoolClientId"], AuthFlow="USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": email, "PASSWORD": password})
    return reply["AuthenticationResult"]["IdToken"]
    # END SOLUTION


token = sign_in(EMAIL, PASSWORD)

# %% [markdown]
# A token is three base64 parts separated by dots; the middle one holds the **claims**, facts
# about the user that Cognito signed. API Gateway passes them on to your function, in
# `event["requestContext"]["authorizer"]["claims"]`.

# %% tags=["needs-task"]
import base64

payload = token.split(".")[1]
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
print({name: claims[name] for name in ("email", "token_use")})

# %% [markdown]
# ## Try it: ask for the report with your token

# %% tags=["needs-task"]
answer = requests.get(url, headers={"Authorization": token}, timeout=10)
print(answer.status_code, answer.json()["summary"])

# %% [markdown]
# ## Run the checks for this lab
#
# The checks call `GET /reports/{id}` with no token, with a forged token and with the token of
# a user they sign in themselves, and expect `401`, `401` and `200`.

# %% tags=["check"]
from checks import check

check("15")

# %% [markdown]
# ## What you did
#
# The reports API now serves only people who signed in. Cognito keeps the users and issues
# tokens, API Gateway checks them before your function runs, and your function did not change
# at all. The webhook stays open, protected by Twilio's signature: each route has the check
# that fits its caller.
#
# **On real AWS** the confirmation code arrives by email (Cognito's own sender has a small
# daily quota; production pools send through Amazon SES), and a web front end would
# use Cognito's hosted sign-in pages or the Amplify libraries, with SRP so the password never
# leaves the browser. Tokens expire after an hour by default and the refresh token gets new
# ones. A user pool is billed per monthly active user, after a free tier. **On real Twilio**
# nothing changes: the webhook route never had the authorizer.

# %% [markdown]
# ## Clean up: delete everything the workshop created
#
# When you are done with the workshop, delete what it created: the `fixit` stack with its
# functions, tables, API, state machine and user pool, every other stack `gluelab deploy`
# created, the artifacts bucket (emptied first), the functions' log groups and the `/fixit/`
# parameters. Running executions are stopped first, and at the end teardown looks again and
# names anything that is still there.
#
# In a terminal the same is `gluelab teardown` (it lists what it will delete and asks first;
# `--yes` skips the question). On AWS, run it with `GLUELAB_TARGET=aws` to clean your account.
#
# The cell below deletes nothing until you say so: set `DELETE_EVERYTHING = True` in it and
# run it when you have finished. A "Run All" leaves your work in place.

# %% tags=["nbval-ignore-output"]
from gluelab.teardown import teardown

DELETE_EVERYTHING = False  # True deletes the stacks, tables, bucket, logs and parameters
left = teardown() if DELETE_EVERYTHING else None

# %%
if left is None:
    print("Nothing was deleted: set DELETE_EVERYTHING = True in the cell above and run it again.")
else:
    print("Nothing the workshop created is left." if not left else f"Still there: {left}")

# %% [markdown]
# **On real Twilio**, also point your number's messaging webhook away from the deleted API, or
# release the number in the Twilio console if you bought it for the workshop. The local
# stand-in needs nothing: it goes away with the local cloud.
#
# Thank you for building Fixit!
