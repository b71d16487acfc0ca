"""The lay corpus (`model/data/lay`, format in its README.md): loading, validation, family splits,
the sentence and token examples the models learn from, and the counts of its datasheet.

Documents are read as the pipeline reads them: a post whole, an email's subject and new body text
(not its signature or quoted lines), a call's caller turns; each unit cut by the pipeline's own
sentence splitter. So a model learns from, and is scored on, the sentences it will be sent.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pv_model.data import AE, NOT_AE, Example
from pv_model.ner.alignment import AlignedSentence, Span

DEFAULT_LAY_DIR = "model/data/lay"
REGISTERS = ("email", "call", "social")
VOICES = ("patient", "caregiver", "hcp")
LANGUAGES = ("en", "es", "fr", "de", "pt")
DOCUMENT_LABELS = ("AE", "not_AE")
NEGATIVE_KINDS = (
    "negated",
    "hypothetical",
    "indication",
    "disease",
    "other_cause",
    "pre_existing",
    "retraction",
    "news",
    "advert",
    "label_text",
    "efficacy",
    "joke",
    "no_event",
    "quality",
    "not_taken",
)
SPAN_TYPES = ("DRUG", "AE", "INDICATION", "OTHER_EVENT")
DRUG_ROLES = ("suspect", "concomitant", "treatment", "asked", "other")
OTHER_EVENT_WHY = (
    "negated",
    "hypothetical",
    "pre_existing",
    "disease",
    "other_cause",
    "label",
    "retracted",
    "relative_history",
)
SERIOUSNESS = (
    "death",
    "life_threatening",
    "hospitalisation",
    "disability",
    "congenital_anomaly",
    "medically_important",
)
SPLITS = ("train", "dev", "test")
# sha256(family) % 100 below these goes to train, then dev; the rest to test (about 70/15/15).
_SPLIT_CUTS = ((70, "train"), (85, "dev"))
_FIELDS = frozenset(
    {"id", "batch", "family", "register", "voice", "lang", "product", "label", "kind", "text", "spans"}
    | {"serious", "seriousness"}
)
_REQUIRED = ("id", "batch", "family", "register", "voice", "lang", "label", "kind", "text", "spans")
_SPAN_FIELDS = frozenset({"type", "text", "norm", "occurrence", "role", "why"})
_META_FIELDS = ("batch", "writer", "register", "voices", "languages", "shots", "instructions", "written")
_FAMILY = re.compile(r"^[a-z]-[a-z0-9]+(?:-[a-z0-9]+)*$")
_SUBJECT = re.compile(r"^\s*subject:[ \t]*", re.IGNORECASE)
BATCH_SIZE = (30, 80)


class LayCorpusError(ValueError):
    """The corpus does not pass validation; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "\n".join(problems[:20]) + (
            f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        )
        super().__init__(f"the lay corpus has {len(problems)} problem(s):\n{shown}")


@dataclass(frozen=True)
class LaySpan:
    """A labelled span of a document's text, `[start, end)` in characters."""

    type: str
    text: str
    norm: str
    start: int
    end: int
    role: str | None = None  # DRUG
    why: str | None = None  # OTHER_EVENT


@dataclass(frozen=True)
class LayDocument:
    """One document of the corpus, as written, with the writer its batch names."""

    id: str
    batch: str
    writer: str
    family: str
    register: str
    voice: str
    lang: str
    label: str
    kind: str
    text: str
    spans: tuple[LaySpan, ...]
    product: tuple[str, ...] = ()
    serious: bool = False
    seriousness: tuple[str, ...] = ()

    @property
    def target(self) -> int:
        """1 for an AE document, 0 otherwise."""
        return int(self.label == "AE")

    @property
    def split(self) -> str:
        """`train`, `dev` or `test`, from the family (`family_split`)."""
        return family_split(self.family)


@dataclass(frozen=True)
class LaySentence:
    """A screened sentence of a document, with the document's spans that lie in it (sentence
    offsets; spans the splitter cuts are left out)."""

    document: LayDocument
    index: int
    text: str
    spans: tuple[LaySpan, ...]
    cut_types: tuple[str, ...] = ()  # types of spans that start or end in this sentence but cross it

    @property
    def target(self) -> int:
        """1 when an AE span lies in (or crosses into) the sentence."""
        return int(any(s.type == "AE" for s in self.spans) or "AE" in self.cut_types)


