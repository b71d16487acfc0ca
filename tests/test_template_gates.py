"""Security and lint gates on template.yaml: cfn-lint, `sam validate --lint` and checkov.

cfn-lint 1.58 (ours and the one aws-sam-cli pins) validates a SAM template without running the
SAM transform, so it misses errors inside SAM-generated resources (a bad Runtime or BatchSize
passes). The gates therefore also lint the translated template, and a deliberately broken
template proves that each gate fails when it should. The tools come from `make tools`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_template import ROOT, TEMPLATE, sam_template, sam_translate, with_conditions

pytestmark = pytest.mark.tools

BROKEN = ROOT / "tests" / "fixtures" / "broken-template.yaml"
CFN_LINT = Path(sys.prefix) / "bin" / "cfn-lint"
SAM = ROOT / ".tools" / "sam" / "bin" / "sam"
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"
# The broken fixture's two faults, as cfn-lint reports them on the translated template.
BAD_RUNTIME, BAD_BATCH_SIZE = "E3030", "E3034"
# Every optional part switched on: checkov skips its IAM checks on a role holding an Fn::If, so
# it also scans the translation with the conditions resolved.
ALL_OPTIONS = {
    "AlertEmail": "safety@pharma.example",
    "OperationsEmail": "ops@pharma.example",
    "ExtractorEndpointName": "pv-extractor",
    "SummarizerEndpointName": "pv-summarizer",
    "MeddraBucket": "pv-reference-data",
    "MeddraPrefix": "meddra/27_1/",
    "ProductLabelsKey": "labels/products.json",
}
IAM_CHECKS = {"CKV_AWS_60", "CKV_AWS_61", "CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_107", "CKV_AWS_108"}
IAM_CHECKS |= {"CKV_AWS_109", "CKV_AWS_110", "CKV_AWS_111"}


def tool(path: Path) -> Path:
    """The tool's path; a missing tool fails the gate (it must never be skipped silently)."""
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing or not executable: run `make venv tools`")
    return path


