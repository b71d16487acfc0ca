"""Reaction phrases no vocabulary spells out, mapped to the nearest standard term by an endpoint.

`PhraseMapper` is the seam: `nearest_terms(phrases)` answers, for each phrase, the nearest standard
terms with their similarity, best first. The phrase-mapper endpoint (`pv-model build-embedder`:
all-MiniLM-L6-v2 with the event vocabulary's names embedded; `PhraseMapperEndpointName`) speaks
the contract `{"inputs": ["phrase", ...]}` -> `[{"terms": [{"term", "score"}, ...]}, ...]`
(`EndpointPhraseMapper`). Nothing here imports a model: any mapper that keeps the protocol can stand
in (MedDRA coding uses it as "verbatim -> nearest standard term").

`PhraseMappingExtractor` adds to an extractor's entities the clauses of a sentence that read as a
reaction the vocabulary did not find ("my heart keeps fluttering") and whose nearest term scores
at least `PHRASE_FLOOR` (chosen on the lay corpus's dev part, README "Phrases no vocabulary spells
out").
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from pydantic import BaseModel, TypeAdapter

from .context import context_rules
from .extraction import Entity, Extractor, LexiconExtractor, answers_in_batches
from .lexicon import lexicon
from .text import Token, tokenize, word_set

# The similarity from which a phrase is taken for its nearest term (pv evaluate-lay --phrase-mapper).
PHRASE_FLOOR = 0.65
# A clause is a candidate reaction phrase when it speaks of the patient's body or feelings.
_EXPERIENCE = word_set(
    "my i i'm im i've ive me keep keeps kept feel feels felt feeling got getting get gets have has had having"
)
_MIN_WORDS, _MAX_WORDS = 2, 10


class PhraseMapper(Protocol):
    """Maps phrases to the nearest standard terms: per phrase, (term, similarity) best first."""

    def nearest_terms(self, phrases: Sequence[str]) -> list[list[tuple[str, float]]]: ...


class _Nearest(BaseModel):
    term: str
    score: float


class _Answer(BaseModel):
    terms: list[_Nearest]


_RESPONSE = TypeAdapter(list[_Answer])


class EndpointPhraseMapper:
    """The phrase-mapper endpoint behind `invoke` (the request dict to the decoded JSON answer)."""

    def __init__(self, invoke: Callable[[dict[str, Any]], Any], *, batch_size: int = 32) -> None:
        self._invoke = invoke
        self._batch_size = batch_size

    def nearest_terms(self, phrases: Sequence[str]) -> list[list[tuple[str, float]]]:
        answer = answers_in_batches(self._invoke, phrases, _RESPONSE, self._batch_size, "phrase mapper")
        return [[(t.term, t.score) for t in item.terms] for item in answer]


def candidate_phrases(
    sentence: str, tokens: list[Token], taken: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Character spans of the sentence's clauses (cut at commas and where a verb phrase opens) that
    may name a reaction: two to ten words, an experience word ("my", "I", "keeps", "feel" ...),
    and no character an entity already took."""
    rules = context_rules()
    spans = []
    i = 0
    while i < len(tokens):
        start, end = rules.clause_bounds(tokens, i, i + 1)
        inner = (k for k in range(start + 1, end) if tokens[k].text == "," or rules.opens_phrase(tokens, k))
        cuts = [start, *inner, end]
        for a, b in itertools.pairwise(cuts):
            words = [t for t in tokens[a:b] if t.is_word and t.text not in ("and", "or", "but", "so")]
            if not (_MIN_WORDS <= len(words) <= _MAX_WORDS) or not any(t.text in _EXPERIENCE for t in words):
                continue
            first, last = words[0].start, words[-1].end
            if not any(s < last and first < e for s, e in taken):
                spans.append((first, last))
        i = max(end, i + 1)
    return spans


class PhraseMappingExtractor:
    """An extractor's entities, plus the reaction phrases a `PhraseMapper` maps above the floor."""

    def __init__(
        self, mapper: PhraseMapper, base: Extractor | None = None, *, floor: float = PHRASE_FLOOR
    ) -> None:
        self._mapper = mapper
        self._base = base or LexiconExtractor()
        self._floor = floor

    def extract(self, sentences: Sequence[str], *, known_names: Iterable[str] = ()) -> list[list[Entity]]:
        found = self._base.extract(sentences, known_names=known_names)
        where: list[tuple[int, int, int]] = []
        for n, (sentence, entities) in enumerate(zip(sentences, found, strict=True)):
            taken = [(e.start, e.end) for e in entities]
            where.extend((n, a, b) for a, b in candidate_phrases(sentence, tokenize(sentence), taken))
        if not where:
            return found
        nearest = self._mapper.nearest_terms([sentences[n][a:b] for n, a, b in where])
        for (n, a, b), terms in zip(where, nearest, strict=True):
            if terms and terms[0][1] >= self._floor:
                term, score = terms[0]
                known = lexicon().lookup(tuple(t.text for t in tokenize(term)))
                flags = known.flags if known is not None and known.kind == "AE" else frozenset()
                entity = Entity(
                    type="AE",
                    text=sentences[n][a:b],
                    start=a,
                    end=b,
                    score=score,
                    normalized=term,
                    flags=flags,
                )
                found[n] = sorted([*found[n], entity], key=lambda e: (e.start, e.end))
        return found
