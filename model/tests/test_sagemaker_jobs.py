"""SageMaker SDK calls against moto: the exact job, tuner and endpoint requests that would be sent."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from pv_model.cli import main
from pv_model.sagemaker import jobs

REGION = "eu-west-1"
ROLE = "arn:aws:iam::123456789012:role/pv-sagemaker"
BUCKET = "pv-models-test"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    """moto for every AWS call, a bucket and a KMS key; yields (boto3 session, key ARN)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        boto = boto3.Session(region_name=REGION)
        boto.client("s3").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        key = boto.client("kms").create_key()["KeyMetadata"]["Arn"]
        yield boto, key


@pytest.fixture
def recorded(aws):
    """A sagemaker.Session whose SageMaker API requests are recorded as (operation, params)."""
    session = jobs.make_session(REGION, BUCKET)
    calls: list[tuple[str, dict]] = []
    session.sagemaker_client.meta.events.register(
        "provide-client-params.sagemaker.*", lambda params, model, **_: calls.append((model.name, params))
    )
    settings = jobs.AwsSettings(role=ROLE, bucket=BUCKET, kms_key_id=aws[1])
    return session, settings, calls


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "DRUG-AE.rel").write_text("1|Rash after amoxicillin.|Rash|0|4|amoxicillin|11|22\n")
    (root / "ADE-NEG.txt").write_text("2 NEG Blood pressure was normal.\n")
    return root


def _aws_flags(action: str, key: str) -> list[str]:
    return ["sagemaker", action, "--region", REGION, "--role", ROLE, "--bucket", BUCKET, "--kms-key", key]


def _only(calls: list[tuple[str, dict]], operation: str) -> dict:
    matching = [params for name, params in calls if name == operation]
    assert len(matching) == 1, [name for name, _ in calls]
    return matching[0]


def test_training_data_is_uploaded_with_sse_kms(aws, recorded, corpus) -> None:
    session, settings, _ = recorded
    s3 = aws[0].client("s3")

    uri = jobs.upload_training_data(session, corpus, settings)

    assert uri == f"s3://{BUCKET}/pv-ae-classifier/data/train"
    for name in ("DRUG-AE.rel", "ADE-NEG.txt"):
        head = s3.head_object(Bucket=BUCKET, Key=f"pv-ae-classifier/data/train/{name}")
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == aws[1]


def test_training_job_request(aws, recorded, tmp_path) -> None:
    """GIVEN the estimator WHEN fit THEN one CreateTrainingJob with the HF image, metrics, KMS and hps."""
    session, settings, calls = recorded
    source = jobs.stage_source_dir(tmp_path / "source")
    estimator = jobs.make_estimator(session, settings, source, {"epochs": 2, "learning_rate": 5e-5})

    estimator.fit({"train": f"s3://{BUCKET}/pv-ae-classifier/data/train"}, wait=False, logs="None")

    request = _only(calls, "CreateTrainingJob")
    algorithm = request["AlgorithmSpecification"]
    assert algorithm["TrainingImage"].startswith(
        f"763104351884.dkr.ecr.{REGION}.amazonaws.com/huggingface-pytorch-training:2.8.0-transformers4.56.2-gpu-py312"
    )
    assert algorithm["MetricDefinitions"] == [
        {"Name": "validation:f1", "Regex": "f1: ([0-9.]+)"},
        {"Name": "validation:precision", "Regex": "precision: ([0-9.]+)"},
        {"Name": "validation:recall", "Regex": "recall: ([0-9.]+)"},
        {"Name": "validation:threshold", "Regex": "threshold: ([0-9.]+)"},
    ]
    assert request["ResourceConfig"] == {
        "InstanceType": "ml.g5.xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 30,
        "VolumeKmsKeyId": aws[1],
    }
    assert request["OutputDataConfig"] == {
        "S3OutputPath": f"s3://{BUCKET}/pv-ae-classifier/output",
        "KmsKeyId": aws[1],
    }
    assert request["RoleArn"] == ROLE
    assert request["InputDataConfig"][0]["ChannelName"] == "train"
    assert request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == (
        f"s3://{BUCKET}/pv-ae-classifier/data/train"
    )
    hps = {name: json.loads(value) for name, value in request["HyperParameters"].items()}
    assert hps["epochs"] == "2" and hps["learning_rate"] == "5e-05" and hps["sagemaker_program"] == "train.py"
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 10800}


