"""`pv-model bench` on a tiny model and a small corpus in the ADE-Corpus-V2 format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pv_model.cli import main
from pv_model.data import load_corpus, split
from pv_model.serving.bench import bench_sentences
from pv_model.serving.tiny import build_tiny_classifier

DRUGS = ["amoxicillin", "methotrexate", "isoniazid", "lithium", "warfarin"]
EFFECTS = ["rash", "hepatitis", "tremor", "bleeding", "nausea"]


def _write_corpus(root: Path, pmids: int = 60) -> Path:
    root.mkdir(parents=True)
    positives, negatives = [], []
    for p in range(pmids):
        pmid = str(1000 + p)
        drug, effect = DRUGS[p % 5], EFFECTS[(p // 5) % 5]
        sentence = f"Case {p}: {effect} developed after {drug} was started."
        positives.append(f"{pmid}|{sentence}|{effect}|0|1|{drug}|0|1")
        negatives += [f"{pmid} NEG Patient {p} had a follow-up visit number {k}." for k in range(4)]
    (root / "DRUG-AE.rel").write_text("\n".join(positives) + "\n")
    (root / "ADE-NEG.txt").write_text("\n".join(negatives) + "\n")
    return root


@pytest.fixture(scope="module")
def model_and_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("bench")
    return build_tiny_classifier(base / "ae-tiny"), _write_corpus(base / "corpus")


def test_bench_sentences_are_a_sample_of_the_pmid_test_split(model_and_corpus) -> None:
    model_dir, corpus = model_and_corpus
    test = split(load_corpus(corpus), protocol="pmid", seed=42).test  # the tiny model's split seed

    texts, labels = bench_sentences(corpus, model_dir, n=5)
    all_texts, all_labels = bench_sentences(corpus, model_dir, n=10_000)

    assert len(texts) == 5
    assert set(texts) <= set(all_texts)
    assert sorted(zip(all_texts, all_labels, strict=True)) == sorted(
        (e.text, int(e.label == "Adverse_Event")) for e in test
    )
    assert dict(zip(all_texts, all_labels, strict=True)) | dict(zip(texts, labels, strict=True)) == dict(
        zip(all_texts, all_labels, strict=True)
    )


def test_bench_writes_every_path_with_throughput_f1_memory_and_size(model_and_corpus, tmp_path: Path) -> None:
    """GIVEN a model folder without ONNX files WHEN bench runs THEN it exports them and reports all paths."""
    model_dir, corpus = model_and_corpus
    out = tmp_path / "bench" / "model.json"

    assert (
        main(["bench", "--model", str(model_dir), "--data", str(corpus), "--json", str(out), "--n", "20"])
        == 0
    )

    report = json.loads(out.read_text())
    assert (model_dir / "model.onnx").is_file() and (model_dir / "model.int8.onnx").is_file()
    assert report["n"] == 20
    for key in ("baseline_sps", "batched_sps", "onnx_sps", "onnx_int8_sps", "server_sps", "peak_rss_mb"):
        assert report[key] > 0
    # The pipeline, the handler and the fp32 export are the same model: same decisions.
    assert report["f1_baseline"] == report["f1_torch"] == report["f1_onnx"]
    best = report["best_path"]
    assert report["speedup"] == round(report[f"{best}_sps"] / report["baseline_sps"], 2)
    assert report["meets_target"] == (report["speedup"] >= 5.0)
    assert report["model_size_mb"]["onnx_int8"] < report["model_size_mb"]["onnx"]
