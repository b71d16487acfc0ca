"""assess_case: a flagged document to CaseFacts (the seam CaseFunction calls)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from pv.models import CaseFacts, Criterion, Mention, SentenceScore, SeriousnessCriterion, SourceDocument
from pv.sentences import document_sentences, split_sentences

from .context import (
    clause_bounds,
    in_emergency_care,
    is_blamed,
    is_given,
    is_negated,
    is_replacing,
    is_started,
    mention_context,
    named_as_treated,
    not_helped_by,
    phrase_bounds,
    purpose,
    put_down_to_cause,
    refers_back,
    rescue_treatments,
    worsening,
)
from .extraction import Entity, Extractor, LexiconExtractor
from .judgement import Verdict, judge
from .language import detect_language
from .lexicon import vocabulary_versions
from .patients import find_patient
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
    products = product_mentions(document, found, suspects)
    drugs = (
        _unique(f.mention.normalized for f in suspects)
        or _drugs_named_by_others(document, extractor)
        or _unique(m.normalized for m in products if m.role == "suspect")
    )

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
        mentions=_unique_mentions([*(f.mention for f in found), *products]),
        serious=bool(met),
        seriousness_criteria=met,
        patient=patient,
        missing_elements=missing_elements(document, patient=patient, suspect_drugs=drugs, events=events),
        language=language,
        summary="",
        vocabularies=vocabulary_versions(),
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
                kind="drug" if entity.type == "DRUG" else "event",
            )
            found.append(_Found(i, entity, first, last, mention))

    _mark_conditions_not_helped(found, tokens)
    _mark_treated_reactions(found, tokens)
    _mark_treatments(found, tokens)
    _mark_concomitants(found, tokens)
    reactions = [f for f in found if f.entity.type == "AE" and _occurred(f.mention)]
    suspects = [
        f for f in found if f.entity.type == "DRUG" and f.mention.role == "suspect" and not f.mention.negated
    ]
    if any("class" not in f.entity.flags for f in suspects):
        # "her jabs on Monday, the MMR": the named drug is the suspect, not its class
        for f in suspects:
            if "class" in f.entity.flags:
                f.mention = f.mention.model_copy(update={"role": "other"})
        suspects = [f for f in suspects if "class" not in f.entity.flags]
    return _Reading(language, tokens, found, reactions, suspects, patient)


def adverse_event_sentences(
    document: SourceDocument, *, extractor: Extractor | None = None, judge_document: bool = True
) -> list[str]:
    """Screening's second detector, beside the classifier: the sentences where the reporter's text
    names a reaction that occurred, when the document names a suspect drug (in the reporter's words,
    else in the agent's or a quoted message's, as the case will take it); empty otherwise.

    The rules read English only. A document in another language is flagged by its sentences that
    name a drug, so a person reads it: "Desde que empecé con Xarelto me salen moretones" must not
    pass as screened without an adverse event.
    """
    texts = document_sentences(document)
    reading = _read(document, texts, extractor)
    if reading.language != "en":
        return _unique(texts[f.sentence] for f in reading.found if f.entity.type == "DRUG")
    if not reading.reactions:
        return []
    if not reading.suspects and not document.products and not _drugs_named_by_others(document, extractor):
        return []
    if judge_document and document_judgement(texts, reading) is not None:
        return []  # the whole document says otherwise: a retraction, another cause ... (judgement.py)
    return _unique(texts[f.sentence] for f in reading.reactions)


def document_judgement(texts: list[str], reading: _Reading) -> Verdict | None:
    """The whole document's verdict (`judgement.judge`) on what the sentence rules read."""
    drugs = [fold(f.mention.text) for f in reading.found if f.entity.type == "DRUG"]
    return judge([fold(t) for t in texts], {f.sentence for f in reading.reactions}, drugs)


