"""Training, threshold choice, saved-model round trip and the evaluation report, on a tiny model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from pv_model.data import load_corpus, split, synthetic_examples, write_corpus
from pv_model.evaluation import binary_metrics, choose_threshold
from pv_model.lay import load_lay, sentence_examples, synthetic_lay_documents, write_lay_corpus

pytestmark = pytest.mark.slow
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(synthetic_examples(n_pmids=120, seed=1), tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def lay_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny lay corpus: 40 families of a post, an email and a call."""
    return write_lay_corpus(synthetic_lay_documents(40, seed=1), tmp_path_factory.mktemp("lay"))


def build_tiny_base(folder: Path) -> Path:
    """A 2-layer, 64-wide BERT with the packaged MiniLM tokenizer and the default (trainable) init."""
    import torch
    from pv_model.base_model import default_base_model
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(default_base_model())
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, corpus_dir: Path, lay_dir: Path) -> dict:
    """Train a 2-layer BERT (MiniLM vocabulary) for a few steps; record what choose_threshold saw."""
    import pv_model.training as training

    base = build_tiny_base(tmp_path_factory.mktemp("base"))
    calls: list[tuple[list[int], float]] = []

    def spy(labels, scores):  # type: ignore[no-untyped-def]
        calls.append((list(labels), choose_threshold(labels, scores)))
        return calls[-1][1]

    config = training.TrainConfig(
        data_dir=str(corpus_dir),
        lay_dir=str(lay_dir),
        output_dir=str(tmp_path_factory.mktemp("out") / "model"),
        base_model=str(base),
        learning_rate=3e-3,
        epochs=6,
        early_stopping_patience=20,
        freeze_embeddings=False,  # a randomly initialised model must learn its embeddings
        freeze_layers=0,  # and all its layers (it has two)
        batch_size=16,
        max_length=32,
        warmup_steps=0,
        time_budget_minutes=0,
        num_threads=1,
    )
    patch = pytest.MonkeyPatch()
    patch.setattr("pv_model.evaluation.choose_threshold", spy)
    try:
        result = training.train(config)
    finally:
        patch.undo()
    return {"config": config, "result": result, "calls": calls, "dir": Path(config.output_dir)}


def test_thresholds_are_chosen_on_validation_labels_only(
    trained: dict, corpus_dir: Path, lay_dir: Path
) -> None:
    """GIVEN a training run on ADE and the lay corpus WHEN it picks its thresholds THEN it looks at
    validation only: the sentence threshold at ADE validation and lay dev sentences, the document
    threshold at lay dev documents."""
    validation = split(load_corpus(corpus_dir), protocol="pmid", seed=42).validation
    dev = load_lay(lay_dir).part("dev")
    [(sentence_labels, chosen), (document_labels, chosen_for_documents)] = trained["calls"]
    assert sentence_labels == [e.target for e in validation + sentence_examples(dev)]
    assert document_labels == [d.target for d in dev]
    saved = json.loads((trained["dir"] / "training.json").read_text())
    assert saved["threshold"] == chosen == trained["result"]["threshold"]
    assert saved["document_threshold"] == chosen_for_documents
    assert set(saved["metrics"]["validation_parts"]) == {
        "ade",
        "lay_sentences",
        "lay_documents",
        "lay_documents_at_threshold",
    }
    ade = saved["metrics"]["validation_parts"]["ade"]
    assert ade["best_f1"] >= ade["f1"]  # ADE validation at its own best threshold, for ADE-only comparisons


def test_the_run_learns_from_lay_train_families_and_records_its_cost(trained: dict, lay_dir: Path) -> None:
    saved = json.loads((trained["dir"] / "training.json").read_text())
    lay = load_lay(lay_dir)
    recorded = saved["split"]["lay"]
    assert recorded["train_documents"] == len(lay.part("train"))
    assert recorded["train_sentences"] == len(sentence_examples(lay.part("train")))
    assert saved["split"]["train_used"] == saved["split"]["ade_train_used"] + recorded["train_sentences"]
    cost = saved["cost"]
    assert cost["optimizer_steps"] == saved["metrics"]["steps"] > 0
    assert cost["train_padded_tokens"] >= cost["optimizer_steps"] * 16  # at least a token per sentence
    assert cost["eval_padded_tokens"] > 0 and cost["evaluations"] >= 1


def test_ade_negatives_are_sampled_per_positive(corpus_dir: Path) -> None:
    from pv_model.training import TrainConfig, classifier_data

    once = {"lay_dir": "", "ade_positive_repeats": 1}  # each positive once, as it is in the corpus
    full = classifier_data(TrainConfig(data_dir=str(corpus_dir), **once))
    sampled = classifier_data(TrainConfig(data_dir=str(corpus_dir), ade_negatives_per_positive=1.0, **once))
    positives = sum(e.target for e in full.train)
    assert sum(e.target for e in sampled.train) == positives
    assert sum(not e.target for e in sampled.train) == positives < sum(not e.target for e in full.train)
    assert {e.text for e in sampled.train} <= {e.text for e in full.train}
    assert sampled.validation == full.validation  # validation is never sampled