@dataclass
class LayCorpus:
    """The documents and batch meta files of a corpus folder, with what validation found."""

    documents: list[LayDocument]
    metas: dict[str, dict[str, Any]]
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def part(self, name: str) -> list[LayDocument]:
        """The documents of split `name` (`train`, `dev`, `test`), or every document (`all`)."""
        if name == "all":
            return list(self.documents)
        if name not in SPLITS:
            raise ValueError(f"unknown lay split {name!r}; expected one of {SPLITS} or 'all'")
        return [d for d in self.documents if d.split == name]


def family_split(family: str) -> str:
    """The split of a family: a stable hash of its name, so adding batches never moves one."""
    bucket = int(hashlib.sha256(family.encode("utf-8")).hexdigest(), 16) % 100
    return next((name for cut, name in _SPLIT_CUTS if bucket < cut), "test")


def writer_prefix(writer: str) -> str:
    """The family-name prefix of a writer: its last letter and a hyphen (`i14b` -> `b-`)."""
    return f"{writer[-1:].lower()}-"


def load_lay(lay_dir: str | Path, *, strict: bool = True) -> LayCorpus:
    """Read `lay_dir/batches/*.jsonl` and their `.meta.json` files, validating everything.

    With `strict` (the default) any problem raises `LayCorpusError`; otherwise the problems are
    returned in `LayCorpus.problems` with the documents that could be read.
    """
    root = Path(lay_dir)
    batches = root / "batches"
    if not batches.is_dir():
        raise FileNotFoundError(f"{root} is not a lay corpus folder: no batches/ in it")
    problems: list[str] = []
    warnings: list[str] = []
    metas: dict[str, dict[str, Any]] = {}
    documents: list[LayDocument] = []
    seen_ids: set[str] = set()
    for path in sorted(batches.glob("*.jsonl")):
        batch = path.stem
        meta = _read_meta(batches / f"{batch}.meta.json", batch, problems)
        if meta is not None:
            metas[batch] = meta
        writer = str(meta.get("writer", "")) if meta else ""
        in_batch = 0
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            doc = _parse_document(line, where, batch, writer, problems)
            if doc is None:
                continue
            in_batch += 1
            if doc.id in seen_ids:
                problems.append(f"{where}: id {doc.id} is used twice")
            seen_ids.add(doc.id)
            if meta and meta.get("register") in REGISTERS and doc.register != meta["register"]:
                problems.append(f"{where}: register {doc.register!r} but the batch is {meta['register']!r}")
            documents.append(doc)
        if not BATCH_SIZE[0] <= in_batch <= BATCH_SIZE[1]:
            warnings.append(
                f"{path.name}: {in_batch} documents (a batch holds {BATCH_SIZE[0]}-{BATCH_SIZE[1]})"
            )
    for meta_path in sorted(batches.glob("*.meta.json")):
        if not (batches / meta_path.name.replace(".meta.json", ".jsonl")).is_file():
            problems.append(f"{meta_path.name}: no batch file beside it")
    problems += _family_problems(documents)
    for doc in documents:
        warnings += _sentence_warnings(doc)
    warnings += _untagged_drug_warnings(documents)
    corpus = LayCorpus(documents, metas, problems, warnings)
    if strict and problems:
        raise LayCorpusError(problems)
    return corpus


def _read_meta(path: Path, batch: str, problems: list[str]) -> dict[str, Any] | None:
    if not path.is_file():
        problems.append(f"{batch}: no {path.name}")
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        problems.append(f"{path.name}: not JSON ({exc.msg})")
        return None
    if not isinstance(meta, dict):
        problems.append(f"{path.name}: not a JSON object")
        return None
    missing = [k for k in _META_FIELDS if k not in meta]
    if missing:
        problems.append(f"{path.name}: missing {', '.join(missing)}")
    if meta.get("batch") != batch:
        problems.append(f"{path.name}: batch {meta.get('batch')!r}, expected {batch!r}")
    if not isinstance(meta.get("writer"), str) or not meta.get("writer"):
        problems.append(f"{path.name}: writer must be a name")
    if meta.get("register") not in REGISTERS:
        problems.append(f"{path.name}: register must be one of {REGISTERS}")
    shots = meta.get("shots")
    if not (
        isinstance(shots, list) and len(shots) == 5 and all(isinstance(s, str) and s.strip() for s in shots)
    ):
        problems.append(f"{path.name}: shots must be the 5 seed examples the batch imitates")
    if not isinstance(meta.get("instructions"), str) or not meta["instructions"].strip():
        problems.append(f"{path.name}: instructions must be the brief the batch was written to")
    return meta


