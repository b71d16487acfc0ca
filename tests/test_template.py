"""Structure of template.yaml after the SAM transform: what the code, the regulators and the
security review rely on. The linters and checkov run in test_template_gates.py."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from pv.config import ENV_VARS
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
SAMCONFIG = ROOT / "samconfig.toml"
CODE = ROOT / "functions" / "pv"
REGION = "eu-west-1"
ENDPOINT = "pv-ae-classifier-test"

# Which function needs which of config.ENV_VARS (the Settings are shared, so the code cannot say).
GLOBAL_VARS = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE",
    "POWERTOOLS_TRACER_CAPTURE_ERROR",
    "LOG_LEVEL",
    "STAGE",
    "PYDANTIC_DISABLE_PLUGINS",
}
FUNCTION_VARS = {
    "ScreenFunction": {
        "INTAKE_BUCKET",
        "SCREENINGS_TABLE",
        "CASE_QUEUE_URL",
        "CLASSIFIER_ENDPOINT_NAME",
        "CLASSIFIER_THRESHOLD",
        "CLASSIFIER_BATCH_SIZE",
        "CLASSIFIER_TIMEOUT_S",
        "CLASSIFIER_MAX_ATTEMPTS",
        "MAX_DOCUMENT_BYTES",
    },
    "CaseFunction": {
        "INTAKE_BUCKET",
        "CASES_TABLE",
        "CASE_DRUGS_TABLE",
        "IDEMPOTENCY_TABLE",
        "SAFETY_ALERTS_TOPIC_ARN",
        "EXTRACTOR_ENDPOINT_NAME",
        "SUMMARIZER_ENDPOINT_NAME",
        "PHRASE_MAPPER_ENDPOINT_NAME",
        "MEDDRA_BUCKET",
        "MEDDRA_PREFIX",
        "PRODUCT_LABELS_KEY",
        "DUE_DATE_RULES",
        "MATCH_KEYS_TABLE",
        "MATCH_KEY_ID",
        "E2B_SENDER_ORGANIZATION",
        "E2B_SENDER_IDENTIFIER",
        "E2B_SENDER_COUNTRY",
        "E2B_RECEIVER_IDENTIFIER",
    },
    "ReconcileFunction": {
        "INTAKE_BUCKET",
        "SCREENINGS_TABLE",
        "CASES_TABLE",
        "RECONCILE_LOOKBACK_MINUTES",
        "RECONCILE_GRACE_MINUTES",
    },
    "ReviewFunction": {
        "INTAKE_BUCKET",
        "CASES_TABLE",
        "CASE_DRUGS_TABLE",
        "AUDIT_TABLE",
        "USER_POOL_CLIENT_ID",
        "MEDDRA_BUCKET",
        "MEDDRA_PREFIX",
        "PHRASE_MAPPER_ENDPOINT_NAME",
        "PRODUCT_LABELS_KEY",
        "E2B_SENDER_ORGANIZATION",
        "E2B_SENDER_IDENTIFIER",
        "E2B_SENDER_COUNTRY",
        "E2B_RECEIVER_IDENTIFIER",
    },
}
# Set by the Lambda runtime itself (or read by the AWS SDK), never by the template.
RUNTIME_VAR_PREFIXES = ("AWS_", "_X_AMZN_", "LAMBDA_", "_HANDLER")
# Read by the code but set only by the local stack: in Lambda the package's own lexicon is read.
LOCAL_ONLY_VARS = {"PV_LEXICON_CACHE"}

DATA_SERVICES = ("s3", "dynamodb", "sqs", "sns", "kms", "sagemaker")
# AWS-managed policies a function role may carry: X-Ray has no resource-level permissions.
ALLOWED_MANAGED_POLICIES = {"arn:${AWS::Partition}:iam::aws:policy/AWSXrayWriteOnlyAccess"}

DATA_KEY_REFS = ({"Ref": "DataKey"}, {"Fn::GetAtt": ["DataKey", "Arn"]})
ENV_READ = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|environ\.get|getenv)\(\s*["']([A-Z][A-Z0-9_]*)["']"""
    r"""|os\.environ\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]"""
)


# ------------------------------------------------------------------------------------- helpers


def sam_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as written (short tags turned into intrinsic-function maps)."""
    return yaml_parse(path.read_text(encoding="utf-8"))


def sam_translate(path: Path = TEMPLATE, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """The CloudFormation that the SAM transform makes of a template, offline.

    Local CodeUri paths become an S3 location first, as `sam package` would make them.
    """
    body = sam_template(path)
    for props in [body.get("Globals", {}).get("Function", {})] + [
        r.get("Properties", {})
        for r in body["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    ]:
        if isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = "s3://pv-artifacts/functions.zip"
    values = {"ClassifierEndpointName": ENDPOINT, **(parameters or {})}
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    return translator.translate(body, parameter_values=values, get_managed_policy_map=lambda: {})


def with_conditions(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """The template with Conditions evaluated for the parameters: conditional resources dropped
    and Fn::If resolved (only the Equals/Not/And/Or-on-parameters forms this template uses)."""
    from pv_local.ops import condition_holds, parameter_values

    values = parameter_values(template, parameters)
    conditions = template.get("Conditions", {})
    truth = {name: condition_holds(expr, values, conditions) for name, expr in conditions.items()}
    dropped = object()

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Fn::If"}:
                name, yes, no = value["Fn::If"]
                return walk(yes if truth[name] else no)
            if value == {"Ref": "AWS::NoValue"}:
                return dropped
            out = {k: walk(v) for k, v in value.items()}
            return {k: v for k, v in out.items() if v is not dropped}
        if isinstance(value, list):
            return [w for w in (walk(v) for v in value) if w is not dropped]
        return value

    resolved = copy.deepcopy(template)
    resolved.pop("Conditions", None)
    resolved["Resources"] = {
        rid: {k: walk(v) for k, v in res.items() if k != "Condition"}
        for rid, res in template["Resources"].items()
        if "Condition" not in res or truth[res["Condition"]]
    }
    return resolved


def resources(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    """Properties of every resource of a type, by logical id."""
    return {
        rid: res.get("Properties", {}) for rid, res in template["Resources"].items() if res["Type"] == type_
    }


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(role or policy id, statement) for every IAM statement, both branches of any Fn::If."""

    def flat(items: Any) -> Iterator[dict[str, Any]]:
        for item in as_list(items):
            if isinstance(item, dict) and set(item) == {"Fn::If"}:
                yield from flat([b for b in item["Fn::If"][1:] if b != {"Ref": "AWS::NoValue"}])
            else:
                yield item

    for rid, props in resources(template, "AWS::IAM::Role").items():
        for policy in props.get("Policies", []):
            for st in flat(policy["PolicyDocument"]["Statement"]):
                yield rid, st
    for type_ in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for rid, props in resources(template, type_).items():
            for st in flat(props["PolicyDocument"]["Statement"]):
                yield rid, st


def env_reads_in_code() -> set[str]:
    """Names of environment variables read with a literal name anywhere in functions/pv."""
    found: set[str] = set()
    for path in CODE.rglob("*.py"):
        for match in ENV_READ.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) or match.group(2))
    return {name for name in found if not name.startswith(RUNTIME_VAR_PREFIXES)}


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    return sam_translate()


def _function_of(mapping: dict[str, Any]) -> str:
    return mapping["FunctionName"]["Ref"]


def _queue_of(arn: Any) -> str:
    assert arn["Fn::GetAtt"][1] == "Arn", arn
    return arn["Fn::GetAtt"][0]


# ------------------------------------------------------------------------------- environment


def test_env_scanner_finds_every_form_of_reading_a_variable(tmp_path: Path) -> None:
    """The scanner below must see os.environ[...], os.environ.get(...) and os.getenv(...)."""
    text = 'a = os.environ["ONE"]\nb = os.environ.get("TWO", "")\nc = os.getenv(\'THREE\')\n'
    assert {m.group(1) or m.group(2) for m in ENV_READ.finditer(text)} == {"ONE", "TWO", "THREE"}


