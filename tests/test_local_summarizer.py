"""The summarization model on the local stack: served as case-summarizer-local, opt-in, and held to
the text by CaseFunction (a summary naming a drug or event the text does not is replaced)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pv_local.cli import UsageError, build_parser, main, summarizer_from_args
from pv_local.demo import _model_info
from pv_local.stack import LocalStack

REPORT = (
    b"From: Sam Example <sam@example.com>\r\nTo: medinfo@example.com\r\nSubject: side effect\r\n"
    b"Date: Tue, 04 Mar 2025 09:00:00 +0000\r\n\r\n"
    b"I started amoxicillin on Monday and now I have a rash all over my arms.\r\n"
)
# What the extractive template writes for REPORT (the case's summary without a summarizer).
EXTRACTIVE = "Email sender reports rash after starting amoxicillin. Not serious on the reported facts."


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny classifier, and tiny summarizers that always say one word: "insulin" (a drug the report
    does not name) or "rash" (an event it does). Their summaries are nonsense either way."""
    from pv_model.serving.tiny import build_tiny_classifier
    from pv_model.summarizer.tiny import build_tiny_summarizer

    root = tmp_path_factory.mktemp("tiny")
    return {
        "classifier": build_tiny_classifier(root / "clf-tiny"),
        "insulin": build_tiny_summarizer(root / "sum-insulin", says="insulin", max_new_tokens=3),
        "rash": build_tiny_summarizer(root / "sum-rash", says="rash", max_new_tokens=3),
    }


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "inbox" / "email").mkdir(parents=True)
    (tmp_path / "inbox" / "email" / "report.eml").write_bytes(REPORT)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "inbox"


def _screen_with(models: dict[str, Path], *options: str) -> dict[str, Any]:
    """`pv screen inbox` with the tiny classifier and `options`; the report's one line."""
    argv = [
        "screen",
        "inbox",
        "--out",
        "out.jsonl",
        "--model",
        str(models["classifier"]),
        "--quiet",
        *options,
    ]
    assert main(argv) == 0
    [line] = [json.loads(text) for text in Path("out.jsonl").read_text().splitlines()]
    return line


def _summarizer_calls(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage().split()[2]  # status=<code>
        for r in caplog.records
        if r.name == "pv_model.serving"
        and r.getMessage().startswith("invocation endpoint=case-summarizer-local ")
    ]


def test_a_summary_naming_a_drug_not_in_the_text_is_replaced_by_the_extractive_one(
    inbox: Path, models: dict[str, Path], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN `--summarizer` of a model that writes "insulin insulin insulin" WHEN a report about
    amoxicillin and a rash becomes a case THEN the endpoint is called once and the case keeps the
    extractive summary, since the report names no insulin."""
    with caplog.at_level(logging.INFO, logger="pv_model.serving"):
        line = _screen_with(models, "--summarizer", str(models["insulin"]))

    assert _summarizer_calls(caplog) == ["status=200"]
    assert f"summarizer case-summarizer-local <- {models['insulin']}" in " ".join(
        capsys.readouterr().out.split()
    )
    assert line["case_id"] is not None
    assert (line["suspect_drugs"], line["events"]) == (["amoxicillin"], ["rash"])
    assert line["summary"] == EXTRACTIVE


def test_a_summary_naming_only_what_the_text_names_is_kept_even_when_it_is_nonsense(
    inbox: Path, models: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN a model that writes "rash rash rash" WHEN the report becomes a case THEN that is its
    summary: the check is that no drug or event is invented, not that the summary makes sense."""
    with caplog.at_level(logging.INFO, logger="pv_model.serving"):
        line = _screen_with(models, "--summarizer", str(models["rash"]))

    assert _summarizer_calls(caplog) == ["status=200"]
    assert line["summary"] == "rash rash rash"


def test_without_summarizer_none_is_served_and_the_summary_is_extractive(
    inbox: Path, models: dict[str, Path], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with caplog.at_level(logging.INFO, logger="pv_model.serving"):
        line = _screen_with(models)

    assert _summarizer_calls(caplog) == []
    assert "summarizer: none (extractive summaries)" in " ".join(capsys.readouterr().out.split())
    assert line["summary"] == EXTRACTIVE


def test_the_stack_names_the_summarizer_endpoint_for_case_function(
    models: dict[str, Path], idle_handlers: dict[str, Any]
) -> None:
    with LocalStack(
        model_dir=models["classifier"], summarizer_dir=models["rash"], handlers=idle_handlers
    ) as stack:
        environment = stack.functions["CaseFunction"].environment
        assert environment["SUMMARIZER_ENDPOINT_NAME"] == "case-summarizer-local"
        assert environment["EXTRACTOR_ENDPOINT_NAME"] == ""
        assert stack.served == {
            "ae-classifier-local": models["classifier"],
            "case-summarizer-local": models["rash"],
        }
    with LocalStack(model_dir=models["classifier"], handlers=idle_handlers) as stack:
        assert stack.functions["CaseFunction"].environment["SUMMARIZER_ENDPOINT_NAME"] == ""


def test_a_summarizer_needs_the_local_model_server() -> None:
    with pytest.raises(ValueError, match="summarizer_dir is served beside model_dir"):
        LocalStack(endpoint_url="http://127.0.0.1:1", summarizer_dir="x")


def _args(*options: str) -> argparse.Namespace:
    return build_parser().parse_args(["screen", "inbox", "--out", "x.jsonl", *options])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--summarizer", "nowhere"), r"no trained model in nowhere: `pv-model train-summarizer`"),
        (("--summarizer", "CLASSIFIER"), "is not a summarization model"),
        (("--summarizer", "RASH", "--endpoint-url", "http://127.0.0.1:1"), "which --endpoint-url replaces"),
    ],
)
def test_summarizer_option_refuses_what_cannot_be_served(
    models: dict[str, Path], options: tuple[str, ...], message: str
) -> None:
    named = [str(models[o.lower()]) if o.isupper() else o for o in options]
    with pytest.raises(UsageError, match=message):
        summarizer_from_args(_args(*named))


def test_summarizer_option_is_opt_in_and_only_on_commands_that_serve_case_models(
    models: dict[str, Path],
) -> None:
    assert summarizer_from_args(_args()) is None
    assert summarizer_from_args(_args("--summarizer", str(models["rash"]))) == models["rash"]
    for command in (["bench"], ["load"]):  # they measure the classifier endpoint alone
        with pytest.raises(SystemExit):
            build_parser().parse_args([*command, "--summarizer", str(models["rash"])])


def test_demo_report_records_the_summarizer(models: dict[str, Path]) -> None:
    stack = SimpleNamespace(
        model_dir=models["classifier"],
        extractor_dir=None,
        summarizer_dir=models["rash"],
        model_threshold=lambda: "0.5",
    )

    info = _model_info(stack, "torch")

    assert info is not None
    assert info["summarizer"] == {"dir": str(models["rash"]), "version": "sum-rash-000000000000"}
    assert info["extractor"] is None
