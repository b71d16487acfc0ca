"""Drug and adverse-event mentions in sentences: the lexicon extractor, the endpoint one, and both."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from .lexicon import lexicon
from .redaction import RuleRedactor
from .text import Token, tokenize, word_set


class Entity(BaseModel):
    """A span of one sentence that names a drug or an adverse event (the extractor contract)."""

    type: Literal["DRUG", "AE"]
    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    score: float = 1.0
    normalized: str | None = None
    flags: frozenset[str] = frozenset()


class Extractor(Protocol):
    """Finds entities in sentences: one list per sentence, in order.

    `known_names` are the document's people (sender, caller, author: `name_variants`), for an
    extractor that keeps personal data out of what it reports.
    """

    def extract(self, sentences: Sequence[str], *, known_names: Iterable[str] = ()) -> list[list[Entity]]: ...


class ExtractorError(RuntimeError):
    """The extractor endpoint answered something that breaks the contract."""


class LexiconExtractor:
    """The default extractor: the shipped drug and event vocabularies, misspelling-tolerant for drugs.

    `language` ("en" by default; "es", "fr", "de", "pt"): the events of that language's lay lexicon
    are read too, named by their English terms (pv.intelligence.lexicon).
    """

    def __init__(self, language: str = "en") -> None:
        self.language = language

    def extract(self, sentences: Sequence[str], *, known_names: Iterable[str] = ()) -> list[list[Entity]]:
        return self.extract_tokens(sentences, [tokenize(s) for s in sentences])

    def extract_tokens(self, sentences: Sequence[str], tokens: Sequence[list[Token]]) -> list[list[Entity]]:
        """The entities of sentences already tokenized (`tokens[i]` the tokens of `sentences[i]`)."""
        lex = lexicon(self.language)
        return [
            [
                Entity(
                    type=m.term.kind,
                    text=sentence[m.start : m.end],
                    start=m.start,
                    end=m.end,
                    score=0.8 if m.fuzzy else 1.0,
                    normalized=m.term.normalized,
                    flags=m.term.flags,
                )
                for m in lex.match(sentence_tokens)
            ]
            for sentence, sentence_tokens in zip(sentences, tokens, strict=True)
        ]


_RESPONSE = TypeAdapter(list[list[Entity]])


class EndpointExtractor:
    """Entities from the extractor endpoint (request {"inputs": [...]}), normalized with the lexicon.

    `invoke` sends the request and returns the decoded JSON response. Entity text is taken from
    the sentence by offsets when they fit; names the vocabulary knows get their generic name or
    preferred term, others keep their lowercase text.
    """

    def __init__(self, invoke: Callable[[dict[str, Any]], Any], *, batch_size: int = 32) -> None:
        self._invoke = invoke
        self._batch_size = batch_size

    def extract(self, sentences: Sequence[str], *, known_names: Iterable[str] = ()) -> list[list[Entity]]:
        answer = answers_in_batches(self._invoke, sentences, _RESPONSE, self._batch_size, "extractor")
        return [_normalized(s, ents) for s, ents in zip(sentences, answer, strict=True)]


def answers_in_batches(
    invoke: Callable[[dict[str, Any]], Any],
    inputs: Sequence[str],
    response: TypeAdapter[Any],
    batch_size: int,
    what: str,
) -> list[Any]:
    """One validated answer item per input, asking the endpoint `{"inputs": [...]}` in batches;
    ExtractorError when an answer breaks the contract (`response`) or has another length."""
    found: list[Any] = []
    for i in range(0, len(inputs), batch_size):
        batch = list(inputs[i : i + batch_size])
        try:
            answer = response.validate_python(invoke({"inputs": batch}))
        except ValidationError as exc:
            raise ExtractorError(f"{what} response does not follow the contract") from exc
        if len(answer) != len(batch):
            raise ExtractorError(f"{what} answered {len(answer)} items for {len(batch)} inputs")
        found.extend(answer)
    return found


class CombinedExtractor:
    """The lexicon's entities plus what a model adds: per sentence, every lexicon entity, then each
    model entity that passes the guard, overlaps no lexicon entity of its type and does not lie
    within a lexicon entity of the other type.

    The lexicon knows lay wording ("threw up"), brand names and their generic names, and flags;
    a model trained on case reports finds names the vocabulary lacks. Where both read the same
    words, the lexicon's reading (type, normalization, flags) wins: a model "AE" on a brand name
    the lexicon knows as a drug is dropped, while "<drug> toxicity" (wider than the drug) is kept.

    The guard holds whatever model answers. A model trained only on sentences that report a
    reaction tags something in nearly every sentence it is given, with high scores: names, phone
    numbers, postcodes, record numbers, greetings. So a model entity is taken only
    - from a sentence in which the lexicon found a drug or an event: greetings, signatures,
      addresses and contact lines name none, so nothing the model reads there is kept (the
      price: an unknown drug named alone in a sentence without a known drug or event is missed);
    - when no character of it is personal data: the redactor's spans in that sentence, with the
      document's known names ("Dr Watanabe prescribed ...", "call 555-0139");
    - when it reads as a name, not an identifier: it has a letter, no run of five or more digits
      (record, phone and zip numbers; drug codes such as mRNA-1273 have at most four), and is not
      a label: a word of at most four letters followed by a colon or a number ("Fwd:", "DOB:",
      "MRN 00482913");
    - when it reads as a term, not as filler: not only greetings, closings and function words
      ("Hi", "Kind regards", "of the"), and not only single letters ("A&E" read as "a e").
    """

    def __init__(
        self, model: Extractor, lexicon: Extractor | None = None, *, redactor: RuleRedactor | None = None
    ) -> None:
        self._model = model
        self._lexicon = lexicon or LexiconExtractor()
        self._redactor = redactor or RuleRedactor()

    def extract(self, sentences: Sequence[str], *, known_names: Iterable[str] = ()) -> list[list[Entity]]:
        known = self._lexicon.extract(sentences)
        found = self._model.extract(sentences)
        if len(found) != len(known):
            raise ExtractorError(f"extractor answered {len(found)} items for {len(known)} sentences")
        names = list(known_names)
        return [
            _merged(base, self._guarded(sentence, extra, names) if base else [])
            for sentence, base, extra in zip(sentences, known, found, strict=True)
        ]

    def _guarded(self, sentence: str, extra: list[Entity], known_names: list[str]) -> list[Entity]:
        kept = [e for e in extra if not _looks_like_identifier(sentence, e) and not _is_filler(e)]
        if not kept:
            return []
        personal = self._redactor.personal_spans(sentence, known_names=known_names)
        return [e for e in kept if not any(start < e.end and e.start < end for start, end in personal)]


_LONG_NUMBER = re.compile(r"\d{5,}")
_AFTER_LABEL = re.compile(r"\s*(?:[:#]|\d{4,})")


def _looks_like_identifier(sentence: str, entity: Entity) -> bool:
    """No letter, a long number, or a short label ("Fwd:", "MRN 00482913")."""
    text = entity.text
    if not any(c.isalpha() for c in text) or _LONG_NUMBER.search(text):
        return True
    label = len(text) <= 4 and text.isalpha()
    return label and _AFTER_LABEL.match(sentence, min(entity.end, len(sentence))) is not None


# Greetings, closings and function words: a model entity made only of these names nothing.
_FILLER = word_set(
    "hi hello hey hiya dear morning afternoon evening good thanks thank cheers regards best wishes "
    "kind warm sincerely yours faithfully truly bye goodbye ok okay yes please sorry many "
    "a an the and or but so then now just also very really quite too not no nor "
    "i me my mine myself you your he him his she her it its we us our they them their "
    "this that these those who whom whose which what there here when where how why "
    "to of in on at for with from by about as into onto over under after before since until "
    "during through up down out off is am are was were be been being have has had do does did "
    "will would shall should can could may might must get got all any some each every much more "
    "still again ever even i'm i've i'd it's"
)


def _is_filler(entity: Entity) -> bool:
    """Only greetings, closings and function words ("Hi", "of the"), or only single letters
    ("A&E": "a", "e")."""
    words = [t.text for t in tokenize(entity.text) if t.is_word]
    return all(len(w) == 1 or w in _FILLER for w in words)


def _merged(base: list[Entity], extra: list[Entity]) -> list[Entity]:
    def read_by_lexicon(e: Entity) -> bool:
        return any(
            (b.type == e.type and b.start < e.end and e.start < b.end)
            or (b.start <= e.start and e.end <= b.end)
            for b in base
        )

    return sorted([*base, *(e for e in extra if not read_by_lexicon(e))], key=lambda e: (e.start, e.end))


def _normalized(sentence: str, entities: list[Entity]) -> list[Entity]:
    lex = lexicon()
    out = []
    for entity in entities:
        text = sentence[entity.start : entity.end] if entity.end <= len(sentence) else entity.text
        if not text.strip():
            continue
        word_tokens = [t for t in tokenize(text) if t.is_word]
        words = tuple(t.text for t in word_tokens)
        term = lex.lookup(words, in_capitals=all(t.capitals for t in word_tokens)) if words else None
        if term is None and len(words) == 1 and entity.type == "DRUG":
            term = lex.fuzzy_drug(words[0])
        known = term is not None and term.kind == entity.type
        out.append(
            entity.model_copy(
                update={
                    "text": text,
                    "normalized": term.normalized if known and term else " ".join(words),
                    "flags": term.flags if known and term else frozenset(),
                }
            )
        )
    return out
