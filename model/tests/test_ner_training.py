"""`pv-model train-ner` end to end: a short real fine-tune of the packaged MiniLM on a small corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pv_model.cli import main
from pv_model.data import load_corpus, split, synthetic_examples, write_corpus
from pv_model.lay import load_lay, synthetic_lay_documents, token_sentences, write_lay_corpus
from pv_model.ner import NER_LABELS
from pv_model.ner.alignment import Span
from pv_model.ner.evaluation import evaluate_ner
from pv_model.ner.training import weak_negatives


@pytest.mark.slow
def test_a_short_fine_tune_learns_drugs_and_effects_and_saves_a_servable_folder(
    tmp_path: Path, capsys
) -> None:
    """GIVEN ~200 sentences WHEN train-ner runs a few steps (checkpoints averaged by the greedy
    soup) THEN the saved model finds their entities."""
    corpus = write_corpus(synthetic_examples(n_pmids=160, seed=1), tmp_path / "ade")
    lay = write_lay_corpus(synthetic_lay_documents(20, seed=3), tmp_path / "lay")
    out = tmp_path / "ae-extractor"

    flags = ["--epochs", "4", "--batch-size", "8", "--learning-rate", "3e-4", "--warmup-steps", "2"]
    flags += ["--evals-per-epoch", "1", "--max-length", "48", "--weight-averaging", "greedy"]

    code = main(["train-ner", "--data", str(corpus), "--lay", str(lay), "--output", str(out), *flags])

    printed = capsys.readouterr().out  # the Trainer's log dicts, then the result as JSON
    result = json.loads(printed[printed.rindex('{\n  "f1"') :])
    training = json.loads((out / "training.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert code == 0
    assert config["architectures"] == ["BertForTokenClassification"]
    assert [config["id2label"][str(i)] for i in range(5)] == list(NER_LABELS)
    assert training["task"] == "token-classification"
    assert training["split"]["protocol"] == "pmid"
    positives = sum(e.target for e in split(load_corpus(corpus)).train)
    assert training["split"]["train_sentences_used"] == positives
    assert training["split"]["train_not_ae_sentences_used"] == positives  # one per AE sentence by default
    lay_train = token_sentences(load_lay(lay).part("train"))
    assert training["split"]["lay"]["train_sentences"] == len(lay_train)
    assert training["cost"]["train_sentences"] == 2 * positives + len(lay_train)
    assert training["cost"]["optimizer_steps"] == training["metrics"]["steps"]
    assert training["cost"]["train_padded_tokens"] > 0 and training["cost"]["eval_padded_tokens"] > 0
    assert result["f1"] == training["metrics"]["validation"]["micro"]["f1"]
    soup = training["metrics"]["weight_averaging"]
    assert soup["method"] == "greedy" and soup["steps"] and soup["trials"][0]["kept"]
    assert result["f1"] >= soup["trials"][0]["score"]  # the soup never scores below its best checkpoint
    assert not (tmp_path / ".ae-extractor-checkpoints").exists()
    report = evaluate_ner(out, corpus, part="test")
    assert report["f1_drug"] >= 0.9
    assert report["f1_ae"] >= 0.9
    assert report["lay"]["lay_dir"] == str(lay) and report["lay"]["sentences"] > 0
    not_ae = report["not_ae_sentences"]
    assert not_ae["sentences"] == sum(not e.target for e in split(load_corpus(corpus)).test) > 0
    assert 0 <= not_ae["sentences_with_ae_mention"] <= not_ae["sentences"]


def test_not_ae_sentences_get_weak_drug_labels_from_the_annotated_names_and_no_events() -> None:
    from pv_model.data import Example

    examples = [
        Example("1", "Lithium and lithium carbonate levels were checked.", "Not_AE"),
        Example("2", "No drug is named here; the rash was viral.", "Not_AE"),
        Example("3", "Heparin-induced thrombocytopenia.", "Adverse_Event", ("heparin",), ("HIT",)),
        Example("4", "Lithiumate is not lithium.", "Not_AE"),
    ]
    chosen = weak_negatives(examples, ["lithium", "Lithium carbonate", "heparin"], count=10, seed=0)

    by_text = {s.text: s for s in chosen}
    assert len(chosen) == 3 and not any(s.text.startswith("Heparin") for s in chosen)  # Not_AE only
    first = by_text["Lithium and lithium carbonate levels were checked."]
    assert first.spans == (Span(0, 7, "DRUG"), Span(12, 29, "DRUG"))  # the longer name wins
    assert by_text["No drug is named here; the rash was viral."].spans == ()
    assert by_text["Lithiumate is not lithium."].spans == (Span(18, 25, "DRUG"),)  # whole words only
    assert [s.text for s in weak_negatives(examples, ["lithium"], count=2, seed=0)] == [
        s.text for s in weak_negatives(examples, ["lithium"], count=2, seed=0)
    ]
