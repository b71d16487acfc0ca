"""What a reviewer or a viewer sees of a case: the document text with the flagged sentences and
each extracted drug and event marked by character offsets, and the facts beside it.

Mentions carry no offsets (or, once extraction records them, offsets of their own text): they
are found here in the document text. A viewer gets the same view of the redacted text: every
offset is carried through the redaction (`redacted_with_spans`), and every text the case holds
(flagged sentences, evidence, patient, mention text) is taken from the redacted document or
redacted on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pv.case_models import Case, Mention
from pv.intelligence.redaction import RuleRedactor, name_variants, redacted_with_spans
from pv.models import SourceDocument
from pv.regulatory.view import regulatory_view

from .lifecycle import DECISIONS_FROM, REVIEWABLE, is_overdue
from .models import (
    CaseView,
    CriterionView,
    DocumentUnit,
    FlaggedSentence,
    Highlight,
    MentionView,
    ReviewDocument,
    Role,
)

Span = tuple[int, int]
UNIT_SEPARATOR = "\n\n"


def document_text(document: SourceDocument) -> tuple[str, list[DocumentUnit]]:
    """Every unit of the document (screened or not), one paragraph each, with its offsets."""
    pieces: list[str] = []
    units: list[DocumentUnit] = []
    at = 0
    for unit in document.units:
        if pieces:
            pieces.append(UNIT_SEPARATOR)
            at += len(UNIT_SEPARATOR)
        pieces.append(unit.text)
        units.append(
            DocumentUnit(
                kind=unit.kind,
                speaker=unit.speaker,
                screened=unit.is_screened,
                start=at,
                end=at + len(unit.text),
            )
        )
        at += len(unit.text)
    return "".join(pieces), units


def locate(text: str, needle: str, *, within: Iterable[Span] = ()) -> Span | None:
    """Where `needle` stands in `text`: exactly, else with any run of whitespace for its spaces and
    any case. The first occurrence inside one of the `within` spans (the screened units) wins."""
    needle = needle.strip()
    if not needle:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in needle.split()), re.IGNORECASE)
    found = [(m.start(), m.end()) for m in pattern.finditer(text)]
    if not found:
        return None
    spans = list(within)
    inside = [f for f in found if any(a <= f[0] and f[1] <= b for a, b in spans)]
    return (inside or found)[0]


def occurrences(text: str, term: str) -> list[Span]:
    """Every whole-word occurrence of a drug or event term, in any case."""
    term = term.strip()
    if not term:
        return []
    pattern = re.compile(
        r"(?<!\w)" + r"\s+".join(re.escape(w) for w in term.split()) + r"(?!\w)", re.IGNORECASE
    )
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def _own_offsets(mention: Mention, text: str) -> Span | None:
    """A mention's own offsets, where extraction recorded them and they still fit the text."""
    start, end = getattr(mention, "start", None), getattr(mention, "end", None)
    if isinstance(start, int) and isinstance(end, int) and text[start:end].lower() == mention.text.lower():
        return (start, end)
    return None


@dataclass
class _Redacted:
    """A text after redaction, with original offsets mapped onto it."""

    text: str
    spans: list[tuple[int, int, int, int]]

    def offset(self, at: int, *, end: bool) -> int:
        """Where original offset `at` lands; inside a placeholder, at its start (or its end)."""
        delta = 0
        for o_start, o_end, r_start, r_end in self.spans:
            if o_end <= at:
                delta = r_end - o_end
                continue
            if o_start < at:
                return r_end if end else r_start
            break
        return at + delta

    def span(self, span: Span) -> Span:
        start, end = self.offset(span[0], end=False), self.offset(span[1], end=True)
        return (start, max(start, end))


