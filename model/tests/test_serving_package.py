"""ONNX export and model.tar.gz: the archive is unpacked and its own handler is run on it."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
import tarfile
from pathlib import Path
from types import ModuleType

import pytest
from pv_model.cli import main
from pv_model.ner.tiny import build_tiny_extractor
from pv_model.serving.code import inference, ner_inference
from pv_model.serving.tiny import build_tiny_classifier

HANDLER_MODULES = ("inference", "ner_inference", "summarizer_inference")  # code/, imported top-level
SENTENCES = [
    "The patient developed a severe rash after starting amoxicillin.",
    "Blood pressure was normal.",
    "",
    "Hepatotoxicity was attributed to methotrexate given for rheumatoid arthritis " * 10,
]


@pytest.fixture(scope="module")
def exported_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model_dir = build_tiny_classifier(tmp_path_factory.mktemp("tiny") / "ae-tiny", threshold=0.4)
    (model_dir / "checkpoint-10").mkdir()  # training leftovers must stay out of the archive
    (model_dir / "trainer_state.json").write_text("{}")
    assert main(["export-onnx", "--model", str(model_dir), "--quantize", "int8"]) == 0
    return model_dir


@pytest.fixture
def load_handler(monkeypatch: pytest.MonkeyPatch):
    """Import `code/inference.py` from an unpacked archive as the toolkit does (code/ on sys.path)."""

    def load(code_dir: Path) -> ModuleType:
        monkeypatch.syspath_prepend(str(code_dir))
        for name in HANDLER_MODULES:
            monkeypatch.delitem(sys.modules, name, raising=False)
        module = importlib.import_module("inference")
        assert module.__file__ == str(code_dir / "inference.py")
        return module

    yield load
    for name in HANDLER_MODULES:
        sys.modules.pop(name, None)


def _unpack(archive: Path, into: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        names = sorted(tar.getnames())
        tar.extractall(into, filter="data")
    return names


def _package_and_serve(
    source: Path, tmp_path: Path, load_handler
) -> tuple[list[str], Path, ModuleType, list]:
    """Package `source`, unpack it as /opt/ml/model would be, and serve one request through the
    archive's own code/inference.py: (archive names, model dir, handler, response)."""
    archive = tmp_path / f"{source.name}.tar.gz"
    main(["package", "--model", str(source), "--out", str(archive)])
    model_dir = tmp_path / "opt-ml-model"
    names = _unpack(archive, model_dir)
    handler = load_handler(model_dir / "code")
    return names, model_dir, handler, _serve_once(handler, model_dir)


def _serve_once(handler: ModuleType, model_dir: Path) -> list[dict]:
    model = handler.model_fn(str(model_dir))
    body = json.dumps({"inputs": SENTENCES}).encode()
    return json.loads(
        handler.output_fn(handler.predict_fn(handler.input_fn(body, "application/json"), model), None)
    )


def test_onnx_fp32_export_scores_like_torch(exported_dir: Path) -> None:
    torch_scores = inference.predict_scores(inference.load_model(exported_dir), SENTENCES)

    onnx_scores = inference.predict_scores(inference.load_model(exported_dir, backend="onnx"), SENTENCES)

    assert onnx_scores == pytest.approx(torch_scores, abs=1e-4)


def test_int8_export_is_smaller_and_close_to_torch(exported_dir: Path) -> None:
    torch_scores = inference.predict_scores(inference.load_model(exported_dir), SENTENCES)

    int8_scores = inference.predict_scores(inference.load_model(exported_dir, backend="onnx-int8"), SENTENCES)

    int8_size, fp32_size = (
        (exported_dir / name).stat().st_size for name in ("model.int8.onnx", "model.onnx")
    )
    assert int8_size < fp32_size
    assert int8_scores == pytest.approx(torch_scores, abs=0.15)
    assert int8_scores != pytest.approx(torch_scores, abs=1e-6)  # it really is the quantized graph