def product_mentions(document: SourceDocument, found: list[_Found], suspects: list[_Found]) -> list[Mention]:
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
    by_event: tuple[tuple[str, Criterion], ...] = (
        ("death", "death"),
        ("congenital anomaly", "congenital_anomaly"),
    )
    for event, criterion in by_event:
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
    was given amoxicillin and came out in hives"), or the next sentence goes back to it and names a
    new reaction ("They gave me cetirizine. Since then I've been drowsy"). A drug given for
    something else ("for my stomach") or instead of another ("switched me to") is not a treatment.
    Later mentions of a treatment are treatments unless blamed; an earlier one (a drug taken
    before) stays suspect.
    The treated reaction stays a reaction; its "for the ..." mention is not an indication.
    """
    order = sorted(found, key=lambda f: (f.sentence, f.first))
    reactions = [f for f in order if f.entity.type == "AE" and _occurred(f.mention)]
    treatments: set[str] = set()
    for d in order:
        if d.entity.type != "DRUG" or d.mention.role != "suspect" or d.mention.negated:
            continue
        sentence = tokens[d.sentence]
        earlier = [r for r in reactions if (r.sentence, r.first) < (d.sentence, d.first)]
        if (
            _blamed(d, sentence, reactions, earlier)
            or _blamed_next(d, order, tokens, reactions)
            or is_replacing(sentence, d.first, d.last)
        ):
            continue
        treated = _reactions_after(d, order, reactions)
        what_for = purpose(sentence, d.first, d.last, _tokens_of(treated), _drug_tokens(found, d.sentence))
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


def _blamed_next(
    drug: _Found, order: list[_Found], tokens: list[list[Token]], reactions: list[_Found]
) -> bool:
    """The sentence after the drug's goes back to it and names a new reaction: "They gave me
    cetirizine. Since then I've been drowsy." Only for the last drug named in its sentence, and a
    reaction not named up to there."""
    after = drug.sentence + 1
    if after >= len(tokens) or not refers_back(tokens[after]):
        return False
    if any(o.entity.type == "DRUG" and o.sentence == drug.sentence and o.first >= drug.last for o in order):
        return False
    before = {r.mention.normalized for r in reactions if r.sentence <= drug.sentence}
    return any(r.sentence == after and r.mention.normalized not in before for r in reactions)


def _reactions_after(drug: _Found, order: list[_Found], reactions: list[_Found]) -> list[_Found]:
    """The AE mentions after `drug` in its sentence, not denied, of a reaction that occurred
    (`reactions`): what the drug may have been given or taken for."""
    names = {r.mention.normalized for r in reactions}
    return [
        f
        for f in order
        if f.sentence == drug.sentence
        and f.entity.type == "AE"
        and f.first >= drug.last
        and f.mention.normalized in names
        and not f.mention.negated
    ]


def _tokens_of(mentions: list[_Found]) -> set[int]:
    """The token indices the mentions cover."""
    return {i for f in mentions for i in range(f.first, f.last)}


def _blamed(
    drug: _Found,
    sentence: list[Token],
    reactions: list[_Found],
    earlier: list[_Found],
    other_drugs: set[int] | None = None,
) -> bool:
    """The reporter suspects this drug mention: the words around it say so, or a reaction that is
    new, or got worse, follows it in its sentence (not as the reason it was given).

    With `other_drugs` (the tokens of the other drugs of the sentence) it reads more strictly: a
    reaction counts only when it follows the drug closely (`_follows_closely`: not put down to
    another drug, as in "the rash from lisinopril"), and a reason word counts only in the
    reaction's own verb phrase.
    """
    if is_blamed(sentence, drug.first, drug.last):
        return True
    before = {r.mention.normalized for r in earlier}
    for r in reactions:
        if r.sentence != drug.sentence or r.first < drug.last:
            continue
        # strictly, only the reaction's own verb phrase: "metformin for my diabetes and it gives
        # me diarrhoea" says what metformin was for, and then what it did
        bounds = phrase_bounds if other_drugs is not None else clause_bounds
        since = max(drug.last, bounds(sentence, r.first, r.last)[0])
        if any(t.text in {"because", "due", "as", "for"} for t in sentence[since : r.first]) or (
            named_as_treated(sentence, r.first)
        ):
            continue  # "gave me cetirizine because the itching was bad", "to stop the itching": why
        if other_drugs is not None and not _follows_closely(drug, r, sentence, other_drugs):
            continue
        if r.mention.normalized not in before or worsening(sentence, r.first, r.last):
            return True
    return False


def _follows_closely(drug: _Found, reaction: _Found, sentence: list[Token], other_drugs: set[int]) -> bool:
    """The reaction is in the drug's verb phrase or the next one, no other drug is named between
    them outside the drug's own phrase ("metformin and ramipril ..., and now I have a rash" is
    both's), and the reaction is not put down to another drug right after it."""
    phrase_end = phrase_bounds(sentence, drug.first, drug.last)[1]
    reaction_start = phrase_bounds(sentence, reaction.first, reaction.last)[0]
    if reaction.first >= phrase_end and reaction_start not in (phrase_end, phrase_end + 1):
        return False  # a phrase or more between them (phrase_end + 1: after a clause break)
    if any(i in other_drugs for i in range(phrase_end, reaction.first)):
        return False
    return not _put_down_to(sentence, reaction, other_drugs)