def test_ade_positives_can_be_seen_more_often_than_negatives(corpus_dir: Path) -> None:
    from pv_model.training import TrainConfig, classifier_data

    once = classifier_data(TrainConfig(data_dir=str(corpus_dir), lay_dir="", ade_positive_repeats=1)).train
    twice = classifier_data(TrainConfig(data_dir=str(corpus_dir), lay_dir="", ade_positive_repeats=2)).train
    assert sum(e.target for e in twice) == 2 * sum(e.target for e in once)
    assert [e for e in twice if not e.target] == [e for e in once if not e.target]


def test_saved_folder_holds_weights_tokenizer_labels_and_training_record(trained: dict) -> None:
    folder = trained["dir"]
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    config = json.loads((folder / "config.json").read_text())
    assert config["id2label"] == {"0": "Not_AE", "1": "Adverse_Event"}
    saved = json.loads((folder / "training.json").read_text())
    assert {"threshold", "max_length", "data_sha256", "split", "hyperparameters", "versions"} <= saved.keys()
    assert {"metrics", "training_seconds"} <= saved.keys()
    assert saved["max_length"] == 32 and saved["split"]["protocol"] == "pmid"
    assert saved["hyperparameters"]["learning_rate"] == 3e-3
    assert not list(folder.parent.glob(".model-checkpoints"))


def test_trained_tiny_model_learns_the_synthetic_task(trained: dict) -> None:
    assert trained["result"]["f1"] >= 0.9


def test_saved_model_reloads_and_predicts_what_training_measured(
    trained: dict, corpus_dir: Path, lay_dir: Path
) -> None:
    """The reloaded folder, scored by the serving code, reproduces the validation confusion counts
    (ADE validation and lay dev sentences)."""
    from pv_model.serving.code.inference import load_model, predict_scores

    validation = split(load_corpus(corpus_dir), protocol="pmid", seed=42).validation
    validation += sentence_examples(load_lay(lay_dir).part("dev"))
    saved = json.loads((trained["dir"] / "training.json").read_text())
    scores = predict_scores(load_model(trained["dir"]), [e.text for e in validation])
    again = binary_metrics([e.target for e in validation], scores, saved["threshold"])
    assert again["confusion"] == saved["metrics"]["validation"]["confusion"]


def test_eval_writes_json_and_pngs_for_model_and_baseline(
    trained: dict, corpus_dir: Path, tmp_path: Path
) -> None:
    from pv_model.evaluation import evaluate

    out = tmp_path / "eval" / "report.json"
    report = evaluate(trained["dir"], corpus_dir, part="test", json_out=out)
    written = json.loads(out.read_text())
    assert written == report
    test_part = split(load_corpus(corpus_dir), protocol="pmid", seed=42).test
    assert report["split"] == {"protocol": "pmid", "seed": 42, "part": "test", "sentences": len(test_part)}
    assert set(report["model"]) == {"at_saved_threshold", "at_0.5"}
    assert set(report["baseline_tfidf_logreg"]) == {"at_validation_threshold", "at_0.5"}
    saved_threshold = json.loads((trained["dir"] / "training.json").read_text())["threshold"]
    assert report["model"]["at_saved_threshold"]["threshold"] == saved_threshold
    for key in ("precision", "recall", "f1", "accuracy", "roc_auc", "pr_auc"):
        assert 0.0 <= report["model"]["at_0.5"][key] <= 1.0
    for name in ("pr-curve", "confusion", "lay-pr-curve", "lay-document-confusion", "lay-sentence-confusion"):
        assert (tmp_path / "eval" / f"report-{name}.png").read_bytes()[:8] == PNG_MAGIC


def test_eval_scores_the_lay_test_families_by_sentence_and_by_document(
    trained: dict, corpus_dir: Path, lay_dir: Path
) -> None:
    from pv_model.evaluation import evaluate

    report = evaluate(trained["dir"], corpus_dir, part="test")
    lay = report["lay"]
    test_docs = load_lay(lay_dir).part("test")
    saved = json.loads((trained["dir"] / "training.json").read_text())
    assert lay["documents"] == len(test_docs) and lay["sentences"] == len(sentence_examples(test_docs))
    assert lay["document_level"]["at_document_threshold"]["threshold"] == saved["document_threshold"]
    assert lay["sentence_level"]["at_saved_threshold"]["threshold"] == saved["threshold"]
    support = lay["document_level"]["at_document_threshold"]["support"]
    assert support["adverse_event"] == sum(d.target for d in test_docs)
    assert sum(row["documents"] for row in lay["flagged_by_kind"].values()) == len(test_docs)
    assert lay["sentence_level"]["at_saved_threshold"]["f1"] >= 0.9  # the synthetic task is learnt
    assert "lay" not in evaluate(trained["dir"], corpus_dir, part="test", lay_dir="")


