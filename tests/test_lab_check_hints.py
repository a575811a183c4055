"""A lab check that fails names the mistake it found: newcomers' mistakes in labs 01, 05, 09, 13
and 14 (issue 12), each made in a restored project, deployed, and checked as the attendee would."""
from __future__ import annotations

import contextlib
import io
from contextlib import contextmanager

import pytest
import requests

from checks import lab05, runner
from gluelab import notebooks, twilio_local
from gluelab.deploy import DeployError
from gluelab.config import settings
from gluelab.lab import Lab, plan_before
from gluelab.templates import validate
from gluelab.tryit import TryItFailed, expect, replies
from tests.conftest import running_cloud

ASL = "statemachine/fixit.asl.json"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A cloud and a project folder of the module's own; each test restores the lab it needs.
    (One folder: a stack made from one project folder is never replaced from another.)"""
    with running_cloud(tmp_path_factory.mktemp("hints-cloud")) as handle, \
            pytest.MonkeyPatch.context() as patch:
        for key, value in handle.env().items():
            patch.setenv(key, value)
        patch.setenv("GLUELAB_WORKSPACE", str(tmp_path_factory.mktemp("hints-project")))
        yield settings().workspace


def restored(before: str) -> Lab:
    """The project and cloud as the labs before `before` leave them (going back if an earlier
    test went further: tests run in any order across xdist's workers)."""
    lab = Lab(before, settings())
    lab.restore(echo=lambda line: None, remove=True)
    return lab


@contextmanager
def mistake(lab: Lab, path: str, right: str, wrong: str):
    """The project with `wrong` in place of `right` in `path`, deployed; the file is put back on
    leaving the block (the cloud keeps the wrong version until the next deploy)."""
    file = lab.project / path
    text = file.read_text()
    assert right in text, f"{right!r} is not in {path}"
    file.write_text(text.replace(right, wrong, 1))
    try:
        lab.deploy(echo=lambda line: None)
        yield
    finally:
        file.write_text(text)


def failures(lab_id: str) -> dict[str, runner.Result]:
    return {r.title: r for r in runner.run(lab_id).results if not r.passed}


def solution_cell(lab_id: str, containing: str) -> str:
    """The code of the solution's cell that contains `containing`."""
    [lab] = notebooks.sources(wanted=[lab_id])
    return next(cell.source for cell in notebooks.render(lab)[1].cells if containing in cell.source)


def printed(code: str, names: dict) -> str:
    """What a notebook cell's code prints when it runs with `names` defined."""
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        exec(compile(code, "<cell>", "exec"), dict(names))
    return shown.getvalue()


def test_validate_shows_cfn_lint_warnings_without_failing(tmp_path):
    # cfn-lint on the attendee's machine prints warnings too (W3005: a DependsOn a !Ref implies).
    template = tmp_path / "template.yaml"
    template.write_text(plan_before("01", including=True).files["template.yaml"].replace(
        "Resources:\n", "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n", 1).replace(
        "      CodeUri: functions/receiver/\n",
        "      CodeUri: functions/receiver/\n      Environment:\n        Variables:\n"
        "          TOPIC: !Ref Topic\n    DependsOn: Topic\n", 1))
    (tmp_path / "functions" / "receiver").mkdir(parents=True)
    problems = validate(template)
    assert problems == []
    assert [w.split(":")[0] for w in problems.warnings] == ["cfn-lint W3005 line 27"]  # the DependsOn line
    assert str(problems).splitlines() == ["No errors: the template is valid.",
                                          f"warning: {problems.warnings[0]}"]


def test_lab01_check_invokes_the_receiver_and_names_the_misspelt_key(project):
    lab = restored("02")
    assert failures("01") == {}
    with mistake(lab, "functions/receiver/app.py", '"headers"', '"HEADERS"'):
        failed = failures("01")
    assert list(failed) == ["The deployed receiver answers with a TwiML hello: 200, Content-Type text/xml"]
    result = next(iter(failed.values()))
    assert result.detail == "the answer has the key 'HEADERS', which API Gateway ignores: it reads " \
                            "statusCode, headers and body"
    assert '"headers": {"Content-Type": "text/xml"}' in result.hint


def test_lab02_checks_say_the_handler_returned_no_proxy_answer(project):
    lab = restored("03")
    right = 'return _reply(200, "text/xml", twiml(f"Fixit got your text: {params.get(\'Body\', \'\')}"))'
    with mistake(lab, "functions/receiver/app.py", right, right.replace('_reply(200, "text/xml", ', "(")):
        failed = failures("02")
    # API Gateway's 502 comes with why; the direct invoke's answer is named, not AttributeError.
    posted = failed["POST /sms answers a form with 200 and a TwiML <Message> echoing the text"]
    assert posted.detail.endswith("answered 502: {\"message\": \"Internal server error\"}, and "
                                  "ReceiverFunction logged no error (`gluelab logs ReceiverFunction`)")
    assert posted.hint.startswith("The handler returned something that is not a proxy answer: "
                                  "return a dict with statusCode, headers and a string body, as "
                                  "_reply builds it")
    decoded = failed["A base64-encoded form body is read as well"]
    assert decoded.detail.startswith("the function returned '<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                                     "<Response><Message>Fixit got your text: WATER in base64")
    assert decoded.detail.endswith(", not a proxy answer") and "_reply builds it" in decoded.hint


def test_lab04_try_it_cell_runs_without_the_cells_before_it(project):
    # An attendee who skips the parameter listing above it got NameError: name 'client'.
    restored("05")
    shown = printed(solution_cell("04", "notify_name = "), {})
    assert shown.startswith("FunctionError: none\nstatus: queued | to: ")


@pytest.mark.parametrize("lab_id, function, title, failed", [
    ("01", "receiver", "The deployed receiver answers with a TwiML hello: 200, Content-Type text/xml",
     "the function failed"),
    ("04", "notify", "NotifyFunction starts: its package has the twilio it imports",
     "the function cannot start"),
])
def test_checks_name_a_requirements_txt_that_lacks_twilio(project, lab_id, function, title, failed):
    # A newcomer who skipped a `%reference functions/.../requirements.txt` cell passed every
    # check: the worker borrowed the workshop's twilio. On AWS the function cannot start.
    lab = restored(f"{int(lab_id) + 1:02d}")
    with mistake(lab, f"functions/{function}/requirements.txt", "twilio>=9.0,<10", ""):
        result = failures(lab_id)[title]
    assert result.detail == (f"{failed}: Runtime.ImportModuleError: Unable to import module "
                             f"'app': No module named 'twilio'")
    assert result.hint.startswith(f"Run the `%reference functions/{function}/requirements.txt` cell")


def test_lab05_hints_name_a_key_without_its_dollar_and_a_path_that_names_nothing(project):
    lab = restored("06")
    body = plan_before("06").files[ASL].splitlines()[9].strip()
    assert body.startswith('"body.$": "States.Format(')
    with mistake(lab, ASL, body, '"body": "$.text"'):
        failed = failures("05")
    [result] = failed.values()
    assert result.title == "The reporter got exactly one SMS about the report"
    assert "NotifyReporter sent body as the text '$.text'" in result.hint
    assert "a key that takes a path ends in .$" in result.hint
    # The phone cell says no text about the report arrived, where it raised an IndexError.
    phone = printed(solution_cell("05", "inbox = twilio_local.messages"),
                    {"MY_PHONE": lab05.TEST_HANDSET, "name": lab05._run["name"]})
    assert phone.startswith(f"No text about {lab05._run['name']} reached {lab05.TEST_HANDSET}; "
                            "the newest one says '$.text'. Read the execution's status above")

    with mistake(lab, ASL, '"to.$": "$.reporter"', '"to.$": "$.Reporter"'):
        failed = failures("05")
    # Every check of the failed execution gives the hint that names the path.
    assert len(failed) == 3 and len({result.hint for result in failed.values()}) == 1
    result = failed["An execution with a report as input succeeds"]
    assert result.hint.startswith("In NotifyReporter's Parameters, to.$ takes $.Reporter, which names "
                                  "nothing in the state's input (its fields are category, city, ")
    # The wait cell prints the failed execution's error and cause, where it printed no output.
    waited = printed(solution_cell("05", "wait_for_end(execution_arn)"), {"execution_arn": lab05._run["arn"]})
    assert waited.startswith("FAILED\nerror: ") and "\ncause: " in waited and "$.Reporter" in waited


def test_lab06_try_it_cells_say_why_the_receiver_failed(project):
    lab = restored("07")
    policy = "        - StepFunctionsExecutionPolicy:\n            StateMachineName: !GetAtt FixitStateMachine.Name\n"
    with mistake(lab, "template.yaml", policy, ""):
        # The text cell printed nothing and the next one raised ExecutionDoesNotExist.
        with pytest.raises(TryItFailed, match=r"(?s)^Your text reached no working webhook .*not "
                           r"authorized to perform: states:StartExecution"):
            exec(solution_cell("06", "sent = twilio_local.text_app("), {"outputs": lab.outputs()})
    already = "    except stepfunctions.exceptions.ExecutionAlreadyExists:\n"
    with mistake(lab, "functions/receiver/app.py", already, "    except ValueError:\n"):
        cell = {"outputs": lab.outputs()}
        exec(solution_cell("06", "sent = twilio_local.text_app("), cell)
        exec(solution_cell("06", "execution = sfn.describe_execution("), cell)  # waits for its end
        # (While it runs, StartExecution with the same name and input succeeds, as on AWS.)
        # The second delivery printed "502" and went on.
        with pytest.raises(TryItFailed, match=r"(?s)^The API answered 502, not 200.*ExecutionAlreadyExists"):
            exec(solution_cell("06", "again = requests.post("), cell)


def test_lab08_hints_name_a_table_name_without_ref_and_the_read_policy(project):
    lab = restored("09")
    with mistake(lab, "template.yaml", "COMPANIES_TABLE: !Ref CompaniesTable", "COMPANIES_TABLE: CompaniesTable"):
        failed = failures("08")
        # The try-it cells say what the function answered, where they raised KeyError: 'company'.
        cell = {}
        with pytest.raises(TryItFailed, match=r"^Arrange failed with ClientError: An error occurred "
                           r"\(AccessDeniedException\) when calling the Query operation: .* for "
                           r"\{\"category\": \"LIFT\", \"city\": \"Roma\"\}\. Fix app.py or the template"):
            exec(solution_cell("08", "def arrange("), cell)
    deployed = failed["ArrangeFunction is deployed with the table and index names"]
    assert deployed.detail.startswith("COMPANIES_TABLE is 'CompaniesTable', not the stack's table "
                                      "fixit-CompaniesTable-")
    assert deployed.hint.startswith("Give COMPANIES_TABLE the value !Ref CompaniesTable")
    # The invocations AWS refused name the policy, not choose_company.
    chosen = failed["Arrange returns the expected company for sample reports"]
    assert chosen.detail.startswith("Arrange failed: User: ") and \
        "dynamodb:Query on resource: arn:aws:dynamodb:us-east-1:123456789012:table/CompaniesTable/" \
        "index/ByCategory" in chosen.detail
    assert chosen.hint.startswith("Give ArrangeFunction the policy DynamoDBReadPolicy")
    assert failed["A category nobody serves fails with the error type NoCompanyFound"].hint == chosen.hint

    # A handler that returns the table's item: the try-it cell names it, where it raised KeyError.
    returned = ('return {"companyId": company["id"], "company": company["name"], "phone": '
                'company["phone"],\n            "city": company["city"]}')
    with mistake(lab, "functions/arrange/app.py", returned, "return company"):
        with pytest.raises(TryItFailed, match=r"^Arrange returned \{.*\"name\": \"Elevatori Capitale\".* "
                           r"for \{\"category\": \"LIFT\", \"city\": \"Roma\"\}, not an assignment"):
            exec(solution_cell("08", "def arrange("), {})


def test_lab09_hints_name_the_state_and_field_at_fault(project):
    lab = restored("10")
    first = "The execution output carries the report and the assignment"
    with mistake(lab, ASL, '"ResultPath": "$.assignment",', ""):
        hint = failures("09")[first].hint
    assert "Arrange has no ResultPath, so its result replaced the report" in hint
    with mistake(lab, ASL, '"ResultPath": "$.companyMessage",', ""):
        hint = failures("09")[first].hint
    assert hint.startswith("NotifyCompany has no ResultPath") and '"$.companyMessage"' in hint
    policy = "        - LambdaInvokePolicy:\n            FunctionName: !Ref ArrangeFunction\n"
    with mistake(lab, "template.yaml", policy, ""):
        hint = failures("09")[first].hint
    assert hint.startswith("Arrange failed because the state machine's role may not perform "
                           "lambda:InvokeFunction on arn:aws:lambda:")
    assert "give FixitStateMachine a LambdaInvokePolicy for that function" in hint


def test_lab10_try_it_cells_say_no_apology_came_instead_of_an_index_error(project):
    lab = restored("11")
    caught = '"NoCompanyFound"\n          ],\n          "ResultPath": "$.error"'
    with mistake(lab, ASL, caught, caught.replace("NoCompanyFound", "NoCompanyFoundError")):
        cell = {"outputs": lab.outputs()}
        exec(solution_cell("10", "def report("), cell)
        # Run without the history cell above it, which imported fetch_history (NameError).
        with contextlib.redirect_stdout(io.StringIO()) as shown:
            exec(solution_cell("10", "no_company = report("), cell)
        assert shown.getvalue().startswith("FAILED with NoCompanyFound - ")
        with pytest.raises(TryItFailed, match=r"^No apology about SM\w+ reached you: "
                           r"TellReporterNoCompany did not run\. Check that Arrange's Catch names"):
            exec(solution_cell("10", "apologies = ["), cell)


def test_lab13_and_14_hints_name_the_policy_the_result_path_and_the_functions_log(project):
    lab = restored("15")
    stored = "After a text, its report is in the table named by ReportsTableName"
    policy = "        - DynamoDBWritePolicy:\n            TableName: !Ref ReportsTable\n"
    with mistake(lab, "template.yaml", policy, ""):
        hint = failures("13")[stored].hint
    assert "may not perform dynamodb:PutItem" in hint and "a DynamoDBWritePolicy for that table" in hint
    with mistake(lab, ASL, '      "ResultPath": null,\n      "End": true', '      "End": true'):
        failed = failures("13")
        # The try-it cell says what to fix, where it raised KeyError: 'id'.
        cell = {"outputs": lab.outputs()}
        exec(solution_cell("13", "def report("), cell)
        with pytest.raises(TryItFailed, match=r"The execution's output is \{\}, not the report "
                           r"document: give StoreReport \"ResultPath\": null"):
            exec(solution_cell("13", "document = json.loads("), cell)
    assert list(failed) == [stored]
    assert failed[stored].hint.startswith('Give StoreReport "ResultPath": null')

    # Lab 14: the API answers 502; the reason is in the function's log, which the check shows.
    with mistake(lab, "functions/get_report/app.py", 'Key={"id": report_id}', 'Key={"reportId": report_id}'):
        result = failures("14")["GET /reports/{id} answers 200 with the stored report"]
        with pytest.raises(TryItFailed) as caught:
            expect(requests.get(lab.outputs()["ApiUrl"] + "reports/SM1", timeout=10), 200)
    assert result.detail.startswith("the API answered 502: '{\"message\": \"Internal server error\"}'. "
                                    "Function fixit-GetReportFunction-")
    assert "[ERROR] ClientError: An error occurred (ValidationException) when calling the GetItem " \
           "operation" in result.detail
    assert "(all of it: `gluelab logs GetReportFunction --stack fixit`)" in result.detail
    assert "`gluelab logs GetReportFunction`" in result.hint
    # The try-it cell's helper says the same instead of a KeyError on the 502's body.
    assert str(caught.value).startswith("The API answered 502, not 200, with the body "
                                        "'{\"message\": \"Internal server error\"}'. Function ")
    assert "ValidationException" in str(caught.value)

    # Lab 14's first try-it cell: a text whose webhook failed shows the receiver's logged error.
    with mistake(lab, "functions/receiver/app.py", "def handler(event, context):\n",
                 "def handler(event, context):\n    raise RuntimeError('broken on purpose')\n"):
        sent = twilio_local.text_app("+447700900299", "LIFT stuck", from_city="ROMA")
    with pytest.raises(TryItFailed, match=r"(?s)Your text reached no working webhook \(Twilio error "
                       r"\d+: .*\[ERROR\] RuntimeError: broken on purpose.*gluelab logs "
                       r"ReceiverFunction --stack fixit"):
        replies(sent)


def test_lab13_hints_name_the_table_key_the_item_the_table_name_and_a_next_that_names_nothing(project):
    lab = restored("15")
    stored = "After a text, its report is in the table named by ReportsTableName"
    with mistake(lab, "template.yaml", "PrimaryKey: {Name: id, Type: String}",
                 "PrimaryKey: {Name: reportId, Type: String}"):
        result = failures("13")[stored]
        served = failures("14")["GET /reports/{id} answers 200 with the stored report"]
    assert (result.detail, result.hint) == (
        "the table's key is reportId, not id", "The report document's key field is id: give "
        "ReportsTable PrimaryKey: {Name: id, Type: String} and deploy again.")
    # Lab 14's check names the key too, where it showed DynamoDB's ClientError text.
    assert (served.detail, served.hint) == (result.detail, result.hint)

    item_field = '"summary": {\n            "S.$": "$.summary"\n          },\n'
    with mistake(lab, ASL, item_field, ""):
        result = failures("13")[stored]
    assert result.detail == "the stored item differs from the report document in summary"
    assert result.hint.startswith("StoreReport's Item must hold every field of the document")

    with mistake(lab, ASL, '"S.$": "$.id"', '"S.$": "$.reporter"'):
        result = failures("13")[stored]
    # StoreReport ran: the hint names the Item's id, not a workflow that ended before it.
    assert result.detail.startswith("StoreReport ran, but fixit-ReportsTable-")
    assert result.hint == ("StoreReport's Item must store the document's id under the key id: "
                           "\"id\": {\"S.$\": \"$.id\"}. Fix it and deploy again.")

    with mistake(lab, ASL, '"TableName": "${ReportsTableName}"', '"TableName": "ReportsTable"'):
        result = failures("13")[stored]
    # The role's AccessDenied on table/ReportsTable would point at the policy, which is right.
    assert result.detail.startswith("StoreReport's TableName is 'ReportsTable', not the Reports "
                                    "table fixit-ReportsTable-")
    assert result.hint.startswith("Give StoreReport \"TableName\": \"${ReportsTableName}\"")

    # A Next that names no state is refused at deploy in Step Functions' words, naming the
    # field; the checks then say that the cloud still runs the previous version.
    with pytest.raises(DeployError, match=r"MISSING_TRANSITION_TARGET: Missing 'Next' target: "
                       r"StoreReports at /States/Glue/Next"):
        with mistake(lab, ASL, '"Next": "StoreReport"', '"Next": "StoreReports"'):
            pass
    # (The cloud still runs the TableName mistake above: no check may judge it.)
    failed = failures("13")
    assert len(failed) == 3 and {(result.detail.split(" (")[0], result.hint) for result in failed.values()} \
        == {("Not checking: your last deploy failed", "Do what the reason says first, then run the checks again.")}
    lab.deploy(echo=lambda line: None)  # the file is back: what the next test finds


def test_lab14_hint_says_a_return_that_is_no_proxy_answer_is_one(project):
    lab = restored("15")
    with mistake(lab, "functions/get_report/app.py", "return _json(200, item)", "return item"):
        result = failures("14")["GET /reports/{id} answers 200 with the stored report"]
    # API Gateway answers 502 and the function logged nothing: the hint names the answer's shape.
    assert result.detail == ("the API answered 502: '{\"message\": \"Internal server error\"}', and "
                             "GetReportFunction logged no error (`gluelab logs GetReportFunction`)")
    assert result.hint.startswith("The handler returned something that is not a proxy answer: "
                                  "return a dict with statusCode, headers and a string body")
