"""The extraction model on the local stack: served beside the classifier, chosen by the `pv` options."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pv_local.cli import UsageError, build_parser, extractor_from_args, main
from pv_local.demo import _model_info
from pv_local.stack import LocalStack

AE_EMAIL = (
    b"From: Dana Fake <dana@example.com>\r\nTo: medinfo@example.com\r\nSubject: reaction\r\n"
    b"Date: Mon, 03 Mar 2025 10:00:00 +0000\r\n\r\n"
    b"I started amoxicillin on Monday and now I have a rash all over my arms.\r\n"
)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny classifier and a tiny extractor (random weights: what they answer means nothing)."""
    from pv_model.ner.tiny import build_tiny_extractor
    from pv_model.serving.tiny import build_tiny_classifier

    root = tmp_path_factory.mktemp("tiny")
    return {
        "classifier": build_tiny_classifier(root / "clf-tiny"),
        "extractor": build_tiny_extractor(root / "ner-tiny"),
    }


TRAINED_EXTRACTOR = Path(".artifacts/models/ae-extractor")  # where `pv-model train-ner` is told to write


@pytest.fixture
def work(tmp_path: Path, models: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder whose `.artifacts/models/ae-extractor` holds the tiny extractor, and an inbox."""
    shutil.copytree(models["extractor"], tmp_path / TRAINED_EXTRACTOR)
    (tmp_path / "inbox" / "email").mkdir(parents=True)
    (tmp_path / "inbox" / "email" / "ae.eml").write_bytes(AE_EMAIL)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def _screen(models: dict[str, Path], *options: str) -> list[dict[str, Any]]:
    argv = ["screen", "inbox", "--out", "results.jsonl", "--model", str(models["classifier"]), "--quiet"]
    assert main([*argv, *options]) == 0
    return [json.loads(line) for line in Path("results.jsonl").read_text().splitlines()]


def _invocations(caplog: pytest.LogCaptureFixture) -> set[str]:
    """`endpoint=<name> status=<code>` of every invocation the model server logged."""
    return {
        " ".join(r.getMessage().split()[1:3])
        for r in caplog.records
        if r.name == "pv_model.serving" and r.getMessage().startswith("invocation ")
    }


def test_pv_screen_serves_the_extractor_it_is_given_and_the_case_goes_through_it(
    work: Path, models: dict[str, Path], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN `--extractor DIR` WHEN `pv screen` runs THEN CaseFunction calls it."""
    with caplog.at_level(logging.INFO, logger="pv_model.serving"):
        [line] = _screen(models, "--extractor", str(TRAINED_EXTRACTOR))

    shown = " ".join(capsys.readouterr().out.split())
    assert f"extractor ae-extractor-local <- {TRAINED_EXTRACTOR}" in shown
    assert f"classifier ae-classifier-local <- {models['classifier']}" in shown
    assert _invocations(caplog) == {
        "endpoint=ae-classifier-local status=200",
        "endpoint=ae-extractor-local status=200",
    }
    assert line["case_id"] is not None
    assert "amoxicillin" in line["suspect_drugs"]  # the lexicon's find stands beside the model's
    assert "rash" in line["events"]


def test_pv_screen_without_extractor_keeps_the_lexicon_alone_even_when_one_is_trained(
    work: Path, models: dict[str, Path], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    """GIVEN a trained extractor in .artifacts/models/ae-extractor WHEN `pv screen` runs without
    `--extractor` THEN none is served: the extractor is opt-in."""
    with caplog.at_level(logging.INFO, logger="pv_model.serving"):
        [line] = _screen(models)

    assert "extractor: none (the lexicon extracts)" in " ".join(capsys.readouterr().out.split())
    assert _invocations(caplog) == {"endpoint=ae-classifier-local status=200"}
    assert (line["suspect_drugs"], line["events"]) == (["amoxicillin"], ["rash"])


def test_the_stack_serves_the_extractor_under_its_endpoint_name(
    models: dict[str, Path], idle_handlers: dict[str, Any]
) -> None:
    """GIVEN extractor_dir WHEN the stack starts THEN CaseFunction names ae-extractor-local, which answers."""
    with LocalStack(
        model_dir=models["classifier"], extractor_dir=models["extractor"], handlers=idle_handlers
    ) as stack:
        assert stack.functions["CaseFunction"].environment["EXTRACTOR_ENDPOINT_NAME"] == "ae-extractor-local"
        assert stack.served == {
            "ae-classifier-local": models["classifier"],
            "ae-extractor-local": models["extractor"],
        }
        assert set(stack.model_server.models) == {"ae-classifier-local", "ae-extractor-local"}
    with LocalStack(model_dir=models["classifier"], handlers=idle_handlers) as stack:
        assert stack.functions["CaseFunction"].environment["EXTRACTOR_ENDPOINT_NAME"] == ""
        assert stack.served == {"ae-classifier-local": models["classifier"]}


def test_an_extractor_needs_the_local_model_server() -> None:
    with pytest.raises(ValueError, match="extractor_dir is served beside model_dir"):
        LocalStack(endpoint_url="http://127.0.0.1:1", extractor_dir="x")


def _args(*options: str) -> argparse.Namespace:
    return build_parser().parse_args(["screen", "inbox", "--out", "x.jsonl", *options])


def test_extractor_option_serves_only_the_folder_it_names(work: Path, models: dict[str, Path]) -> None:
    assert extractor_from_args(_args()) is None  # a trained folder in the default place is not enough
    assert extractor_from_args(_args("--endpoint-url", "http://127.0.0.1:1")) is None
    assert extractor_from_args(_args("--extractor", str(models["extractor"]))) == models["extractor"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--extractor", "nowhere"), "no trained model in nowhere"),
        (("--extractor", "CLASSIFIER"), "is not a DRUG/AE extraction model"),
        (
            ("--extractor", "EXTRACTOR", "--endpoint-url", "http://127.0.0.1:1"),
            "which --endpoint-url replaces",
        ),
    ],
)
def test_extractor_option_refuses_what_cannot_be_served(
    work: Path, models: dict[str, Path], options: tuple[str, ...], message: str
) -> None:
    named = [str(models[o.lower()]) if o in ("CLASSIFIER", "EXTRACTOR") else o for o in options]
    with pytest.raises(UsageError, match=message):
        extractor_from_args(_args(*named))


def test_there_is_no_no_extractor_option(capsys: pytest.CaptureFixture[str]) -> None:
    """No extractor is the default, so `--no-extractor` is gone (an unknown option)."""
    with pytest.raises(SystemExit):
        _args("--no-extractor")


def test_demo_report_records_the_extractor(models: dict[str, Path]) -> None:
    stack = SimpleNamespace(
        model_dir=models["classifier"], extractor_dir=models["extractor"], model_threshold=lambda: "0.5"
    )
    info = _model_info(stack, "torch")
    assert info is not None
    assert info["extractor"] == {"dir": str(models["extractor"]), "version": "ner-tiny-000000000000"}
    assert (
        _model_info(SimpleNamespace(**{**vars(stack), "extractor_dir": None}), "torch")["extractor"] is None
    )
