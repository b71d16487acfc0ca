"""The shipped vocabularies are what `pv vocabularies` builds from their maintained sources."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pv.intelligence import LexiconExtractor
from pv.intelligence.lexicon import lexicon, only_sources, vocabulary_versions

RESOURCES = Path(__file__).parent.parent / "functions" / "pv" / "resources"
GENERATED = ("drugs.tsv", "hpo_events.tsv", "common_words.txt", "vocabularies.json")


def test_the_shipped_vocabularies_are_what_the_build_writes_from_the_sources(tmp_path: Path):
    """GIVEN the override file and the lay lexicon WHEN `pv vocabularies` builds from the pinned
    source packages THEN it writes exactly the shipped generated files (nobody edited them by hand
    and nobody forgot to rebuild after an override)."""
    pytest.importorskip("drug_named_entity_recognition", reason="requirements-dev.txt installs it")
    from pv_local.vocabularies import write_all

    for name in ("drug_overrides.tsv", "events.tsv"):
        shutil.copy(RESOURCES / name, tmp_path / name)
    write_all(tmp_path)
    for name in GENERATED:
        assert (tmp_path / name).read_text(encoding="utf-8") == (RESOURCES / name).read_text(
            encoding="utf-8"
        ), name


def test_each_case_records_the_vocabulary_versions_it_was_read_with():
    versions = vocabulary_versions()
    shipped = json.loads((RESOURCES / "vocabularies.json").read_text())
    assert versions == {
        "drugs": f"drug-named-entity-recognition {shipped['drugs']['version']}",
        "hpo": f"Human Phenotype Ontology {shipped['hpo']['version']}",
    }


def _events(sentence: str) -> list[str]:
    [entities] = LexiconExtractor().extract([sentence])
    return [e.normalized or "" for e in entities if e.type == "AE"]


@pytest.mark.parametrize(
    ("sentence", "term"),
    [
        ("I have had loss of bladder control", "urinary incontinence"),
        ("my ankle pain is awful", "ankle pain"),
    ],
)
def test_hpo_labels_and_layperson_synonyms_are_reactions(sentence: str, term: str):
    assert _events(sentence) == [term]


def test_the_lay_lexicon_names_a_term_where_hpo_and_it_both_know_it():
    """GIVEN HPO's "Diarrhea" and the lay lexicon's "diarrhoea" WHEN matched THEN the lay term."""
    assert _events("I have diarrhea") == ["diarrhoea"]


def test_a_food_or_a_persons_name_is_no_drug_word():
    """GIVEN allergen extracts ("rice", "sage") and names ("Angelica") that the drug package lists
    WHEN read THEN they are no drugs: the redactor must still take a name for a name."""
    [entities] = LexiconExtractor().extract(["Angelica had rice with sage and water."])
    assert [e.text for e in entities if e.type == "DRUG"] == []


def test_a_vocabulary_source_can_be_left_out_to_measure_what_it_adds():
    with only_sources(frozenset({"drugs", "project"})):
        assert _events("I have had loss of bladder control") == []
        assert lexicon().lookup(("lipitor",)) is not None
    assert _events("I have had loss of bladder control") == ["urinary incontinence"]


def test_the_readme_states_the_sizes_of_the_shipped_vocabularies():
    """GIVEN the shipped override file and vocabularies.json WHEN the README's "Vocabularies"
    section gives their sizes THEN they are the files' own (a README figure that drifts fails here:
    update it with the file)."""
    from pv_local.vocabularies import read_overrides

    readme = " ".join((RESOURCES.parents[2] / "README.md").read_text(encoding="utf-8").split())
    shipped = json.loads((RESOURCES / "vocabularies.json").read_text())
    overrides = len(read_overrides(RESOURCES / "drug_overrides.tsv"))
    assert f"`drug_overrides.tsv` ({overrides} rows:" in readme
    assert f"{shipped['drugs']['names']:,} names of {shipped['drugs']['drugs']:,} drugs" in readme
    assert f"({shipped['hpo']['terms']:,} terms)" in readme
