"""`pv case export-e2b CASE_ID --out FILE`: a case's E2B(R3) ICSR written to FILE, also to the
bucket under e2b/, and recorded on the case and in its audit trail, through the review workbench:

- the local stack: its review API (`GET /cases/{case_id}/e2b`, as the local reviewer), found
  through .artifacts/local/stack.json;
- a deployed stack (`--stack NAME`): the same service on its tables and bucket, found through its
  CloudFormation outputs and parameters, with your AWS credentials (the audit record names your
  IAM principal).

Also: the MedDRA release of `--meddra DIR` uploaded into the local stack's bucket.
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pv_local.cli import STACK_FILE, UsageError, console

LOCAL_MEDDRA_PREFIX = "meddra/local/"
# Template parameters of the sender (C.3) and what they fill.
_SENDER_PARAMETERS = {
    "SenderOrganization": "organization",
    "SenderIdentifier": "identifier",
    "SenderCountry": "country",
    "ReceiverIdentifier": "receiver",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    case = subparsers.add_parser("case", help="one case: regulatory actions")
    actions = case.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export-e2b", help="write a confirmed case's E2B(R3) ICSR XML")
    export.add_argument("case_id")
    export.add_argument("--out", type=Path, required=True, help="XML file to write")
    export.add_argument("--stack", help="a deployed stack's name (default: the local stack of stack.json)")
    export.add_argument("--stack-file", type=Path, default=STACK_FILE, help=f"default: {STACK_FILE}")
    export.add_argument("--region", help="AWS region of --stack (default: the SDK's)")
    export.add_argument("--schemas", type=Path, help="ICH ICSR XML schema set folder to validate against")
    export.add_argument(
        "--expected-version", type=int, help="export this case version (refused if the case changed since)"
    )
    export.add_argument("--actor", help="--stack: the username recorded (default: your IAM principal)")
    export.set_defaults(func=run_export)


def meddra_parameters(folder: Path | None) -> dict[str, str]:
    """Template parameters that point CaseFunction at a release uploaded by `upload_meddra`."""
    if folder is None:
        return {}
    from pv.regulatory.meddra import MeddraReleaseError, release_from_folder

    try:
        release = release_from_folder(folder)
    except MeddraReleaseError as error:
        raise UsageError(f"--meddra {folder}: {error}") from None
    console().print(f"MedDRA {release.version} ({release.language}): {len(release.llts)} LLTs from {folder}")
    return {"MeddraPrefix": LOCAL_MEDDRA_PREFIX}


def upload_meddra(stack: Any, folder: Path | None) -> None:
    """Copy the release's .asc files into the local bucket under meddra/local/ (never notified)."""
    if folder is None:
        return
    root = (
        folder / "MedAscii"
        if (folder / "MedAscii").is_dir() and not (folder / "llt.asc").is_file()
        else folder
    )
    for path in sorted(root.glob("*.asc")):
        stack.client("s3").put_object(
            Bucket=stack.bucket, Key=f"{LOCAL_MEDDRA_PREFIX}{path.name}", Body=path.read_bytes()
        )