def _put_down_to(sentence: list[Token], reaction: _Found, drugs: set[int]) -> bool:
    """A cause word and one of `drugs` follow the reaction closely in its clause ("the rash from
    lisinopril got worse", "a rash since starting lisinopril", "dizzy on ramipril")."""
    end = min(reaction.last + 5, clause_bounds(sentence, reaction.first, reaction.last)[1])
    drug_at = next((i for i in range(reaction.last, end) if i in drugs), None)
    return drug_at is not None and any(
        t.text in {"after", "from", "since", "on", "with", "by"} for t in sentence[reaction.last : drug_at]
    )


def _mark_conditions_not_helped(found: list[_Found], tokens: list[list[Token]]) -> None:
    """An event named beside a drug said to do nothing for it is what the drug is taken for: its
    indication, not a reaction ("I've got a bad back and paracetamol isn't doing much";
    `not_helped_by`). Lack of effect is not a reaction.

    Not when another drug is started or blamed anywhere in the document: the condition may be its
    reaction ("I started Lipitor last month. Now I have muscle pain and paracetamol isn't helping").
    """
    drugs = [
        d for d in found if d.entity.type == "DRUG" and d.mention.role == "suspect" and not d.mention.negated
    ]
    for f in found:
        if f.entity.type != "AE" or not _occurred(f.mention):
            continue
        sentence = tokens[f.sentence]
        drug_tokens = _drug_tokens(found, f.sentence)
        useless = {
            d.mention.normalized
            for d in drugs
            if d.sentence == f.sentence
            and not_helped_by(sentence, f.first, f.last, (d.first, d.last), drug_tokens)
        }
        suspected_other = any(
            o.mention.normalized not in useless
            and (
                is_started(tokens[o.sentence], o.first, o.last)
                or is_blamed(tokens[o.sentence], o.first, o.last)
            )
            for o in drugs
        )
        if useless and not suspected_other:
            f.mention = f.mention.model_copy(update={"role": "indication"})


def _mark_treated_reactions(found: list[_Found], tokens: list[list[Token]]) -> None:
    """An event named as what a drug was for is the reaction it treats, not an indication, when it
    is named as one already spoken of ("for the swelling", "to stop the itching": `named_as_treated`)
    and the drug was taken because of another's reaction:

    - a reaction named before the drug, in its sentence or the one before, and another suspect
      drug named before it ("I got hives after amoxicillin and took cetirizine for the itching"); or
    - the reporter started or blames another drug earlier in its sentence, and says the drug was
      taken because of what followed ("I started amlodipine and my ankles swelled so I took
      furosemide for the swelling"); or
    - the words right after the event put it down to another drug, or to "it" when another
      suspect drug was named before ("I started lisinopril and took ibuprofen for the headache it
      gave me", "for the rash from the amoxicillin").

    Without any of these, "I started lisinopril and took ibuprofen for the headache" names the
    headache as what ibuprofen was for, not as lisinopril's reaction: the case has no event and is
    stored incomplete for a human to read.

    A chronic condition (flag "cond") or "for my diabetes" stays an indication.
    """
    order = sorted(found, key=lambda f: (f.sentence, f.first))
    reactions = [f for f in order if f.entity.type == "AE" and _occurred(f.mention)]
    for f in order:
        if (
            f.entity.type != "AE"
            or f.mention.role != "indication"
            or f.mention.negated
            or "cond" in f.entity.flags
            or not named_as_treated(tokens[f.sentence], f.first)
        ):
            continue
        sentence = tokens[f.sentence]
        drugs = [
            d
            for d in order
            if d.entity.type == "DRUG"
            and d.mention.role == "suspect"
            and not d.mention.negated
            and (d.sentence, d.last) <= (f.sentence, f.first)
        ]
        given = drugs[-1] if drugs and drugs[-1].sentence == f.sentence else None
        if (
            given is None
            or purpose(
                sentence,
                given.first,
                given.last,
                set(range(f.first, f.last)),
                _drug_tokens(found, f.sentence),
            )
            is not True
        ):
            continue
        others = [d for d in drugs if d.mention.normalized != given.mention.normalized]
        after_reaction = any(
            given.sentence - 1 <= r.sentence and (r.sentence, r.first) < (given.sentence, given.first)
            for r in reactions
        )
        started = [
            e
            for e in others
            if e.sentence == f.sentence
            and (is_started(sentence, e.first, e.last) or is_blamed(sentence, e.first, e.last))
        ]
        so = bool(started) and any(
            t.text in {"so", "therefore"} for t in sentence[started[-1].last : given.first]
        )
        cause = put_down_to_cause(
            sentence, f.last, _drug_tokens(found, f.sentence) - set(range(given.first, given.last))
        )
        if (after_reaction and others) or so or cause == "drug" or (cause == "pronoun" and others):
            f.mention = f.mention.model_copy(update={"role": "suspect"})
            reactions.append(f)


