"""Reading the vocabularies into a lexicon: the cheaper helpers build what the previous ones built."""

from __future__ import annotations

import dataclasses
from importlib import resources
from typing import Any

import pytest
from pv.intelligence import lexicon as lexicon_module
from pv.intelligence.lexicon import (
    _FUZZY_MIN_LENGTH,
    SOURCES,
    Lexicon,
    Term,
    _language_lexicon,
    _phrase_words,
    _spelt_word,
)
from pv.intelligence.text import tokenize


def reference_phrase_words(phrase: str) -> tuple[str, ...]:
    return tuple(t.text for t in tokenize(phrase))


def reference_with_twin(words: tuple[str, ...]) -> list[tuple[str, ...]]:
    twin = tuple(w.replace("'", "") for w in words)
    return [words, twin] if twin != words else [words]


def reference_add_words(self: Lexicon, phrase: str, words: tuple[str, ...], term: Term) -> None:
    if not words or words in self.phrases:
        return
    self.phrases[words] = term
    if phrase.strip().isupper():
        self.capitals_only.add(words)
    self.longest[words[0]] = max(self.longest.get(words[0], 0), len(words))
    if (
        "fuzzy" in term.flags
        and len(words) == 1
        and _spelt_word(words[0])
        and len(words[0]) >= _FUZZY_MIN_LENGTH
    ):
        self.single_drugs.setdefault(words[0][0], {})[words[0]] = term


def in_order(value: Any) -> Any:
    """A dict as its items in insertion order (the first entry wins, the last term of a name is kept)."""
    return [(k, in_order(v)) for k, v in value.items()] if isinstance(value, dict) else value


def structures(lex: Lexicon) -> list[tuple[str, Any]]:
    return [(f.name, in_order(getattr(lex, f.name))) for f in dataclasses.fields(lex)]


def test_the_lexicons_are_built_the_same_as_by_the_previous_helpers(monkeypatch: pytest.MonkeyPatch):
    built = {"en": lexicon_module._build_lexicon(SOURCES)}
    built |= {lang: _language_lexicon.__wrapped__(SOURCES, lang) for lang in ("es", "de")}
    monkeypatch.setattr(lexicon_module, "_phrase_words", reference_phrase_words)
    monkeypatch.setattr(lexicon_module, "_with_twin", reference_with_twin)
    monkeypatch.setattr(Lexicon, "_add_words", reference_add_words)
    assert structures(lexicon_module._build_lexicon(SOURCES)) == structures(built["en"])
    for lang in ("es", "de"):
        assert structures(_language_lexicon.__wrapped__(SOURCES, lang)) == structures(built[lang])
    assert len(built["en"].phrases) > 50_000 and built["en"].capitals_only and built["en"].single_drugs


def _resource_phrases() -> list[str]:
    phrases = []
    for file in resources.files("pv.resources").iterdir():
        if file.name.endswith((".tsv", ".txt")):
            for line in file.read_text(encoding="utf-8").splitlines():
                phrases += [p for cell in line.split("\t") for p in cell.split("|")]
    return phrases


@pytest.mark.parametrize(
    "phrase",
    [
        "l'advil",
        "qu'il a",
        "D'Arcy",
        "can't sleep",
        "it\u2019s itchy",
        "  light-headed ",
        "a--b",
        "x-",
        "'tis",
        "AKI",
        "Ménière's disease",
        "3beta,17alpha-dihydroxy",
        "",
    ],
)
def test_a_phrases_words_are_its_tokens(phrase: str):
    assert _phrase_words(phrase) == reference_phrase_words(phrase)


def test_every_vocabulary_phrase_has_its_tokens_as_words():
    phrases = _resource_phrases()
    assert len(phrases) > 100_000
    assert [_phrase_words(p) for p in phrases] == [reference_phrase_words(p) for p in phrases]
