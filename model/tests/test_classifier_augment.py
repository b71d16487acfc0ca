"""Synthetic augmentation (LLM endpoint behind one interface, offline substitution) and the download."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pv_model.augment import (
    FEW_SHOT,
    TextGenerator,
    few_shot_prompt,
    llm_augment,
    parse_generated,
    run,
    substitution_augment,
)
from pv_model.data import Example, load_corpus, split, synthetic_examples, write_corpus
from pv_model.download import download_corpus

GENERATION = (
    "1. Severe hepatotoxicity developed after starting isoniazid.\n"
    "- Carbamazepine-induced Stevens-Johnson syndrome in a child.\n"
    "Too short.\n"
    "Severe hepatotoxicity developed after starting isoniazid.\n"
)


class FakeSageMaker:
    """Records invoke_endpoint calls and answers with the HF text-generation response shape."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def invoke_endpoint(self, **kwargs):  # type: ignore[no-untyped-def]
        self.calls.append(kwargs)
        return {"Body": io.BytesIO(json.dumps([{"generated_text": GENERATION}]).encode())}


class FakeBedrock:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def converse(self, **kwargs):  # type: ignore[no-untyped-def]
        self.calls.append(kwargs)
        return {"output": {"message": {"role": "assistant", "content": [{"text": GENERATION}]}}}


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    return write_corpus(synthetic_examples(n_pmids=100, seed=3), tmp_path / "corpus")


def test_substitution_swaps_annotated_drug_and_effect() -> None:
    """GIVEN two annotated AE sentences WHEN substituted THEN each copy names the other's drug/effect."""
    examples = [
        Example("1", "Warfarin caused bleeding.", "Adverse_Event", ("Warfarin",), ("bleeding",)),
        Example("2", "Rash after aspirin.", "Adverse_Event", ("aspirin",), ("Rash",)),
        Example("3", "The patient recovered.", "Not_AE"),
    ]
    synthetic = substitution_augment(examples, per_positive=4, seed=0)
    assert {e.text for e in synthetic} <= {
        "aspirin caused Rash.",
        "aspirin caused bleeding.",
        "Warfarin caused Rash.",
        "Rash after Warfarin.",
        "bleeding after Warfarin.",
        "bleeding after aspirin.",
    }
    assert synthetic and all(e.label == "Adverse_Event" and e.drugs[0] in e.text for e in synthetic)
    assert all(e.pmid.split("-syn")[0] in ("1", "2") for e in synthetic)


def test_prompt_holds_the_five_real_examples() -> None:
    shots = [e for e in synthetic_examples(20) if e.label == "Adverse_Event"][:FEW_SHOT]
    prompt = few_shot_prompt(shots)
    assert [line[2:] for line in prompt.splitlines() if line.startswith("- ")] == [e.text for e in shots]


def test_parse_generated_strips_numbering_and_drops_short_and_repeated_lines() -> None:
    assert parse_generated(GENERATION, seen=set()) == [
        "Severe hepatotoxicity developed after starting isoniazid.",
        "Carbamazepine-induced Stevens-Johnson syndrome in a child.",
    ]


def test_sagemaker_generator_sends_the_prompt_and_reads_generated_text() -> None:
    client = FakeSageMaker()
    pool = synthetic_examples(40)
    out = llm_augment(TextGenerator("sagemaker", client, "llm-endpoint"), pool, count=2, seed=1)
    assert [e.text for e in out] == parse_generated(GENERATION, seen=set())
    [call] = client.calls
    assert call["EndpointName"] == "llm-endpoint"
    assert json.loads(call["Body"])["inputs"].count("\n- ") == FEW_SHOT


def test_bedrock_generator_uses_the_converse_api() -> None:
    client = FakeBedrock()
    out = llm_augment(TextGenerator("bedrock", client, "model-id"), synthetic_examples(40), count=1, seed=1)
    assert [e.text for e in out] == ["Severe hepatotoxicity developed after starting isoniazid."]
    assert client.calls[0]["modelId"] == "model-id"


def test_generation_stops_after_max_calls_when_the_model_repeats_itself() -> None:
    client = FakeSageMaker()
    out = llm_augment(TextGenerator("sagemaker", client, "e"), synthetic_examples(40), count=50, max_calls=3)
    assert (len(out), len(client.calls)) == (2, 3)


def test_augment_command_writes_a_corpus_built_from_training_pmids_only(
    corpus_dir: Path, tmp_path: Path
) -> None:
    written = run(
        corpus_dir, tmp_path / "synthetic", mode="sagemaker", count=2, endpoint="e", client=FakeSageMaker()
    )
    assert written == 2 and {e.label for e in load_corpus(tmp_path / "synthetic")} == {"Adverse_Event"}
    run(corpus_dir, tmp_path / "substituted", mode="substitute", count=1)
    held_out = split(load_corpus(corpus_dir), protocol="pmid", seed=42)
    held_out_pmids = {e.pmid for e in held_out.validation + held_out.test}
    sources = {e.pmid for e in load_corpus(tmp_path / "substituted")}
    assert sources and not {p.split("-syn")[0] for p in sources} & held_out_pmids


def test_download_fetches_every_file_and_the_result_loads(corpus_dir: Path, tmp_path: Path) -> None:
    (corpus_dir / "DRUG-DOSE.rel").write_text("", encoding="utf-8")
    target = download_corpus(tmp_path / "downloaded", base_url=corpus_dir.as_uri())
    assert load_corpus(target) == load_corpus(corpus_dir)
    assert sorted(p.name for p in target.iterdir()) == ["ADE-NEG.txt", "DRUG-AE.rel", "DRUG-DOSE.rel"]


def test_download_of_a_broken_corpus_leaves_no_folder(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("DRUG-AE.rel", "DRUG-DOSE.rel"):
        (source / name).write_text("not|a|corpus\n", encoding="utf-8")
    (source / "ADE-NEG.txt").write_text("1 NEG fine.\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected 8"):
        download_corpus(tmp_path / "downloaded", base_url=source.as_uri())
    assert not (tmp_path / "downloaded").exists()
