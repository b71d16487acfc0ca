"""The regulatory bars on the local stack, driven through .artifacts/local/stack.json: a MedDRA
release in the real file format with invented content, an email and a reply in its thread, the
follow-up confirmed, `pv case export-e2b` read back by e2br3."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import e2br3
import endpoint_double
import pytest
from meddra_release import DEFAULT_TERMS, InventedTerm, write_release
from pv.adapters.regulatory import CaseRegulatoryStore, E2bBucket
from pv.adapters.stores import CaseStore
from pv.regulatory.sender import Sender
from pv.regulatory.service import RegulatoryService
from pv_local.cli import main
from pv_local.inbox import serve_inbox, write_stack_file
from pv_local.regulatory_command import meddra_parameters, upload_meddra
from pv_local.stack import LocalStack

FIRST = b"""From: Rosa Flint <rosa.flint@example.com>
To: Medical Information <medinfo@pharma.example>
Subject: Rash on amoxicillin
Date: Mon, 03 Mar 2025 09:00:00 +0000
Message-ID: <first-4471@mail.example.com>
Content-Type: text/plain; charset="utf-8"

I'm 34. Two days after starting amoxicillin I came out in a rash all over my arms and
was admitted to hospital overnight.
"""
REPLY = b"""From: Rosa Flint <rosa.flint@example.com>
To: Medical Information <medinfo@pharma.example>
Subject: Re: Rash on amoxicillin
Date: Wed, 05 Mar 2025 10:30:00 +0000
Message-ID: <reply-9120@mail.example.com>
In-Reply-To: <first-4471@mail.example.com>
References: <first-4471@mail.example.com>
Content-Type: text/plain; charset="utf-8"

Since the amoxicillin I have also been vomiting every morning.

On Mon, 3 Mar 2025 at 09:00, Rosa Flint wrote:
> Two days after starting amoxicillin I came out in a rash all over my arms.
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("regulatory-local")
    terms = [*DEFAULT_TERMS, InventedTerm("Came out in a rash", "Rash", soc="Invented skin class")]
    release = write_release(work / "MedDRA_91_1", terms, seed=1791)
    server, url = endpoint_double.start(endpoint_double.EndpointDouble())
    before = Path.cwd()
    os.chdir(work)
    try:
        with LocalStack(
            endpoint_url=url, retry_delay_s=0, parameters=meddra_parameters(release.folder)
        ) as stack:
            upload_meddra(stack, release.folder)
            write_stack_file(stack, serve_inbox(stack))
            stack.upload("email/first.eml", FIRST)
            stack.run_until_idle(timeout_s=120)
            stack.upload("email/reply.eml", REPLY)
            stack.run_until_idle(timeout_s=120)
            yield {"stack": stack, "release": release, "work": work}
    finally:
        os.chdir(before)
        server.shutdown()


def _driven(work: Path) -> tuple[Any, dict[str, str], dict[str, Any]]:
    """A reviewer's tools see the stack only through stack.json."""
    info = json.loads((work / ".artifacts/local/stack.json").read_text())
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=info["region"]
    )
    return session, {"endpoint_url": info["endpoint_url"]}, info


def test_the_bars_on_the_local_stack(run: dict[str, Any]) -> None:
    session, endpoint, info = _driven(run["work"])
    table = session.resource("dynamodb", **endpoint).Table(info["resources"]["CasesTable"])
    store = CaseStore(table)
    cases = sorted(store.list(), key=lambda c: c.received_at)
    assert len(cases) == 2
    first, reply = cases
    release = run["release"]

    # The reactions carry the invented dictionary's LLT and PT codes and its version.
    coded = {c.event: c.term for c in first.regulatory.coding}  # type: ignore[union-attr]
    assert first.regulatory.meddra_version == release.version  # type: ignore[union-attr]
    assert coded["rash"] is not None and coded["rash"].pt_code == release.pt_codes["Rash"]
    assert coded["rash"].llt_code in release.llt_codes.values()
    assert first.regulatory.due_rule.rule_id == "eu-serious-15"  # type: ignore[union-attr]

    # The reply in the same thread is proposed as a follow-up of the first case.
    [link] = reply.regulatory.links  # type: ignore[union-attr]
    assert (link.case_id, link.kind, link.status) == (first.case_id, "possible_follow_up", "proposed")

    # The reviewer confirms both cases and the follow-up (the review workbench does this through its
    # API; here its decision is written as it stores one).
    for case in (first, reply):
        table.update_item(
            Key={"case_id": case.case_id},
            UpdateExpression="SET #s = :c",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":c": "confirmed"},
        )
    service = RegulatoryService(
        cases=store,
        store=CaseRegulatoryStore(table),
        archive=E2bBucket(session.client("s3", **endpoint), info["resources"]["IntakeBucket"]),
        sender=Sender(organization="x", identifier="PVINTAKE"),
    )
    service.decide_link(reply.case_id, first.case_id, "confirmed", actor="reviewer")

    out = run["work"] / "reply.xml"
    assert main(["case", "export-e2b", reply.case_id, "--out", str(out), "--actor", "reviewer"]) == 0
    [icsr] = e2br3.parse(out.read_bytes()).icsrs
    stored_first, stored_reply = store.get(first.case_id), store.get(reply.case_id)
    assert icsr.worldwide_case_id == stored_first.regulatory.worldwide_case_id  # type: ignore[union-attr]
    assert stored_reply.regulatory.report_version == 2  # type: ignore[union-attr]
    assert e2br3.parse(out.read_bytes()).messages[0].message_id.endswith("-V2")
    reactions = {r.meddra_code: r for r in icsr.reactions}
    assert set(reactions) == {
        c.term.llt_code
        for case in (first, reply)
        for c in case.regulatory.coding
        if c.term  # type: ignore[union-attr]
    }
    assert all(r.meddra_version == release.version for r in icsr.reactions)
    assert all(r.hospitalisation is True for r in icsr.reactions)  # the first report's admission
    assert {d.substances[0]: d.role.code for d in icsr.drugs} == {"amoxicillin": "1"}
    [exported] = stored_reply.regulatory.exports  # type: ignore[union-attr]
    s3 = session.client("s3", **endpoint)
    body = s3.get_object(Bucket=info["resources"]["IntakeBucket"], Key=exported.key)["Body"].read()
    assert body == out.read_bytes()


def test_exports_and_the_release_in_the_bucket_are_never_screened(run: dict[str, Any]) -> None:
    stack = run["stack"]
    stack.run_until_idle(timeout_s=60)
    screened = stack.client("dynamodb").scan(TableName=stack.physical("ScreeningsTable"))["Items"]
    keys = {item["source_key"]["S"] for item in screened}
    assert keys == {"email/first.eml", "email/reply.eml"}


def test_an_unconfirmed_case_is_refused_with_its_reason(run: dict[str, Any], capsys) -> None:
    stack = run["stack"]
    stack.upload("email/third.eml", FIRST.replace(b"first-4471", b"third-1"))
    stack.run_until_idle(timeout_s=120)
    cases = CaseStore(stack.table("CasesTable")).list(status="new")
    assert cases
    code = main(["case", "export-e2b", cases[0].case_id, "--out", str(run["work"] / "x.xml")])
    assert code == 2
    assert "not confirmed by a reviewer" in capsys.readouterr().err