def test_source_dir_launches_the_entry_point_with_its_requirements(aws, recorded, tmp_path) -> None:
    """The uploaded sourcedir.tar.gz holds train.py, the pv_model package and pinned requirements."""
    session, settings, calls = recorded
    estimator = jobs.make_estimator(session, settings, jobs.stage_source_dir(tmp_path / "source"))
    estimator.fit({"train": f"s3://{BUCKET}/x"}, wait=False, logs="None")
    submit = json.loads(_only(calls, "CreateTrainingJob")["HyperParameters"]["sagemaker_submit_directory"])
    key = submit.removeprefix(f"s3://{BUCKET}/")
    archive = tmp_path / "sourcedir.tar.gz"
    aws[0].client("s3").download_file(BUCKET, key, str(archive))

    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
        launcher = tar.extractfile("train.py").read().decode()
        requirements = tar.extractfile("requirements.txt").read().decode().split()

    assert {
        "train.py",
        "requirements.txt",
        "pv_model/sagemaker/train_entry.py",
        "pv_model/serving/code/inference.py",
    } <= names
    assert not any("__pycache__" in name for name in names)
    assert "from pv_model.sagemaker.train_entry import main" in launcher
    assert "transformers==5.23.0" in requirements
    assert not any(line.startswith("torch") for line in requirements)  # the image's own torch


def test_tuning_job_request(aws, recorded, tmp_path) -> None:
    """GIVEN the tuner WHEN fit THEN it maximizes validation F1 over 4 ranges, 40 jobs, 4 at a time."""
    session, settings, calls = recorded
    estimator = jobs.make_estimator(
        session, settings, jobs.stage_source_dir(tmp_path / "source"), {"epochs": 2}
    )
    tuner = jobs.make_tuner(estimator)

    tuner.fit({"train": f"s3://{BUCKET}/pv-ae-classifier/data/train"}, wait=False)

    config = _only(calls, "CreateHyperParameterTuningJob")["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Bayesian"
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Maximize", "MetricName": "validation:f1"}
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 40, "MaxParallelTrainingJobs": 4}
    ranges = config["ParameterRanges"]
    assert ranges["ContinuousParameterRanges"] == [
        {"Name": "learning_rate", "MinValue": "5e-06", "MaxValue": "0.0005", "ScalingType": "Logarithmic"}
    ]
    assert ranges["IntegerParameterRanges"] == [
        {"Name": "max_length", "MinValue": "16", "MaxValue": "256", "ScalingType": "Auto"},
        {"Name": "batch_size", "MinValue": "16", "MaxValue": "256", "ScalingType": "Auto"},
    ]
    [categorical] = ranges["CategoricalParameterRanges"]
    assert categorical["Name"] == "base_model"
    assert [json.loads(value) for value in categorical["Values"]] == list(jobs.BIOMEDICAL_BERTS)
    definition = _only(calls, "CreateHyperParameterTuningJob")["TrainingJobDefinition"]
    assert definition["AlgorithmSpecification"]["MetricDefinitions"][0] == {
        "Name": "validation:f1",
        "Regex": "f1: ([0-9.]+)",
    }
    assert definition["OutputDataConfig"]["KmsKeyId"] == aws[1]
    assert json.loads(definition["StaticHyperParameters"]["epochs"]) == "2"
    assert "learning_rate" not in definition["StaticHyperParameters"]


def test_serverless_deploy_request(aws, recorded) -> None:
    session, settings, calls = recorded
    spec = jobs.EndpointSpec(
        "ae-classifier-dev", serverless=True, memory_mb=4096, max_concurrency=20, backend="onnx"
    )

    jobs.deploy(session, settings, f"s3://{BUCKET}/models/model.tar.gz", spec, wait=False)

    model = _only(calls, "CreateModel")
    assert model["PrimaryContainer"]["Image"].startswith(
        f"763104351884.dkr.ecr.{REGION}.amazonaws.com/huggingface-pytorch-inference:2.6.0-transformers4.51.3-cpu-py312"
    )
    assert model["PrimaryContainer"]["ModelDataUrl"] == f"s3://{BUCKET}/models/model.tar.gz"
    assert model["PrimaryContainer"]["Environment"]["PV_BACKEND"] == "onnx"
    assert model["ExecutionRoleArn"] == ROLE
    config = _only(calls, "CreateEndpointConfig")
    assert config["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "ModelName": "ae-classifier-dev-model",
            "InitialVariantWeight": 1,
            "ServerlessConfig": {"MemorySizeInMB": 4096, "MaxConcurrency": 20},
        }
    ]
    assert "KmsKeyId" not in config
    assert _only(calls, "CreateEndpoint")["EndpointName"] == "ae-classifier-dev"