def _choice(value: Any, allowed: Iterable[str], name: str, where: str, problems: list[str]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        problems.append(f"{where}: {name} {value!r} is not one of {', '.join(allowed)}")


def _parse_document(
    line: str, where: str, batch: str, writer: str, problems: list[str]
) -> LayDocument | None:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        problems.append(f"{where}: not JSON ({exc.msg})")
        return None
    if not isinstance(raw, dict):
        problems.append(f"{where}: not a JSON object")
        return None
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
        return None
    before = len(problems)
    where = f"{where} ({raw['id']})"
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(unknown)}")
    if not re.fullmatch(rf"{re.escape(batch)}-\d{{4}}", str(raw["id"])):
        problems.append(f"{where}: id must be {batch}-<4 digits>")
    if raw["batch"] != batch:
        problems.append(f"{where}: batch {raw['batch']!r} but the file is {batch}")
    family = str(raw["family"])
    if not _FAMILY.match(family):
        problems.append(f"{where}: family {family!r} must be <writer letter>-<lowercase words>")
    _choice(raw["register"], REGISTERS, "register", where, problems)
    _choice(raw["voice"], VOICES, "voice", where, problems)
    _choice(raw["lang"], LANGUAGES, "lang", where, problems)
    _choice(raw["label"], DOCUMENT_LABELS, "label", where, problems)
    text = raw["text"]
    if not isinstance(text, str) or not text.strip():
        problems.append(f"{where}: text must be a non-empty string")
        return None
    product = _product(raw.get("product"), where, problems)
    if product and raw["register"] != "social":
        problems.append(f"{where}: product is for social posts only")
    spans = _spans(raw["spans"], text, where, problems)
    serious = raw.get("serious", False)
    seriousness = raw.get("seriousness", [])
    if not isinstance(serious, bool) or not isinstance(seriousness, list):
        problems.append(f"{where}: serious must be true/false and seriousness a list")
        serious, seriousness = False, []
    for criterion in seriousness:
        _choice(criterion, SERIOUSNESS, "seriousness criterion", where, problems)
    if raw["label"] == "AE":
        if raw["kind"] != "ae":
            problems.append(f"{where}: an AE document has kind 'ae', not {raw['kind']!r}")
        if "serious" not in raw:
            problems.append(f"{where}: an AE document says whether it is serious")
        if serious != bool(seriousness):
            problems.append(f"{where}: serious is {serious} but seriousness lists {seriousness}")
        if not any(s.type == "AE" for s in spans):
            problems.append(f"{where}: an AE document needs an AE span")
        if not product and not any(s.type == "DRUG" and s.role == "suspect" for s in spans):
            problems.append(f"{where}: an AE document needs a suspect DRUG span or a product")
    elif raw["label"] == "not_AE":
        _choice(raw["kind"], NEGATIVE_KINDS, "kind of a not_AE document", where, problems)
        if serious or seriousness:
            problems.append(f"{where}: a not_AE document is not serious")
        if any(s.type == "AE" for s in spans):
            problems.append(f"{where}: a not_AE document has no AE span (use OTHER_EVENT with a why)")
    if len(problems) > before:
        return None
    return LayDocument(
        id=str(raw["id"]),
        batch=batch,
        writer=writer,
        family=family,
        register=raw["register"],
        voice=raw["voice"],
        lang=raw["lang"],
        label=raw["label"],
        kind=raw["kind"],
        text=text,
        spans=tuple(sorted(spans, key=lambda s: (s.start, s.end))),
        product=product,
        serious=serious,
        seriousness=tuple(seriousness),
    )