def test_eval_split_all_scores_every_sentence(trained: dict, corpus_dir: Path) -> None:
    from pv_model.evaluation import evaluate

    report = evaluate(trained["dir"], corpus_dir, part="all")
    assert report["split"]["sentences"] == len(load_corpus(corpus_dir))
    assert "figures" not in report


def test_train_flags_map_onto_train_config() -> None:
    from pv_model.commands.classifier import register
    from pv_model.training import TrainConfig

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["train", "--data", "d", "--output", "o", "--learning-rate", "5e-5", "--epochs", "2"]
    )
    assert TrainConfig(
        **{k: v for k, v in vars(args).items() if k not in ("command", "func")}
    ) == TrainConfig(data_dir="d", output_dir="o", learning_rate=5e-5, epochs=2.0)
    assert parser.parse_args(["train"]).data_dir == "../shared/data/ade-corpus-v2"


def test_sagemaker_hyperparameters_arrive_as_strings_and_map_by_name() -> None:
    from pv_model.training import TrainConfig

    config = TrainConfig.from_mapping(
        {"learning_rate": "0.0002", "epochs": "2", "split": "random", "other": "x"}
    )
    assert (config.learning_rate, config.epochs, config.split) == (2e-4, 2.0, "random")


def test_choose_threshold_maximises_f1_between_scores() -> None:
    labels = [0, 0, 1, 0, 1, 1]
    scores = [0.1, 0.2, 0.3, 0.6, 0.7, 0.9]
    # Cutting between 0.2 and 0.3 gives F1 0.857 (P 3/4, R 1), the best available.
    assert choose_threshold(labels, scores) == pytest.approx(0.25)
    assert binary_metrics(labels, scores, 0.25)["confusion"] == {"tp": 3, "fp": 1, "fn": 0, "tn": 2}


def test_auxiliary_event_tagging_trains_a_throwaway_head_and_saves_a_plain_classifier(
    tmp_path: Path, corpus_dir: Path
) -> None:
    """GIVEN aux_ae_tagging > 0 WHEN training runs THEN the token head helps train but is not saved."""
    import pv_model.training as training
    from safetensors import safe_open
    from transformers import AutoModelForSequenceClassification

    config = training.TrainConfig(
        data_dir=str(corpus_dir),
        output_dir=str(tmp_path / "model"),
        base_model=str(build_tiny_base(tmp_path / "base")),
        learning_rate=3e-3,
        epochs=2,
        batch_size=16,
        max_length=32,
        warmup_steps=0,
        time_budget_minutes=0,
        num_threads=1,
        freeze_embeddings=False,
        freeze_layers=0,
        aux_ae_tagging=1.0,
    )
    training.train(config)

    with safe_open(str(tmp_path / "model" / "model.safetensors"), "pt") as saved:
        assert not [key for key in saved.keys() if "ae_tagger" in key]  # noqa: SIM118 (not a dict)
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "model")
    assert not hasattr(model, "ae_tagger")
    record = json.loads((tmp_path / "model" / "training.json").read_text())
    assert record["hyperparameters"]["aux_ae_tagging"] == 1.0
    assert any("loss" in entry for entry in record["metrics"]["history"])


def test_event_tags_mark_the_annotated_effect_words_and_nothing_in_not_ae_sentences() -> None:
    from pv_model.base_model import default_base_model
    from pv_model.data import AE, Example
    from pv_model.ner import NER_LABEL2ID
    from pv_model.training import _Encoded
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(default_base_model())
    rows = _Encoded(
        tokenizer,
        [
            Example("1", "Severe rash after amoxicillin.", AE, ("amoxicillin",), ("severe rash",)),
            Example("2", "Amoxicillin was given for otitis.", "Not_AE"),
        ],
        32,
        ae_tags=True,
    ).rows
    words = tokenizer.convert_ids_to_tokens(rows[0]["input_ids"])
    tagged = {w: t for w, t in zip(words, rows[0]["ae_tags"], strict=True)}
    assert tagged["severe"] == NER_LABEL2ID["B-AE"] and tagged["rash"] == NER_LABEL2ID["I-AE"]
    assert tagged["am"] == NER_LABEL2ID["O"] and tagged["[CLS]"] == -100  # drugs are not tagged here
    assert set(rows[1]["ae_tags"]) == {NER_LABEL2ID["O"], -100}


