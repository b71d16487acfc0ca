"""Corpus loading, de-duplication and split protocols."""

from __future__ import annotations

from pathlib import Path

import pytest
from pv_model.data import (
    LEAKY_NOTE,
    Example,
    load_corpus,
    split,
    synthetic_examples,
    write_corpus,
)

DRUG_AE = (
    "111|Warfarin-induced bleeding and rash.|bleeding|10|18|Warfarin|0|8\n"
    "111|Warfarin-induced bleeding and rash.|rash|23|27|Warfarin|0|8\n"
    "222|Lithium toxicity   with tremor.|tremor|20|26|Lithium|0|7\n"
)
ADE_NEG = (
    "111 NEG A case report.\n"
    "222 NEG Lithium toxicity with tremor.\n"
    "333 NEG A case report.\n"
    "333 NEG The patient recovered.\n"
)


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    (tmp_path / "DRUG-AE.rel").write_text(DRUG_AE, encoding="utf-8")
    (tmp_path / "ADE-NEG.txt").write_text(ADE_NEG, encoding="utf-8")
    return tmp_path


def test_sentence_with_two_pairs_becomes_one_example_with_both_effects(corpus_dir: Path) -> None:
    """GIVEN a sentence listed once per drug-effect pair WHEN loaded THEN it is one example."""
    examples = load_corpus(corpus_dir)
    warfarin = [e for e in examples if e.text.startswith("Warfarin")]
    assert warfarin == [
        Example(
            "111", "Warfarin-induced bleeding and rash.", "Adverse_Event", ("Warfarin",), ("bleeding", "rash")
        )
    ]


def test_sentence_in_both_files_counts_as_adverse_event(corpus_dir: Path) -> None:
    """A sentence in DRUG-AE.rel and ADE-NEG.txt (whitespace aside) is one positive example."""
    lithium = [e for e in load_corpus(corpus_dir) if e.text.startswith("Lithium")]
    assert [(e.text, e.label) for e in lithium] == [("Lithium toxicity with tremor.", "Adverse_Event")]


def test_identical_sentence_under_two_pmids_is_kept_once(corpus_dir: Path) -> None:
    examples = load_corpus(corpus_dir)
    assert [(e.pmid, e.label) for e in examples if e.text == "A case report."] == [("111", "Not_AE")]
    assert len(examples) == 4


def test_folder_without_corpus_files_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"DRUG-AE\.rel, ADE-NEG\.txt"):
        load_corpus(tmp_path)


def test_written_corpus_loads_back_unchanged(tmp_path: Path) -> None:
    examples = load_corpus(write_corpus(synthetic_examples(40), tmp_path / "corpus"))
    assert examples == load_corpus(write_corpus(examples, tmp_path / "again"))
    assert {e.label for e in examples} == {"Adverse_Event", "Not_AE"}


def test_pmid_splits_share_no_pmid_and_cover_every_example(tmp_path: Path) -> None:
    examples = load_corpus(write_corpus(synthetic_examples(200), tmp_path))
    splits = split(examples, protocol="pmid", seed=7)
    train, val, test = ({e.pmid for e in part} for part in (splits.train, splits.validation, splits.test))
    assert train & val == set() and train & test == set() and val & test == set()
    assert sorted(splits.train + splits.validation + splits.test, key=lambda e: (e.pmid, e.text)) == examples
    assert (len(val), len(test)) == (20, 20)
    # Stratified: half the PMIDs hold an AE, so half of each part's PMIDs do too.
    assert sum(1 for p in test if int(p) % 2 == 0) == 10


def test_pmid_split_is_reproducible_with_a_seed_and_changes_with_another(tmp_path: Path) -> None:
    examples = synthetic_examples(200)
    first, again, other = split(examples, seed=1), split(examples, seed=1), split(examples, seed=2)
    assert first.test == again.test
    assert {e.pmid for e in first.test} != {e.pmid for e in other.test}


def test_random_split_is_80_20_and_labelled_leaky() -> None:
    examples = synthetic_examples(200)
    splits = split(examples, protocol="random", seed=3)
    assert len(splits.test) == round(len(examples) * 0.2)
    assert len(splits.train) + len(splits.validation) == len(examples) - len(splits.test)
    assert splits.summary()["notes"] == [LEAKY_NOTE]


def test_unknown_protocol_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown split protocol 'sentence'"):
        split(synthetic_examples(10), protocol="sentence")  # type: ignore[arg-type]
