"""Serving commands: serve, export-onnx, package, bench, sagemaker (train|tune|deploy|delete)."""

from __future__ import annotations

import argparse
import logging

from pv_model import DEFAULT_MODEL_DIR

BACKEND_CHOICES = ("torch", "onnx", "onnx-int8")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the serving subcommands to `pv-model`."""
    serve = subparsers.add_parser("serve", help="local endpoint server (SageMaker runtime route)")
    serve.add_argument("--model", default=DEFAULT_MODEL_DIR, help="trained model folder")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--backend", choices=BACKEND_CHOICES, default="torch")
    serve.add_argument("--max-batch", type=int, default=256, help="most sentences scored in one model call")
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
    bench.set_defaults(func=_bench)


def _serve(args: argparse.Namespace) -> int:
    from pv_model.serving.server import make_server

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server = make_server(
        args.model, port=args.port, host=args.host, backend=args.backend, max_batch=args.max_batch
    )
    print(f"serving {args.model} ({args.backend}) at {server.url}/endpoints/<name>/invocations", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.batcher.close()
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

    report = run_bench(args.model, args.data, n=args.n, batch_size=args.batch_size)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0
