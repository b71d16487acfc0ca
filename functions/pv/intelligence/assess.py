"""assess_case: a flagged document to CaseFacts (the seam CaseFunction calls)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from pv.models import CaseFacts, Mention, SentenceScore, SeriousnessCriterion, SourceDocument
from pv.sentences import document_sentences, split_sentences

from .context import (
    clause_bounds,
    find_patient,
    in_emergency_care,
    is_blamed,
    is_given,
    is_negated,
    is_replacing,
    mention_context,
    purpose,
    rescue_treatments,
    worsening,
)
from .extraction import Entity, Extractor, LexiconExtractor
from .language import detect_language
from .redaction import Redactor, RuleRedactor, name_variants
from .seriousness import ORDER, Sentence, criteria
from .summary import ExtractiveSummarizer, Summarizer, SummarizerError
from .text import Token, fold, tokenize


@dataclass
class _Found:
    """One entity in one sentence, with its context."""

    sentence: int
    entity: Entity
    first: int
    last: int
    mention: Mention


def assess_case(
    document: SourceDocument,
    flagged: list[SentenceScore],
    *,
    extractor: Extractor | None = None,
    summarizer: Summarizer | None = None,
    redactor: Redactor | None = None,
) -> CaseFacts:
    """Suspect drugs, events, seriousness, patient, missing elements and a redacted summary.

    All screened text is read (a drug is often named a sentence before the reaction); the
    flagged sentences stand in when the document has no screened text. Events of a non-English
    document are not extracted (the rules are English): drugs still are, and the case lacks an
    adverse event, so it is stored incomplete for a human to read.
    """
    redactor = redactor or RuleRedactor()
    texts = document_sentences(document) or [s.text for s in flagged]
    language, tokens, found, reactions, suspects, patient = _read(document, texts, extractor)
    events = _unique(f.mention.normalized for f in reactions)
    drugs = _unique(f.mention.normalized for f in suspects) or _drugs_named_by_others(document, extractor)

    excluded = _excluded_tokens(found, tokens)
    important = {f.mention.normalized: texts[f.sentence] for f in reactions if "ime" in f.entity.flags}
    met = criteria(
        [Sentence(texts[i], tokens[i], frozenset(excluded.get(i, ()))) for i in range(len(texts))],
        important,
        patient_relative=patient if patient not in (None, "reporter", "patient") else None,
    )
    met = _criteria_from_events(met, reactions, texts)
    known_names = name_variants(document.metadata)
    met = [
        c.model_copy(update={"evidence": redactor.redact(c.evidence, known_names=known_names)}) for c in met
    ]

    from .validity import missing_elements

    facts = CaseFacts(
        suspect_drugs=drugs,
        events=events,
        mentions=_unique_mentions(f.mention for f in found),
        serious=bool(met),
        seriousness_criteria=met,
        patient=patient,
        missing_elements=missing_elements(document, patient=patient, suspect_drugs=drugs, events=events),
        language=language,
        summary="",
    )
    summary = ExtractiveSummarizer().summarize(document, facts)
    if summarizer is not None:
        # an ungrounded or malformed abstractive summary: keep the extractive one
        with contextlib.suppress(SummarizerError):
            summary = summarizer.summarize(document, facts)
    return facts.model_copy(update={"summary": redactor.redact(summary, known_names=known_names)})


class _Reading(NamedTuple):
    """What the rules read in a document's sentences, before any case is built from it."""

    language: str
    tokens: list[list[Token]]
    found: list[_Found]
    reactions: list[_Found]
    suspects: list[_Found]
    patient: str | None


