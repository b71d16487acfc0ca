"""The phrase mapper endpoint: a sentence-embedding model that answers the nearest standard terms."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from pv_model.phrases import build_embedder
from pv_model.serving.code import embedder_inference, inference
from pv_model.serving.package import build_package
from pv_model.serving.tiny import save_tiny_bert

NAMES = [
    ("hair loss", "alopecia"),
    ("hair falling out", "alopecia"),
    ("alopecia", "alopecia"),
    ("palpitations", "palpitations"),
    ("heart racing", "palpitations"),
    ("nausea", "nausea"),
]


@pytest.fixture(scope="module")
def mapper_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A phrase mapper folder over a tiny random encoder (its similarities mean nothing)."""
    base = save_tiny_bert(tmp_path_factory.mktemp("base"), "BertModel", {0: "x"}, {})
    return build_embedder(tmp_path_factory.mktemp("mapper"), str(base), NAMES, top_k=2)


def test_a_name_of_the_vocabulary_maps_to_its_own_term_first(mapper_dir: Path):
    """GIVEN the folder built from the names WHEN asked for a name itself THEN its term comes first
    with similarity 1, then the next term, best first, each term once."""
    bundle = embedder_inference.load_model(mapper_dir)
    [answer] = embedder_inference.nearest_terms(bundle, ["heart racing"])
    assert answer[0] == {"term": "palpitations", "score": pytest.approx(1.0, abs=1e-3)}
    assert len(answer) == 2 and answer[1]["term"] != "palpitations"
    assert answer[0]["score"] >= answer[1]["score"]


def test_every_input_is_answered_in_order_through_the_toolkit_handlers(mapper_dir: Path):
    """GIVEN the toolkit entry point (`code/inference.py`) WHEN it loads the folder THEN the phrase
    mapper's handler answers one item per input, in order, under the JSON contract."""
    assert inference.handler_for(mapper_dir) is embedder_inference
    bundle = inference.model_fn(str(mapper_dir))
    data = inference.input_fn(json.dumps({"inputs": ["nausea", "hair loss", "nausea"]}), "application/json")
    answer = json.loads(inference.output_fn(inference.predict_fn(data, bundle), "application/json"))
    assert [item["terms"][0]["term"] for item in answer] == ["nausea", "alopecia", "nausea"]


def test_the_package_carries_the_names_their_vectors_and_the_handler(mapper_dir: Path, tmp_path: Path):
    archive = build_package(mapper_dir, tmp_path / "model.tar.gz")
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"embedder.json", "term_embeddings.npy", "code/embedder_inference.py"} <= names


def test_a_classifier_folder_is_not_taken_for_a_phrase_mapper(tmp_path: Path):
    from pv_model.serving.tiny import build_tiny_classifier

    assert not embedder_inference.is_embedder(build_tiny_classifier(tmp_path / "c"))
