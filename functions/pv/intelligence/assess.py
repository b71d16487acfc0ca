"""assess_case: a flagged document to CaseFacts (the seam CaseFunction calls); and screening's
second detector, `adverse_event_sentences`. Both read the document once (`reading.read_document`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Literal

from pv.case_models import CaseFacts, Criterion, Mention, SeriousnessCriterion
from pv.models import SentenceScore, SourceDocument
from pv.sentences import document_sentences

from .extraction import Extractor, LexiconExtractor
from .judgement import Verdict, judge
from .lexicon import vocabulary_versions
from .reading import DocumentReading, Found, excluded_tokens, read_document
from .redaction import Redactor, RuleRedactor
from .seriousness import ORDER, Sentence, criteria
from .summary import ExtractiveSummarizer, Summarizer, SummarizerError
from .text import fold


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
    flagged sentences stand in when the document has no screened text. A document in a language
    the rules do not read (English, Spanish, French, German, Portuguese) has its drugs extracted,
    not its events: the case lacks an adverse event and is stored incomplete for a human to read.
    """
    redactor = redactor or RuleRedactor()
    texts = document_sentences(document) or [s.text for s in flagged]
    reading = read_document(document, extractor, texts=texts)
    reactions = reading.reactions
    events = _unique(f.mention.normalized for f in reactions)
    products = product_mentions(document, reading.found, reading.suspects)
    drugs = (
        _unique(f.mention.normalized for f in reading.suspects)
        or reading.named_by_others
        or _unique(m.normalized for m in products if m.role == "suspect")
    )

    excluded = excluded_tokens(reading)
    important = {f.mention.normalized: texts[f.sentence] for f in reactions if "ime" in f.entity.flags}
    met = criteria(
        [
            Sentence(texts[i], reading.tokens[i], frozenset(excluded.get(i, ())), folded=reading.folded[i])
            for i in range(len(texts))
        ],
        important,
        patient_relative=reading.patient_relative,
        rules=reading.rules,
    )
    met = _criteria_from_events(met, reactions, texts)
    known_names = reading.known_names
    met = [
        c.model_copy(update={"evidence": redactor.redact(c.evidence, known_names=known_names)}) for c in met
    ]

    from .validity import missing_elements

    facts = CaseFacts(
        suspect_drugs=drugs,
        events=events,
        mentions=_unique_mentions([*(f.mention for f in reading.found), *products]),
        serious=bool(met),
        seriousness_criteria=met,
        patient=reading.patient,
        missing_elements=missing_elements(reading, suspect_drugs=drugs, events=events),
        language=reading.language,
        summary="",
        vocabularies=vocabulary_versions(),
    )
    summary = ExtractiveSummarizer().summarize(document, facts, reading=reading)
    if summarizer is not None:
        # an ungrounded or malformed abstractive summary: keep the extractive one
        with contextlib.suppress(SummarizerError):
            summary = summarizer.summarize(document, facts)
    return facts.model_copy(update={"summary": redactor.redact(summary, known_names=known_names)})


def adverse_event_sentences(
    document: SourceDocument, *, extractor: Extractor | None = None, judge_document: bool = True
) -> list[str]:
    """Screening's second detector, beside the classifier: the sentences where the reporter's text
    names a reaction that occurred, when the document names a suspect drug (in the reporter's words,
    else in the agent's or a quoted message's, as the case will take it); empty otherwise.

    The rules read English, Spanish, French, German and Portuguese. A document in another language
    is flagged by its sentences that name a drug, so a person reads it: a report in Italian must
    not pass as screened without an adverse event.
    """
    reading = read_document(document, extractor)
    if not reading.read_in_full:
        return _unique(reading.texts[f.sentence] for f in reading.found if f.entity.type == "DRUG")
    if not reading.reactions:
        return []
    if not reading.suspects and not document.products and not reading.named_by_others:
        return []
    if judge_document and document_judgement(reading) is not None:
        return []  # the whole document says otherwise: a retraction, another cause ... (judgement.py)
    return _unique(reading.texts[f.sentence] for f in reading.reactions)


def document_judgement(reading: DocumentReading) -> Verdict | None:
    """The whole document's verdict (`judgement.judge`) on what the sentence rules read."""
    drugs = [fold(f.mention.text) for f in reading.found if f.entity.type == "DRUG"]
    drugs += [fold(p) for p in reading.document.products]  # "not the Plaquenil": the feed's product
    return judge(reading.folded, {f.sentence for f in reading.reactions}, drugs, reading.language)


def product_mentions(document: SourceDocument, found: list[Found], suspects: list[Found]) -> list[Mention]:
    """A social post's product as drug mentions from the feed (`source="feed"`), for the names the
    text does not itself name: the candidate suspect (role "suspect") when the text names no
    suspect drug, else only recorded (role "other"): the text's drugs come first."""
    named = {f.mention.normalized for f in found if f.entity.type == "DRUG"}
    role: Literal["other", "suspect"] = "other" if suspects else "suspect"
    mentions = []
    for name in document.products:
        normalized = product_name(name)
        if normalized not in named:
            mentions.append(Mention(text=name, normalized=normalized, role=role, kind="drug", source="feed"))
            named.add(normalized)
    return mentions


def product_name(name: str) -> str:
    """A product's generic name where the vocabulary knows it ("Lipitor 20mg": atorvastatin), else
    the name in lowercase."""
    [entities] = LexiconExtractor().extract([name])
    drug = next((e for e in entities if e.type == "DRUG" and e.normalized), None)
    return drug.normalized if drug is not None and drug.normalized else " ".join(name.lower().split())


def _criteria_from_events(
    met: list[SeriousnessCriterion], reactions: list[Found], texts: list[str]
) -> list[SeriousnessCriterion]:
    """A reported death or birth defect is a criterion even when no criterion phrase matched."""
    have = {c.criterion for c in met}
    added = list(met)
    by_event: tuple[tuple[str, Criterion], ...] = (
        ("death", "death"),
        ("congenital anomaly", "congenital_anomaly"),
    )
    for event, criterion in by_event:
        reaction = next((f for f in reactions if f.mention.normalized == event), None)
        if reaction is not None and criterion not in have:
            added.append(SeriousnessCriterion(criterion=criterion, evidence=texts[reaction.sentence]))
    return sorted(added, key=lambda c: ORDER.index(c.criterion))


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _unique_mentions(mentions: Iterable[Mention]) -> list[Mention]:
    seen: dict[tuple[str, str, bool, bool], Mention] = {}
    for m in mentions:
        seen.setdefault((m.normalized, m.role, m.negated, m.uncertain), m)
    return list(seen.values())
