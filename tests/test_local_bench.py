"""`pv bench`'s accounting, checked by counts on one pass of the samples (no timing asserted)."""

from __future__ import annotations

import argparse
import os
from typing import Any

import pytest
from pv_local.bench import (
    StageClock,
    bench_items,
    cpu_budgets,
    pipeline_sentences,
    process_cpu_s,
    run_pipeline_bench,
)

RESOURCES = {
    "pv-screenings": "ScreeningsTable",
    "pv-cases": "CasesTable",
    "pv-idempotency": "IdempotencyTable",
    "intake-bucket": "IntakeBucket",
    "https://sqs/case": "CaseQueue",
    "arn:sns:alerts": "SafetyAlertsTopic",
    "pv-match-keys": "MatchKeysTable",
}


@pytest.mark.parametrize(
    ("service", "operation", "params", "stage"),
    [
        ("s3", "GetObject", {"Bucket": "intake-bucket", "Key": "email/a.eml"}, "object_read"),
        ("s3", "GetObject", {"Bucket": "intake-bucket", "Key": "parsed/x.json"}, "document_read"),
        ("s3", "PutObject", {"Bucket": "intake-bucket", "Key": "parsed/x.json"}, "parsed_write"),
        ("dynamodb", "BatchGetItem", {"RequestItems": {"pv-screenings": {}}}, "screening_lookup"),
        ("dynamodb", "PutItem", {"TableName": "pv-screenings"}, "screening_write"),
        ("dynamodb", "PutItem", {"TableName": "pv-idempotency"}, "idempotency"),
        ("dynamodb", "UpdateItem", {"TableName": "pv-cases"}, "alert_mark"),
        (
            "dynamodb",
            "TransactWriteItems",
            {"TransactItems": [{"Put": {"TableName": "pv-cases"}}]},
            "case_write",
        ),
        ("sqs", "SendMessage", {"QueueUrl": "https://sqs/case"}, "case_enqueue"),
        ("dynamodb", "BatchGetItem", {"RequestItems": {"pv-cases": {}}}, "linked_cases_read"),
        ("dynamodb", "Query", {"TableName": "pv-match-keys"}, "match_key_lookup"),
        ("dynamodb", "BatchWriteItem", {"RequestItems": {"pv-match-keys": {}}}, "match_key_index"),
        ("kms", "GenerateMac", {"KeyId": "arn:kms:key"}, "match_key_hash"),
        ("sns", "Publish", {"TopicArn": "arn:sns:alerts"}, "publish"),
        ("sagemaker-runtime", "InvokeEndpoint", {"EndpointName": "x"}, "endpoint_wait"),
        ("sqs", "ReceiveMessage", {"QueueUrl": "https://sqs/other"}, "sqs.ReceiveMessage"),
    ],
)
def test_each_aws_call_is_put_in_the_stage_of_its_operation_and_resource(
    service: str, operation: str, params: dict[str, Any], stage: str
) -> None:
    assert StageClock(RESOURCES).aws_stage(service, operation, params) == stage


@pytest.mark.parametrize(
    ("threads", "concurrency"),
    [(False, 2), (False, 1), (True, 1)],
    ids=["containers-x2", "containers", "threads"],
)
def test_one_pass_of_the_samples_accounts_for_every_stage_by_its_calls(
    tmp_path, threads: bool, concurrency: int
) -> None:
    """GIVEN the sample documents once, the keyword scorer as endpoint WHEN the bench runs THEN
    every stage was called as often as the pipeline's work says: one screening write per
    document, one alert and two idempotency writes per case, one duplicate check per screening
    invocation, CPU is counted for both functions, and the model is measured alone on the
    sentences the pipeline sent it; the same whether the functions run in container processes
    (their stages timed there) or on threads of the bench's process."""
    with (tmp_path / "functions.log").open("w") as log:
        args = argparse.Namespace(
            template=None,
            retry_delay=1,
            timeout=300.0,
            function_log=log,
            threads=threads,
            concurrency=concurrency,
        )
        report = run_pipeline_bench(args, copies=1, upstream=None)
    assert report["functions_in_containers"] is not threads
    assert report["containers_per_function"] == (0 if threads else concurrency)
    assert report["lost"] == 0 and report["duplicate_alerts"] == 0

    documents, cases = report["documents"], report["cases"]
    calls = {stage: round(per_doc * documents) for stage, per_doc in report["stage_calls_per_doc"].items()}
    assert report["reconciliation_holds_up"] and cases == report["alerts"] > 0
    assert calls["screening_write"] == documents
    assert calls["publish"] == calls["case_write"] == calls["case_intelligence"] == cases
    assert calls["idempotency"] == 2 * cases  # in progress, then the result
    assert calls["endpoint_wait"] == report["endpoint_calls"]
    assert calls["screening_lookup"] <= report["function_invocations"]
    assert set(report["stages_ms"]) >= {"parse", "endpoint_wait", "pump_overhead", "function_other"}
    assert report["handler_cpu_ms_per_doc"]["ScreenFunction"] > 0
    assert report["handler_cpu_ms_per_doc"]["CaseFunction"] > 0
    # Every process of the pass is read from /proc: no model server here (the keyword scorer runs
    # in the bench's process), the functions' containers when they run in containers.
    cpu = report["process_cpu_ms_per_doc"]
    assert cpu["stack"] > 0 and cpu["model_server"] is None
    if threads:
        assert set(cpu) == {"stack", "model_server"}
    else:
        assert cpu["ScreenFunction"] > 0 and cpu["CaseFunction"] > 0
    assert report["cpu_busy"] > 0
    # The CPU bound is the measured processes' CPU spread over every core of the machine.
    measured = [ms for ms in cpu.values() if ms is not None]
    assert report["cpu_ms_per_doc"] == pytest.approx(sum(measured), abs=0.05)
    cores = os.cpu_count() or 1
    assert report["cpu_bound_docs_per_s"] == pytest.approx(cores * 1000 / report["cpu_ms_per_doc"], rel=0.01)
    # The served model is measured alone on the very sentences the classifier received.
    assert round(report["sentences_per_doc"] * documents) == len(pipeline_sentences(bench_items(1)))


def test_a_process_cpu_reading_is_the_one_the_kernel_keeps() -> None:
    """GIVEN this process WHEN its CPU is read from /proc between two readings of its own clock
    (os.times, the same kernel counters) THEN the reading lies between them; a process that has
    exited reads as None."""
    import os
    import subprocess
    import sys

    before = sum(os.times()[:2])
    reading = process_cpu_s(os.getpid())
    after = sum(os.times()[:2])
    assert reading is not None
    assert before - 0.02 <= reading <= after + 0.02  # one clock tick either side
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert process_cpu_s(gone.pid) is None


def test_the_cpu_budget_of_each_throughput_bar_is_the_machine_s_cores_over_that_rate() -> None:
    """GIVEN 2 cores and a served model that could score 85 documents/s WHEN the budgets are worked
    out THEN 20 documents/s leaves 100 ms of CPU per document to all the processes together, and
    60% of the model's ceiling (51 documents/s) 39.22 ms; twice the cores, twice the budget."""
    assert cpu_budgets(2, 85.0) == {"docs_per_s": 100.0, "docs_per_s_vs_model": 39.22}
    assert cpu_budgets(4, 85.0) == {"docs_per_s": 200.0, "docs_per_s_vs_model": 78.43}
