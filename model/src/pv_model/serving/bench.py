"""Inference benchmark: pipeline baseline vs the handler's batched torch, ONNX fp32 and ONNX int8 paths.

The in-process paths score the same pmid-test sentences in one call each (sorted by length, in
the backend's model batches, `inference.MODEL_BATCH`). Throughput is sentences per second after a
short warm-up; F1 is for Adverse_Event at the model's saved threshold; `speedup` is the
fastest served path whose F1 is within `F1_TOLERANCE` of the torch path, over the baseline.
`server_sps` is the ONNX int8 path through the local endpoint server, run as a process of its own
(`pv-model serve`, as on an endpoint: HTTP + JSON, 4 concurrent clients, micro-batching across
them), and `server_vs_in_process` its share of the in-process int8 throughput. `server_rss_mb` is
that server process's peak resident memory under the load, `server_rss_at_rest_mb` its memory
with the model loaded and warm, before the load. ONNX files missing or older than the weights
are (re-)exported first.
"""

from __future__ import annotations

import json
import os
import random
import resource
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from pv_model.serving.code import inference

F1_TOLERANCE = 0.005
TARGET_SPEEDUP = 5.0
WARMUP = 16
SERVER_CLIENTS = 4
SERVED_PATHS = {"batched": "torch", "onnx": "onnx", "onnx_int8": "onnx-int8"}


def bench_sentences(data_dir: str | Path, model_dir: str | Path, n: int) -> tuple[list[str], list[int]]:
    """`n` sentences (seeded sample) of the pmid test split the model was trained with, and labels."""
    from pv_model.data import load_corpus, split

    seed = int(json.loads((Path(model_dir) / "training.json").read_text()).get("split", {}).get("seed", 42))
    test = split(load_corpus(data_dir), protocol="pmid", seed=seed).test
    if len(test) > n:
        test = random.Random(seed).sample(test, n)
    return [e.text for e in test], [int(e.label == inference.POSITIVE_LABEL) for e in test]


def _f1(labels: list[int], scores: list[float], threshold: float) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(labels, [int(s >= threshold) for s in scores], zero_division=0))


def _timed(score: Callable[[list[str]], list[float]], texts: list[str]) -> tuple[list[float], float]:
    score(texts[:WARMUP])
    started = time.perf_counter()
    scores = score(texts)
    return scores, len(texts) / (time.perf_counter() - started)


def _pipeline_scorer(model_dir: Path, max_length: int, progress: bool) -> Callable[[list[str]], list[float]]:
    """The plain transformers text-classification pipeline, one sentence per call."""
    from tqdm import tqdm
    from transformers import pipeline

    classify = pipeline("text-classification", model=str(model_dir), device=-1)

    def score(texts: list[str]) -> list[float]:
        out = []
        for text in tqdm(texts, desc="pipeline, one at a time", disable=not progress or len(texts) <= WARMUP):
            top = classify(text, truncation=True, max_length=max_length)[0]
            out.append(top["score"] if top["label"] == inference.POSITIVE_LABEL else 1.0 - top["score"])
        return out

    return score


def _size_mb(path: Path) -> float | None:
    return round(path.stat().st_size / 1e6, 2) if path.is_file() else None


