"""End to end: a real (small, quickly trained) transformer behind the local endpoint server, the
handlers on the local stack from template.yaml, the sample documents of events/ going through.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pv_local.cli import main
from pv_local.stack import PROJECT_ROOT, LocalStack

pytestmark = pytest.mark.slow

DATA_DIR = Path(os.environ.get("PV_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data" / "ade-corpus-v2"))
SAMPLES = PROJECT_ROOT / "events" / "documents"
MANIFEST = json.loads((SAMPLES / "MANIFEST.json").read_text())["documents"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer BERT with the MiniLM vocabulary, trained for a few steps on a slice of the ADE corpus."""
    from pv_model import training
    from pv_model.data import load_corpus, synthetic_examples, write_corpus
    from pv_model.serving.tiny import build_tiny_classifier

    work = tmp_path_factory.mktemp("e2e-model")
    if (DATA_DIR / "ADE-NEG.txt").is_file():
        examples = load_corpus(DATA_DIR)
        pmids = sorted({e.pmid for e in examples})
        random.Random(0).shuffle(pmids)
        kept = set(pmids[:150])
        examples = [e for e in examples if e.pmid in kept]
    else:  # a clone without the shared corpus still runs the pipeline end to end
        examples = synthetic_examples(n_pmids=120, seed=1)
    write_corpus(examples, work / "corpus")
    config = training.TrainConfig(
        data_dir=str(work / "corpus"),
        output_dir=str(work / "model"),
        base_model=str(build_tiny_classifier(work / "base")),
        epochs=2,
        batch_size=16,
        max_length=48,
        learning_rate=3e-3,
        warmup_steps=0,
        limit_train=320,
        freeze_embeddings=False,
        freeze_layers=0,  # the tiny classifier has fewer layers than the default freezes
        evals_per_epoch=1,
        time_budget_minutes=0,
        num_threads=1,
    )
    training.train(config)
    return Path(config.output_dir)


@pytest.fixture(scope="module")
def run(model_dir: Path) -> Iterator[dict[str, Any]]:
    """Three sample documents (email, call, social feed) through the stack serving the trained model."""
    from pv.adapters.case_store import CaseStore
    from pv.adapters.stores import ScreeningStore

    keys = ["email/ae_hospitalisation.eml", "call/text_ae.txt", "social/feed_2025-03-08.jsonl"]
    with LocalStack(model_dir=model_dir, retry_delay_s=0) as stack:
        for key in keys:
            stack.upload(key, (SAMPLES / key).read_bytes())
        stats = stack.run_until_idle(timeout_s=300)
        yield {
            "stack": stack,
            "keys": keys,
            "stats": stats,
            "screenings": ScreeningStore(stack.table("ScreeningsTable")).list(),
            "cases": CaseStore(stack.table("CasesTable")).list(),
            "alerts": stack.alerts(),
            "dead_letters": stack.dead_letters(),
            "threshold": float(stack.functions["ScreenFunction"].environment["CLASSIFIER_THRESHOLD"]),
        }


def _expected_keys(key: str) -> set[str]:
    entry = MANIFEST[key]
    return set(entry["posts"]) if "posts" in entry else {key}


def test_every_uploaded_document_gets_one_screening_from_the_served_model(
    run: dict[str, Any], model_dir: Path
) -> None:
    from pv_model.serving.code.inference import model_version

    screenings = run["screenings"]
    expected = set().union(*(_expected_keys(k) for k in run["keys"]))
    assert {s.source_key for s in screenings} == expected
    assert run["dead_letters"] == []
    screened = [s for s in screenings if s.status == "screened"]
    assert {s.model for s in screened} == {f"ae-classifier-local/{model_version(model_dir)}"}
    assert all(0.0 <= s.max_score <= 1.0 and s.threshold == run["threshold"] for s in screened)
    assert run["threshold"] == round(json.loads((model_dir / "training.json").read_text())["threshold"], 4)


def test_screening_scores_are_the_models_own_scores(run: dict[str, Any], model_dir: Path) -> None:
    """The score stored for a document is what the model gives its sentences, through the endpoint."""
    from pv.channels.intake import parse_object
    from pv.sentences import document_sentences
    from pv_model.serving.code.inference import load_model, predict_scores

    key = "email/ae_hospitalisation.eml"
    [document] = parse_object(key, (SAMPLES / key).read_bytes(), datetime.now(UTC), 5 * 1024 * 1024)
    scores = predict_scores(load_model(model_dir), document_sentences(document))
    screening = next(s for s in run["screenings"] if s.source_key == key)
    assert screening.max_score == pytest.approx(max(scores), abs=2e-3)
    assert screening.is_ae == (max(scores) >= run["threshold"])


def test_each_adverse_event_becomes_one_case_and_one_alert(run: dict[str, Any]) -> None:
    flagged = {s.document_id for s in run["screenings"] if s.is_ae}
    assert {c.document_id for c in run["cases"]} == flagged
    alerted = sorted(a.message["case_id"] for a in run["alerts"])
    assert alerted == sorted(c.case_id for c in run["cases"])
    for alert in run["alerts"]:
        assert set(alert.attributes) >= {"serious", "channel", "drug"}


def test_pv_screen_writes_one_line_per_sample_document(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["screen", str(SAMPLES), "--out", "results.jsonl", "--model", str(model_dir), "--quiet"]) == 0
    lines = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    expected = set().union(*(_expected_keys(k) for k in MANIFEST)) | {"MANIFEST.json"}
    assert sorted(x["key"] for x in lines) == sorted(expected)
    quarantined = {x["key"]: x["reason"] for x in lines if x["status"] == "quarantined"}
    assert quarantined == {
        "MANIFEST.json": "unknown_prefix",  # not under a channel prefix: S3 never notifies it
        **{
            post: entry["quarantine_reason"]
            for doc in MANIFEST.values()
            for post, entry in doc.get("posts", {}).items()
            if "quarantine_reason" in entry
        },
        **{key: doc["quarantine_reason"] for key, doc in MANIFEST.items() if "quarantine_reason" in doc},
    }
    for line in lines:
        if line["status"] == "screened":
            assert 0.0 <= line["score"] <= 1.0
            assert (line["case_id"] is not None) == line["is_ae"]
            assert (line["alert"] is not None) == line["is_ae"]
