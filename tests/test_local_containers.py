"""Function containers: a function in a process of its own, its AWS calls answered by the stack."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pv_local.containers import ContainerError, FunctionContainer, started
from pv_local.pump import LambdaContext
from pv_local.stack import LocalStack

HERE = str(Path(__file__).parent)  # where container_functions.py is imported from


def _succeed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"batchItemFailures": []}


@pytest.fixture(scope="module")
def stack(idle_stack: LocalStack) -> LocalStack:
    return idle_stack


def _container(stack: LocalStack, handler: str, **environ: str) -> FunctionContainer:
    assert stack.transport is not None
    return FunctionContainer(
        "TestFunction",
        f"container_functions.{handler}",
        {**os.environ, "PYTHONPATH": HERE, **environ},
        stack.transport,
    )


def _context(timeout_s: int = 30) -> LambdaContext:
    return LambdaContext("pv-local-TestFunction", 512, timeout_s, "eu-west-1", "123456789012")


def test_a_container_runs_its_handler_in_its_own_process_with_its_environment(stack: LocalStack) -> None:
    """GIVEN a container started with a variable of its own WHEN it is invoked twice THEN the handler
    ran in another process, saw the variable, the Lambda context and the time left before the
    pump's deadline, and the same process served both invocations (one cold start)."""
    container = _container(stack, "describe", PV_TEST_VARIABLE="only-here")
    with started([container]):
        first = container({"Records": [{}, {}]}, _context())
        second = container({"Records": []}, _context())
    assert first["pid"] != os.getpid() and first["pid"] == second["pid"]
    assert first["variable"] == "only-here" and "PV_TEST_VARIABLE" not in os.environ
    assert first["function_name"] == "pv-local-TestFunction"
    assert 0 < first["remaining_ms"] <= 30_000
    assert (first["records"], second["records"]) == (2, 0)
    assert container.invocations == 2
    assert container.remote_cpu_s() >= 0.0


def test_a_containers_aws_calls_are_answered_by_the_stacks_moto(stack: LocalStack) -> None:
    """GIVEN a handler that writes and reads an object with its own boto3 client WHEN its container
    runs it THEN the object is in the stack's bucket (one moto state), each of its three calls was
    answered by the stack's in-process moto, and an AWS error reaches the handler as botocore's own."""
    before = stack.transport.total_calls() if stack.transport else 0
    container = _container(stack, "store")
    with started([container]):
        answer = container(
            {"bucket": stack.bucket, "key": "e2b/from-container.xml", "body": "<x>café</x>"}, _context()
        )
    answered = stack.transport.total_calls() - before if stack.transport else 0
    stored = stack.client("s3").get_object(Bucket=stack.bucket, Key="e2b/from-container.xml")
    assert answer == {"body": "<x>café</x>", "missing": "NoSuchKey"}
    assert stored["Body"].read().decode() == "<x>café</x>"
    assert container.relayed_calls == answered == 3


def test_a_handler_that_raises_in_its_container_raises_for_the_pump(stack: LocalStack) -> None:
    """GIVEN a handler that raises WHEN its container runs it THEN the pump's call raises with the
    handler's traceback (so the batch returns, as Lambda's would), and the container still serves
    the next invocation."""
    container = _container(stack, "fail")
    with started([container]):
        with pytest.raises(ContainerError, match="the handler failed on purpose"):
            container({}, _context())
        with pytest.raises(ContainerError, match="ValueError"):
            container({}, _context())
    assert container.invocations == 2


def test_a_handler_that_does_not_import_stops_the_start_with_its_error(stack: LocalStack) -> None:
    container = _container(stack, "no_such_handler")
    with pytest.raises(ContainerError, match="did not import"), started([container]):
        pass


def test_the_stack_runs_its_template_functions_in_containers() -> None:
    """GIVEN a stack asked for containers WHEN it starts THEN each queue-fed function of the
    template runs in a container process, a test's own handler stays in process, and stopping the
    stack ends the containers."""
    with LocalStack(
        handlers={"CaseFunction": _succeed}, containers=True, concurrency=2, retry_delay_s=0
    ) as local:
        assert set(local.containers) == {"ScreenFunction"}
        assert local.functions["ScreenFunction"].handler is local.containers["ScreenFunction"]
        assert local.functions["CaseFunction"].handler is _succeed
        processes = [c._process for c in local.containers["ScreenFunction"].containers]
        assert len(processes) == 2 and all(p is not None and p.poll() is None for p in processes)
    assert all(p is not None and p.poll() is not None for p in processes)


def test_a_pool_runs_as_many_invocations_at_once_as_it_has_containers(stack: LocalStack) -> None:
    """GIVEN a pool of two containers whose handler holds each a moment WHEN four invocations are
    made from four threads at once THEN both containers (two processes) served two each: a
    container serves one invocation at a time, and a caller waits for an idle one."""
    import threading

    from pv_local.containers import ContainerPool

    pool = ContainerPool([_container(stack, "nap"), _container(stack, "nap")])
    answers: list[dict[str, Any]] = []
    with started(pool.containers):

        def call() -> None:
            answers.append(pool({"Records": [{}]}, _context()))
            assert pool.remote_cpu_s() >= 0.0

        threads = [threading.Thread(target=call) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        pids = {c._process.pid for c in pool.containers if c._process is not None}
    assert len(answers) == 4 and pool.size == 2
    assert {a["pid"] for a in answers} == pids and len(pids) == 2
    assert [c.invocations for c in pool.containers] == [2, 2]
