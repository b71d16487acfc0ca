"""Handlers for tests/test_local_containers.py, imported by a container process by their path."""

from __future__ import annotations

import os
import time
from typing import Any

import boto3


def describe(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """What the function sees in its container: its environment, its context, the process."""
    return {
        "variable": os.environ.get("PV_TEST_VARIABLE"),
        "function_name": context.function_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "pid": os.getpid(),
        "records": len(event.get("Records", [])),
    }


def store(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Writes the object the event names with the container's own boto3 client, reads it back."""
    s3 = boto3.client("s3")
    s3.put_object(Bucket=event["bucket"], Key=event["key"], Body=event["body"].encode())
    body = s3.get_object(Bucket=event["bucket"], Key=event["key"])["Body"].read().decode()
    try:
        s3.get_object(Bucket=event["bucket"], Key="missing")
    except s3.exceptions.NoSuchKey as exc:
        missing = exc.response["Error"]["Code"]
    return {"body": body, "missing": missing}


def fail(event: dict[str, Any], context: Any) -> None:
    raise ValueError("the handler failed on purpose")


def nap(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Holds its container a moment (so callers at once need another one)."""
    time.sleep(0.3)
    return {"pid": os.getpid()}
