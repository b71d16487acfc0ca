"""Cold start: the handler modules load no ML stack, and each only the modules its function needs.

Checked in fresh interpreters with the environment Lambda gives a function (tracing on), the
same way `pv bench` measures `cold_import_ratio` (a benchmark figure, never asserted here).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pv_local.bench import FORBIDDEN_MODULES, HANDLER_MODULES, LAMBDA_ENVIRONMENT, probe
from pv_local.template import Template

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"

BUILD_SERVICES = (
    "import pv.handlers.screen, pv.handlers.case; from pv import runtime; "
    "runtime.screening_pipeline(); runtime.case_service(); runtime.idempotent_case_opener()"
)


def test_the_probes_run_with_the_templates_import_time_settings():
    """GIVEN template.yaml WHEN the probes' Lambda environment is built THEN it sets the service
    names and PYDANTIC_DISABLE_PLUGINS as the template sets them on every function."""
    for function in Template.from_file(TEMPLATE).functions():
        for name in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "PYDANTIC_DISABLE_PLUGINS"):
            assert LAMBDA_ENVIRONMENT[name] == function.environment[name], (function.logical_id, name)


@pytest.mark.parametrize("module", HANDLER_MODULES)
def test_importing_a_handler_loads_neither_torch_nor_transformers(module):
    """GIVEN a fresh interpreter WHEN a handler module is imported THEN no ML module is loaded,
    and the Tracer it built is the real X-Ray one (the check runs with tracing on)."""
    loaded = probe(f"import {module}")

    assert [m for m in FORBIDDEN_MODULES if m in loaded["loaded"]] == []
    assert {"boto3", "pydantic", "aws_lambda_powertools", "aws_xray_sdk"} <= set(loaded["loaded"])
    assert loaded["tracing_disabled"] is False
    assert loaded["tracer_provider"] == "AsyncAWSXRayRecorder"
    # AWS calls are traced by pv.observability (no keys, no messages), not the SDK's botocore patch.
    assert "aws_xray_sdk.ext.botocore.patch" not in loaded["modules"]
    assert "aws_xray_sdk.ext.boto_utils" in loaded["modules"]


def test_building_every_service_a_function_uses_loads_no_ml_module():
    """GIVEN both handlers WHEN the runtime builds the clients and services of a first invocation
    (the case-intelligence seam included) THEN still no torch, transformers or numpy."""
    loaded = probe(BUILD_SERVICES)

    assert [m for m in FORBIDDEN_MODULES if m in loaded["loaded"]] == []
    assert "pv" in loaded["loaded"]


# Loaded by ScreenFunction on first use, never at import (checked above).
LAZY_SCREEN_MODULES = (
    "pv.channels.email",
    "pv.channels.attachments",
    "pv.channels.call",
    "pv.channels.social",
    "pv.reconciliation",
    "email.policy",
    "pydantic.type_adapter",
)


def _pv_modules(statement: str) -> set[str]:
    return {m for m in probe(statement)["modules"] if m == "pv" or m.startswith("pv.")}


def test_each_handler_loads_only_the_modules_of_its_own_function():
    """GIVEN fresh interpreters WHEN each handler is imported THEN CaseFunction loads no channel
    parser, sentence splitter, screening or classifier client, and ScreenFunction no case
    handling, alert topic or Idempotency: a cold start pays only for its own function (timings
    are `pv bench`'s cold_import_ratio, never a test's)."""
    case = _pv_modules("import pv.handlers.case")
    screen = probe("import pv.handlers.screen")

    assert not {m for m in case if m.startswith(("pv.channels", "pv.sentences", "pv.screening"))}
    assert "pv.adapters.endpoint" not in case
    assert {"pv.cases", "pv.adapters.topic", "pv.intelligence"}.isdisjoint(screen["modules"])
    # The case side's models and store, and the regulatory models a case carries.
    assert {"pv.case_models", "pv.adapters.case_store", "pv.regulatory"}.isdisjoint(screen["modules"])
    # Each channel's parser loads with the first document of its channel, not with the handler;
    # the full flagged list's adapter and the reconciliation with the first that needs them.
    assert not {m for m in screen["modules"] if m.startswith(tuple(LAZY_SCREEN_MODULES))}
    assert "aws_lambda_powertools.utilities.idempotency" not in screen["modules"]


def test_screening_a_document_of_each_channel_loads_its_parser_on_first_use():
    """GIVEN a fresh interpreter with ScreenFunction's handler imported WHEN an email, a call
    transcript and a social post are parsed THEN each parser is loaded then, and works."""
    loaded = probe(
        "import pv.handlers.screen; from datetime import UTC, datetime; from pv.channels import "
        "parse_object, parse_social_message; now = datetime.now(UTC); "
        "assert parse_object('email/a.eml', b'Subject: hi\\n\\nI felt sick.', now, 10**6)[0].units; "
        "assert parse_object('call/a.txt', b'Caller: I felt sick.', now, 10**6)[0].units; "
        'assert parse_social_message(\'{"text": "I felt sick."}\', now).units'
    )

    assert {"pv.channels.email", "pv.channels.call", "pv.channels.social"} <= set(loaded["modules"])


def test_case_function_builds_the_case_request_validator_at_cold_start():
    """GIVEN CaseRequest's deferred build (ScreenFunction builds it with its first flagged
    document) WHEN CaseFunction's handler is imported THEN its validator is already built: every
    CaseFunction request reads one, so that cost belongs to the import, not the first request."""
    probe(
        "import pv.handlers.case; from pv.models import CaseRequest; assert CaseRequest.__pydantic_complete__"
    )