def _product(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        problems.append(f"{where}: product must be a name or a list of names")
        return ()
    return tuple(n.strip() for n in names)


def _spans(raw_spans: Any, text: str, where: str, problems: list[str]) -> list[LaySpan]:
    if not isinstance(raw_spans, list):
        problems.append(f"{where}: spans must be a list")
        return []
    spans: list[LaySpan] = []
    for number, raw in enumerate(raw_spans, start=1):
        here = f"{where} span {number}"
        if not isinstance(raw, dict) or not {"type", "text", "norm"} <= set(raw):
            problems.append(f"{here}: needs type, text and norm")
            continue
        unknown = sorted(set(raw) - _SPAN_FIELDS)
        if unknown:
            problems.append(f"{here}: unknown field(s) {', '.join(unknown)}")
        kind, surface, norm = raw["type"], raw["text"], raw["norm"]
        _choice(kind, SPAN_TYPES, "type", here, problems)
        if not isinstance(surface, str) or not surface or surface != surface.strip():
            problems.append(f"{here}: text must be a non-empty string without outer spaces")
            continue
        if not isinstance(norm, str) or not norm.strip():
            problems.append(f"{here}: norm must be a non-empty string")
        elif kind == "DRUG" and norm != norm.lower():
            problems.append(f"{here}: a DRUG norm is the generic name in lowercase, not {norm!r}")
        role, why = raw.get("role"), raw.get("why")
        if kind == "DRUG":
            _choice(role, DRUG_ROLES, "DRUG role", here, problems)
        elif role is not None:
            problems.append(f"{here}: only DRUG spans have a role")
        if kind == "OTHER_EVENT":
            _choice(why, OTHER_EVENT_WHY, "OTHER_EVENT why", here, problems)
        elif why is not None:
            problems.append(f"{here}: only OTHER_EVENT spans have a why")
        occurrence = raw.get("occurrence", 1)
        if not isinstance(occurrence, int) or isinstance(occurrence, bool) or occurrence < 1:
            problems.append(f"{here}: occurrence must be a positive whole number")
            continue
        start = -1
        for _ in range(occurrence):
            start = text.find(surface, start + 1)
            if start < 0:
                break
        if start < 0:
            found = text.count(surface)
            problems.append(f"{here}: {surface!r} occurrence {occurrence} is not in the text ({found} found)")
            continue
        spans.append(LaySpan(kind, surface, str(norm), start, start + len(surface), role, why))
    ordered = sorted(spans, key=lambda s: (s.start, s.end))
    for first, second in itertools.pairwise(ordered):
        if second.start < first.end:
            problems.append(f"{where}: spans {first.text!r} and {second.text!r} overlap")
    return spans


def _family_problems(documents: list[LayDocument]) -> list[str]:
    writers: dict[str, set[str]] = defaultdict(set)
    for doc in documents:
        writers[doc.family].add(doc.writer)
    problems = [
        f"{doc.id}: family {doc.family!r} does not start with {writer_prefix(doc.writer)!r} ({doc.writer})"
        for doc in documents
        if doc.writer and not doc.family.startswith(writer_prefix(doc.writer))
    ]
    return problems + [
        f"family {family} is written by {', '.join(sorted(names))}: a family has one writer"
        for family, names in sorted(writers.items())
        if len(names) > 1
    ]


def document_units(doc: LayDocument) -> list[Any]:
    """The text units the pipeline makes of a document (`pv.models.TextUnit`, screened or not): a
    post whole; an email's `Subject:` line, new body text, signature and quoted lines; a call's
    turns by speaker."""
    from pv.models import TextUnit

    if doc.register == "social":
        return [TextUnit(kind="post", text=doc.text)]
    if doc.register == "call":
        from pv.channels.call import parse_text_transcript

        return list(parse_text_transcript(doc.text)[0])
    from pv.channels.email import split_body

    first, _, rest = doc.text.partition("\n")
    subject = _SUBJECT.match(first)
    if not subject:
        return split_body(doc.text)
    return [TextUnit(kind="subject", text=first[subject.end() :].strip()), *split_body(rest)]


def document_sentences(doc: LayDocument) -> list[LaySentence]:
    """The screened sentences of `doc` (the pipeline's splitter over its screened units), each
    with the spans that lie in it, in sentence offsets."""
    from pv.sentences import split_sentences

    text = doc.text
    # The splitter only changes whitespace (and drops list bullets), so a sentence is found by its
    # other characters, in order, in the document's.
    visible = [i for i, char in enumerate(text) if not char.isspace()]
    compact = "".join(text[i] for i in visible)
    out: list[LaySentence] = []
    cursor = 0
    for unit in document_units(doc):
        at = compact.find("".join(unit.text.split()), cursor)
        if at < 0:
            continue
        if not unit.is_screened:
            cursor = at + len("".join(unit.text.split()))
            continue
        cursor = at
        for sentence in split_sentences(unit.text):
            squeezed = "".join(sentence.split())
            at = compact.find(squeezed, cursor)
            if at < 0:
                continue  # the splitter changed more than whitespace (control characters)
            cursor = at + len(squeezed)
            where: list[int] = []  # each character's offset in the document (-1: a space)
            k = at
            for char in sentence:
                if char.isspace():
                    where.append(-1)
                else:
                    where.append(visible[k])
                    k += 1
            out.append(_sentence_with_spans(doc, len(out), sentence, where))
    return out


def _sentence_with_spans(doc: LayDocument, index: int, sentence: str, where: list[int]) -> LaySentence:
    first, last = next(p for p in where if p >= 0), max(where)
    spans, cut = [], []
    for span in doc.spans:
        if span.end <= first or span.start > last:
            continue
        inside = [i for i, pos in enumerate(where) if span.start <= pos < span.end]
        local = (inside[0], inside[-1] + 1) if inside else (0, 0)
        whole = " ".join(doc.text[span.start : span.end].split())
        if span.start < first or span.end - 1 > last or sentence[local[0] : local[1]] != whole:
            cut.append(span.type)
            continue
        spans.append(LaySpan(span.type, whole, span.norm, local[0], local[1], span.role, span.why))
    return LaySentence(doc, index, sentence, tuple(spans), tuple(cut))


def _untagged_drug_warnings(documents: list[LayDocument]) -> list[str]:
    """A name tagged DRUG somewhere in the corpus that stands untagged in another text: the
    extractor would learn it as no drug there."""
    names = sorted(
        {s.text.lower() for d in documents for s in d.spans if s.type == "DRUG" and len(s.text) >= 4}
    )
    if not names:
        return []
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in names) + r")(?!\w)", re.IGNORECASE)
    warnings = []
    for doc in documents:
        for match in pattern.finditer(doc.text):
            if not any(s.start < match.end() and match.start() < s.end for s in doc.spans):
                warnings.append(f"{doc.id}: {match[0]!r} is tagged DRUG elsewhere but not here")
    return warnings


