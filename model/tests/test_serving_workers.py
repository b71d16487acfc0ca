"""The served ONNX model: its own tokenizer reader, its workers, and the server run as a process."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from pv_model.cli import main
from pv_model.serving import server as serving
from pv_model.serving.code import inference
from pv_model.serving.process import ServerProcess
from pv_model.serving.tiny import build_tiny_classifier

pytest.importorskip("onnxruntime")

SENTENCES = [
    "The patient developed a severe rash after starting amoxicillin.",
    "Blood pressure was normal.",
    "",
    "Ünïcödé text — with ligatures and emoji 😀 and tabs\tand\nnewlines",
    "Hepatotoxicity was attributed to methotrexate given for rheumatoid arthritis " * 10,
]


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model_dir = build_tiny_classifier(tmp_path_factory.mktemp("tiny") / "ae-tiny", max_length=24)
    assert main(["export-onnx", "--model", str(model_dir), "--quantize", "int8"]) == 0
    return model_dir


def test_the_onnx_tokenizer_reader_gives_the_transformers_tokenizers_ids(onnx_dir: Path) -> None:
    """GIVEN a model folder WHEN its tokenizer.json is read without transformers THEN every
    sentence gets the same ids, truncated at the same length, and the same padding id."""
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(onnx_dir)
    fast = inference.FastTokenizer(onnx_dir)

    for max_length in (24, 8):
        expected = reference(SENTENCES, truncation=True, max_length=max_length, padding=False)["input_ids"]
        assert fast(SENTENCES, truncation=True, max_length=max_length)["input_ids"] == expected
    assert fast.pad_token_id == reference.pad_token_id


def test_an_onnx_model_loads_and_scores_without_torch_or_transformers(onnx_dir: Path) -> None:
    """GIVEN a fresh interpreter WHEN the int8 model is loaded and scores THEN neither torch nor
    transformers is imported (the served process stays small)."""
    script = (
        "import sys; from pv_model.serving.server import make_server; "
        f"server = make_server({str(onnx_dir)!r}, backend='onnx-int8'); "
        f"print(len(server.only.handler.predict_fn({SENTENCES!r}, server.bundle))); server.close(); "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)

    assert out.stdout.split() == [str(len(SENTENCES)), "[]"]


@pytest.mark.parametrize(
    ("backend", "workers", "plan"),
    [("torch", None, (1, None)), ("onnx-int8", None, (4, 1)), ("onnx", 2, (2, 2)), ("onnx", 8, (8, 1))],
)
def test_an_onnx_model_gets_a_single_threaded_worker_per_core(monkeypatch, backend, workers, plan) -> None:
    monkeypatch.setattr(serving, "usable_cpus", lambda: 4)

    assert serving.serving_plan(backend, workers) == plan


def test_several_workers_answer_concurrent_callers_each_with_its_own_predictions(onnx_dir: Path) -> None:
    """GIVEN two workers WHEN 8 callers post at once THEN each gets its own sentences' predictions
    in order, and no more model calls are made than requests. (fp32: int8 quantizes activations
    per call, so an int8 score moves a little with the sentences it is scored beside.)"""
    served = serving.load_served(onnx_dir, backend="onnx", workers=2)
    texts = {i: [f"{s} {i}" for s in SENTENCES] for i in range(8)}
    expected = {i: served.handler.predict_fn(texts[i], served.bundle) for i in range(8)}
    answers: dict[int, list[dict[str, object]]] = {}

    def call(i: int) -> None:
        answers[i] = served.batcher.submit(texts[i])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        served.batcher.close()

    assert served.batcher.workers == 2
    assert [[a["label"] for a in answers[i]] for i in range(8)] == [
        [e["label"] for e in expected[i]] for i in range(8)
    ]
    assert all(
        [a["score"] for a in answers[i]] == pytest.approx([e["score"] for e in expected[i]], abs=1e-5)
        for i in range(8)
    )
    assert 1 <= served.batcher.batches <= 8


def test_the_server_process_answers_and_reports_its_resident_memory(onnx_dir: Path, tmp_path: Path) -> None:
    """GIVEN `pv-model serve` started as a process of its own WHEN it is called THEN it answers
    under any endpoint name and its RSS (now and at peak) is read from the process."""
    with ServerProcess(onnx_dir, backend="onnx-int8", workers=2, log_path=tmp_path / "serve.log") as server:
        request = urllib.request.Request(
            f"{server.url}/endpoints/anything/invocations",
            data=json.dumps({"inputs": SENTENCES}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        rss, peak = server.rss_mb(), server.peak_rss_mb()

    assert len(answer) == len(SENTENCES)
    assert rss is not None and peak is not None and 0 < rss <= peak
    assert "workers=2" in (tmp_path / "serve.log").read_text()