def case_view(case: Case, document: SourceDocument | None, role: Role, today: date) -> CaseView:
    """The case as `role` may see it. A viewer's texts are all redacted."""
    facts = case.facts
    known_names = name_variants(document.metadata) if document is not None else []
    redactor = RuleRedactor()

    def redact(value: str) -> str:
        return redactor.redact(value, known_names=known_names)

    review_document: ReviewDocument | None = None
    # Without the document nothing is located: the case's own texts, redacted for a viewer.
    text = ""
    flagged_spans: list[Span | None] = [None] * len(case.flagged)
    evidence_spans: list[Span | None] = [None] * len(facts.seriousness_criteria)
    mapped: Callable[[Span], Span] = _unchanged
    viewer = role is Role.VIEWER
    shown = _public_names(case, document) if viewer else (facts.suspect_drugs, facts.events)
    public_terms = {*shown[0], *shown[1]}
    mentions = [
        m
        for m in facts.mentions
        if not viewer
        or m.normalized in public_terms
        or (redact(m.text) == m.text and redact(m.normalized) == m.normalized)
    ]
    if viewer:
        public_terms |= {m.normalized for m in mentions}
    if document is not None:
        original, units = document_text(document)
        screened = [(u.start, u.end) for u in units if u.screened]
        flagged_spans = [locate(original, s.text, within=screened) for s in case.flagged]
        evidence_spans = [locate(original, c.evidence, within=screened) for c in facts.seriousness_criteria]
        marks: list[tuple[Span, str, str, str | None]] = []
        for sentence, found in zip(case.flagged, flagged_spans, strict=True):
            if found is not None:
                marks.append((found, "flagged", f"{sentence.score:.2f}", None))
        marks += [
            mark
            for mark in _term_marks(original, case, [m for m in mentions if not m.negated])
            if not viewer or mark[2] in public_terms
        ]
        text = original
        if role is Role.VIEWER:
            redacted = _Redacted(*redacted_with_spans(original, known_names=known_names))
            text, mapped = redacted.text, redacted.span
            units = [
                u.model_copy(update=dict(zip(("start", "end"), mapped((u.start, u.end)), strict=True)))
                for u in units
            ]
        highlights = []
        for span, kind, label, mention_role in marks:
            at, until = mapped(span)
            if until > at:
                highlights.append(Highlight(start=at, end=until, kind=kind, label=label, role=mention_role))  # type: ignore[arg-type]
        highlights.sort(key=lambda h: (h.start, -h.end))
        review_document = ReviewDocument(
            text=text, redacted=role is Role.VIEWER, units=units, highlights=highlights
        )
    viewer_redact = redact if viewer else None
    flagged: list[FlaggedSentence] = []
    for sentence, found in zip(case.flagged, flagged_spans, strict=True):
        shown_text, start, end = _shown(sentence.text, found, text, mapped, viewer_redact)
        flagged.append(FlaggedSentence(text=shown_text, score=sentence.score, start=start, end=end))
    criteria: list[CriterionView] = []
    for criterion, found in zip(facts.seriousness_criteria, evidence_spans, strict=True):
        shown_text, start, end = _shown(criterion.evidence, found, text, mapped, viewer_redact)
        criteria.append(
            CriterionView(criterion=criterion.criterion, evidence=shown_text, start=start, end=end)
        )
    return CaseView(
        case_id=case.case_id,
        document_id=case.document_id,
        version=case.version,
        status=case.status,
        channel=case.channel,
        source_key=None if viewer else case.source_key,
        received_at=case.received_at,
        created_at=case.created_at,
        updated_at=case.updated_at,
        due_date=case.due_date,
        overdue=is_overdue(case.status, case.due_date, today),
        assignee=case.assignee,
        alert_state=case.alert_state,
        allowed_decisions=[] if viewer else list(DECISIONS_FROM[case.status]),
        can_start_review=not viewer and case.status in REVIEWABLE,
        suspect_drugs=shown[0],
        events=shown[1],
        serious=facts.serious,
        seriousness_criteria=criteria,
        patient=(redact(facts.patient) if viewer and facts.patient else facts.patient),
        missing_elements=facts.missing_elements,
        language=facts.language,
        summary=facts.summary,
        mentions=[
            MentionView(
                text=redact(m.text) if viewer else m.text,
                normalized=m.normalized,
                kind=m.kind,
                role=m.role,
                negated=m.negated,
            )
            for m in mentions
        ],
        flagged=flagged,
        flagged_count=max(case.flagged_count, len(case.flagged)),
        document=review_document,
        regulatory=regulatory_view(case, redact if viewer else None, shown[1] if viewer else None),
    )


def _public_names(case: Case, document: SourceDocument | None) -> tuple[list[str], list[str]]:
    if document is None:
        return [], []
    from pv.cases import publishable_facts

    public = publishable_facts(case.facts, document)
    return public.suspect_drugs, public.events


def _term_marks(text: str, case: Case, mentions: list[Mention]) -> list[tuple[Span, str, str, str | None]]:
    """Each extracted drug and event where it stands: the mentions' own words, and the case's drug
    and event names (a reviewer's correction may name a drug no mention had)."""
    marks: dict[Span, tuple[Span, str, str, str | None]] = {}
    drugs, events = set(case.facts.suspect_drugs), set(case.facts.events)
    for mention in mentions:
        kind = mention.kind or ("drug" if mention.normalized in drugs else "event")
        role = "suspect" if mention.normalized in drugs | events else mention.role
        own = _own_offsets(mention, text)
        for span in [own] if own is not None else occurrences(text, mention.text):
            marks.setdefault(span, (span, kind, mention.normalized, role))
    for kind, names in (("drug", case.facts.suspect_drugs), ("event", case.facts.events)):
        for name in names:
            for span in occurrences(text, name):
                marks.setdefault(span, (span, kind, name, "suspect"))
    return list(marks.values())


def _unchanged(span: Span) -> Span:
    return span


def _shown(
    value: str,
    found: Span | None,
    text: str,
    mapped: Callable[[Span], Span],
    redact: Callable[[str], str] | None,
) -> tuple[str, int | None, int | None]:
    """A text of the case as shown, with its offsets: its stretch of the (redacted) document
    where it was found; else itself, redacted for a viewer."""
    if found is None:
        return (redact(value) if redact else value, None, None)
    start, end = mapped(found)
    return (text[start:end], start, end)


def redact_values(value: Any, redact: Callable[[str], str]) -> Any:
    """Every string in a JSON value redacted (audit before/after values for a viewer)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_values(v, redact) for v in value]
    if isinstance(value, dict):
        return {k: redact_values(v, redact) for k, v in value.items()}
    return value
