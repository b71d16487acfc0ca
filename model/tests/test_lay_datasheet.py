"""The shipped lay corpus validates, and its datasheet's counts are what the corpus files give."""

from __future__ import annotations

from pathlib import Path

from pv_model.lay import STATS_BEGIN, STATS_END, format_stats, load_lay, stats

LAY = Path(__file__).resolve().parents[1] / "data" / "lay"


def test_the_datasheet_counts_are_the_ones_the_corpus_files_give() -> None:
    """GIVEN the shipped corpus and its datasheet WHEN the counts are computed from the batch files
    THEN the datasheet's generated block is exactly those counts (rerun `pv-model lay stats
    --datasheet model/data/lay/DATASHEET.md` after a batch changes)."""
    corpus = load_lay(LAY)
    sheet = (LAY / "DATASHEET.md").read_text(encoding="utf-8")
    block = sheet[sheet.index(STATS_BEGIN) + len(STATS_BEGIN) : sheet.index(STATS_END)]
    assert corpus.problems == []
    assert block == "\n" + format_stats(stats(corpus))


def test_the_datasheet_names_every_writer_and_language_of_the_corpus() -> None:
    """GIVEN the shipped corpus WHEN its writers and languages are read from the batch files THEN
    the datasheet's prose names each of them, so a new writer or language is not left out of it."""
    corpus = load_lay(LAY)
    sheet = (LAY / "DATASHEET.md").read_text(encoding="utf-8")
    prose = sheet[: sheet.index(STATS_BEGIN)]
    assert all(f"`{meta['writer']}`" in prose for meta in corpus.metas.values())
    names = {"en": "English", "es": "Spanish", "fr": "French", "de": "German", "pt": "Portuguese"}
    assert all(names[d.lang] in prose for d in corpus.documents)