def test_real_time_deploy_request_encrypts_the_instance_storage(aws, recorded) -> None:
    session, settings, calls = recorded

    jobs.deploy(
        session, settings, f"s3://{BUCKET}/m.tar.gz", jobs.EndpointSpec("ae-rt", instance_count=2), wait=False
    )

    config = _only(calls, "CreateEndpointConfig")
    assert config["KmsKeyId"] == aws[1]
    [variant] = config["ProductionVariants"]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.m5.xlarge", 2)
    assert "ServerlessConfig" not in variant


def test_delete_removes_endpoint_config_and_model(aws, recorded) -> None:
    session, settings, _ = recorded
    jobs.deploy(session, settings, f"s3://{BUCKET}/m.tar.gz", jobs.EndpointSpec("ae-gone"), wait=False)
    client = aws[0].client("sagemaker")

    jobs.delete_endpoint(session, "ae-gone")

    assert client.list_endpoints()["Endpoints"] == []
    assert client.list_endpoint_configs()["EndpointConfigs"] == []
    assert client.list_models()["Models"] == []


def test_cli_deploy_uploads_a_local_package_with_kms_and_creates_a_serverless_endpoint(
    aws, tmp_path, capsys
) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"not really a tarball")

    code = main(
        [
            *_aws_flags("deploy", aws[1]),
            "--endpoint-name",
            "ae-cli",
            "--model-data",
            str(archive),
            "--serverless",
            "--backend",
            "onnx-int8",
        ]
    )

    assert code == 0
    s3 = aws[0].client("s3")
    head = s3.head_object(Bucket=BUCKET, Key="pv-ae-classifier/models/model.tar.gz")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", aws[1])
    client = aws[0].client("sagemaker")
    variant = client.describe_endpoint_config(EndpointConfigName="ae-cli")["ProductionVariants"][0]
    # The serverless size for the int8 model comes from its measured RSS (SERVERLESS_MEMORY_MB).
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 10}
    model = client.describe_model(ModelName="ae-cli-model")
    assert model["PrimaryContainer"]["ModelDataUrl"] == f"s3://{BUCKET}/pv-ae-classifier/models/model.tar.gz"
    assert capsys.readouterr().out.strip().endswith("endpoint ae-cli (serverless)")


def test_cli_tune_uploads_the_corpus_and_starts_a_tuning_job(
    aws, corpus, monkeypatch, tmp_path, capsys
) -> None:
    monkeypatch.chdir(tmp_path)  # the staged source dir goes under .artifacts/ here

    code = main(
        [
            *_aws_flags("tune", aws[1]),
            "--data",
            str(corpus),
            "--max-jobs",
            "8",
            "--max-parallel-jobs",
            "2",
            "--hp",
            "epochs=2",
        ]
    )

    assert code == 0
    name = capsys.readouterr().out.strip().split()[-1]
    job = aws[0].client("sagemaker").describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert job["HyperParameterTuningJobConfig"]["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": 8,
        "MaxParallelTrainingJobs": 2,
    }
    channel = job["TrainingJobDefinition"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert channel == f"s3://{BUCKET}/pv-ae-classifier/data/train"


def test_cli_refuses_to_run_without_role_bucket_and_key(monkeypatch) -> None:
    for name in ("PV_SAGEMAKER_ROLE_ARN", "PV_SAGEMAKER_BUCKET", "PV_KMS_KEY_ID"):
        monkeypatch.delenv(name, raising=False)

    with pytest.raises(SystemExit, match="missing --role, --bucket, --kms-key"):
        main(["sagemaker", "train", "--region", REGION])