def test_a_new_seed_keeps_the_split_that_split_seed_names(
    tmp_path: Path, corpus_dir: Path, trained: dict
) -> None:
    """GIVEN a run with another seed (weights, dropout, batch order) WHEN it trains THEN its
    train / validation / test parts are those of `split_seed`, so seeds compare on one test part."""
    import dataclasses

    import pv_model.training as training

    config = dataclasses.replace(
        trained["config"], output_dir=str(tmp_path / "model"), seed=7, epochs=1, weight_averaging="none"
    )
    training.train(config)
    again = json.loads((tmp_path / "model" / "training.json").read_text())["split"]
    first = json.loads((trained["dir"] / "training.json").read_text())["split"]
    assert again["seed"] == first["seed"] == 42
    assert {k: again[k] for k in ("train", "validation", "test")} == {
        k: first[k] for k in ("train", "validation", "test")
    }
    assert again["train_used"] == first["train_used"]


def test_freezing_lower_layers_stops_the_gradient_above_them(tmp_path: Path) -> None:
    import torch
    from pv_model.training import freeze_lower
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    base = build_tiny_base(tmp_path / "base")
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=2)
    frozen = freeze_lower(model, embeddings=True, layers=1)
    assert frozen and all(n.startswith(("bert.embeddings.", "bert.encoder.layer.0.")) for n in frozen)
    assert any(n.startswith("bert.embeddings.LayerNorm") for n in frozen)  # nothing below layer 1 learns

    batch = AutoTokenizer.from_pretrained(base)(["my legs ache since the statin"], return_tensors="pt")
    model(**batch, labels=torch.tensor([1])).loss.backward()
    grads = {n: p.grad is not None for n, p in model.named_parameters()}
    assert not any(grads[n] for n in frozen)
    assert grads["bert.encoder.layer.1.attention.self.query.weight"] and grads["classifier.weight"]
    with pytest.raises(ValueError, match="layers"):
        freeze_lower(model, embeddings=True, layers=3)


def test_without_frozen_layers_only_the_word_embeddings_are_fixed(tmp_path: Path) -> None:
    from pv_model.training import freeze_lower
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(build_tiny_base(tmp_path / "b"), num_labels=2)
    assert freeze_lower(model, embeddings=True, layers=0) == ["bert.embeddings.word_embeddings.weight"]
    assert freeze_lower(model, embeddings=False, layers=0) == []


class _Clock:
    """A settable clock for budgets (seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_time_budget_stops_training_in_time_for_the_finish_evaluations() -> None:
    """GIVEN a 10-minute budget and 4 validation passes of 30 s still to come after the last step
    WHEN the clock runs THEN training is out of time at 8 minutes, not at 10."""
    from pv_model.training import TimeBudget

    clock = _Clock()
    budget = TimeBudget(10, started=0.0, finish_evaluations=lambda: 4, clock=clock, evaluation_seconds=30)
    clock.now = 7.9 * 60
    assert not budget.exhausted()
    clock.now = 8 * 60
    assert budget.exhausted()
    assert budget.progress() == pytest.approx(1.0)


def test_no_time_budget_never_runs_out() -> None:
    from pv_model.training import TimeBudget

    clock = _Clock()
    budget = TimeBudget(0, started=0.0, finish_evaluations=lambda: 9, clock=clock, evaluation_seconds=600)
    clock.now = 10**6
    assert budget.progress() == 0.0 and not budget.exhausted()


def test_the_budget_callback_times_each_evaluation_and_then_stops_training() -> None:
    """GIVEN the budget's Trainer callback WHEN an evaluation follows a step THEN its length is the
    finish reserve's unit (the longest so far); once the rest would not fit, the step stops
    training and asks for the final evaluation and save."""
    from pv_model.training import TimeBudget, time_budget_callback
    from transformers import TrainerControl, TrainerState

    clock = _Clock()
    budget = TimeBudget(10, started=0.0, finish_evaluations=lambda: 3, clock=clock)
    callback, state = time_budget_callback(budget), TrainerState()

    clock.now = 60
    control = callback.on_step_end(None, state, TrainerControl())
    assert not control.should_training_stop
    clock.now = 100  # a 40 s evaluation right after that step
    callback.on_evaluate(None, state, control)
    clock.now = 110
    callback.on_step_end(None, state, TrainerControl())
    clock.now = 120  # a shorter one does not lower the estimate
    callback.on_evaluate(None, state, control)
    assert budget.evaluation_seconds == 40

    clock.now = 10 * 60 - 3 * 40 - 1
    assert not callback.on_step_end(None, state, TrainerControl()).should_training_stop
    clock.now = 10 * 60 - 3 * 40
    stopped = callback.on_step_end(None, state, TrainerControl())
    assert stopped.should_training_stop and stopped.should_evaluate and stopped.should_save
