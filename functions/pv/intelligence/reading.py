"""Read a document once: its sentences, tokens, known names, mentions and what the context rules
say of each, before anything is built from it.

`read_document` is the one reading both detectors share: screening's rules
(`assess.adverse_event_sentences`) and case intelligence (`assess.assess_case`, the summary and the
seriousness rules) take what it holds and never split, tokenize or fold the document again.

The rules read English, Spanish, French, German and Portuguese (context_cues.tsv and the event
lexicon of each language); a document in another language is read for its drugs only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from pv.case_models import Mention
from pv.models import SourceDocument
from pv.sentences import document_sentences, split_sentences

from .context import ContextRules, context_rules, rescue_treatments
from .extraction import Entity, Extractor, LexiconExtractor
from .language import detect_language
from .patients import PersonWords, find_patient
from .redaction import name_variants
from .text import Token, fold, tokenize

# The languages whose reactions the rules read (the others: drugs only).
LANGUAGES = frozenset({"en", "es", "fr", "de", "pt"})


@dataclass
class Found:
    """One entity in one sentence, with its context."""

    sentence: int
    entity: Entity
    first: int
    last: int
    mention: Mention


@dataclass
class DocumentReading:
    """What the rules read in a document: its screened sentences (`texts`), their folded text and
    tokens, the document's known names (sender, caller, author), every mention with its context,
    the reactions that occurred, the suspect drugs, the patient, and the drugs that the agent or a
    quoted message names (`named_by_others`)."""

    document: SourceDocument
    language: str
    rules: ContextRules
    texts: list[str]
    tokens: list[list[Token]]
    known_names: list[str]
    found: list[Found] = field(default_factory=list)
    reactions: list[Found] = field(default_factory=list)
    suspects: list[Found] = field(default_factory=list)
    patient: str | None = None
    named_by_others: list[str] = field(default_factory=list)

    @cached_property
    def folded(self) -> list[str]:
        """The sentences folded (lowercase, accents removed), as the regular-expression rules read them."""
        return [fold(s) for s in self.texts]

    @cached_property
    def folded_text(self) -> str:
        """The whole screened text folded (the patient and reporter rules read it)."""
        return fold(self.document.text)

    @cached_property
    def words(self) -> list[list[str]]:
        """The sentences' folded words (the tokens' texts)."""
        return [[t.text for t in tokens] for tokens in self.tokens]

    @cached_property
    def person_words(self) -> PersonWords:
        """The patient and reporter rules' words for the document's language."""
        return PersonWords.of(self.rules.cues, self.language)

    @property
    def read_in_full(self) -> bool:
        """Whether the rules read the language's reactions too (English, es, fr, de, pt), or only
        its drugs."""
        return self.language in LANGUAGES

    @property
    def patient_relative(self) -> str | None:
        """The family member who is the patient ("mother"), None for the reporter or someone cared for."""
        return self.patient if self.patient not in (None, "reporter", "patient") else None

    def drug_tokens(self, sentence: int) -> set[int]:
        """The tokens of the drugs named in a sentence, whatever their role."""
        return _drug_tokens(self.found, sentence)


def document_language(document: SourceDocument, texts: list[str]) -> str:
    """The language the document is read in: the feed's for a post, else detected from the text."""
    if document.language:
        return document.language.split("-")[0].lower()
    return detect_language(" ".join(texts))


def read_document(
    document: SourceDocument, extractor: Extractor | None = None, *, texts: list[str] | None = None
) -> DocumentReading:
    """Read the document's screened sentences (or `texts`, when the document has none) once."""
    texts = document_sentences(document) if texts is None else texts
    language = document_language(document, texts)
    rules = context_rules(language if language in LANGUAGES else "en")
    reading = DocumentReading(
        document=document,
        language=language,
        rules=rules,
        texts=texts,
        tokens=[tokenize(s) for s in texts],
        known_names=name_variants(document.metadata),
    )
    lexicon_extractor = LexiconExtractor(language if language in LANGUAGES else "en")
    if extractor is None:
        entities = lexicon_extractor.extract_tokens(texts, reading.tokens)
    else:
        entities = extractor.extract(texts, known_names=reading.known_names)
    if not reading.read_in_full:
        entities = [[e for e in ents if e.type == "DRUG"] for ents in entities]
    _read_mentions(reading, entities)
    reading.named_by_others = _drugs_named_by_others(reading, extractor or lexicon_extractor)
    return reading