def test_every_environment_variable_the_code_reads_is_set_on_the_functions_that_need_it(cfn) -> None:
    """ENV_VARS and any literal read in functions/pv are covered; each function gets exactly its set."""
    read = set(ENV_VARS) | env_reads_in_code() - LOCAL_ONLY_VARS
    assigned = set().union(*FUNCTION_VARS.values()) | GLOBAL_VARS
    assert read - assigned == set(), (
        "the code reads variables no function is given; set them in template.yaml on the function "
        "that reads them and add them to FUNCTION_VARS"
    )
    functions = resources(cfn, "AWS::Lambda::Function")
    assert set(functions) == set(FUNCTION_VARS)
    for name, expected in FUNCTION_VARS.items():
        assert set(functions[name]["Environment"]["Variables"]) == expected | GLOBAL_VARS, name


def test_function_environment_points_at_the_templates_own_resources(cfn) -> None:
    """No hard-coded names: the variables reference the stack's resources and parameters."""
    screen = resources(cfn, "AWS::Lambda::Function")["ScreenFunction"]["Environment"]["Variables"]
    case = resources(cfn, "AWS::Lambda::Function")["CaseFunction"]["Environment"]["Variables"]
    assert screen["INTAKE_BUCKET"] == {"Ref": "IntakeBucket"}
    assert screen["SCREENINGS_TABLE"] == {"Ref": "ScreeningsTable"}
    assert "IDEMPOTENCY_TABLE" not in screen  # ScreenFunction uses no Idempotency
    assert screen["CASE_QUEUE_URL"] == {"Ref": "CaseQueue"}
    assert screen["CLASSIFIER_ENDPOINT_NAME"] == {"Ref": "ClassifierEndpointName"}
    assert screen["CLASSIFIER_THRESHOLD"] == {"Ref": "ClassifierThreshold"}
    assert screen["CLASSIFIER_BATCH_SIZE"] == {"Ref": "ClassifierBatchSize"}
    assert screen["MAX_DOCUMENT_BYTES"] == {"Ref": "MaxDocumentBytes"}
    assert case["CASES_TABLE"] == {"Ref": "CasesTable"}
    assert case["SAFETY_ALERTS_TOPIC_ARN"] == {"Ref": "SafetyAlertsTopic"}
    assert case["EXTRACTOR_ENDPOINT_NAME"] == {"Ref": "ExtractorEndpointName"}
    assert case["SUMMARIZER_ENDPOINT_NAME"] == {"Ref": "SummarizerEndpointName"}
    assert screen["STAGE"] == case["STAGE"] == {"Ref": "Stage"}
    assert screen["POWERTOOLS_METRICS_NAMESPACE"] == "PharmacovigilanceIntake"