def _mark_concomitants(found: list[_Found], tokens: list[list[Token]]) -> None:
    """A drug taken for something that is not a reaction gets the role "concomitant" when the
    reporter suspects another drug: it is recorded, but not a suspect.

    "I take metformin for my diabetes and started lisinopril last month; now I have a rash":
    metformin's own verb phrase says what it is for (`purpose` is False: "for my diabetes", "to
    control my blood pressure"), and lisinopril is one the reporter started or blames. A drug that
    the reporter blames anywhere stays suspect, and so does every drug when none other is started
    or blamed ("I take metformin for diabetes and get diarrhoea": the only drug named).
    """
    order = sorted(found, key=lambda f: (f.sentence, f.first))
    reactions = [f for f in order if f.entity.type == "AE" and _occurred(f.mention)]
    drugs = [
        d for d in order if d.entity.type == "DRUG" and d.mention.role == "suspect" and not d.mention.negated
    ]
    if len({d.mention.normalized for d in drugs}) < 2:
        return
    implicated: dict[int, bool] = {}
    for_other: set[str] = set()
    for n, d in enumerate(drugs):
        sentence = tokens[d.sentence]
        drug_tokens = _drug_tokens(found, d.sentence)
        others = drug_tokens - set(range(d.first, d.last))
        earlier = [r for r in reactions if (r.sentence, r.first) < (d.sentence, d.first)]
        implicated[n] = _blamed(d, sentence, reactions, earlier, others) or _reaction_on(
            d, sentence, reactions
        )
        treated = _tokens_of(_reactions_after(d, order, reactions))
        if purpose(sentence, d.first, d.last, treated, drug_tokens) is False:
            for_other.add(d.mention.normalized)
    for_other -= {d.mention.normalized for n, d in enumerate(drugs) if implicated[n]}
    suspected = [
        d
        for n, d in enumerate(drugs)
        if d.mention.normalized not in for_other
        and (implicated[n] or is_started(tokens[d.sentence], d.first, d.last))
    ]
    if not for_other or not suspected:
        return
    for d in drugs:
        if d.mention.normalized in for_other:
            d.mention = d.mention.model_copy(update={"role": "concomitant"})


def _reaction_on(drug: _Found, sentence: list[Token], reactions: list[_Found]) -> bool:
    """A reaction named before the drug in its clause, and "on" or "with" right before the drug ("I
    had a rash on Lipitor")."""
    start = clause_bounds(sentence, drug.first, drug.last)[0]
    i = drug.first - 1
    while i >= start and sentence[i].text in {"the", "my", "this", "that"}:
        i -= 1
    return (
        i >= start
        and sentence[i].text in {"on", "with"}
        and any(r.sentence == drug.sentence and start <= r.first < i for r in reactions)
    )


def _drug_tokens(found: list[_Found], sentence: int) -> set[int]:
    """The tokens of the drugs named in a sentence, whatever their role."""
    return {
        i for f in found if f.sentence == sentence and f.entity.type == "DRUG" for i in range(f.first, f.last)
    }


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