def _sentence_warnings(doc: LayDocument) -> list[str]:
    sentences = document_sentences(doc)
    warnings = [
        f"{doc.id}: the sentence splitter cuts a {kind} span in sentence {s.index + 1}"
        for s in sentences
        for kind in s.cut_types
    ]
    if doc.label == "AE" and not any(s.target for s in sentences):
        warnings.append(f"{doc.id}: no screened sentence holds an AE span (the pipeline cannot see it)")
    if not sentences:
        warnings.append(f"{doc.id}: nothing is screened")
    return warnings


def windowed(texts: list[str], window: int) -> list[str]:
    """Each sentence with its `window` neighbours on each side, as classifier input:
    `before [SEP] sentence [SEP] after` (the neighbours joined by spaces, empty at the edges);
    `window=0`: the sentences alone."""
    if window <= 0:
        return list(texts)
    out = []
    for i, text in enumerate(texts):
        before, after = " ".join(texts[max(0, i - window) : i]), " ".join(texts[i + 1 : i + 1 + window])
        out.append(f"{before} [SEP] {text} [SEP] {after}")
    return out


def sentence_examples(documents: Iterable[LayDocument], window: int = 0) -> list[Example]:
    """Classifier examples: every screened sentence, `Adverse_Event` when an AE span lies in it
    (with `window`, its text carries its neighbours, see `windowed`). The group id (`pmid`) is
    `lay:<document id>`."""
    out = []
    for doc in documents:
        sentences = document_sentences(doc)
        for sentence, text in zip(sentences, windowed([s.text for s in sentences], window), strict=True):
            drugs = tuple(s.text for s in sentence.spans if s.type == "DRUG")
            effects = tuple(s.text for s in sentence.spans if s.type == "AE")
            label = AE if sentence.target else NOT_AE
            out.append(Example(f"lay:{doc.id}", text, label, drugs, effects))
    return out


def token_sentences(documents: Iterable[LayDocument]) -> list[AlignedSentence]:
    """Extractor examples: every screened sentence with its DRUG (any role) and AE spans; the
    other types, and spans the splitter cuts, are `O`."""
    out = []
    for doc in documents:
        for sentence in document_sentences(doc):
            spans = tuple(Span(s.start, s.end, s.type) for s in sentence.spans if s.type in ("DRUG", "AE"))
            out.append(AlignedSentence(sentence.text, spans))
    return out