def test_functions_follow_the_runtime_contract() -> None:
    """Handlers, runtime, code location and active tracing that the local stack and Lambda use."""
    body = sam_template()
    globals_ = body["Globals"]["Function"]
    assert body["Transform"] == "AWS::Serverless-2016-10-31"
    assert globals_["Runtime"] == "python3.12"
    assert globals_["CodeUri"] == "functions/"
    assert globals_["Tracing"] == "Active"
    # Traces without personal data (finding 7 of issue 15): no handler response or exception text.
    env = globals_["Environment"]["Variables"]
    assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == env["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false"
    handlers = {rid: props["Handler"] for rid, props in resources(body, "AWS::Serverless::Function").items()}
    assert handlers == {
        "ScreenFunction": "pv.handlers.screen.handler",
        "CaseFunction": "pv.handlers.case.handler",
        "ReviewFunction": "pv.handlers.review.handler",
        "ReconcileFunction": "pv.handlers.reconcile.handler",
    }
    for props in resources(body, "AWS::Serverless::Function").values():
        assert "CodeUri" not in props and "Runtime" not in props


# ------------------------------------------------------------------------------ least privilege


def test_no_iam_statement_grants_a_data_action_on_every_resource(cfn) -> None:
    """s3/dynamodb/sqs/sns/kms/sagemaker actions name their resources; no wildcard data actions."""
    offending = []
    for rid, st in statements(cfn):
        actions = as_list(st.get("Action", []))
        assert "NotAction" not in st and "NotResource" not in st, (rid, st)
        data = [a for a in actions if a == "*" or a.split(":", 1)[0] in DATA_SERVICES]
        if not data or st["Effect"] != "Allow":
            continue
        if any(a == "*" or a.endswith(":*") for a in data) or "*" in as_list(st["Resource"]):
            offending.append((rid, st.get("Sid"), data))
    assert offending == []


def test_function_roles_carry_no_aws_managed_policy_with_data_access(cfn) -> None:
    """SAM's SQS event source adds AWSLambdaSQSQueueExecutionRole (sqs on "*") to roles it makes;
    the functions use the template's own roles, and those only carry the X-Ray policy."""
    roles = resources(cfn, "AWS::IAM::Role")
    scheduler = roles.pop("ReconcileSchedulerRole")
    assert set(roles) == {
        "ScreenFunctionRole",
        "CaseFunctionRole",
        "ReviewFunctionRole",
        "ReconcileFunctionRole",
    }
    for rid, props in roles.items():
        managed = {arn["Fn::Sub"] if isinstance(arn, dict) else arn for arn in props["ManagedPolicyArns"]}
        assert managed <= ALLOWED_MANAGED_POLICIES, rid
        assert props["AssumeRolePolicyDocument"]["Statement"] == [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]
    functions = resources(cfn, "AWS::Lambda::Function")
    assert {rid: f["Role"] for rid, f in functions.items()} == {
        "ScreenFunction": {"Fn::GetAtt": ["ScreenFunctionRole", "Arn"]},
        "CaseFunction": {"Fn::GetAtt": ["CaseFunctionRole", "Arn"]},
        "ReviewFunction": {"Fn::GetAtt": ["ReviewFunctionRole", "Arn"]},
        "ReconcileFunction": {"Fn::GetAtt": ["ReconcileFunctionRole", "Arn"]},
    }
    # The schedule's role: this account's EventBridge Scheduler may invoke ReconcileFunction, nothing else.
    assert "ManagedPolicyArns" not in scheduler
    (trust,) = scheduler["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert _grants(cfn, "ReconcileSchedulerRole") == {
        "lambda:InvokeFunction": [{"Fn::GetAtt": ["ReconcileFunction", "Arn"]}]
    }


def _grants(template: dict[str, Any], role: str) -> dict[str, list[Any]]:
    """action -> resources granted to a role."""
    granted: dict[str, list[Any]] = {}
    for rid, st in statements(template):
        if rid == role and st["Effect"] == "Allow":
            for action in as_list(st["Action"]):
                granted.setdefault(action, []).extend(as_list(st["Resource"]))
    return granted


def _endpoint_arn(parameter: str) -> dict[str, str]:
    return {
        "Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint/"
        + "${"
        + parameter
        + "}"
    }


def test_screen_function_may_write_only_parsed_documents_and_invoke_only_the_classifier(cfn) -> None:
    grants = _grants(cfn, "ScreenFunctionRole")
    assert grants["s3:PutObject"] == [{"Fn::Sub": "${IntakeBucket.Arn}/parsed/*"}]
    assert grants["s3:GetObject"] == [{"Fn::Sub": "${IntakeBucket.Arn}/*"}]
    assert grants["sagemaker:InvokeEndpoint"] == [_endpoint_arn("ClassifierEndpointName")]
    assert grants["kms:Decrypt"] == grants["kms:GenerateDataKey"] == [{"Fn::GetAtt": ["DataKey", "Arn"]}]
    assert grants["sqs:SendMessage"] == [{"Fn::GetAtt": ["CaseQueue", "Arn"]}]
    assert sorted(r["Fn::GetAtt"][0] for r in grants["sqs:ReceiveMessage"]) == ["IntakeQueue", "SocialQueue"]
    assert grants["dynamodb:PutItem"] == [{"Fn::GetAtt": ["ScreeningsTable", "Arn"]}]
    assert not [a for a in grants if a.startswith("sns:")]
    # No Idempotency in ScreenFunction (finding 8 of issue 15): no grant on its table.
    assert not [r for rs in grants.values() for r in rs if "IdempotencyTable" in json.dumps(r)]


def test_case_function_reads_only_parsed_documents_and_invokes_optional_endpoints_only_when_named(
    cfn,
) -> None:
    defaults = _grants(with_conditions(cfn, {}), "CaseFunctionRole")
    assert defaults["s3:GetObject"] == [{"Fn::Sub": "${IntakeBucket.Arn}/parsed/*"}]
    assert "s3:PutObject" not in defaults
    assert "sagemaker:InvokeEndpoint" not in defaults
    assert defaults["sns:Publish"] == [{"Ref": "SafetyAlertsTopic"}]
    assert defaults["sqs:ReceiveMessage"] == [{"Fn::GetAtt": ["CaseQueue", "Arn"]}]
    assert "sqs:SendMessage" not in defaults

    extractor = _grants(with_conditions(cfn, {"ExtractorEndpointName": "pv-extractor"}), "CaseFunctionRole")
    assert extractor["sagemaker:InvokeEndpoint"] == [_endpoint_arn("ExtractorEndpointName")]
    both = _grants(
        with_conditions(cfn, {"ExtractorEndpointName": "pv-extractor", "SummarizerEndpointName": "pv-sum"}),
        "CaseFunctionRole",
    )
    assert both["sagemaker:InvokeEndpoint"] == [
        _endpoint_arn("ExtractorEndpointName"),
        _endpoint_arn("SummarizerEndpointName"),
    ]


def test_functions_that_code_reactions_invoke_the_phrase_mapper_only_when_named(cfn) -> None:
    """CaseFunction codes new events and ReviewFunction corrected ones with one MedDRA coder, whose
    last step asks the phrase mapper for the nearest term: both may invoke it, and only when named."""
    for role in ("CaseFunctionRole", "ReviewFunctionRole"):
        assert "sagemaker:InvokeEndpoint" not in _grants(with_conditions(cfn, {}), role), role
        named = _grants(with_conditions(cfn, {"PhraseMapperEndpointName": "pv-phrases"}), role)
        assert named["sagemaker:InvokeEndpoint"] == [_endpoint_arn("PhraseMapperEndpointName")], role
    for function in ("CaseFunction", "ReviewFunction"):
        variables = cfn["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert variables["PHRASE_MAPPER_ENDPOINT_NAME"] == {"Ref": "PhraseMapperEndpointName"}


def test_review_function_writes_only_icsr_exports_and_reads_meddra_only_when_named(cfn) -> None:
    """GET /cases/{case_id}/e2b puts under e2b/ only; the term picker reads the release's prefix
    (and the labels' key) only when the stack names them, like CaseFunction."""
    defaults = _grants(with_conditions(cfn, {}), "ReviewFunctionRole")
    assert defaults["s3:PutObject"] == [{"Fn::Sub": "${IntakeBucket.Arn}/e2b/*"}]
    assert defaults["s3:GetObject"] == [{"Fn::Sub": "${IntakeBucket.Arn}/parsed/*"}]
    assert defaults["kms:GenerateDataKey"] == [{"Fn::GetAtt": ["DataKey", "Arn"]}]  # SSE-KMS puts
    options = {"MeddraPrefix": "meddra/27_1/", "ProductLabelsKey": "labels/products.json"}
    for extra, bucket in (
        ({}, "${IntakeBucket.Arn}"),
        ({"MeddraBucket": "pv-ref"}, "arn:${AWS::Partition}:s3:::${MeddraBucket}"),
    ):
        chosen = {**options, **extra}
        grants = {
            role: _grants(with_conditions(cfn, chosen), role)["s3:GetObject"]
            for role in ("CaseFunctionRole", "ReviewFunctionRole")
        }
        for role, resources_read in grants.items():
            assert resources_read[1:] == [
                {"Fn::Sub": f"{bucket}/${{MeddraPrefix}}*"},
                {"Fn::Sub": f"{bucket}/${{ProductLabelsKey}}"},
            ], role


# What each function's code calls on its tables (pv.adapters.stores, pv.adapters.case_store,
# pv.adapters.review_store; checked against the boto calls in functions/pv): a grant beyond it
# is an over-grant (finding 8 of issue 15).
TABLE_CALLS = {
    "ScreenFunctionRole": {
        "ScreeningsTable": {
            "dynamodb:GetItem",
            "dynamodb:BatchGetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        },
    },
    "CaseFunctionRole": {
        # CaseStore.get / create (a put or a transaction of puts) / mark_alert_sent; no Query.
        "CasesTable": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
        "CaseDrugsTable": {"dynamodb:PutItem"},
        "IdempotencyTable": {
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem",
        },
        "MatchKeysTable": {"dynamodb:Query", "dynamodb:PutItem", "dynamodb:BatchWriteItem"},
    },
}


def test_function_roles_grant_on_tables_only_what_the_code_calls(cfn) -> None:
    """No ConditionCheckItem anywhere (no transaction holds a ConditionCheck), no idempotency grant
    for ScreenFunction, no Query on the Cases table or its indexes for CaseFunction (only the CLI
    lists cases, with its own credentials)."""
    for role, expected in TABLE_CALLS.items():
        granted: dict[str, set[str]] = {}
        for action, targets in _grants(cfn, role).items():
            for target in targets:
                text = json.dumps(target)
                for table in resources(cfn, "AWS::DynamoDB::Table"):
                    if f'"{table}' in text:
                        granted.setdefault(table, set()).add(action)
                        assert "/index/" not in text or table != "CasesTable", (role, text)
        assert granted == expected, role
    assert not [st for _, st in statements(cfn) if "dynamodb:ConditionCheckItem" in as_list(st["Action"])]


def test_roles_use_the_data_key_only_through_the_services_that_hold_their_data(cfn) -> None:
    """kms:ViaService on every role grant of the data key: S3, SQS, DynamoDB, SNS as each function
    uses them, and Lambda, which decrypts the function's environment with its role."""
    via = {}
    for rid, st in statements(cfn):
        if st.get("Resource") == {"Fn::GetAtt": ["DataKey", "Arn"]}:
            via[rid] = {
                s["Fn::Sub"].split(".", 1)[0] for s in st["Condition"]["StringEquals"]["kms:ViaService"]
            }
            assert all(
                s["Fn::Sub"].endswith(".${AWS::Region}.amazonaws.com")
                for s in st["Condition"]["StringEquals"]["kms:ViaService"]
            )
    assert via == {
        "ScreenFunctionRole": {"s3", "sqs", "dynamodb", "lambda"},
        "CaseFunctionRole": {"s3", "sqs", "dynamodb", "sns", "lambda"},
        "ReviewFunctionRole": {"s3", "dynamodb", "lambda"},
        "ReconcileFunctionRole": {"dynamodb", "lambda"},
    }


def test_key_policy_lets_services_act_only_for_this_account(cfn) -> None:
    """S3 and CloudWatch may use the data key for this account's bucket and alarms only
    (aws:SourceAccount and aws:SourceArn); CloudWatch Logs for this stack's log groups (the
    encryption context it documents for this); DynamoDB may only describe it."""
    by_service = {}
    for st in resources(cfn, "AWS::KMS::Key")["DataKey"]["KeyPolicy"]["Statement"]:
        service = st["Principal"].get("Service")
        if service:
            by_service[service["Fn::Sub"] if isinstance(service, dict) else service] = st
    for service in ("s3.amazonaws.com", "cloudwatch.amazonaws.com"):
        condition = by_service[service]["Condition"]
        assert condition["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}, service
        assert "aws:SourceArn" in json.dumps(condition), service
    alarms = by_service["cloudwatch.amazonaws.com"]["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    assert alarms == "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"
    logs = by_service["logs.${AWS::Region}.amazonaws.com"]["Condition"]["ArnLike"]
    assert (
        "${AWS::AccountId}:log-group:/pv-intake/${AWS::StackName}/"
        in logs["kms:EncryptionContext:aws:logs:arn"]["Fn::Sub"]
    )
    assert by_service["dynamodb.amazonaws.com"]["Action"] == "kms:DescribeKey"


def test_endpoint_name_parameters_accept_only_lowercase_names() -> None:
    """SageMaker lowercases endpoint names in ARNs: an uppercase name would never match the policy."""
    params = sam_template()["Parameters"]
    classifier = params["ClassifierEndpointName"]["AllowedPattern"]
    assert re.fullmatch(classifier, "pv-ae-classifier-prod")
    assert not re.fullmatch(classifier, "PV-AE-Classifier")
    assert not re.fullmatch(classifier, "")
    for name in ("ExtractorEndpointName", "SummarizerEndpointName"):
        assert params[name]["Default"] == ""
        assert re.fullmatch(params[name]["AllowedPattern"], "")
        assert re.fullmatch(params[name]["AllowedPattern"], "pv-extractor")
        assert not re.fullmatch(params[name]["AllowedPattern"], "Extractor")


def test_classifier_threshold_accepts_only_numbers_between_zero_and_one() -> None:
    pattern = sam_template()["Parameters"]["ClassifierThreshold"]["AllowedPattern"]
    assert [v for v in ("0", "0.5", "0.95", "1", "1.0") if re.fullmatch(pattern, v)] == [
        "0",
        "0.5",
        "0.95",
        "1",
        "1.0",
    ]
    assert [v for v in ("1.5", "-0.1", "abc", "", ".5", "2") if re.fullmatch(pattern, v)] == []


# ------------------------------------------------------------------------------- encryption


def test_every_table_queue_topic_log_group_and_the_bucket_are_encrypted_with_the_data_key(cfn) -> None:
    tables = resources(cfn, "AWS::DynamoDB::Table")
    queues = resources(cfn, "AWS::SQS::Queue")
    topics = resources(cfn, "AWS::SNS::Topic")
    buckets = resources(cfn, "AWS::S3::Bucket")
    log_groups = resources(cfn, "AWS::Logs::LogGroup")
    functions = resources(cfn, "AWS::Lambda::Function")
    assert (len(tables), len(queues), len(topics), len(buckets), len(log_groups)) == (6, 6, 2, 1, 5)
    for props in tables.values():
        assert props["SSESpecification"] == {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": {"Ref": "DataKey"},
        }
    for props in [*queues.values(), *topics.values()]:
        assert props["KmsMasterKeyId"] in DATA_KEY_REFS
    for props in buckets.values():
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["BucketKeyEnabled"] is True
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] in DATA_KEY_REFS
    for props in [*log_groups.values(), *functions.values()]:
        assert props.get("KmsKeyId", props.get("KmsKeyArn")) in DATA_KEY_REFS


def test_data_key_rotates_and_its_policy_names_only_the_account_and_the_services_using_it(cfn) -> None:
    key = resources(cfn, "AWS::KMS::Key")["DataKey"]
    assert key["EnableKeyRotation"] is True
    principals = [st["Principal"] for st in key["KeyPolicy"]["Statement"]]
    services = {
        p["Service"]["Fn::Sub"] if isinstance(p["Service"], dict) else p["Service"]
        for p in principals
        if "Service" in p
    }
    assert services == {
        "s3.amazonaws.com",
        "cloudwatch.amazonaws.com",
        "dynamodb.amazonaws.com",
        "logs.${AWS::Region}.amazonaws.com",
    }
    accounts = [p["AWS"] for p in principals if "AWS" in p]
    assert accounts and all(
        a == {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"} for a in accounts
    )
    assert "*" not in principals and {"AWS": "*"} not in principals
    assert resources(cfn, "AWS::KMS::Alias")["DataKeyAlias"]["TargetKeyId"] == {"Ref": "DataKey"}


def test_services_writing_into_encrypted_resources_may_use_the_key(cfn) -> None:
    """S3 notifies an encrypted queue, alarms publish to an encrypted topic and CloudWatch Logs
    writes encrypted log groups: without a key policy grant each of these fails in AWS only."""
    key = resources(cfn, "AWS::KMS::Key")["DataKey"]
    grants = {}
    for st in key["KeyPolicy"]["Statement"]:
        service = st["Principal"].get("Service")
        if service:
            grants[service["Fn::Sub"] if isinstance(service, dict) else service] = st
    for service in ("s3.amazonaws.com", "cloudwatch.amazonaws.com"):
        assert {"kms:GenerateDataKey", "kms:Decrypt"} <= set(as_list(grants[service]["Action"])), service
    logs = grants["logs.${AWS::Region}.amazonaws.com"]
    assert {"kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"} <= set(logs["Action"])
    allowed_groups = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]["Fn::Sub"]
    prefix = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
    assert allowed_groups.startswith(prefix) and allowed_groups.endswith("/*")
    for group in resources(cfn, "AWS::Logs::LogGroup").values():
        assert group["LogGroupName"]["Fn::Sub"].startswith(allowed_groups[len(prefix) : -1])

    bucket = resources(cfn, "AWS::S3::Bucket")["IntakeBucket"]
    notified = {_queue_of(q["Queue"]) for q in bucket["NotificationConfiguration"]["QueueConfigurations"]}
    alarm_topics = {
        action["Ref"]
        for alarm in resources(cfn, "AWS::CloudWatch::Alarm").values()
        for action in alarm["AlarmActions"]
    }
    queues, topics = resources(cfn, "AWS::SQS::Queue"), resources(cfn, "AWS::SNS::Topic")
    assert {queues[q]["KmsMasterKeyId"]["Ref"] for q in notified} == {"DataKey"}
    assert {topics[t]["KmsMasterKeyId"]["Ref"] for t in alarm_topics} == {"DataKey"}


def test_each_function_logs_to_its_own_retained_log_group_and_may_write_only_there(cfn) -> None:
    functions = resources(cfn, "AWS::Lambda::Function")
    groups = resources(cfn, "AWS::Logs::LogGroup")
    own = {rid: f["LoggingConfig"]["LogGroup"]["Ref"] for rid, f in functions.items()}
    assert own == {
        "ScreenFunction": "ScreenLogGroup",
        "CaseFunction": "CaseLogGroup",
        "ReviewFunction": "ReviewLogGroup",
        "ReconcileFunction": "ReconcileLogGroup",
    }
    for rid, group in own.items():
        assert groups[group]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        logs = {a: r for a, r in _grants(cfn, f"{rid}Role").items() if a.startswith("logs:")}
        assert logs == {
            "logs:CreateLogStream": [{"Fn::GetAtt": [group, "Arn"]}],
            "logs:PutLogEvents": [{"Fn::GetAtt": [group, "Arn"]}],
        }
    retention = sam_template()["Parameters"]["LogRetentionDays"]
    assert min(retention["AllowedValues"]) >= 365


def test_data_stores_and_the_key_survive_stack_deletion_and_replacement(cfn) -> None:
    """Case and screening records are regulatory records; without the key they are unreadable."""
    kept = {
        rid
        for rid, res in cfn["Resources"].items()
        if res.get("DeletionPolicy") == "RetainExceptOnCreate" and res.get("UpdateReplacePolicy") == "Retain"
    }
    # RetainExceptOnCreate: a stack whose creation rolls back deletes them, so the next create
    # meets no leftover (finding 10 of issue 15); once created they outlive the stack.
    assert {res.get("DeletionPolicy") for res in cfn["Resources"].values()} <= {None, "RetainExceptOnCreate"}
    assert kept == {
        "DataKey",
        "IntakeBucket",
        "ScreeningsTable",
        "CasesTable",
        "IdempotencyTable",
        "AuditTable",
        "MatchKeysTable",
        "MatchKey",
    }


# ------------------------------------------------------------------------------------ bucket


def test_intake_bucket_denies_insecure_transport_and_blocks_public_access(cfn) -> None:
    bucket = resources(cfn, "AWS::S3::Bucket")["IntakeBucket"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (policy,) = resources(cfn, "AWS::S3::BucketPolicy").values()
    assert policy["Bucket"] == {"Ref": "IntakeBucket"}
    assert {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [{"Fn::GetAtt": ["IntakeBucket", "Arn"]}, {"Fn::Sub": "${IntakeBucket.Arn}/*"}],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    } in policy["PolicyDocument"]["Statement"]
    assert [st for st in policy["PolicyDocument"]["Statement"] if st["Effect"] == "Allow"] == []


def test_intake_bucket_expires_noncurrent_versions(cfn) -> None:
    rules = resources(cfn, "AWS::S3::Bucket")["IntakeBucket"]["LifecycleConfiguration"]["Rules"]
    assert [
        r["NoncurrentVersionExpiration"]["NoncurrentDays"] for r in rules if r["Status"] == "Enabled"
    ] == [365]


def test_notifications_send_the_three_channel_prefixes_and_nothing_else_to_the_intake_queue(cfn) -> None:
    bucket = resources(cfn, "AWS::S3::Bucket")["IntakeBucket"]
    config = bucket["NotificationConfiguration"]
    assert set(config) == {"QueueConfigurations"}
    notified = sorted(
        (
            q["Event"],
            _queue_of(q["Queue"]),
            tuple((r["Name"], r["Value"]) for r in q["Filter"]["S3Key"]["Rules"]),
        )
        for q in config["QueueConfigurations"]
    )
    assert notified == [
        ("s3:ObjectCreated:*", "IntakeQueue", (("prefix", "call/"),)),
        ("s3:ObjectCreated:*", "IntakeQueue", (("prefix", "email/"),)),
        ("s3:ObjectCreated:*", "IntakeQueue", (("prefix", "social/"),)),
    ]


STACK_UUID = {"StackUuid": {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}}


def test_intake_queue_policy_lets_only_this_bucket_of_this_account_send(cfn) -> None:
    """The bucket's name is known before it exists (to break the bucket -> queue policy cycle);
    the queue policy and the key policy name the same bucket."""
    body = cfn["Resources"]
    bucket_name = body["IntakeBucket"]["Properties"]["BucketName"]["Fn::Sub"]
    assert bucket_name == ["pv-intake-${AWS::AccountId}-${StackUuid}", STACK_UUID]
    bucket_arn = {"Fn::Sub": ["arn:${AWS::Partition}:s3:::" + bucket_name[0], STACK_UUID]}
    assert body["IntakeBucket"]["DependsOn"] in ("IntakeQueuePolicy", ["IntakeQueuePolicy"])
    policy = body["IntakeQueuePolicy"]["Properties"]
    assert policy["Queues"] == [{"Ref": "IntakeQueue"}]
    allow, deny = policy["PolicyDocument"]["Statement"]
    assert allow == {
        "Sid": "AllowIntakeBucketNotifications",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": {"Fn::GetAtt": ["IntakeQueue", "Arn"]},
        "Condition": {
            "ArnEquals": {"aws:SourceArn": bucket_arn},
            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        },
    }
    assert deny["Sid"] == "DenyInsecureTransport"
    (s3_key_use,) = [
        st
        for st in resources(cfn, "AWS::KMS::Key")["DataKey"]["KeyPolicy"]["Statement"]
        if st["Principal"] == {"Service": "s3.amazonaws.com"}
    ]
    assert s3_key_use["Condition"]["ArnEquals"]["aws:SourceArn"] == bucket_arn


def test_the_bucket_name_is_unique_per_stack_and_a_valid_s3_name() -> None:
    """Not fixed per account, region and stage (finding 10 of issue 15): a second stack of the
    same stage, or a new stack after a failed create, gets a name of its own (its stack id), which
    stays put across updates of the stack."""
    name_sub, variables = sam_template()["Resources"]["IntakeBucket"]["Properties"]["BucketName"]["Fn::Sub"]
    assert variables == STACK_UUID
    names = set()
    for uuid in ("1f3c0a52-8d41-11ef-9b2e-0a8e1c6b7f11", "7e2d9c10-8d41-11ef-a1b3-06f2d4e5a6b7"):
        stack_id = f"arn:aws:cloudformation:ap-southeast-5:123456789012:stack/pv-intake-prod/{uuid}"
        stack_uuid = stack_id.split("/")[2]  # Fn::Select [2, Fn::Split ["/", AWS::StackId]]
        name = name_sub.replace("${AWS::AccountId}", "123456789012").replace("${StackUuid}", stack_uuid)
        # S3 bucket names: lowercase letters, digits, dots and hyphens only, at most 63 characters.
        assert re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", name), name
        names.add(name)
    assert len(names) == 2


def test_queues_and_topics_deny_requests_without_tls_like_the_bucket(cfn) -> None:
    """Every queue and topic has a policy denying any request over plain HTTP."""

    def denies_insecure(statement: dict[str, Any], action: str) -> bool:
        return (
            statement["Effect"] == "Deny"
            and statement["Principal"] == "*"
            and statement["Action"] == action
            and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        )

    queues: set[str] = set()
    for policy in resources(cfn, "AWS::SQS::QueuePolicy").values():
        if any(denies_insecure(st, "sqs:*") for st in policy["PolicyDocument"]["Statement"]):
            queues |= {q["Ref"] for q in policy["Queues"]}
    assert queues == set(resources(cfn, "AWS::SQS::Queue"))
    topics: set[str] = set()
    for policy in resources(cfn, "AWS::SNS::TopicPolicy").values():
        (deny,) = [st for st in policy["PolicyDocument"]["Statement"] if st["Effect"] == "Deny"]
        assert denies_insecure(deny, "sns:Publish")
        topics |= {t["Ref"] for t in policy["Topics"]}
    assert topics == set(resources(cfn, "AWS::SNS::Topic"))
    # The topic policy replaces SNS's default one: alarms of this account may still publish.
    (allow,) = [
        st
        for policy in resources(cfn, "AWS::SNS::TopicPolicy").values()
        for st in policy["PolicyDocument"]["Statement"]
        if st["Effect"] == "Allow"
    ]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Resource"] == {"Ref": "OperationsTopic"}
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


# ------------------------------------------------------------------------ queues and alarms


def _alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm watches (a plain alarm's one, or a metric-math alarm's inputs)."""
    if "MetricName" in alarm:
        return [{k: alarm[k] for k in ("Namespace", "MetricName", "Dimensions")}]
    return [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]


def _alarms_on(cfn: dict[str, Any], namespace: str, metric: str) -> dict[str, dict[str, Any]]:
    """Alarms watching a metric, by the resource in their first dimension."""
    found = {}
    for alarm in resources(cfn, "AWS::CloudWatch::Alarm").values():
        for watched in _alarm_metrics(alarm):
            if (watched["Namespace"], watched["MetricName"]) == (namespace, metric):
                value = watched["Dimensions"][0]["Value"]
                key = (
                    (value.get("Ref") or value.get("Fn::GetAtt", [None])[0])
                    if isinstance(value, dict)
                    else value
                )
                found[key] = alarm
    return found


def test_every_queue_has_a_dead_letter_queue_after_max_receive_count_receives(cfn) -> None:
    queues = resources(cfn, "AWS::SQS::Queue")
    redrive = {
        rid: (
            _queue_of(props["RedrivePolicy"]["deadLetterTargetArn"]),
            props["RedrivePolicy"]["maxReceiveCount"],
        )
        for rid, props in queues.items()
        if "RedrivePolicy" in props
    }
    assert redrive == {
        "IntakeQueue": ("IntakeDLQ", {"Ref": "MaxReceiveCount"}),
        "SocialQueue": ("SocialDLQ", {"Ref": "MaxReceiveCount"}),
        "CaseQueue": ("CaseDLQ", {"Ref": "MaxReceiveCount"}),
    }
    dlqs = {dlq for dlq, _ in redrive.values()}
    assert set(queues) == set(redrive) | dlqs
    assert {queues[d]["MessageRetentionPeriod"] for d in dlqs} == {1209600}
    receives = sam_template()["Parameters"]["MaxReceiveCount"]
    assert 3 <= receives["MinValue"] <= receives["Default"] <= receives["MaxValue"] <= 10


def test_every_new_dead_letter_alarms_not_only_the_first(cfn) -> None:
    """A depth alarm (> 0) fires once and stays in ALARM, so later dead letters are silent
    (finding 5 of issue 15). Each DLQ alarms on the DIFF of its depth: in ALARM for every minute in
    which it gained messages (NumberOfMessagesSent does not count redrive-policy moves)."""
    new_letters = {
        rid: alarm
        for rid, alarm in resources(cfn, "AWS::CloudWatch::Alarm").items()
        if any(m.get("Expression", "").startswith("DIFF(") for m in alarm.get("Metrics", []))
    }
    watched = {}
    for alarm in new_letters.values():
        inputs = {m["Id"]: m for m in alarm["Metrics"] if "MetricStat" in m}
        (expression,) = [m for m in alarm["Metrics"] if m.get("ReturnData")]
        (depth,) = inputs.values()
        assert expression["Expression"] == f"DIFF({depth['Id']})"
        metric = depth["MetricStat"]["Metric"]
        assert (metric["Namespace"], metric["MetricName"]) == (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
        )
        assert depth["MetricStat"]["Period"] == 60
        assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["EvaluationPeriods"]) == (
            "GreaterThanThreshold",
            0,
            1,
        )
        assert alarm["TreatMissingData"] == "notBreaching"
        watched[metric["Dimensions"][0]["Value"]["Fn::GetAtt"][0]] = alarm
    assert set(watched) == {"IntakeDLQ", "SocialDLQ", "CaseDLQ"}


def test_every_queue_alarms_on_the_age_of_its_oldest_message(cfn) -> None:
    aged = _alarms_on(cfn, "AWS/SQS", "ApproximateAgeOfOldestMessage")
    assert set(aged) == set(resources(cfn, "AWS::SQS::Queue"))
    for queue in ("IntakeQueue", "SocialQueue", "CaseQueue"):
        assert aged[queue]["Threshold"] == {"Ref": "QueueAgeAlarmSeconds"}
        assert aged[queue]["Period"] * aged[queue]["EvaluationPeriods"] <= 300
    assert sam_template()["Parameters"]["QueueAgeAlarmSeconds"]["Default"] <= 300


def test_a_failed_message_alarms_within_two_minutes(cfn) -> None:
    """An endpoint outage fails every message without failing an invocation, so Lambda's Errors
    stay at 0 (finding 5 of issue 15): the handlers count FailedMessages, one per failed message,
    under the powertools namespace and service the template gives them, and that alarms at once."""
    env = sam_template()["Globals"]["Function"]["Environment"]["Variables"]
    (alarm,) = _alarms_on(cfn, env["POWERTOOLS_METRICS_NAMESPACE"], "FailedMessages").values()
    assert alarm["Dimensions"] == [{"Name": "service", "Value": env["POWERTOOLS_SERVICE_NAME"]}]
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Sum", 60, 1)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["TreatMissingData"] == "notBreaching"


def test_the_classifier_endpoint_alarms_on_5xx_errors_and_latency(cfn) -> None:
    errors = _alarms_on(cfn, "AWS/SageMaker", "Invocation5XXErrors")
    latency = _alarms_on(cfn, "AWS/SageMaker", "ModelLatency")
    assert set(errors) == set(latency) == {"ClassifierEndpointName"}
    (error_alarm,), (latency_alarm,) = errors.values(), latency.values()
    assert error_alarm["Dimensions"] == [
        {"Name": "EndpointName", "Value": {"Ref": "ClassifierEndpointName"}},
        {"Name": "VariantName", "Value": {"Ref": "ClassifierVariantName"}},
    ]
    assert (error_alarm["Period"], error_alarm["EvaluationPeriods"], error_alarm["Threshold"]) == (60, 1, 0)
    # ModelLatency is in microseconds; the alarm compares milliseconds with its parameter.
    (expression,) = [m for m in latency_alarm["Metrics"] if m.get("ReturnData")]
    assert expression["Expression"].endswith("/ 1000")
    assert latency_alarm["Threshold"] == {"Ref": "ModelLatencyAlarmMs"}


def test_every_topic_alarms_on_failed_deliveries_and_every_function_on_errors(cfn) -> None:
    assert set(_alarms_on(cfn, "AWS/SNS", "NumberOfNotificationsFailed")) == set(
        resources(cfn, "AWS::SNS::Topic")
    )
    assert set(_alarms_on(cfn, "AWS/Lambda", "Errors")) == set(resources(cfn, "AWS::Lambda::Function"))


def test_every_alarm_notifies_the_operations_topic(cfn) -> None:
    alarms = resources(cfn, "AWS::CloudWatch::Alarm")
    assert len(alarms) == 19
    for rid, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": "OperationsTopic"}], rid
        assert alarm["TreatMissingData"] == "notBreaching", rid


def _dashboard(cfn: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's body as JSON, its ${...} references replaced by their names."""
    (dashboard,) = resources(cfn, "AWS::CloudWatch::Dashboard").values()
    body = re.sub(r"\$\{([^}]+)\}", lambda m: m.group(1), dashboard["DashboardBody"]["Fn::Sub"])
    return json.loads(body)


def test_the_dashboard_shows_every_alarm_and_every_metric_alarmed(cfn) -> None:
    """One widget with every alarm's state, and each alarmed metric graphed on its resource."""
    widgets = _dashboard(cfn)["widgets"]
    (states,) = [w for w in widgets if w["type"] == "alarm"]
    assert sorted(states["properties"]["alarms"]) == sorted(
        f"{rid}.Arn" for rid in resources(cfn, "AWS::CloudWatch::Alarm")
    )
    graphed = {
        (m[0], m[1], m[3]) for w in widgets if w["type"] == "metric" for m in w["properties"]["metrics"]
    }

    def name_of(value: Any) -> str:
        if isinstance(value, str):
            return value
        if "Ref" in value:
            return value["Ref"]
        return ".".join(value["Fn::GetAtt"])

    for alarm in resources(cfn, "AWS::CloudWatch::Alarm").values():
        for watched in _alarm_metrics(alarm):
            key = (watched["Namespace"], watched["MetricName"], name_of(watched["Dimensions"][0]["Value"]))
            assert key in graphed, key


def test_queues_feed_their_functions_with_partial_batch_failures_and_outlast_their_timeouts(cfn) -> None:
    """Visibility timeout at least 6x the function timeout, so a message in flight is never redelivered."""
    queues = resources(cfn, "AWS::SQS::Queue")
    functions = resources(cfn, "AWS::Lambda::Function")
    mappings = resources(cfn, "AWS::Lambda::EventSourceMapping").values()
    assert sorted((_function_of(m), _queue_of(m["EventSourceArn"])) for m in mappings) == [
        ("CaseFunction", "CaseQueue"),
        ("ScreenFunction", "IntakeQueue"),
        ("ScreenFunction", "SocialQueue"),
    ]
    batch = sam_template()["Parameters"]["QueueBatchSize"]
    assert 1 <= batch["MinValue"] <= batch["Default"] <= batch["MaxValue"] <= 10
    for mapping in mappings:
        timeout = functions[_function_of(mapping)]["Timeout"]
        assert queues[_queue_of(mapping["EventSourceArn"])]["VisibilityTimeout"] >= 6 * timeout
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["BatchSize"] == {"Ref": "QueueBatchSize"}
        assert mapping["MaximumBatchingWindowInSeconds"] >= 1


def _capacity(endpoint_concurrency: str, case_concurrency: str = "5") -> dict[str, Any]:
    """Each function's reserved concurrency and each event source's MaximumConcurrency, resolved
    for the capacity parameters as CloudFormation would (Ref, Fn::FindInMap)."""
    body = sam_template()
    params = {"EndpointConcurrency": endpoint_concurrency, "CaseConcurrency": case_concurrency}

    def value(v: Any) -> int:
        if isinstance(v, dict) and "Ref" in v:
            return int(params[v["Ref"]])
        if isinstance(v, dict) and "Fn::FindInMap" in v:
            mapping, top, second = v["Fn::FindInMap"]
            return int(body["Mappings"][mapping][str(value(top))][second])
        return int(v)

    functions = resources(body, "AWS::Serverless::Function")
    return {
        "reserved": {
            rid: value(f["ReservedConcurrentExecutions"])
            for rid, f in functions.items()
            if "ReservedConcurrentExecutions" in f
        },
        "sources": {
            (rid, name): value(e["Properties"]["ScalingConfig"]["MaximumConcurrency"])
            for rid, f in functions.items()
            for name, e in f.get("Events", {}).items()
            if e["Type"] == "SQS"
        },
    }


@pytest.mark.parametrize(
    "endpoint_concurrency",
    [str(v) for v in sam_template()["Parameters"]["EndpointConcurrency"]["AllowedValues"]],
)
def test_screening_callers_never_outnumber_the_endpoint_and_are_reserved(endpoint_concurrency: str) -> None:
    """Two event sources at MaximumConcurrency 10 made 20 callers of a 5-10 caller endpoint
    (finding 6 of issue 15). Now both come from EndpointConcurrency: their sum is the endpoint's
    capacity, and ScreenFunction reserves exactly that (so neither throttles the other's polling
    nor is starved by other functions of the account)."""
    capacity = _capacity(endpoint_concurrency, case_concurrency="7")
    intake = capacity["sources"][("ScreenFunction", "IntakeQueue")]
    social = capacity["sources"][("ScreenFunction", "SocialQueue")]
    assert intake + social == int(endpoint_concurrency)
    assert min(intake, social) >= 2  # SQS event sources' smallest MaximumConcurrency
    assert capacity["reserved"] == {
        "ScreenFunction": int(endpoint_concurrency),
        "CaseFunction": 7,
        "ReconcileFunction": 1,  # one run at a time
    }
    assert capacity["sources"][("CaseFunction", "CaseQueue")] == 7


def test_the_endpoint_retry_budget_fits_the_function_timeout(cfn) -> None:
    """A request's attempts (timeout each, plus at most 5 s of backoff between) end inside the
    function's timeout, so a slow endpoint fails messages back to SQS rather than timing out the
    whole invocation."""
    screen = resources(cfn, "AWS::Lambda::Function")["ScreenFunction"]
    env = screen["Environment"]["Variables"]
    attempts, per_attempt = int(env["CLASSIFIER_MAX_ATTEMPTS"]), float(env["CLASSIFIER_TIMEOUT_S"])
    assert attempts * per_attempt + (attempts - 1) * 5.0 < screen["Timeout"]


# ------------------------------------------------------------------------------------ tables


def test_tables_have_the_keys_and_indexes_the_stores_query(cfn) -> None:
    tables = resources(cfn, "AWS::DynamoDB::Table")

    def keys(schema: list[dict[str, str]]) -> list[tuple[str, str]]:
        return [(k["AttributeName"], k["KeyType"]) for k in schema]

    assert {rid: keys(t["KeySchema"]) for rid, t in tables.items()} == {
        "ScreeningsTable": [("document_id", "HASH")],
        "CasesTable": [("case_id", "HASH")],
        "CaseDrugsTable": [("case_id", "HASH"), ("drug", "RANGE")],
        "AuditTable": [("case_id", "HASH"), ("seq", "RANGE")],
        "IdempotencyTable": [("id", "HASH")],
        "MatchKeysTable": [("match_key", "HASH"), ("case_id", "RANGE")],
    }
    indexes = {
        (rid, i["IndexName"]): keys(i["KeySchema"])
        for rid, t in tables.items()
        for i in t.get("GlobalSecondaryIndexes", [])
    }
    assert indexes == {
        ("CasesTable", "by-status-due"): [("status", "HASH"), ("due_date", "RANGE")],
        ("CasesTable", "by-alert-pending"): [("alert_pending", "HASH"), ("created_at", "RANGE")],
        ("CaseDrugsTable", "by-drug-due"): [("drug", "HASH"), ("due_date", "RANGE")],
    }
    for table in tables.values():
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert tables["IdempotencyTable"]["TimeToLiveSpecification"] == {
        "AttributeName": "expiration",
        "Enabled": True,
    }


def test_inbox_indexes_project_an_inbox_line_and_no_text(cfn) -> None:
    """The projections are what the store writes as an inbox line: no flagged text, no source key,
    no facts (finding 9 of issue 15)."""
    from pv.adapters.case_store import LISTED_ATTRIBUTES

    tables = resources(cfn, "AWS::DynamoDB::Table")
    projections = {
        (rid, i["IndexName"]): i["Projection"]
        for rid, table in tables.items()
        for i in table.get("GlobalSecondaryIndexes", [])
    }
    assert projections == {
        ("CasesTable", "by-status-due"): {
            "ProjectionType": "INCLUDE",
            "NonKeyAttributes": list(LISTED_ATTRIBUTES),
        },
        ("CaseDrugsTable", "by-drug-due"): {
            "ProjectionType": "INCLUDE",
            "NonKeyAttributes": ["status", *LISTED_ATTRIBUTES],
        },
        # Ids only: what reconciliation needs to find a case whose alert is not sent.
        ("CasesTable", "by-alert-pending"): {"ProjectionType": "KEYS_ONLY"},
    }


def test_no_role_may_update_or_delete_audit_records(cfn) -> None:
    """Append and read only: the review role puts and queries; no role updates, deletes or
    batch-writes; the table's own policy denies those to everyone."""
    granted = {
        (rid, action)
        for rid, st in statements(cfn)
        if st["Effect"] == "Allow"
        for action in as_list(st["Action"])
        for resource in as_list(st["Resource"])
        if "AuditTable" in json.dumps(resource)
    }
    assert granted == {("ReviewFunctionRole", "dynamodb:PutItem"), ("ReviewFunctionRole", "dynamodb:Query")}
    table = resources(cfn, "AWS::DynamoDB::Table")["AuditTable"]
    (deny,) = table["ResourcePolicy"]["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Principal"]) == ("Deny", "*")
    assert {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"} <= set(deny["Action"])


def test_review_api_checks_cognito_tokens_except_on_the_page_and_its_openapi(cfn) -> None:
    """Every route behind the user pool's JWT authorizer but / and /openapi.json; access logs
    without bodies; throttled."""
    body = sam_template()
    api = body["Resources"]["ReviewApi"]["Properties"]
    jwt = api["Auth"]["Authorizers"]["ReviewerPool"]["JwtConfiguration"]
    assert api["Auth"]["DefaultAuthorizer"] == "ReviewerPool"
    assert jwt["audience"] == [{"Ref": "ReviewUserPoolClient"}]
    assert "${ReviewUserPool}" in jwt["issuer"]["Fn::Sub"]
    events = body["Resources"]["ReviewFunction"]["Properties"]["Events"]
    open_routes = {e["Properties"]["Path"] for e in events.values() if "Auth" in e["Properties"]}
    assert open_routes == {"/", "/openapi.json"}
    assert all(
        e["Properties"]["Auth"] == {"Authorizer": "NONE"}
        for e in events.values()
        if "Auth" in e["Properties"]
    )
    log_format = api["AccessLogSettings"]["Format"]
    assert "$context.requestId" in log_format and "body" not in log_format.lower()
    assert "querystring" not in log_format.lower() and "authorization" not in log_format.lower()
    assert api["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    groups = {p["GroupName"] for p in resources(body, "AWS::Cognito::UserPoolGroup").values()}
    assert groups == {"reviewer", "viewer"}
    pool = resources(body, "AWS::Cognito::UserPool")["ReviewUserPool"]
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": True}


def test_tables_are_deletion_protected_in_prod_only(cfn) -> None:
    for stage, protected in (("prod", True), ("dev", False)):
        tables = resources(with_conditions(cfn, {"Stage": stage}), "AWS::DynamoDB::Table")
        assert {t["DeletionProtectionEnabled"] for t in tables.values()} == {protected}, stage


# ------------------------------------------------------------------------- topics and outputs


def test_alert_subscriptions_exist_only_when_an_address_is_given(cfn) -> None:
    def subscribed(params: dict[str, str]) -> dict[str, Any]:
        subs = resources(with_conditions(cfn, params), "AWS::SNS::Subscription")
        return {s["TopicArn"]["Ref"]: s["Endpoint"]["Ref"] for s in subs.values()}

    assert subscribed({}) == {}
    assert subscribed({"AlertEmail": "safety@pharma.example"}) == {"SafetyAlertsTopic": "AlertEmail"}
    assert subscribed({"OperationsEmail": "ops@pharma.example"}) == {"OperationsTopic": "OperationsEmail"}


def test_outputs_name_the_bucket_topics_tables_and_queues(cfn) -> None:
    values = {
        name: (o["Value"].get("Ref") or tuple(o["Value"].get("Fn::GetAtt", ())) or o["Value"]["Fn::Sub"])
        for name, o in cfn["Outputs"].items()
    }
    assert "${ReviewApi}" in values["ReviewApiUrl"]
    assert values["ReviewUserPoolId"] == "ReviewUserPool"
    assert values["ReviewUserPoolClientId"] == "ReviewUserPoolClient"
    for table in ("ScreeningsTable", "CasesTable", "IdempotencyTable", "CaseDrugsTable", "AuditTable"):
        assert values[f"{table}Name"] == table
    for queue in ("IntakeQueue", "SocialQueue", "CaseQueue"):
        assert values[f"{queue}Url"] == queue
        assert values[f"{queue}Arn"] == (queue, "Arn")
    for dlq in ("IntakeDLQ", "SocialDLQ", "CaseDLQ"):
        assert values[f"{dlq}Url"] == dlq
    assert values["IntakeBucketName"] == "IntakeBucket"
    assert values["SafetyAlertsTopicArn"] == "SafetyAlertsTopic"
    assert values["OperationsTopicArn"] == "OperationsTopic"


# --------------------------------------------------------------------------------- samconfig


def _overrides(deploy: dict[str, Any]) -> dict[str, str]:
    pairs = deploy["parameter_overrides"]
    pairs = pairs if isinstance(pairs, list) else pairs.split()
    return dict(pair.split("=", 1) for pair in pairs)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_samconfig_environment_deploys_valid_parameters(env: str) -> None:
    """Each environment names its stack and stage and gives every parameter a value the template accepts."""
    config = tomllib.loads(SAMCONFIG.read_text(encoding="utf-8"))
    params = sam_template()["Parameters"]
    deploy = config[env]["deploy"]["parameters"]
    assert config[env]["global"]["parameters"]["stack_name"] == f"pv-intake-{env}"
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is (env == "prod")
    overrides = _overrides(deploy)
    assert overrides["Stage"] == env
    assert set(overrides) <= set(params)
    assert {p for p, spec in params.items() if "Default" not in spec} <= set(overrides)
    for name, value in overrides.items():
        spec = params[name]
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], value), name
        if "AllowedValues" in spec:
            assert value in [str(v) for v in spec["AllowedValues"]], name
        if "MinValue" in spec:
            assert spec["MinValue"] <= float(value) <= spec["MaxValue"], name


def _rules_hold(parameters: dict[str, str]) -> list[str]:
    """The template's Rules for parameters, as `pv ops preflight` evaluates them: what fails."""
    from pv_local.ops import failed_rules

    return failed_rules(sam_template(), parameters)


def test_a_prod_stack_refuses_to_deploy_without_alert_and_alarm_recipients() -> None:
    """No recipient by default made a prod stack silent (finding 10 of issue 15)."""
    assert len(_rules_hold({"Stage": "prod"})) == 2
    assert _rules_hold({"Stage": "prod", "AlertEmail": "safety@pharma.example"}) == [
        "A prod stack needs OperationsEmail, the recipient of the operational alarms."
    ]
    assert _rules_hold({"Stage": "prod", "AlertEmail": "a@x.example", "OperationsEmail": "o@x.example"}) == []
    assert _rules_hold({"Stage": "dev"}) == []


# ---------------------------------------------------------------------------- reconciliation


def test_reconcile_function_runs_on_a_schedule_over_overlapping_windows(cfn) -> None:
    """EventBridge Scheduler invokes ReconcileFunction every ReconcileEveryMinutes; each run checks
    ReconcileLookbackMinutes ending ReconcileGraceMinutes ago, so by default windows overlap and a
    failed run's window is checked by the next."""
    (schedule,) = resources(cfn, "AWS::Scheduler::Schedule").values()
    assert schedule["ScheduleExpression"] == {"Fn::Sub": "rate(${ReconcileEveryMinutes} minutes)"}
    assert schedule["Target"]["Arn"] == {"Fn::GetAtt": ["ReconcileFunction", "Arn"]}
    assert schedule["Target"]["RoleArn"] == {"Fn::GetAtt": ["ReconcileSchedulerRole", "Arn"]}
    params = sam_template()["Parameters"]
    every, lookback = (
        params["ReconcileEveryMinutes"]["Default"],
        params["ReconcileLookbackMinutes"]["Default"],
    )
    assert lookback >= 2 * every
    env = resources(cfn, "AWS::Lambda::Function")["ReconcileFunction"]["Environment"]["Variables"]
    assert env["RECONCILE_LOOKBACK_MINUTES"] == {"Ref": "ReconcileLookbackMinutes"}
    assert env["RECONCILE_GRACE_MINUTES"] == {"Ref": "ReconcileGraceMinutes"}


def test_reconciliation_gaps_alarm_on_every_gap_the_function_publishes(cfn) -> None:
    from pv.reconciliation import UNALERTED, UNCASED, UNSCREENED

    env = sam_template()["Globals"]["Function"]["Environment"]["Variables"]
    watched = {
        (m["MetricStat"]["Metric"]["Namespace"], m["MetricStat"]["Metric"]["MetricName"])
        for m in resources(cfn, "AWS::CloudWatch::Alarm")["ReconciliationGapsAlarm"]["Metrics"]
        if "MetricStat" in m
    }
    namespace = env["POWERTOOLS_METRICS_NAMESPACE"]
    assert watched == {(namespace, UNSCREENED), (namespace, UNCASED), (namespace, UNALERTED)}