def run(*args: Any, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """Run a tool offline, with a region and dummy credentials (sam validate needs both)."""
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "SAM_CLI_TELEMETRY": "0",
    }
    return subprocess.run(
        [str(a) for a in args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def translated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """After the SAM transform, as CloudFormation JSON: template.yaml, the same with every optional
    part on and its conditions resolved, and the broken fixture."""
    folder = tmp_path_factory.mktemp("translated")
    templates = {
        "template": sam_translate(TEMPLATE),
        "resolved": with_conditions(sam_translate(TEMPLATE, ALL_OPTIONS), ALL_OPTIONS),
        "broken": sam_translate(BROKEN),
    }
    paths = {}
    for name, body in templates.items():
        paths[name] = folder / f"{name}.json"
        paths[name].write_text(json.dumps(body, indent=1), encoding="utf-8")
    return paths


def lint_rules(result: subprocess.CompletedProcess[str]) -> set[str]:
    """Rule ids in cfn-lint's parseable output (path:line:col:line:col:RULE:message)."""
    return {line.split(":")[5] for line in result.stdout.splitlines() if line.count(":") >= 6}


# ------------------------------------------------------------------------------------ cfn-lint


def test_cfn_lint_passes_the_template() -> None:
    result = run(tool(CFN_LINT), "--format", "parseable", TEMPLATE)
    assert (result.returncode, result.stdout) == (0, ""), result.stderr


@pytest.mark.parametrize("target", ["template", "resolved"])
def test_cfn_lint_passes_the_translated_template(translated, target: str) -> None:
    result = run(tool(CFN_LINT), "--format", "parseable", translated[target])
    assert (result.returncode, result.stdout) == (0, ""), result.stderr


def test_cfn_lint_of_the_translated_template_catches_errors_inside_sam_resources(translated) -> None:
    result = run(tool(CFN_LINT), "--format", "parseable", translated["broken"])
    assert result.returncode != 0
    assert {BAD_RUNTIME, BAD_BATCH_SIZE} <= lint_rules(result), result.stdout


# ---------------------------------------------------------------------------------------- sam


# `sam validate` runs the SAM translator; `sam validate --lint` runs only cfn-lint: both gate.
@pytest.mark.parametrize("lint", [False, True], ids=["translator", "lint"])
def test_sam_validate_passes_the_template(lint: bool) -> None:
    result = run(tool(SAM), "validate", *(["--lint"] if lint else []), "--template", TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout


def test_sam_validate_lint_catches_errors_inside_sam_resources_once_translated(translated) -> None:
    """aws-sam-cli's own linter, given the transform's output, rejects the broken fixture."""
    result = run(tool(SAM), "validate", "--lint", "--template", translated["broken"])
    assert result.returncode != 0
    assert f"[{BAD_RUNTIME}:" in result.stdout and f"[{BAD_BATCH_SIZE}:" in result.stdout, result.stdout


def test_sam_validate_rejects_a_template_the_transform_cannot_translate(tmp_path: Path) -> None:
    """Plain `sam validate` runs the translator: an unknown event type is refused."""
    body = BROKEN.read_text(encoding="utf-8").replace("Type: SQS", "Type: NoSuchEventSource")
    broken = tmp_path / "untranslatable.yaml"
    broken.write_text(body, encoding="utf-8")
    result = run(tool(SAM), "validate", "--template", broken)
    assert result.returncode != 0
    assert "Event Type is: NoSuchEventSource" in result.stderr


# ------------------------------------------------------------------------------------- checkov


@pytest.fixture(scope="module")
def checkov(translated) -> dict[str, dict[str, Any]]:
    """checkov's report per file (one run for all: it takes about ten seconds to start)."""
    files = {
        "template": TEMPLATE,
        "translated": translated["template"],
        "resolved": translated["resolved"],
        "broken": BROKEN,
    }
    args = [tool(CHECKOV), "--framework", "cloudformation", "--skip-download", "--compact", "-o", "json"]
    for path in files.values():
        args += ["-f", path]
    result = run(*args)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(result.stdout)
    (report,) = report if isinstance(report, list) else [report]
    by_file: dict[str, dict[str, Any]] = {name: {"passed": [], "failed": [], "skipped": []} for name in files}
    names = {Path(p).name: name for name, p in files.items()}
    for outcome in ("passed", "failed", "skipped"):
        for check in report["results"][f"{outcome}_checks"]:
            by_file[names[Path(check["file_path"]).name]][outcome].append(check)
    assert report["summary"]["parsing_errors"] == 0
    return by_file


@pytest.mark.parametrize("target", ["template", "translated", "resolved"])
def test_checkov_finds_no_failed_check(checkov, target: str) -> None:
    failed = [(c["check_id"], c["resource"]) for c in checkov[target]["failed"]]
    assert failed == []
    assert len(checkov[target]["passed"]) >= 40  # it really looked at every resource


@pytest.mark.parametrize("target", ["template", "translated", "resolved"])
def test_checkov_suppressions_live_in_the_template_with_a_reason(checkov, target: str) -> None:
    """Every skipped check is a Metadata.checkov.skip entry of template.yaml that gives a reason."""
    declared = {
        (rid, skip["id"]): skip["comment"]
        for rid, res in sam_template()["Resources"].items()
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", [])
    }
    assert all(len(reason) >= 20 for reason in declared.values())
    skipped = {(c["resource"].split(".", 1)[1], c["check_id"]) for c in checkov[target]["skipped"]}
    assert skipped == set(declared)


def test_checkov_runs_its_iam_checks_on_every_role(checkov) -> None:
    passed: dict[str, set[str]] = {}
    for check in checkov["resolved"]["passed"]:
        passed.setdefault(check["resource"], set()).add(check["check_id"])
    roles = {
        f"AWS::IAM::Role.{rid}" for rid in ("ScreenFunctionRole", "CaseFunctionRole", "ReviewFunctionRole")
    }
    assert {role: IAM_CHECKS - passed.get(role, set()) for role in roles} == {role: set() for role in roles}


def test_checkov_fails_the_broken_template(checkov) -> None:
    """The gate can fail: the fixture's queue is unencrypted and its function unbounded."""
    failed = {c["check_id"] for c in checkov["broken"]["failed"]}
    assert {"CKV_AWS_27", "CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"} <= failed