def _read_mentions(reading: DocumentReading, entities: list[list[Entity]]) -> None:
    tokens, rules = reading.tokens, reading.rules
    spans = [[_token_span(tokens[i], e) for e in ents] for i, ents in enumerate(entities)]
    drug_sentences = {i for i, ents in enumerate(entities) if any(e.type == "DRUG" for e in ents)}
    reading.patient = find_patient(reading.folded, drug_sentences, reading.person_words, reading.words)
    relative = reading.patient_relative
    found = reading.found
    for i, ents in enumerate(entities):
        drug_tokens = {
            t for e, (a, b) in zip(ents, spans[i], strict=True) if e.type == "DRUG" for t in range(a, b)
        }
        for entity, (first, last) in zip(ents, spans[i], strict=True):
            if first >= last:
                continue
            ctx = rules.mention_context(
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
            found.append(Found(i, entity, first, last, mention))

    _mark_conditions_not_helped(found, tokens, rules)
    _mark_treated_reactions(found, tokens, rules)
    _mark_treatments(found, tokens, rules)
    _mark_concomitants(found, tokens, rules)
    reading.reactions = [f for f in found if f.entity.type == "AE" and occurred(f.mention)]
    suspects = [
        f for f in found if f.entity.type == "DRUG" and f.mention.role == "suspect" and not f.mention.negated
    ]
    if any("class" not in f.entity.flags for f in suspects):
        # "her jabs on Monday, the MMR": the named drug is the suspect, not its class
        for f in suspects:
            if "class" in f.entity.flags:
                f.mention = f.mention.model_copy(update={"role": "other"})
        suspects = [f for f in suspects if "class" not in f.entity.flags]
    reading.suspects = suspects


def _drugs_named_by_others(reading: DocumentReading, extractor: Extractor) -> list[str]:
    """Drugs the agent or a quoted message names ("calling about your new metformin").

    Used only when the reporter's own words name none: the product the call is about is the
    suspect even when the caller just says "it".
    """
    texts = [
        s
        for u in reading.document.units
        if u.kind in ("turn", "quoted") and not u.is_screened
        for s in split_sentences(u.text)
    ]
    if not texts:
        return []
    found = []
    entities = extractor.extract(texts, known_names=reading.known_names)
    for sentence, ents in zip(texts, entities, strict=True):
        sentence_tokens = tokenize(sentence)
        for entity in ents:
            first, last = _token_span(sentence_tokens, entity)
            negated = first < last and reading.rules.is_negated(sentence_tokens, first, last)
            if entity.type == "DRUG" and first < last and not negated:
                found.append(entity.normalized or entity.text.lower())
    return list(dict.fromkeys(found))


def excluded_tokens(reading: DocumentReading) -> dict[int, set[int]]:
    """Clauses about a family member's or past history: seriousness phrases there do not count."""
    excluded: dict[int, set[int]] = {}
    for f in reading.found:
        if f.mention.role == "family" or (f.mention.role == "history" and "cond" not in f.entity.flags):
            start, end = reading.rules.clause_bounds(reading.tokens[f.sentence], f.first, f.last)
            excluded.setdefault(f.sentence, set()).update(range(start, end))
    return excluded


def _token_span(tokens: list[Token], entity: Entity) -> tuple[int, int]:
    inside = [i for i, t in enumerate(tokens) if t.start < entity.end and t.end > entity.start]
    return (inside[0], inside[-1] + 1) if inside else (0, 0)


def occurred(mention: Mention) -> bool:
    """The mention is a reaction that happened to the patient: not denied, hedged or another role."""
    return mention.role == "suspect" and not mention.negated and not mention.uncertain


def _mark_treatments(found: list[Found], tokens: list[list[Token]], rules: ContextRules) -> None:
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
    reactions = [f for f in order if f.entity.type == "AE" and occurred(f.mention)]
    treatments: set[str] = set()
    for d in order:
        if d.entity.type != "DRUG" or d.mention.role != "suspect" or d.mention.negated:
            continue
        sentence = tokens[d.sentence]
        earlier = [r for r in reactions if (r.sentence, r.first) < (d.sentence, d.first)]
        if (
            _blamed(d, sentence, reactions, earlier, rules)
            or _blamed_next(d, order, tokens, reactions, rules)
            or rules.is_replacing(sentence, d.first, d.last)
        ):
            continue
        treated = _reactions_after(d, order, reactions)
        what_for = rules.purpose(
            sentence, d.first, d.last, _tokens_of(treated), _drug_tokens(found, d.sentence)
        )
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
        elif rules.is_given(sentence, d.first, d.last):
            recent = any(r.sentence >= d.sentence - 1 for r in earlier)
            emergency = rules.in_emergency_care(sentence) or (
                d.sentence > 0 and rules.in_emergency_care(tokens[d.sentence - 1])
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
            if f.mention.role == "indication" and f.first < rules.clause_bounds(sentence, d.first, d.last)[1]:
                f.mention = f.mention.model_copy(update={"role": "other"})


def _blamed_next(
    drug: Found, order: list[Found], tokens: list[list[Token]], reactions: list[Found], rules: ContextRules
) -> bool:
    """The sentence after the drug's goes back to it and names a new reaction: "They gave me
    cetirizine. Since then I've been drowsy." Only for the last drug named in its sentence, and a
    reaction not named up to there."""
    after = drug.sentence + 1
    if after >= len(tokens) or not rules.refers_back(tokens[after]):
        return False
    if any(o.entity.type == "DRUG" and o.sentence == drug.sentence and o.first >= drug.last for o in order):
        return False
    before = {r.mention.normalized for r in reactions if r.sentence <= drug.sentence}
    return any(r.sentence == after and r.mention.normalized not in before for r in reactions)


def _reactions_after(drug: Found, order: list[Found], reactions: list[Found]) -> list[Found]:
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


def _tokens_of(mentions: list[Found]) -> set[int]:
    """The token indices the mentions cover."""
    return {i for f in mentions for i in range(f.first, f.last)}


def _blamed(
    drug: Found,
    sentence: list[Token],
    reactions: list[Found],
    earlier: list[Found],
    rules: ContextRules,
    other_drugs: set[int] | None = None,
) -> bool:
    """The reporter suspects this drug mention: the words around it say so, or a reaction that is
    new, or got worse, follows it in its sentence (not as the reason it was given).

    With `other_drugs` (the tokens of the other drugs of the sentence) it reads more strictly: a
    reaction counts only when it follows the drug closely (`_follows_closely`: not put down to
    another drug, as in "the rash from lisinopril"), and a reason word counts only in the
    reaction's own verb phrase.
    """
    if rules.is_blamed(sentence, drug.first, drug.last):
        return True
    before = {r.mention.normalized for r in earlier}
    for r in reactions:
        if r.sentence != drug.sentence or r.first < drug.last:
            continue
        # strictly, only the reaction's own verb phrase: "metformin for my diabetes and it gives
        # me diarrhoea" says what metformin was for, and then what it did
        bounds = rules.phrase_bounds if other_drugs is not None else rules.clause_bounds
        since = max(drug.last, bounds(sentence, r.first, r.last)[0])
        if any(t.text in rules.cues.reason_words for t in sentence[since : r.first]) or (
            rules.named_as_treated(sentence, r.first)
        ):
            continue  # "gave me cetirizine because the itching was bad", "to stop the itching": why
        if other_drugs is not None and not _follows_closely(drug, r, sentence, other_drugs, rules):
            continue
        if r.mention.normalized not in before or rules.worsening(sentence, r.first, r.last):
            return True
    return False


def _follows_closely(
    drug: Found, reaction: Found, sentence: list[Token], other_drugs: set[int], rules: ContextRules
) -> bool:
    """The reaction is in the drug's verb phrase or the next one, no other drug is named between
    them outside the drug's own phrase ("metformin and ramipril ..., and now I have a rash" is
    both's), and the reaction is not put down to another drug right after it."""
    phrase_end = rules.phrase_bounds(sentence, drug.first, drug.last)[1]
    reaction_start = rules.phrase_bounds(sentence, reaction.first, reaction.last)[0]
    if reaction.first >= phrase_end and reaction_start not in (phrase_end, phrase_end + 1):
        return False  # a phrase or more between them (phrase_end + 1: after a clause break)
    if any(i in other_drugs for i in range(phrase_end, reaction.first)):
        return False
    return not _put_down_to(sentence, reaction, other_drugs, rules)


def _put_down_to(sentence: list[Token], reaction: Found, drugs: set[int], rules: ContextRules) -> bool:
    """A cause word and one of `drugs` follow the reaction closely in its clause ("the rash from
    lisinopril got worse", "a rash since starting lisinopril", "dizzy on ramipril")."""
    end = min(reaction.last + 5, rules.clause_bounds(sentence, reaction.first, reaction.last)[1])
    drug_at = next((i for i in range(reaction.last, end) if i in drugs), None)
    return drug_at is not None and any(
        t.text in rules.cues.put_down_words for t in sentence[reaction.last : drug_at]
    )


def _mark_conditions_not_helped(found: list[Found], tokens: list[list[Token]], rules: ContextRules) -> None:
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
        if f.entity.type != "AE" or not occurred(f.mention):
            continue
        sentence = tokens[f.sentence]
        drug_tokens = _drug_tokens(found, f.sentence)
        useless = {
            d.mention.normalized
            for d in drugs
            if d.sentence == f.sentence
            and rules.not_helped_by(sentence, f.first, f.last, (d.first, d.last), drug_tokens)
        }
        suspected_other = any(
            o.mention.normalized not in useless
            and (
                rules.is_started(tokens[o.sentence], o.first, o.last)
                or rules.is_blamed(tokens[o.sentence], o.first, o.last)
            )
            for o in drugs
        )
        if useless and not suspected_other:
            f.mention = f.mention.model_copy(update={"role": "indication"})


def _mark_treated_reactions(found: list[Found], tokens: list[list[Token]], rules: ContextRules) -> None:
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
    reactions = [f for f in order if f.entity.type == "AE" and occurred(f.mention)]
    for f in order:
        if (
            f.entity.type != "AE"
            or f.mention.role != "indication"
            or f.mention.negated
            or "cond" in f.entity.flags
            or not rules.named_as_treated(tokens[f.sentence], f.first)
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
            or rules.purpose(
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
            and (rules.is_started(sentence, e.first, e.last) or rules.is_blamed(sentence, e.first, e.last))
        ]
        so = bool(started) and any(
            t.text in rules.cues.consequence for t in sentence[started[-1].last : given.first]
        )
        cause = rules.put_down_to_cause(
            sentence, f.last, _drug_tokens(found, f.sentence) - set(range(given.first, given.last))
        )
        if (after_reaction and others) or so or cause == "drug" or (cause == "pronoun" and others):
            f.mention = f.mention.model_copy(update={"role": "suspect"})
            reactions.append(f)


def _mark_concomitants(found: list[Found], tokens: list[list[Token]], rules: ContextRules) -> None:
    """A drug taken for something that is not a reaction gets the role "concomitant" when the
    reporter suspects another drug: it is recorded, but not a suspect.

    "I take metformin for my diabetes and started lisinopril last month; now I have a rash":
    metformin's own verb phrase says what it is for (`purpose` is False: "for my diabetes", "to
    control my blood pressure"), and lisinopril is one the reporter started or blames. A drug that
    the reporter blames anywhere stays suspect, and so does every drug when none other is started
    or blamed ("I take metformin for diabetes and get diarrhoea": the only drug named).
    """
    order = sorted(found, key=lambda f: (f.sentence, f.first))
    reactions = [f for f in order if f.entity.type == "AE" and occurred(f.mention)]
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
        implicated[n] = _blamed(d, sentence, reactions, earlier, rules, others) or _reaction_on(
            d, sentence, reactions, rules
        )
        treated = _tokens_of(_reactions_after(d, order, reactions))
        if rules.purpose(sentence, d.first, d.last, treated, drug_tokens) is False:
            for_other.add(d.mention.normalized)
    for_other -= {d.mention.normalized for n, d in enumerate(drugs) if implicated[n]}
    suspected = [
        d
        for n, d in enumerate(drugs)
        if d.mention.normalized not in for_other
        and (implicated[n] or rules.is_started(tokens[d.sentence], d.first, d.last))
    ]
    if not for_other or not suspected:
        return
    for d in drugs:
        if d.mention.normalized in for_other:
            d.mention = d.mention.model_copy(update={"role": "concomitant"})


def _reaction_on(drug: Found, sentence: list[Token], reactions: list[Found], rules: ContextRules) -> bool:
    """A reaction named before the drug in its clause, and "on" or "with" right before the drug ("I
    had a rash on Lipitor")."""
    start = rules.clause_bounds(sentence, drug.first, drug.last)[0]
    i = drug.first - 1
    while i >= start and sentence[i].text in rules.cues.near_determiners:
        i -= 1
    return (
        i >= start
        and sentence[i].text in rules.cues.on_drug
        and any(r.sentence == drug.sentence and start <= r.first < i for r in reactions)
    )


def _drug_tokens(found: list[Found], sentence: int) -> set[int]:
    """The tokens of the drugs named in a sentence, whatever their role."""
    return {
        i for f in found if f.sentence == sentence and f.entity.type == "DRUG" for i in range(f.first, f.last)
    }


def _is_rescue(drug: Found) -> bool:
    names = rescue_treatments()
    return drug.mention.normalized in names or " ".join(t.text for t in tokenize(drug.entity.text)) in names
