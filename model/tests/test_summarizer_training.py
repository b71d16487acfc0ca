"""`pv-model train-summarizer`: the CSV, the split, a few Seq2SeqTrainer steps and the saved folder."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
from pv_model.cli import main
from pv_model.serving.code import summarizer_inference
from pv_model.summarizer.tiny import build_tiny_encoder
from pv_model.summarizer.training import lead_sentence, read_pairs, split_pairs

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "summaries.csv"


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_the_example_csv_is_note_summary_pairs() -> None:
    pairs = read_pairs(EXAMPLES)

    assert 10 <= len(pairs) <= 20
    assert all(text and summary and len(summary) < len(text) + 40 for text, summary in pairs)


def test_read_pairs_takes_the_named_columns_and_skips_empty_rows(tmp_path: Path) -> None:
    rows = [
        {"note": "Rash after amoxicillin. Stopped it.", "abstract": "Rash after amoxicillin.", "id": "1"},
        {"note": "Headache on sertraline.", "abstract": "", "id": "2"},
        {"note": "", "abstract": "Nothing.", "id": "3"},
    ]
    data = _write_csv(tmp_path / "notes.csv", rows)

    assert read_pairs(data, "note", "abstract") == [
        ("Rash after amoxicillin. Stopped it.", "Rash after amoxicillin.")
    ]
    with pytest.raises(ValueError, match=r"has no column \['text', 'summary'\]"):
        read_pairs(data)


def test_split_is_seeded_and_keeps_one_pair_on_each_side() -> None:
    pairs = [(f"note {i}", f"summary {i}") for i in range(10)]

    train, validation = split_pairs(pairs, 0.2, seed=7)

    assert (len(train), len(validation)) == (8, 2)
    assert sorted(train + validation) == sorted(pairs)
    assert split_pairs(pairs, 0.2, seed=7) == (train, validation)
    assert split_pairs(pairs, 0.2, seed=8) != (train, validation)
    assert [len(side) for side in split_pairs(pairs[:2], 0.9, seed=0)] == [1, 1]
    with pytest.raises(ValueError, match="at least 2"):
        split_pairs(pairs[:1], 0.1, seed=0)


def test_lead_sentence_is_the_first_sentence() -> None:
    assert lead_sentence(" Rash after amoxicillin. Stopped it! ") == "Rash after amoxicillin."
    assert lead_sentence("no full stop") == "no full stop"


def test_train_summarizer_runs_a_few_steps_and_saves_a_folder_that_serves(tmp_path: Path) -> None:
    """GIVEN a tiny BERT and 8 pairs WHEN train-summarizer runs one epoch THEN the folder holds a
    BERT2BERT, a training.json that records the run, and the serving handler summarizes with it."""
    base = build_tiny_encoder(tmp_path / "tiny-bert")
    rows = [{"text": t, "summary": s} for t, s in read_pairs(EXAMPLES)[:8]]
    data = _write_csv(tmp_path / "pairs.csv", rows)
    output = tmp_path / "case-summarizer"

    argv = ["train-summarizer", "--data", str(data), "--output", str(output), "--base-model", str(base)]
    argv += ["--epochs", "1", "--batch-size", "4", "--validation-fraction", "0.25", "--num-beams", "2"]
    argv += ["--max-target-length", "12", "--time-budget-minutes", "0"]
    assert main(argv) == 0

    record = json.loads((output / "training.json").read_text())
    assert record["task"] == "summarization"
    assert record["architecture"] == "EncoderDecoderModel"
    assert record["data_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert record["split"] == {
        "seed": 42,
        "validation_fraction": 0.25,
        "pairs": 8,
        "train": 6,
        "validation": 2,
    }
    assert record["max_source_length"] == 128  # the tiny BERT's position limit, under the default 256
    assert record["generation"] == {"max_new_tokens": 12, "num_beams": 2}
    assert record["hyperparameters"]["base_model"] == str(base)
    assert {"torch", "transformers", "python"} <= set(record["versions"])
    assert record["metrics"]["steps"] == 2
    assert 0.0 <= record["metrics"]["validation"]["rougeL"] <= 1.0
    assert 0.0 < record["metrics"]["validation"]["lead_sentence_rougeL"] <= 1.0
    assert record["training_seconds"] > 0
    assert not (tmp_path / ".case-summarizer-checkpoints").exists()
    assert {"config.json", "generation_config.json", "model.safetensors", "tokenizer.json"} <= {
        p.name for p in output.iterdir()
    }

    bundle = summarizer_inference.load_model(output)
    assert (bundle.max_new_tokens, bundle.num_beams, bundle.max_length) == (12, 2, 128)
    answers = summarizer_inference.predict_fn(
        ["I got a rash after amoxicillin.", "Headache on sertraline."], bundle
    )
    assert [set(a) for a in answers] == [{"summary_text"}] * 2


def test_train_summarizer_needs_data(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["train-summarizer"])
    assert "--data CSV is required" in capsys.readouterr().err