def run_bench(
    model_dir: str | Path,
    data_dir: str | Path,
    n: int = 1000,
    batch_size: int = 32,
    progress: bool = True,
    threads: int = 0,
) -> dict[str, Any]:
    """Measure every path on the same sentences; returns the report (see the module docstring).

    `threads` > 0 gives torch and ONNX Runtime that many threads each (0: their defaults); on a
    shared, oversubscribed CPU one thread avoids stalls at every operator's barrier.
    """
    import torch

    if threads > 0:
        torch.set_num_threads(threads)
        os.environ["PV_ORT_THREADS"] = str(threads)

    root = Path(model_dir)
    if _stale_onnx(root):
        from pv_model.serving.onnx_export import export_onnx

        _say(progress, "exporting ONNX (fp32 + int8) into the model folder")
        export_onnx(root, quantize="int8")
    texts, labels = bench_sentences(data_dir, root, n)
    report: dict[str, Any] = {"n": len(texts), "positives": sum(labels), "batch_size": batch_size}

    bundles = {name: inference.load_model(root, backend=backend) for name, backend in SERVED_PATHS.items()}
    threshold = bundles["batched"].threshold
    _say(progress, f"[1/5] baseline: transformers pipeline on {len(texts)} sentences")
    scores, sps = _timed(_pipeline_scorer(root, bundles["batched"].max_length, progress), texts)
    report |= {"baseline_sps": round(sps, 1), "f1_baseline": round(_f1(labels, scores, threshold), 4)}
    for step, (name, bundle) in enumerate(bundles.items(), start=2):
        scores, sps = _timed(partial(inference.predict_scores, bundle), texts)
        f1_key = "f1_torch" if name == "batched" else f"f1_{name}"
        report |= {f"{name}_sps": round(sps, 1), f1_key: round(_f1(labels, scores, threshold), 4)}
        _say(
            progress, f"[{step}/5] {name} ({bundle.backend}): {sps:.1f} sentences/s, F1 {report[f1_key]:.4f}"
        )

    eligible = {
        name: report[f"{name}_sps"]
        for name in SERVED_PATHS
        if abs(report["f1_torch" if name == "batched" else f"f1_{name}"] - report["f1_torch"]) <= F1_TOLERANCE
    }
    best = max(eligible, key=eligible.__getitem__)
    _say(
        progress, f"[5/5] HTTP server process (onnx-int8), {SERVER_CLIENTS} clients, {batch_size} per request"
    )
    served = _served(root, "onnx-int8", texts, batch_size)
    report |= served
    report["server_vs_in_process"] = round(served["server_sps"] / report["onnx_int8_sps"], 3)
    report |= {
        "best_path": best,
        "speedup": round(eligible[best] / report["baseline_sps"], 2),
        "speedup_any_f1": round(
            max(report[f"{name}_sps"] for name in SERVED_PATHS) / report["baseline_sps"], 2
        ),
        "target": {"speedup": TARGET_SPEEDUP, "f1_tolerance": F1_TOLERANCE},
        "threshold": threshold,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "model_size_mb": {
            "safetensors": _size_mb(root / "model.safetensors"),
            "onnx": _size_mb(root / inference.ONNX_FILES["onnx"]),
            "onnx_int8": _size_mb(root / inference.ONNX_FILES["onnx-int8"]),
        },
        "model_version": bundles["batched"].version,
        "torch_threads": torch.get_num_threads(),
        "ort_threads": int(os.environ.get("PV_ORT_THREADS") or 0) or "default",
        "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    report["meets_target"] = report["speedup"] >= TARGET_SPEEDUP
    return report


def _stale_onnx(root: Path) -> bool:
    """No ONNX exports yet, or exports older than the weights they came from."""
    weights = root / "model.safetensors"
    exports = [root / name for name in inference.ONNX_FILES.values()]
    if not all(path.is_file() for path in exports):
        return True
    return weights.is_file() and min(path.stat().st_mtime for path in exports) < weights.stat().st_mtime


def _served(root: Path, backend: str, texts: list[str], batch_size: int) -> dict[str, Any]:
    """Sentences/s through the endpoint server in its own process (HTTP, JSON and micro-batching
    included), and that process's resident memory at rest and at its peak under the load."""
    from pv_model.serving.process import ServerProcess

    with ServerProcess(root, backend=backend) as server:
        invoke = invoker(f"{server.url}/endpoints/bench/invocations")
        invoke(texts[:WARMUP])
        at_rest = server.rss_mb()
        sps = served_sps(invoke, texts, batch_size, SERVER_CLIENTS)
        return {
            "server_sps": round(sps, 1),
            "server_backend": backend,
            "server_workers": _workers(backend),
            "server_rss_at_rest_mb": at_rest,
            "server_rss_mb": server.peak_rss_mb(),
        }


def _workers(backend: str) -> int:
    from pv_model.serving.server import serving_plan

    return serving_plan(backend)[0]


def invoker(route: str) -> Callable[[list[str]], int]:
    """A function that posts one batch to an invocations route and returns the answers' count."""
    import urllib.request

    def invoke(batch: list[str]) -> int:
        body = json.dumps({"inputs": batch}).encode()
        request = urllib.request.Request(route, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as response:
            return len(json.loads(response.read()))

    return invoke


def served_sps(invoke: Callable[[list[str]], int], texts: list[str], batch_size: int, clients: int) -> float:
    """Sentences/s when `clients` callers send `texts` in batches of `batch_size` at once."""
    from concurrent.futures import ThreadPoolExecutor

    batches = [texts[i : i + batch_size] for i in range(0, len(texts), batch_size)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        answered = sum(pool.map(invoke, batches))
    elapsed = time.perf_counter() - started
    if answered != len(texts):
        raise RuntimeError(f"the server answered {answered} of {len(texts)} sentences")
    return len(texts) / elapsed


def _say(progress: bool, message: str) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)
