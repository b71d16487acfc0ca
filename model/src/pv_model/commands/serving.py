"""Serving commands: serve, export-onnx, package, bench, sagemaker (train|tune|deploy|delete)."""

from __future__ import annotations

import argparse
import logging
import os

from pv_model import DEFAULT_MODEL_DIR

BACKEND_CHOICES = ("torch", "onnx", "onnx-int8")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the serving subcommands to `pv-model`."""
    serve = subparsers.add_parser("serve", help="local endpoint server (SageMaker runtime route)")
    serve.add_argument(
        "--model",
        action="append",
        metavar="DIR | NAME=DIR",
        help="a trained model folder, served under any endpoint name; or, repeated, NAME=DIR: each "
        f"folder served under its endpoint name only (default: {DEFAULT_MODEL_DIR})",
    )
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--backend", choices=BACKEND_CHOICES, default="torch")
    serve.add_argument("--max-batch", type=int, default=256, help="most sentences scored in one model call")
    serve.add_argument(
        "--workers",
        type=int,
        help="worker threads of an ONNX model, each scoring batches with its share of the cores "
        "(default: one per usable core; a torch model has one worker on every core)",
    )
    serve.set_defaults(func=_serve)

    export = subparsers.add_parser(
        "export-onnx", help="write model.onnx (and model.int8.onnx) into a model folder"
    )
    export.add_argument("--model", default=DEFAULT_MODEL_DIR, help="trained model folder")
    export.add_argument("--quantize", choices=("int8",), help="also write a dynamically quantized int8 model")
    export.set_defaults(func=_export_onnx)

    package = subparsers.add_parser("package", help="build model.tar.gz for SageMaker")
    package.add_argument("--model", default=DEFAULT_MODEL_DIR, help="trained model folder")
    package.add_argument("--out", default=".artifacts/package/model.tar.gz")
    package.add_argument("--onnx", action="store_true", help="include the ONNX exports (PV_BACKEND=onnx)")
    package.set_defaults(func=_package)

    bench = subparsers.add_parser("bench", help="throughput and F1: pipeline baseline vs served paths")
    bench.add_argument("--model", default=DEFAULT_MODEL_DIR, help="trained model folder")
    bench.add_argument("--data", default="../shared/data/ade-corpus-v2", help="ADE-Corpus-V2 folder")
    bench.add_argument("--json", default=".artifacts/bench/model.json", help="where to write the report")
    bench.add_argument("--n", type=int, default=1000, help="pmid-test sentences to score")
    bench.add_argument("--batch-size", type=int, default=32)
    bench.add_argument("--threads", type=int, default=0, help="torch and ONNX Runtime threads (0: defaults)")
    bench.set_defaults(func=_bench)

    _register_sagemaker(subparsers)


def _register_sagemaker(subparsers: argparse._SubParsersAction) -> None:
    from pv_model.sagemaker.jobs import BIOMEDICAL_BERTS

    sagemaker = subparsers.add_parser("sagemaker", help="SageMaker training, tuning and endpoints (SDK v2)")
    actions = sagemaker.add_subparsers(dest="action", required=True)
    aws = argparse.ArgumentParser(add_help=False)
    aws.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    aws.add_argument(
        "--role", default=os.environ.get("PV_SAGEMAKER_ROLE_ARN"), help="SageMaker execution role ARN"
    )
    aws.add_argument(
        "--bucket", default=os.environ.get("PV_SAGEMAKER_BUCKET"), help="S3 bucket for data and models"
    )
    aws.add_argument(
        "--kms-key", default=os.environ.get("PV_KMS_KEY_ID"), help="KMS key for SSE-KMS and volumes"
    )
    aws.add_argument("--prefix", default="pv-ae-classifier", help="S3 key prefix and job name prefix")
    job = argparse.ArgumentParser(add_help=False)
    job.add_argument("--data", default="../shared/data/ade-corpus-v2", help="corpus folder to upload")
    job.add_argument("--data-s3", help="an already uploaded corpus prefix (skips the upload)")
    job.add_argument("--instance-type", default="ml.g5.xlarge")
    job.add_argument("--instance-count", type=int, default=1)
    job.add_argument("--max-run", type=int, default=3 * 3600, help="seconds per training job")
    job.add_argument("--hp", action="append", default=[], metavar="NAME=VALUE", help="a TrainConfig field")
    job.add_argument("--wait", action="store_true", help="wait for the job and stream its logs")

    actions.add_parser("train", parents=[aws, job], help="run one training job").set_defaults(func=_sm_train)
    tune = actions.add_parser("tune", parents=[aws, job], help="tuning job maximizing validation F1")
    tune.add_argument("--max-jobs", type=int, default=40)
    tune.add_argument("--max-parallel-jobs", type=int, default=4)
    tune.add_argument("--base-models", nargs="+", default=list(BIOMEDICAL_BERTS), help="categorical values")
    tune.set_defaults(func=_sm_tune)

    deploy = actions.add_parser("deploy", parents=[aws], help="real-time or serverless endpoint")
    deploy.add_argument("--endpoint-name", required=True)
    deploy.add_argument("--model-data", required=True, help="s3://.../model.tar.gz, or a local one to upload")
    deploy.add_argument("--serverless", action="store_true")
    deploy.add_argument(
        "--memory-mb",
        type=int,
        help="serverless memory (1024..6144; default: 2048 for onnx-int8 and onnx, 3072 for torch)",
    )
    deploy.add_argument("--max-concurrency", type=int, default=10, help="serverless concurrent invocations")
    deploy.add_argument("--instance-type", default="ml.m5.xlarge", help="real-time instance type")
    deploy.add_argument("--instance-count", type=int, default=1, help="real-time instances")
    deploy.add_argument(
        "--backend", choices=BACKEND_CHOICES, default="torch", help="PV_BACKEND of the handler"
    )
    deploy.add_argument("--wait", action="store_true", help="wait until the endpoint is InService")
    deploy.set_defaults(func=_sm_deploy)

    delete = actions.add_parser("delete", parents=[aws], help="delete an endpoint, its config and model")
    delete.add_argument("--endpoint-name", required=True)
    delete.set_defaults(func=_sm_delete)


def serve_models(values: list[str] | None) -> str | dict[str, str]:
    """`--model` values: one folder (any endpoint name) or NAME=DIR pairs (one endpoint each)."""
    if not values:
        return DEFAULT_MODEL_DIR
    pairs = [value.partition("=") for value in values]
    if len(values) == 1 and not pairs[0][1]:
        return values[0]
    if not all(sep and name and folder for name, sep, folder in pairs):
        raise SystemExit("pv-model serve: give one --model DIR, or --model NAME=DIR for every model")
    names = [name for name, _, _ in pairs]
    if len(set(names)) != len(names):
        raise SystemExit(f"pv-model serve: an endpoint name is given twice: {names}")
    return {name: folder for name, _, folder in pairs}


def _serve(args: argparse.Namespace) -> int:
    from pv_model.serving.server import make_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    models = serve_models(args.model)
    server = make_server(
        models,
        port=args.port,
        host=args.host,
        backend=args.backend,
        max_batch=args.max_batch,
        workers=args.workers,
    )
    if isinstance(models, dict):
        for name, folder in models.items():
            print(
                f"serving {folder} ({args.backend}) at {server.url}/endpoints/{name}/invocations", flush=True
            )
    else:
        print(f"serving {models} ({args.backend}) at {server.url}/endpoints/<name>/invocations", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def _export_onnx(args: argparse.Namespace) -> int:
    from pv_model.serving.onnx_export import export_onnx

    for path in export_onnx(args.model, quantize=args.quantize):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def _package(args: argparse.Namespace) -> int:
    from pv_model.serving.package import build_package

    out = build_package(args.model, args.out, include_onnx=args.onnx)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def _bench(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from pv_model.serving.bench import run_bench

    report = run_bench(args.model, args.data, n=args.n, batch_size=args.batch_size, threads=args.threads)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


def _sm_settings(args: argparse.Namespace):
    from pv_model.sagemaker.jobs import AwsSettings

    missing = [
        flag
        for flag, value in (("--role", args.role), ("--bucket", args.bucket), ("--kms-key", args.kms_key))
        if not value
    ]
    if missing:
        raise SystemExit(
            f"pv-model sagemaker {args.action}: missing {', '.join(missing)} (or their PV_* variables)"
        )
    return AwsSettings(role=args.role, bucket=args.bucket, kms_key_id=args.kms_key, prefix=args.prefix)


def _sm_estimator(args: argparse.Namespace):
    """Session, settings, estimator and training channel shared by train and tune."""
    from pathlib import Path

    from pv_model.sagemaker import jobs

    settings = _sm_settings(args)
    hyperparameters = dict(item.split("=", 1) for item in args.hp)
    session = jobs.make_session(args.region, settings.bucket)
    source = jobs.stage_source_dir(Path(".artifacts/sagemaker/source"))
    compute = jobs.TrainingResources(args.instance_type, args.instance_count, max_run_s=args.max_run)
    estimator = jobs.make_estimator(session, settings, source, hyperparameters, compute)
    channel = args.data_s3 or jobs.upload_training_data(session, args.data, settings)
    return estimator, {"train": channel}


def _sm_train(args: argparse.Namespace) -> int:
    estimator, inputs = _sm_estimator(args)
    estimator.fit(inputs, wait=args.wait, logs="All" if args.wait else "None")
    print(f"training job {estimator.latest_training_job.name}")
    return 0


def _sm_tune(args: argparse.Namespace) -> int:
    from pv_model.sagemaker.jobs import make_tuner

    estimator, inputs = _sm_estimator(args)
    tuner = make_tuner(estimator, args.max_jobs, args.max_parallel_jobs, tuple(args.base_models))
    tuner.fit(inputs, wait=args.wait)
    print(f"tuning job {tuner.latest_tuning_job.name}")
    return 0


def _sm_deploy(args: argparse.Namespace) -> int:
    from pv_model.sagemaker import jobs

    settings = _sm_settings(args)
    session = jobs.make_session(args.region, settings.bucket)
    model_data = args.model_data
    if not model_data.startswith("s3://"):
        model_data = jobs.upload_model(session, model_data, settings)
    spec = jobs.EndpointSpec(
        endpoint_name=args.endpoint_name,
        serverless=args.serverless,
        memory_mb=args.memory_mb or jobs.SERVERLESS_MEMORY_MB[args.backend],
        max_concurrency=args.max_concurrency,
        instance_type=args.instance_type,
        instance_count=args.instance_count,
        backend=args.backend,
    )
    jobs.deploy(session, settings, model_data, spec, wait=args.wait)
    print(f"endpoint {args.endpoint_name} ({'serverless' if args.serverless else args.instance_type})")
    return 0


def _sm_delete(args: argparse.Namespace) -> int:
    from pv_model.sagemaker import jobs

    jobs.delete_endpoint(jobs.make_session(args.region), args.endpoint_name)
    print(f"deleted endpoint {args.endpoint_name}")
    return 0