def _read(document: SourceDocument, texts: list[str], extractor: Extractor | None) -> _Reading:
    language = (
        document.language.split("-")[0].lower() if document.language else detect_language(" ".join(texts))
    )
    entities = (extractor or LexiconExtractor()).extract(texts, known_names=name_variants(document.metadata))
    if language != "en":
        entities = [[e for e in ents if e.type == "DRUG"] for ents in entities]

    tokens = [tokenize(s) for s in texts]
    spans = [[_token_span(tokens[i], e) for e in ents] for i, ents in enumerate(entities)]
    drug_sentences = {i for i, ents in enumerate(entities) if any(e.type == "DRUG" for e in ents)}
    patient = find_patient([fold(s) for s in texts], drug_sentences)
    relative = patient if patient not in (None, "reporter", "patient") else None

    found: list[_Found] = []
    for i, ents in enumerate(entities):
        drug_tokens = {
            t for e, (a, b) in zip(ents, spans[i], strict=True) if e.type == "DRUG" for t in range(a, b)
        }
        for entity, (first, last) in zip(ents, spans[i], strict=True):
            if first >= last:
                continue
            ctx = mention_context(
                tokens[i],
                first,
                last,
                kind=entity.type,
                flags=entity.flags,
                normalized=entity.normalized or "",
                drug_tokens=drug_tokens,
                patient_relative=relative,
            )
            mention = Mention(
                text=entity.text,
                normalized=entity.normalized or entity.text.lower(),
                negated=ctx.negated,
                uncertain=ctx.uncertain,
                role=ctx.role,
            )
            found.append(_Found(i, entity, first, last, mention))

    _mark_treatments(found, tokens)
    reactions = [f for f in found if f.entity.type == "AE" and _occurred(f.mention)]
    suspects = [
        f for f in found if f.entity.type == "DRUG" and f.mention.role == "suspect" and not f.mention.negated
    ]
    return _Reading(language, tokens, found, reactions, suspects, patient)


def adverse_event_sentences(document: SourceDocument, *, extractor: Extractor | None = None) -> list[str]:
    """The sentences where the reporter's text names a reaction that occurred, when it also names a
    suspect drug; empty otherwise. Screening's second detector, beside the classifier."""
    texts = document_sentences(document)
    reading = _read(document, texts, extractor)
    if not reading.suspects:
        return []
    return _unique(texts[f.sentence] for f in reading.reactions)


def _drugs_named_by_others(document: SourceDocument, extractor: Extractor | None) -> list[str]:
    """Drugs the agent or a quoted message names ("calling about your new metformin").

    Used only when the reporter's own words name none: the product the call is about is the
    suspect even when the caller just says "it".
    """
    texts = [
        s
        for u in document.units
        if u.kind in ("turn", "quoted") and not u.is_screened
        for s in split_sentences(u.text)
    ]
    if not texts:
        return []
    found = []
    entities = (extractor or LexiconExtractor()).extract(texts, known_names=name_variants(document.metadata))
    for sentence, ents in zip(texts, entities, strict=True):
        sentence_tokens = tokenize(sentence)
        for entity in ents:
            first, last = _token_span(sentence_tokens, entity)
            if entity.type == "DRUG" and first < last and not is_negated(sentence_tokens, first, last):
                found.append(entity.normalized or entity.text.lower())
    return _unique(found)


def _criteria_from_events(
    met: list[SeriousnessCriterion], reactions: list[_Found], texts: list[str]
) -> list[SeriousnessCriterion]:
    """A reported death or birth defect is a criterion even when no criterion phrase matched."""
    have = {c.criterion for c in met}
    added = list(met)
    for event, criterion in (("death", "death"), ("congenital anomaly", "congenital_anomaly")):
        reaction = next((f for f in reactions if f.mention.normalized == event), None)
        if reaction is not None and criterion not in have:
            added.append(SeriousnessCriterion(criterion=criterion, evidence=texts[reaction.sentence]))
    return sorted(added, key=lambda c: ORDER.index(c.criterion))


def _token_span(tokens: list[Token], entity: Entity) -> tuple[int, int]:
    inside = [i for i, t in enumerate(tokens) if t.start < entity.end and t.end > entity.start]
    return (inside[0], inside[-1] + 1) if inside else (0, 0)


def _occurred(mention: Mention) -> bool:
    return mention.role == "suspect" and not mention.negated and not mention.uncertain