def test_package_has_the_sagemaker_layout(exported_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"

    assert main(["package", "--model", str(exported_dir), "--out", str(archive)]) == 0

    assert _unpack(archive, tmp_path / "unpacked") == [
        "code/embedder_inference.py",
        "code/inference.py",
        "code/ner_inference.py",
        "code/requirements.txt",
        "code/summarizer_inference.py",
        "config.json",
        "model.safetensors",
        "serving.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "training.json",
    ]


def test_unpacked_package_serves_the_same_predictions_and_version(
    exported_dir: Path, tmp_path: Path, monkeypatch, load_handler
) -> None:
    """GIVEN model.tar.gz unpacked as /opt/ml/model WHEN its own code/inference.py serves a request
    THEN it answers as the source folder does, and keeps the source folder's version."""
    monkeypatch.delenv("PV_BACKEND", raising=False)
    _, model_dir, handler, response = _package_and_serve(exported_dir, tmp_path, load_handler)

    expected = inference.predict(inference.load_model(exported_dir), SENTENCES)
    assert [item["label"] for item in response] == [item["label"] for item in expected]
    assert [item["score"] for item in response] == pytest.approx(
        [item["score"] for item in expected], abs=1e-6
    )
    assert handler.model_fn(str(model_dir)).version == "ae-tiny-000000000000"


def test_onnx_package_serves_with_pv_backend_onnx(
    exported_dir: Path, tmp_path: Path, monkeypatch, load_handler
) -> None:
    archive = tmp_path / "model.tar.gz"
    main(["package", "--model", str(exported_dir), "--out", str(archive), "--onnx"])
    model_dir = tmp_path / "opt-ml-model"
    names = _unpack(archive, model_dir)
    handler = load_handler(model_dir / "code")
    monkeypatch.setenv("PV_BACKEND", "onnx")

    response = _serve_once(handler, model_dir)

    assert {"model.onnx", "model.int8.onnx"} <= set(names)
    assert handler.model_fn(str(model_dir)).backend == "onnx"
    expected = inference.predict_scores(inference.load_model(exported_dir, backend="onnx"), SENTENCES)
    assert [
        item["score"] if item["label"] == "Adverse_Event" else 1 - item["score"] for item in response
    ] == (pytest.approx(expected, abs=1e-6))


def test_package_refuses_a_folder_without_weights(exported_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    shutil.copy(exported_dir / "config.json", empty)

    with pytest.raises(FileNotFoundError, match="no safetensors weights"):
        main(["package", "--model", str(empty), "--out", str(tmp_path / "x.tar.gz")])


def test_a_packaged_extraction_model_is_served_as_an_extractor_by_the_toolkit_entry_point(
    tmp_path: Path, monkeypatch, load_handler
) -> None:
    """GIVEN an extractor's model.tar.gz WHEN the toolkit calls code/inference.py (its only entry)
    THEN the extractor's handler answers: one entity list per input, not classifier labels."""
    monkeypatch.delenv("PV_BACKEND", raising=False)
    source = build_tiny_extractor(tmp_path / "ae-extractor-tiny")
    _, _, _, response = _package_and_serve(source, tmp_path, load_handler)

    assert response == ner_inference.predict_entities(ner_inference.load_model(source), SENTENCES)
    assert all(isinstance(entities, list) for entities in response)


def test_a_packaged_summarizer_is_served_as_a_summarizer_by_the_toolkit_entry_point(
    tmp_path: Path, monkeypatch, load_handler
) -> None:
    """GIVEN a summarizer's model.tar.gz WHEN the toolkit calls code/inference.py THEN the summarizer's
    handler answers one `summary_text` per input, as the source folder does."""
    from pv_model.serving.code import summarizer_inference
    from pv_model.summarizer.tiny import build_tiny_summarizer

    monkeypatch.delenv("PV_BACKEND", raising=False)
    source = build_tiny_summarizer(tmp_path / "case-summarizer-tiny", says="rash", max_new_tokens=2)
    names, model_dir, handler, response = _package_and_serve(source, tmp_path, load_handler)

    assert {"generation_config.json", "code/summarizer_inference.py"} <= set(names)
    assert response == [{"summary_text": "rash rash"}] * len(SENTENCES)
    assert response == summarizer_inference.predict_fn(SENTENCES, summarizer_inference.load_model(source))
    assert handler.model_fn(str(model_dir)).version == "case-summarizer-tiny-000000000000"
