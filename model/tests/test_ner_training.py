"""`pv-model train-ner` end to end: a short real fine-tune of the packaged MiniLM on a small corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pv_model.cli import main
from pv_model.data import load_corpus, split, synthetic_examples, write_corpus
from pv_model.ner import NER_LABELS
from pv_model.ner.evaluation import evaluate_ner


@pytest.mark.slow
def test_a_short_fine_tune_learns_drugs_and_effects_and_saves_a_servable_folder(
    tmp_path: Path, capsys
) -> None:
    """GIVEN ~200 sentences WHEN train-ner runs a few steps THEN the saved model finds their entities."""
    corpus = write_corpus(synthetic_examples(n_pmids=160, seed=1), tmp_path / "ade")
    out = tmp_path / "ae-extractor"

    flags = ["--epochs", "4", "--batch-size", "8", "--learning-rate", "3e-4", "--warmup-steps", "2"]
    flags += ["--evals-per-epoch", "1", "--max-length", "48"]

    code = main(["train-ner", "--data", str(corpus), "--output", str(out), *flags])

    printed = capsys.readouterr().out  # the Trainer's log dicts, then the result as JSON
    result = json.loads(printed[printed.rindex('{\n  "f1"') :])
    training = json.loads((out / "training.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert code == 0
    assert config["architectures"] == ["BertForTokenClassification"]
    assert [config["id2label"][str(i)] for i in range(5)] == list(NER_LABELS)
    assert training["task"] == "token-classification"
    assert training["split"]["protocol"] == "pmid"
    assert training["split"]["train_sentences_used"] == sum(
        e.target for e in split(load_corpus(corpus)).train
    )
    assert result["f1"] == training["metrics"]["validation"]["micro"]["f1"]
    assert not (tmp_path / ".ae-extractor-checkpoints").exists()
    report = evaluate_ner(out, corpus, part="test")
    assert report["f1_drug"] >= 0.9
    assert report["f1_ae"] >= 0.9
