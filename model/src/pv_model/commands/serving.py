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
