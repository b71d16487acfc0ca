"""`pv case export-e2b CASE_ID --out FILE`: a case's E2B(R3) ICSR, from the local stack (through
.artifacts/local/stack.json) or from a deployed stack (`--stack NAME`, through its CloudFormation
outputs and parameters), written to FILE and to the bucket under e2b/, and recorded on the case.

Also: the MedDRA release of `--meddra DIR` uploaded into the local stack's bucket.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pv_local.cli import UsageError, console
from pv_local.inbox import STACK_FILE

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
    export.add_argument("--actor", default="pv-cli", help="who exports, as recorded on the case")
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


def _stack_resources(args: argparse.Namespace) -> tuple[Any, dict[str, str], dict[str, str]]:
    """(boto3 session, endpoint kwargs, outputs + parameters) of the local or the deployed stack."""
    import boto3

    if args.stack:
        session = boto3.Session(region_name=args.region)
        cloudformation = session.client("cloudformation")
        try:
            [described] = cloudformation.describe_stacks(StackName=args.stack)["Stacks"]
        except cloudformation.exceptions.ClientError as error:
            raise UsageError(f"stack {args.stack}: {error}") from None
        values = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
        values |= {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
        return session, {}, values
    if not args.stack_file.is_file():
        raise UsageError(
            f"no {args.stack_file}: start the local stack with `pv local up`, or pass --stack NAME"
        )
    info = json.loads(args.stack_file.read_text())
    session = boto3.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
        region_name=info.get("region"),
    )
    resources = info.get("resources", {})
    outputs = {
        "CasesTableName": resources.get("CasesTable", ""),
        "IntakeBucketName": resources.get("IntakeBucket", ""),
    }
    return session, {"endpoint_url": info.get("endpoint_url")}, {**info.get("parameters", {}), **outputs}


def run_export(args: argparse.Namespace) -> int:
    from pv.adapters.regulatory import CaseRegulatoryStore, E2bBucket
    from pv.adapters.stores import CaseStore
    from pv.regulatory.e2b import ExportRefused, validate
    from pv.regulatory.sender import Sender
    from pv.regulatory.service import CaseNotFound, RegulatoryService

    session, endpoint, values = _stack_resources(args)
    missing = [k for k in ("CasesTableName", "IntakeBucketName") if not values.get(k)]
    if missing:
        raise UsageError(f"the stack has no {', '.join(missing)} output")
    table = session.resource("dynamodb", **endpoint).Table(values["CasesTableName"])
    defaults = Sender(organization="Pharmacovigilance intake", identifier="PVINTAKE")
    sender = Sender(
        **{field: values.get(p) or getattr(defaults, field) for p, field in _SENDER_PARAMETERS.items()}
    )
    service = RegulatoryService(
        cases=CaseStore(table),
        store=CaseRegulatoryStore(table),
        archive=E2bBucket(session.client("s3", **endpoint), values["IntakeBucketName"]),
        sender=sender,
    )
    try:
        export = service.export(args.case_id, actor=args.actor)
    except CaseNotFound:
        raise UsageError(f"no case {args.case_id}") from None
    except ExportRefused as refused:
        raise UsageError(str(refused)) from None
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(export.xml)
    out = console()
    out.print(
        f"{args.case_id}: ICSR version {export.record.report_version} written to {args.out} and s3://{values['IntakeBucketName']}/{export.key}"
    )
    if args.schemas is not None:
        errors = validate(export.xml, args.schemas)
        for error in errors:
            out.print(f"[red]schema[/]: {error}")
        if errors:
            return 1
        out.print(f"valid against the schema set in {args.schemas}")
    return 0
