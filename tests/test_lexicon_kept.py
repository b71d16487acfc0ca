"""A built lexicon kept as a pickle: read back by later processes, rebuilt when anything changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from pv.intelligence import lexicon as lexicon_module
from pv.intelligence.lexicon import SOURCES, Lexicon


def _same(a: Lexicon, b: Lexicon) -> bool:
    fields = ("phrases", "patterns", "measures", "single_drugs", "known_words", "broader", "not_events")
    return all(getattr(a, name) == getattr(b, name) for name in fields)


def test_a_kept_lexicon_is_read_back_instead_of_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN $PV_LEXICON_CACHE naming a folder WHEN a process builds the lexicon THEN it keeps it
    there, and the next one reads it back, equal to a fresh build, without building."""
    monkeypatch.setenv("PV_LEXICON_CACHE", str(tmp_path))
    built = lexicon_module._kept_or_built(SOURCES)
    kept = list(tmp_path.glob("lexicon-*.pickle"))
    assert len(kept) == 1 and not list(tmp_path.glob("*.part"))

    def no_build(sources: frozenset[str]) -> Lexicon:
        raise AssertionError("built although a kept lexicon was there")

    monkeypatch.setattr(lexicon_module, "_build_lexicon", no_build)
    read = lexicon_module._kept_or_built(SOURCES)
    assert read is not built and _same(read, built)
    assert read.fuzzy_drug("ibuprofin") == built.fuzzy_drug("ibuprofin")


def test_a_damaged_kept_lexicon_is_built_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PV_LEXICON_CACHE", str(tmp_path))
    key = lexicon_module._build_key(SOURCES)
    (tmp_path / f"lexicon-{key}.pickle").write_bytes(b"not a pickle")
    rebuilt = lexicon_module._kept_or_built(SOURCES)
    assert _same(rebuilt, lexicon_module._build_lexicon(SOURCES))
    # and the damaged file was replaced by a good one
    monkeypatch.setattr(lexicon_module, "_build_lexicon", lambda sources: pytest.fail("built again"))
    assert _same(lexicon_module._kept_or_built(SOURCES), rebuilt)


def test_the_key_changes_with_the_vocabularies_the_code_and_the_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the files a build reads WHEN a vocabulary row, this module's code or the sources asked
    for change THEN the kept name changes (an old pickle is never read for a new build)."""
    key = lexicon_module._build_key(SOURCES)
    assert key == lexicon_module._build_key(SOURCES)
    assert lexicon_module._build_key(frozenset({"drugs"})) != key

    resources = tmp_path / "resources"
    resources.mkdir()
    real = lexicon_module.resources.files("pv.resources")
    for entry in real.iterdir():
        if entry.name.endswith((".tsv", ".txt")):
            (resources / entry.name).write_bytes(entry.read_bytes())
    monkeypatch.setattr(lexicon_module.resources, "files", lambda package: resources)
    assert lexicon_module._build_key(SOURCES) == key
    with (resources / "drugs.tsv").open("a", encoding="utf-8") as drugs:
        drugs.write("newdrugname\tnewdrugname\n")
    assert lexicon_module._build_key(SOURCES) != key

    monkeypatch.setattr(lexicon_module.resources, "files", lambda package: real)
    code = tmp_path / "lexicon.py"
    code.write_bytes(Path(lexicon_module.__file__).read_bytes() + b"\n# changed\n")
    monkeypatch.setattr(lexicon_module, "__file__", str(code))
    assert lexicon_module._build_key(SOURCES) != key


def test_without_a_cache_folder_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PV_LEXICON_CACHE", raising=False)
    monkeypatch.chdir(tmp_path)
    lexicon_module._kept_or_built(SOURCES)
    assert not list(tmp_path.rglob("lexicon-*"))
