"""Shared fixtures of the model tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def sagemaker_runtime(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """A maker of boto3 sagemaker-runtime clients as the Lambdas make them, with dummy credentials
    and no retries: `sagemaker_runtime(url)` calls the endpoint server at `url`, and
    `sagemaker_runtime()` the one `AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME` names."""
    import boto3
    from botocore.config import Config

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    no_retries = Config(retries={"max_attempts": 1, "mode": "standard"})

    def client(url: str | None = None) -> Any:
        return boto3.client("sagemaker-runtime", endpoint_url=url, config=no_retries)

    return client