def run_export(args: argparse.Namespace) -> int:
    from pv.regulatory.e2b import validate

    export = _deployed_export(args) if args.stack else _local_export(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(export.xml)
    out = console()
    out.print(
        f"{args.case_id}: ICSR version {export.report_version} written to {args.out} and "
        f"s3://{export.bucket}/{export.key} (case version {export.case_version})"
    )
    if args.schemas is not None:
        errors = validate(export.xml, args.schemas)
        for error in errors:
            out.print(f"[red]schema[/]: {error}")
        if errors:
            return 1
        out.print(f"valid against the schema set in {args.schemas}")
    return 0


@dataclass(frozen=True)
class ExportedFile:
    xml: bytes
    bucket: str
    key: str
    report_version: int
    case_version: int


def _local_export(args: argparse.Namespace) -> ExportedFile:
    """Through the running local stack's review API, as the local reviewer."""
    if not args.stack_file.is_file():
        raise UsageError(
            f"no {args.stack_file}: start the local stack with `pv local up`, or pass --stack NAME"
        )
    info = json.loads(args.stack_file.read_text())
    if not info.get("review_url") or not info.get("tokens", {}).get("reviewer"):
        raise UsageError(f"{args.stack_file} names no review API: restart the local stack with `pv local up`")
    query = f"?expected_version={args.expected_version}" if args.expected_version else ""
    request = urllib.request.Request(
        f"{info['review_url']}cases/{args.case_id}/e2b{query}",
        headers={"Authorization": f"Bearer {info['tokens']['reviewer']}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            xml, headers = response.read(), response.headers
    except urllib.error.HTTPError as error:
        raise UsageError(_refusal(args.case_id, error.code, error.read())) from None
    except urllib.error.URLError as error:
        raise UsageError(
            f"the local stack's review API does not answer ({error.reason}): is `pv local up` running?"
        ) from None
    return ExportedFile(
        xml=xml,
        bucket=info.get("resources", {}).get("IntakeBucket", "?"),
        key=headers["X-E2B-Key"],
        report_version=int(headers["X-Report-Version"]),
        case_version=int(headers["X-Case-Version"]),
    )


def _refusal(case_id: str, status: int, body: bytes) -> str:
    try:
        answer = json.loads(body)
    except ValueError:
        answer = {}
    if status == 404:
        return f"no case {case_id}"
    reasons = answer.get("reasons")
    if reasons:
        return f"{case_id} cannot be exported: " + "; ".join(reasons)
    return f"{case_id}: {answer.get('message') or f'HTTP {status}'}"


def _deployed_export(args: argparse.Namespace) -> ExportedFile:
    """The review workbench's export on a deployed stack's own tables and bucket."""
    import boto3
    from botocore.exceptions import ClientError
    from pv.adapters.bucket import IntakeBucket
    from pv.adapters.case_store import CaseStore
    from pv.adapters.regulatory import E2bBucket
    from pv.adapters.review_store import ReviewStore, StaleVersion
    from pv.regulatory.e2b import ExportRefused
    from pv.regulatory.sender import Sender
    from pv.regulatory.service import CaseNotFound, RegulatoryService
    from pv.review.models import Actor, Role
    from pv.review.service import Workbench

    session = boto3.Session(region_name=args.region)
    cloudformation = session.client("cloudformation")
    try:
        [described] = cloudformation.describe_stacks(StackName=args.stack)["Stacks"]
        caller = session.client("sts").get_caller_identity()["Arn"]
    except ClientError as error:
        raise UsageError(f"stack {args.stack}: {error}") from None
    values = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
    needed = ("CasesTableName", "CaseDrugsTableName", "AuditTableName", "IntakeBucketName")
    missing = [k for k in needed if not values.get(k)]
    if missing:
        raise UsageError(f"stack {args.stack} has no {', '.join(missing)} output")
    ddb, s3 = session.resource("dynamodb"), session.client("s3")
    cases = CaseStore(ddb.Table(values["CasesTableName"]), drug_index=ddb.Table(values["CaseDrugsTableName"]))
    defaults = Sender(organization="Pharmacovigilance intake", identifier="PVINTAKE")
    sender = Sender(
        **{field: parameters.get(p) or getattr(defaults, field) for p, field in _SENDER_PARAMETERS.items()}
    )
    bucket = values["IntakeBucketName"]
    service = RegulatoryService(
        workbench=Workbench(
            store=ReviewStore(cases, ddb.Table(values["AuditTableName"])), bucket=IntakeBucket(s3, bucket)
        ),
        archive=E2bBucket(s3, bucket),
        sender=sender,
    )
    actor = Actor(sub=caller, username=args.actor or caller.rsplit("/", 1)[-1], role=Role.REVIEWER)
    try:
        export = service.export(args.case_id, actor, args.expected_version)
    except CaseNotFound:
        raise UsageError(f"no case {args.case_id}") from None
    except ExportRefused as refused:
        raise UsageError(str(refused)) from None
    except StaleVersion as stale:
        raise UsageError(
            f"{args.case_id} is at version {stale.current}, not {args.expected_version}"
        ) from None
    return ExportedFile(
        xml=export.xml,
        bucket=bucket,
        key=export.key,
        report_version=export.record.report_version,
        case_version=export.case.version,
    )
