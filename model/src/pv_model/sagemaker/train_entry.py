"""SageMaker training entry point (`train.py` style): SM_* variables + hyperparameters -> train().

SageMaker passes hyperparameters as `--name value` arguments (and as JSON in `SM_HPS`), the data
channel as a folder in `SM_CHANNEL_TRAIN`, and expects the model in `SM_MODEL_DIR` (packed into
model.tar.gz) and other outputs in `SM_OUTPUT_DATA_DIR`. Hyperparameter names are
`pv_model.training.TrainConfig` field names. Metrics are printed as `f1: 0.912` lines for the
estimator's metric definitions (regex `f1: ([0-9.]+)`). The handler (`code/inference.py`,
`code/requirements.txt`) is copied into the model folder, so the job's model.tar.gz deploys as is.

Locally: set the SM_* variables to folders and run `python -m pv_model.sagemaker.train_entry`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import fields
from importlib import resources
from pathlib import Path
from typing import Any

METRICS = ("f1", "precision", "recall", "threshold")
METRIC_DEFINITIONS: list[dict[str, Any]] = [
    {"Name": f"validation:{name}", "Regex": f"{name}: ([0-9.]+)"} for name in METRICS
]
# Keys SageMaker adds to SM_HPS for its own toolkit.
_SAGEMAKER_PREFIX = "sagemaker_"


class HyperparameterError(ValueError):
    """A hyperparameter that is not a TrainConfig field, or a malformed argument list."""


def parse_hyperparameters(argv: Sequence[str], env: Mapping[str, str]) -> dict[str, Any]:
    """Hyperparameters from `SM_HPS` (JSON), overridden by `--name value` / `--name=value` arguments."""
    values: dict[str, Any] = dict(json.loads(env.get("SM_HPS") or "{}"))
    args = list(argv)
    while args:
        token = args.pop(0)
        if not token.startswith("--") or len(token) == 2:
            raise HyperparameterError(f"expected --name value, got {token!r}")
        name, has_value, value = token[2:].partition("=")
        if not has_value:
            if not args:
                raise HyperparameterError(f"--{name} has no value")
            value = args.pop(0)
        values[name] = value
    return {
        name.replace("-", "_"): value
        for name, value in values.items()
        if not name.startswith(_SAGEMAKER_PREFIX)
    }


def build_config(hyperparameters: Mapping[str, Any], env: Mapping[str, str]):
    """TrainConfig from the hyperparameters (by field name) and the SM_* folders."""
    from pv_model.training import TrainConfig

    known = {field.name for field in fields(TrainConfig)}
    unknown = sorted(set(hyperparameters) - known)
    if unknown:
        raise HyperparameterError(
            f"unknown hyperparameters {unknown}; TrainConfig fields are {sorted(known)}"
        )
    for name in ("data_dir", "output_dir", "lay_dir"):
        if name in hyperparameters:
            raise HyperparameterError(
                f"{name} comes from SM_CHANNEL_TRAIN / SM_MODEL_DIR / SM_CHANNEL_LAY, not a hyperparameter"
            )
    values: dict[str, Any] = {
        "data_dir": _required(env, "SM_CHANNEL_TRAIN"),
        "output_dir": _required(env, "SM_MODEL_DIR"),
        # the lay corpus is a channel of its own (`lay`); without it the job learns from ADE alone
        "lay_dir": env.get("SM_CHANNEL_LAY", ""),
    }
    if "num_threads" not in hyperparameters and env.get("SM_NUM_CPUS"):
        values["num_threads"] = int(env["SM_NUM_CPUS"])
    try:
        return TrainConfig.from_mapping({**values, **hyperparameters})
    except ValueError as error:
        raise HyperparameterError(f"bad hyperparameter value: {error}") from error


def _required(env: Mapping[str, str], name: str) -> str:
    if not env.get(name):
        raise HyperparameterError(f"{name} is not set (SageMaker sets it; locally, point it at a folder)")
    return env[name]


def metric_lines(metrics: Mapping[str, Any]) -> list[str]:
    """`name: value` lines for the metric definitions' regexes."""
    return [f"{name}: {float(metrics[name]):.6f}" for name in METRICS if name in metrics]


def install_handler(model_dir: str | Path, job_name: str | None = None) -> None:
    """Copy the handler code (`code/`, as `pv-model package` ships it) next to the trained weights.

    With a job name, `serving.json` pins the model version to `<job>-<data hash>`: the endpoint
    unpacks into /opt/ml/model, where the folder name says nothing.
    """
    from pv_model.serving.code.inference import model_version
    from pv_model.serving.package import CODE_FILES

    root = Path(model_dir)
    code = root / "code"
    code.mkdir(parents=True, exist_ok=True)
    source = resources.files("pv_model.serving.code")
    for name in CODE_FILES:
        (code / name).write_bytes(source.joinpath(name).read_bytes())
    if job_name:
        data_hash = model_version(root).rsplit("-", 1)[-1]
        (root / "serving.json").write_text(json.dumps({"version": f"{job_name}-{data_hash}"}) + "\n")


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Train with the job's settings; print metric lines; write metrics.json to SM_OUTPUT_DATA_DIR."""
    from pv_model.training import train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    environment = os.environ if env is None else env
    try:
        config = build_config(
            parse_hyperparameters(sys.argv[1:] if argv is None else argv, environment), environment
        )
    except HyperparameterError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    metrics = train(config)
    for line in metric_lines(metrics):
        print(line, flush=True)
    install_handler(config.output_dir, environment.get("TRAINING_JOB_NAME"))
    output_data = environment.get("SM_OUTPUT_DATA_DIR")
    if output_data:
        Path(output_data).mkdir(parents=True, exist_ok=True)
        (Path(output_data) / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
