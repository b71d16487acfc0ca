"""The SageMaker training entry point, run locally with SM_* variables pointing at folders."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from pv_model.data import synthetic_examples, write_corpus
from pv_model.sagemaker import train_entry
from pv_model.sagemaker.train_entry import HyperparameterError, build_config, parse_hyperparameters
from pv_model.serving.tiny import build_tiny_classifier


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "SM_CHANNEL_TRAIN": str(tmp_path / "input" / "train"),
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / "output" / "data"),
        **extra,
    }


def test_arguments_override_sm_hps_and_sagemaker_keys_are_dropped() -> None:
    env = {"SM_HPS": json.dumps({"epochs": 2, "batch_size": 8, "sagemaker_program": "train.py"})}

    hps = parse_hyperparameters(["--learning_rate", "5e-5", "--max-length=64", "--batch_size", "16"], env)

    assert hps == {"epochs": 2, "batch_size": "16", "learning_rate": "5e-5", "max_length": "64"}


def test_hyperparameters_map_onto_train_config_fields_with_their_types(tmp_path: Path) -> None:
    hps = {
        "learning_rate": "5e-05",
        "max_length": "64",
        "batch_size": "16",
        "base_model": "dmis-lab/biobert-v1.1",
    }

    config = build_config(hps, _env(tmp_path, SM_NUM_CPUS="8"))

    assert (config.learning_rate, config.max_length, config.batch_size) == (5e-05, 64, 16)
    assert config.base_model == "dmis-lab/biobert-v1.1"
    assert config.data_dir == str(tmp_path / "input" / "train")
    assert config.output_dir == str(tmp_path / "model")
    assert config.num_threads == 8
    assert config.lay_dir == ""  # no lay channel: ADE alone
    assert build_config({}, _env(tmp_path, SM_CHANNEL_LAY="/opt/ml/input/data/lay")).lay_dir == (
        "/opt/ml/input/data/lay"
    )


@pytest.mark.parametrize(
    ("hps", "env_drop", "message"),
    [
        ({"learnin_rate": "1e-4"}, None, "unknown hyperparameters ['learnin_rate']"),
        ({"output_dir": "/tmp/x"}, None, "output_dir comes from SM_CHANNEL_TRAIN / SM_MODEL_DIR"),
        ({"lay_dir": "/tmp/x"}, None, "lay_dir comes from SM_CHANNEL_TRAIN / SM_MODEL_DIR / SM_CHANNEL_LAY"),
        ({"batch_size": "lots"}, None, "bad hyperparameter value"),
        ({}, "SM_CHANNEL_TRAIN", "SM_CHANNEL_TRAIN is not set"),
    ],
)
def test_bad_settings_fail_before_training_with_a_clear_message(tmp_path, hps, env_drop, message) -> None:
    env = _env(tmp_path)
    env.pop(env_drop or "", None)

    with pytest.raises(HyperparameterError, match=re.escape(message)):
        build_config(hps, env)


def test_main_exits_2_on_a_bad_argument_list(tmp_path: Path, capsys) -> None:
    assert train_entry.main(["--epochs"], _env(tmp_path)) == 2
    assert "error: --epochs has no value" in capsys.readouterr().err


def test_metric_lines_match_the_metric_definition_regexes() -> None:
    lines = train_entry.metric_lines(
        {"f1": 0.912, "precision": 0.9, "recall": 0.925, "threshold": 0.41, "x": 1}
    )

    found = {
        definition["Name"]: float(re.search(definition["Regex"], "\n".join(lines)).group(1))
        for definition in train_entry.METRIC_DEFINITIONS
    }
    assert found == {
        "validation:f1": 0.912,
        "validation:precision": 0.9,
        "validation:recall": 0.925,
        "validation:threshold": 0.41,
    }


@pytest.mark.slow
def test_local_job_trains_prints_metrics_and_leaves_a_deployable_model(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """GIVEN SM_* folders and a tiny base model WHEN the entry point runs THEN the model folder holds
    weights plus code/inference.py that serves it, and the printed metrics equal metrics.json."""
    env = _env(tmp_path, SM_HPS=json.dumps({"epochs": "1", "sagemaker_region": "eu-west-1"}))
    env["TRAINING_JOB_NAME"] = "pv-ae-classifier-2026-01-02-03-04-05-678"
    write_corpus(synthetic_examples(n_pmids=40, seed=3), env["SM_CHANNEL_TRAIN"])
    base = build_tiny_classifier(tmp_path / "base")
    argv = ["--base_model", str(base), "--batch_size", "16", "--max_length", "24", "--learning_rate", "1e-3"]
    argv += [
        "--warmup_steps",
        "0",
        "--time_budget_minutes",
        "0",
        "--num_threads",
        "1",
        "--freeze_layers",
        "0",
    ]

    assert train_entry.main(argv, env) == 0

    printed = capsys.readouterr().out
    metrics = json.loads((tmp_path / "output" / "data" / "metrics.json").read_text())
    f1 = float(re.search(r"f1: ([0-9.]+)", printed).group(1))
    assert f1 == pytest.approx(metrics["f1"], abs=1e-6)
    assert float(re.search(r"recall: ([0-9.]+)", printed).group(1)) == pytest.approx(
        metrics["recall"], abs=1e-6
    )
    model_dir = tmp_path / "model"
    assert (model_dir / "model.safetensors").is_file()
    assert json.loads((model_dir / "training.json").read_text())["max_length"] == 24
    monkeypatch.syspath_prepend(str(model_dir / "code"))  # as the inference toolkit does
    monkeypatch.delitem(sys.modules, "ner_inference", raising=False)
    handler = _import(model_dir / "code" / "inference.py")
    bundle = handler.model_fn(str(model_dir))
    assert len(handler.predict_fn(["Rash after amoxicillin.", "Normal.", ""], bundle)) == 3
    data_hash = json.loads((model_dir / "training.json").read_text())["data_sha256"][:12]
    assert bundle.version == f"pv-ae-classifier-2026-01-02-03-04-05-678-{data_hash}"


def _import(path: Path):
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("job_inference", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["job_inference"] = module  # dataclasses resolve annotations through sys.modules
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop("job_inference", None)
    return module