def _mark_treatments(found: list[_Found], tokens: list[list[Token]]) -> None:
    """A drug given or taken to treat a reaction gets the role "treatment": it is not a suspect.

    A drug mention the reporter does not blame treats a reaction when

    - its clause says it was for a reaction that occurred ("took Zofran for the vomiting", "to stop
      the itching", "for it") named before it, or another drug is suspect; or
    - it was given or used ("they gave me vitamin K", "got an adrenaline shot") after a reaction
      named in its sentence or the one before, and it is a rescue treatment
      (emergency_treatments.tsv), or given in emergency care, or another drug named before it is
      suspect (the chain suspect, reaction, treatment).

    The reporter blames it when the words around it do ("after the vitamin K my rash got worse",
    "a reaction to", "made it worse") or a new or worsening reaction follows it in its sentence ("I
    was given amoxicillin and came out in hives"). A drug given for something else ("for my
    stomach") or instead of another ("switched me to") is not a treatment. Later mentions of a
    treatment are treatments unless blamed; an earlier one (a drug taken before) stays suspect.
    The treated reaction stays a reaction; its "for the ..." mention is not an indication.
    """
    order = sorted(found, key=lambda f: (f.sentence, f.first))
    reactions = [f for f in order if f.entity.type == "AE" and _occurred(f.mention)]
    reaction_names = {f.mention.normalized for f in reactions}
    treatments: set[str] = set()
    for d in order:
        if d.entity.type != "DRUG" or d.mention.role != "suspect" or d.mention.negated:
            continue
        sentence = tokens[d.sentence]
        earlier = [r for r in reactions if (r.sentence, r.first) < (d.sentence, d.first)]
        if _blamed(d, sentence, reactions, earlier) or is_replacing(sentence, d.first, d.last):
            continue
        treated = [
            f
            for f in order
            if f.sentence == d.sentence
            and f.entity.type == "AE"
            and f.first >= d.last
            and f.mention.normalized in reaction_names
            and not f.mention.negated
        ]
        what_for = purpose(sentence, d.first, d.last, {i for f in treated for i in range(f.first, f.last)})
        others = [
            o
            for o in found
            if o.entity.type == "DRUG"
            and o.mention.role == "suspect"
            and not o.mention.negated
            and o.mention.normalized != d.mention.normalized
        ]
        if what_for is not None:
            treats = what_for and bool(earlier or others)
        elif is_given(sentence, d.first, d.last):
            recent = any(r.sentence >= d.sentence - 1 for r in earlier)
            emergency = in_emergency_care(sentence) or (
                d.sentence > 0 and in_emergency_care(tokens[d.sentence - 1])
            )
            named_before = any((o.sentence, o.first) < (d.sentence, d.first) for o in others)
            treats = recent and (_is_rescue(d) or emergency or named_before)
        else:
            treats = d.mention.normalized in treatments
        if not treats:
            continue
        treatments.add(d.mention.normalized)
        d.mention = d.mention.model_copy(update={"role": "treatment"})
        for f in treated:
            if f.mention.role == "indication" and f.first < clause_bounds(sentence, d.first, d.last)[1]:
                f.mention = f.mention.model_copy(update={"role": "other"})


def _blamed(drug: _Found, sentence: list[Token], reactions: list[_Found], earlier: list[_Found]) -> bool:
    """The reporter suspects this drug mention: the words around it say so, or a reaction that is
    new, or got worse, follows it in its sentence (not as the reason it was given)."""
    if is_blamed(sentence, drug.first, drug.last):
        return True
    before = {r.mention.normalized for r in earlier}
    for r in reactions:
        if r.sentence != drug.sentence or r.first < drug.last:
            continue
        since = max(drug.last, clause_bounds(sentence, r.first, r.last)[0])
        if any(t.text in {"because", "due", "as", "for"} for t in sentence[since : r.first]):
            continue  # "gave me cetirizine because the itching was bad": why it was given
        if r.mention.normalized not in before or worsening(sentence, r.first, r.last):
            return True
    return False


def _is_rescue(drug: _Found) -> bool:
    names = rescue_treatments()
    return drug.mention.normalized in names or " ".join(t.text for t in tokenize(drug.entity.text)) in names


def _excluded_tokens(found: list[_Found], tokens: list[list[Token]]) -> dict[int, set[int]]:
    """Clauses about a family member's or past history: seriousness phrases there do not count."""
    excluded: dict[int, set[int]] = {}
    for f in found:
        if f.mention.role == "family" or (f.mention.role == "history" and "cond" not in f.entity.flags):
            start, end = clause_bounds(tokens[f.sentence], f.first, f.last)
            excluded.setdefault(f.sentence, set()).update(range(start, end))
    return excluded


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _unique_mentions(mentions: Iterable[Mention]) -> list[Mention]:
    seen: dict[tuple[str, str, bool, bool], Mention] = {}
    for m in mentions:
        seen.setdefault((m.normalized, m.role, m.negated, m.uncertain), m)
    return list(seen.values())