def document_groups(documents: Iterable[LayDocument], window: int = 0) -> tuple[list[str], list[int]]:
    """(classifier inputs of every screened sentence, the index of each one's document), for
    scoring documents as the pipeline does: the highest score of their sentences."""
    texts: list[str] = []
    owners: list[int] = []
    for index, doc in enumerate(documents):
        inputs = windowed([s.text for s in document_sentences(doc)], window)
        texts += inputs
        owners += [index] * len(inputs)
    return texts, owners


def document_scores(sentence_scores: Iterable[float], owners: list[int], n_documents: int) -> list[float]:
    """Each document's highest sentence score (0.0 for a document with no screened sentence)."""
    best = [0.0] * n_documents
    for score, owner in zip(sentence_scores, owners, strict=True):
        best[owner] = max(best[owner], float(score))
    return best


def is_review_style(doc: LayDocument) -> bool:
    """A social post with a `product` whose text names no drug (the review-page case)."""
    return doc.register == "social" and bool(doc.product) and not any(s.type == "DRUG" for s in doc.spans)


def lay_sha256(lay_dir: str | Path) -> str:
    """sha256 over the batch files (names and bytes), to record what a model was trained on."""
    digest = hashlib.sha256()
    for path in sorted((Path(lay_dir) / "batches").glob("*.json*")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def stats(corpus: LayCorpus) -> dict[str, Any]:
    """Counts of documents and screened sentences by label, kind, register, voice, language,
    split and writer; spans by type; distinct normalised drugs and reactions; seriousness."""
    docs = corpus.documents
    sentences = {d.id: document_sentences(d) for d in docs}

    def by(key: Any) -> dict[str, dict[str, int]]:
        table: dict[str, Counter[str]] = defaultdict(Counter)
        for d in docs:
            row = table[key(d)]
            row["documents"] += 1
            row["ae_documents"] += d.target
            row["sentences"] += len(sentences[d.id])
            row["ae_sentences"] += sum(s.target for s in sentences[d.id])
        return {name: dict(counts) for name, counts in sorted(table.items())}

    spans = [s for d in docs for s in d.spans]
    ae_docs = [d for d in docs if d.target]
    return {
        "documents": len(docs),
        "sentences": sum(len(v) for v in sentences.values()),
        "ae_sentences": sum(s.target for v in sentences.values() for s in v),
        "families": len({d.family for d in docs}),
        "batches": len({d.batch for d in docs}),
        "by_label": by(lambda d: d.label),
        "by_kind": by(lambda d: d.kind),
        "by_register": by(lambda d: d.register),
        "by_voice": by(lambda d: d.voice),
        "by_language": by(lambda d: d.lang),
        "by_split": by(lambda d: d.split),
        "by_writer": by(lambda d: d.writer),
        "by_split_of": {
            name: _cross_counts(docs, key, lambda d: d.split, SPLITS)
            for name, key in (
                ("label", lambda d: d.label),
                ("kind", lambda d: d.kind),
                ("register", lambda d: d.register),
                ("voice", lambda d: d.voice),
                ("language", lambda d: d.lang),
            )
        },
        "voice_by_language": _cross_counts(docs, lambda d: d.lang, lambda d: d.voice, VOICES),
        "register_by_language": _cross_counts(docs, lambda d: d.lang, lambda d: d.register, REGISTERS),
        "batches_by_writer": dict(sorted(Counter(m["writer"] for m in corpus.metas.values()).items())),
        "batches_by_register": dict(sorted(Counter(m["register"] for m in corpus.metas.values()).items())),
        "families_by_split": dict(Counter(family_split(f) for f in {d.family for d in docs})),
        "families_by_writer": dict(Counter(w for w, _ in {(d.writer, d.family) for d in docs})),
        "spans_by_type": dict(Counter(s.type for s in spans)),
        "drug_roles": dict(Counter(s.role for s in spans if s.type == "DRUG")),
        "distinct_drugs": len({s.norm for s in spans if s.type == "DRUG"}),
        "distinct_products": len({p.lower() for d in docs for p in d.product}),
        "distinct_reactions": len({s.norm.lower() for s in spans if s.type == "AE"}),
        "top_drugs": _most_common(s.norm for s in spans if s.type == "DRUG"),
        "top_reactions": _most_common(s.norm.lower() for s in spans if s.type == "AE"),
        "review_style_posts": sum(is_review_style(d) for d in docs),
        "social_posts": sum(d.register == "social" for d in docs),
        "serious_ae_documents": sum(d.serious for d in ae_docs),
        "seriousness": dict(Counter(c for d in ae_docs for c in d.seriousness)),
        "warnings": len(corpus.warnings),
    }


def _most_common(values: Iterable[str], n: int = 10) -> dict[str, int]:
    """The `n` most frequent values with their counts, ties by name (stable across runs)."""
    return dict(sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0]))[:n])


def _cross_counts(
    docs: list[LayDocument], key: Any, column: Any, columns: tuple[str, ...]
) -> dict[str, dict[str, int]]:
    """Documents by one field's value (rows) and another's (columns): `{row: {column: n}}`."""
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for d in docs:
        table[key(d)][column(d)] += 1
    return {row: {c: counts[c] for c in columns} for row, counts in sorted(table.items())}


def _cross_table(title: str, by: dict[str, dict[str, dict[str, int]]], columns: tuple[str, ...]) -> list[str]:
    lines = [f"| {title} | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for name, rows in by.items():
        for value, counts in rows.items():
            label = f"{name}: {value}" if len(by) > 1 else value
            lines.append(f"| {label} | " + " | ".join(str(counts[c]) for c in columns) + " |")
    return [*lines, ""]


def _table(title: str, rows: dict[str, dict[str, int]], total: int) -> list[str]:
    lines = [
        f"| {title} | documents | share | AE documents | sentences | AE sentences |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        share = r["documents"] / total if total else 0.0
        lines.append(
            f"| {name} | {r['documents']} | {share:.1%} | {r.get('ae_documents', 0)} | "
            f"{r['sentences']} | {r.get('ae_sentences', 0)} |"
        )
    return [*lines, ""]


def format_stats(summary: dict[str, Any]) -> str:
    """The counts of `stats` as Markdown tables (the datasheet's generated part)."""
    n = summary["documents"]
    lines = [
        f"{n} documents, {summary['sentences']} screened sentences ({summary['ae_sentences']} with an "
        f"adverse event), {summary['families']} families, {summary['batches']} batches; "
        f"{summary['distinct_drugs']} distinct normalised drugs named in the text, "
        f"{summary['distinct_products']} distinct products, {summary['distinct_reactions']} distinct "
        f"normalised reactions; {summary['serious_ae_documents']} serious AE documents; "
        f"{summary['review_style_posts']} of {summary['social_posts']} social posts are review-style "
        f"(a `product`, no drug named in the text).",
        "",
    ]
    for title, key in (
        ("label", "by_label"),
        ("kind", "by_kind"),
        ("register", "by_register"),
        ("voice", "by_voice"),
        ("language", "by_language"),
        ("split", "by_split"),
        ("writer", "by_writer"),
    ):
        lines += _table(title, summary[key], n)
    families = ", ".join(f"{k} {v}" for k, v in sorted(summary["families_by_split"].items()))
    lines += [f"Families by split: {families}. Documents by split:", ""]
    lines += _cross_table("field: value", summary["by_split_of"], SPLITS)
    lines += ["Documents by language, voice and register:", ""]
    by_language = {
        lang: summary["voice_by_language"][lang] | summary["register_by_language"][lang]
        for lang in summary["voice_by_language"]
    }
    lines += _cross_table("language", {"language": by_language}, (*VOICES, *REGISTERS))
    writers = ", ".join(
        f"{w} {summary['batches_by_writer'][w]} batches, {summary['families_by_writer'].get(w, 0)} families"
        for w in summary["batches_by_writer"]
    )
    registers = ", ".join(f"{k} {v}" for k, v in summary["batches_by_register"].items())
    lines.append(f"Writers: {writers}. Batches by register: {registers}.")
    spans = ", ".join(f"{k} {v}" for k, v in sorted(summary["spans_by_type"].items()))
    roles = ", ".join(f"{k} {v}" for k, v in sorted(summary["drug_roles"].items()))
    criteria = ", ".join(f"{k} {v}" for k, v in sorted(summary["seriousness"].items())) or "none"
    top_drugs = ", ".join(f"{k} {v}" for k, v in summary["top_drugs"].items())
    top_reactions = ", ".join(f"{k} {v}" for k, v in summary["top_reactions"].items())
    lines += [
        "",
        f"Spans: {spans}. DRUG roles: {roles}. Seriousness criteria: {criteria}.",
        "",
        f"Most named drugs (DRUG spans by norm): {top_drugs}.",
        "",
        f"Most frequent reactions (AE spans by norm): {top_reactions}.",
    ]
    return "\n".join(lines) + "\n"


STATS_BEGIN = "<!-- pv-model lay stats: begin -->"
STATS_END = "<!-- pv-model lay stats: end -->"


def update_datasheet(path: str | Path, summary: dict[str, Any]) -> Path:
    """Replace the generated block of a datasheet (between `STATS_BEGIN` and `STATS_END`) with the
    current counts."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    start, end = text.find(STATS_BEGIN), text.find(STATS_END)
    if start < 0 or end < start:
        raise ValueError(f"{path} has no {STATS_BEGIN} ... {STATS_END} block")
    block = f"{STATS_BEGIN}\n{format_stats(summary)}{STATS_END}"
    path.write_text(text[:start] + block + text[end + len(STATS_END) :], encoding="utf-8")
    return path


def write_lay_corpus(documents: Iterable[dict[str, Any]], lay_dir: str | Path, writer: str = "i14b") -> Path:
    """Write document dicts (the JSONL fields) as a lay corpus folder, one batch per `batch` value,
    each with a meta file naming `writer` (for tests and smoke runs)."""
    root = Path(lay_dir)
    batches = root / "batches"
    batches.mkdir(parents=True, exist_ok=True)
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for doc in documents:
        grouped[doc["batch"]].append(doc)
    for batch, docs in grouped.items():
        lines = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs)
        (batches / f"{batch}.jsonl").write_text(lines, encoding="utf-8")
        meta = {
            "batch": batch,
            "writer": writer,
            "register": docs[0]["register"],
            "voices": sorted({d["voice"] for d in docs}),
            "languages": sorted({d["lang"] for d in docs}),
            "shots": [d["text"] for d in docs[:5]] + ["(seed)"] * (5 - len(docs[:5])),
            "instructions": "synthetic documents for tests",
            "written": "2026-12-02",
        }
        (batches / f"{batch}.meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return root


def synthetic_lay_documents(n_families: int = 40, seed: int = 0, prefix: str = "b") -> list[dict[str, Any]]:
    """A small, learnable lay corpus in the JSONL shape for tests and smoke runs (not for training):
    per family an AE post, a negated email and a call whose caller reports a reaction (one batch
    per register)."""
    import random

    rng = random.Random(seed)
    drugs = [("Lipitor", "atorvastatin"), ("zoloft", "sertraline"), ("metformin", "metformin")]
    drugs += [("Ventolin", "salbutamol"), ("ibuprofen", "ibuprofen"), ("Keppra", "levetiracetam")]
    effects = [("itchy rash", "rash"), ("legs ache", "myalgia"), ("threw up", "vomiting")]
    effects += [
        ("hair falling out", "alopecia"),
        ("dizzy spells", "dizziness"),
        ("brain zaps", "paraesthesia"),
    ]
    out: list[dict[str, Any]] = []
    numbers: Counter[str] = Counter()
    for index in range(n_families):
        (drug, generic), (effect, norm) = rng.choice(drugs), rng.choice(effects)
        documents = (
            ("social", "AE", "ae", f"Started {drug} last week. Now I have {effect} every day!"),
            ("email", "not_AE", "negated", f"Subject: question\nI take {drug} daily. No problems at all."),
            (
                "call",
                "AE",
                "ae",
                f"Agent: How can I help?\nCaller: My son is on {drug}.\nCaller: He has {effect} since.",
            ),
        )
        for register, label, kind, text in documents:
            batch = f"{prefix}{REGISTERS.index(register) + 1:03d}"
            numbers[batch] += 1
            spans = [
                {
                    "type": "DRUG",
                    "text": drug,
                    "norm": generic,
                    "role": "suspect" if label == "AE" else "other",
                }
            ]
            if label == "AE":
                spans.append({"type": "AE", "text": effect, "norm": norm})
            out.append(
                {
                    "id": f"{batch}-{numbers[batch]:04d}",
                    "batch": batch,
                    "family": f"{prefix}-synthetic-{index}",
                    "register": register,
                    "voice": "caregiver" if register == "call" else "patient",
                    "lang": "en",
                    "label": label,
                    "kind": kind,
                    "text": text,
                    "spans": spans,
                    "serious": False,
                    "seriousness": [],
                }
            )
    return out
