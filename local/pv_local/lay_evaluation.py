"""`pv evaluate-lay`: screening and case intelligence over the lay corpus, document by document.

Each document of a part of model/data/lay (dev by default; never tune on test) becomes the
SourceDocument the pipeline would make of it (a post with its `product`, an email's subject and new
body text, a call's turns by speaker), is screened and, when flagged, goes through `assess_case`.
Screened by the rules alone (`adverse_event_sentences`, screening's second detector, with the
document judgement), and with `--model DIR` (served by the local endpoint server, as the local
stack serves it) or `--endpoint-url URL` also by the classifier alone and by what ScreenFunction
does: a document is flagged when the classifier scores one of its screened sentences at or above
the threshold OR the rules flag it (the judgement vetoes only the rules' own flag). Reported,
overall and by register, language and voice, for each screen:

- document AE recall, specificity, precision and F1 (flagged or not, against the document label);
- event recall: the share of AE spans of AE documents that the case reports, a span matching an
  event when the event's term is the span's `norm` read through the vocabulary (or the norm
  itself), or when one of the case's event mentions overlaps the span's words (the mention's text
  within the span's, or the span's within the mention's);
- suspect-drug precision: of the suspect drugs of flagged AE documents, the share that are a gold
  suspect (a DRUG span with role `suspect`, or the product of a post whose text names no drug),
  both read through the vocabulary;
- event precision: the share of the events of flagged documents that match an AE span (a false
  alarm's events are all wrong);
- indication leak: the share of INDICATION spans that a case reports as an event (same matching);
- who reports, on the flagged AE documents, against the document's `voice` (the only thing the
  corpus labels about its writer): the reporter kind the case reads (`reporter_reading`: a health
  professional when the E2B record's reporter qualification, C.2.r.4, is not consumer; else the
  patient when the case's patient is the reporter, a caregiver when it is someone else, a relative
  or someone cared for; else unknown) matches the voice (reporter-kind accuracy); and whether the
  case reads the patient as the reporter, as a patient voice says, or as someone else, as a
  caregiver voice says (an hcp voice says nothing of it, so it is not scored there); with the
  reads of each voice counted (`reporter_confusion`, voice by read);
- specificity by negative kind.

`--ablation` runs it once per vocabulary configuration (what each source adds).
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pv_local.cli import UsageError

Screen = Literal["rules", "classifier", "pipeline"]
# What `reporter_reading` makes of a case, named as the corpus's voices, and "unknown".
ReporterRead = Literal["patient", "caregiver", "hcp", "unknown"]
REPORTER_READS: tuple[ReporterRead, ...] = ("patient", "caregiver", "hcp", "unknown")
# Whether the patient is the reporter, by voice (an hcp voice does not say).
_PATIENT_IS_REPORTER = {"patient": True, "caregiver": False}
# How each screen is named in the output: the pipeline is the classifier OR the rules.
SCREEN_NAMES: dict[Screen, str] = {
    "rules": "rules",
    "classifier": "classifier",
    "pipeline": "classifier or rules",
}

# Vocabulary configurations of --ablation, in the order each source is added.
ABLATION: tuple[tuple[str, frozenset[str]], ...] = (
    ("lay lexicon + project drugs", frozenset({"lay", "project"})),
    ("+ drug package", frozenset({"lay", "project", "drugs"})),
    ("+ HPO", frozenset({"lay", "project", "drugs", "hpo"})),
    ("HPO + drugs, no lay lexicon", frozenset({"project", "drugs", "hpo"})),
)


@dataclass
class Tally:
    """Counts of one group of documents."""

    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0
    ae_spans: int = 0
    ae_spans_found: int = 0
    events: int = 0
    events_right: int = 0
    suspects: int = 0
    suspects_right: int = 0
    indications: int = 0
    indications_leaked: int = 0
    reporters: int = 0
    reporters_right: int = 0
    patients: int = 0
    patients_right: int = 0

    def add(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def figures(self) -> dict[str, float | int | None]:
        def ratio(a: int, b: int) -> float | None:
            return round(a / b, 3) if b else None

        precision, recall = ratio(self.tp, self.tp + self.fp), ratio(self.tp, self.tp + self.fn)
        f1 = round(2 * precision * recall / (precision + recall), 3) if precision and recall else None
        return {
            "documents": self.tp + self.fn + self.fp + self.tn,
            "ae_documents": self.tp + self.fn,
            "recall": recall,
            "specificity": ratio(self.tn, self.tn + self.fp),
            "precision": precision,
            "f1": f1,
            "event_recall": ratio(self.ae_spans_found, self.ae_spans),
            "event_precision": ratio(self.events_right, self.events),
            "suspect_precision": ratio(self.suspects_right, self.suspects),
            "indication_leak": ratio(self.indications_leaked, self.indications),
            "reporter_documents": self.reporters,
            "reporter_kind": ratio(self.reporters_right, self.reporters),
            "patient_is_reporter": ratio(self.patients_right, self.patients),
        }


@dataclass
class Evaluation:
    """Tallies overall, by register, language and voice; specificity by negative kind; the
    reporter reads of each voice; the misses."""

    overall: Tally = field(default_factory=Tally)
    groups: dict[str, dict[str, Tally]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Tally))
    )
    negatives: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    reporter_reads: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self, doc: Any, facts: Any, *, reporter: ReporterRead | None = None, keep_errors: bool = False
    ) -> None:
        """Count one document: flagged when `facts` (its case) is given, with `reporter`, the
        case's `reporter_reading`, for an AE document."""
        tally = _tally(doc, facts, reporter)
        flagged = facts is not None
        if doc.label != "AE":
            self.negatives[doc.kind]["fp" if flagged else "tn"] += 1
        elif flagged and reporter is not None:
            self.reporter_reads[doc.voice][reporter] += 1
        self.overall.add(tally)
        self.groups["register"][doc.register].add(tally)
        self.groups["language"][doc.lang].add(tally)
        self.groups["voice"][doc.voice].add(tally)
        misread = tally.reporters > tally.reporters_right or tally.patients > tally.patients_right
        if keep_errors and (
            flagged != (doc.label == "AE") or tally.ae_spans_found < tally.ae_spans or misread
        ):
            self.errors.append(
                {
                    "id": doc.id,
                    "label": doc.label,
                    "kind": doc.kind,
                    "lang": doc.lang,
                    "flagged": flagged,
                    "events": sorted(facts.events) if flagged else [],
                    "gold_events": [s.norm for s in doc.spans if s.type == "AE"],
                    "suspects": facts.suspect_drugs if flagged else [],
                    "voice": doc.voice,
                    "patient": facts.patient if flagged else None,
                    "reporter": reporter if flagged else None,
                }
            )

    def report(self) -> dict[str, Any]:
        return {
            "overall": self.overall.figures(),
            **{
                f"by_{kind}": {name: tally.figures() for name, tally in sorted(groups.items())}
                for kind, groups in self.groups.items()
            },
            "specificity_by_kind": {
                kind: round(c["tn"] / (c["tn"] + c["fp"]), 3) for kind, c in sorted(self.negatives.items())
            },
            "reporter_confusion": {
                voice: {read: self.reporter_reads[voice][read] for read in REPORTER_READS}
                for voice in REPORTER_READS  # the voices, in the same order
                if voice in self.reporter_reads
            },
        }


def source_document(doc: Any) -> Any:
    """The SourceDocument the pipeline makes of a lay document."""
    from pv.models import Channel, SourceDocument
    from pv_model.lay import document_units

    return SourceDocument(
        document_id=doc.id,
        channel=Channel(doc.register),
        source_key=f"{doc.register}/{doc.id}",
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
        units=document_units(doc),
        language=None if doc.register != "social" else doc.lang,
        products=list(doc.product),
    )


def reporter_reading(document: Any, facts: Any) -> ReporterRead:
    """Who reports `document`, as its case (`facts`) has it: "hcp" when the E2B record's reporter
    qualification (C.2.r.4, as CaseFunction's `patient_and_reporter` reads it) is not consumer;
    otherwise "patient" when the case's patient is the reporter, "caregiver" when it is someone
    else (a relative, someone the reporter cares for), "unknown" when the case names no patient."""
    from pv.regulatory.intake import patient_and_reporter

    _, qualification = patient_and_reporter(document, facts)
    if qualification != "consumer":
        return "hcp"
    if facts.patient is None:
        return "unknown"
    return "patient" if facts.patient == "reporter" else "caregiver"


def _drug_name(name: str) -> str:
    from pv.intelligence.assess import product_name

    return product_name(name)


def _term(name: str) -> str:
    """A gold `norm` read through the event vocabulary ("diarrhea": diarrhoea), or itself."""
    from pv.intelligence import LexiconExtractor

    [entities] = LexiconExtractor().extract([name])
    events = [e for e in entities if e.type == "AE" and e.normalized]
    covers = events and events[0].start == 0 and events[-1].end >= len(name.rstrip()) - 1
    return events[0].normalized or name.lower() if covers and len(events) == 1 else name.lower()


def _matches(span_text: str, span_norm: str, events: set[str], mentions: list[str]) -> bool:
    folded = span_text.lower()
    return (
        span_norm in events
        or _term(span_norm) in events
        or any(m in folded or folded in m for m in mentions if len(m) >= 3)
    )


class InProcessPhraseMapper:
    """The phrase mapper's handler loaded in this process (what the endpoint serves), remembering
    its answers so that several floors are measured for the price of one."""

    def __init__(self, model_dir: Path) -> None:
        from pv_model.serving.code import embedder_inference

        self._handler = embedder_inference
        self._bundle = embedder_inference.load_model(model_dir)
        self._seen: dict[str, list[tuple[str, float]]] = {}

    def nearest_terms(self, phrases: Any) -> list[list[tuple[str, float]]]:
        new = [p for p in dict.fromkeys(phrases) if p not in self._seen]
        for phrase, terms in zip(new, self._handler.nearest_terms(self._bundle, new), strict=True):
            self._seen[phrase] = [(t["term"], t["score"]) for t in terms]
        return [self._seen[p] for p in phrases]


def classifier_flags(documents: Iterable[Any], classify: Any, threshold: float) -> dict[str, list[str]]:
    """Per document id, the screened sentences the classifier scores at or above `threshold`.

    `classify` is a `pv.adapters.endpoint.ClassifierClient` (or anything with its `classify`): every
    document's sentences go in one stream, in the client's batches, as a ScreenFunction batch sends
    them; a failed batch is an error here, not a miss.
    """
    from pv.sentences import document_sentences

    owners: list[tuple[str, int, int]] = []
    sentences: list[str] = []
    for doc in documents:
        texts = document_sentences(source_document(doc))
        owners.append((doc.id, len(sentences), len(sentences) + len(texts)))
        sentences.extend(texts)
    classification = classify.classify(sentences)
    if classification.failed:
        raise UsageError(f"the classifier endpoint failed: {classification.failed[0][2].reason}")
    scores = classification.probabilities
    return {
        doc_id: [sentences[i] for i in range(start, end) if scores[i] >= threshold]
        for doc_id, start, end in owners
    }


def evaluate(
    documents: Iterable[Any],
    *,
    classified: Mapping[str, list[str]] | None = None,
    keep_errors: bool = False,
    judge_document: bool = True,
    extractor: Any = None,
) -> dict[Screen, Evaluation]:
    """Screen and assess each lay document and tally the figures (see the module docstring), for
    the rules alone and, given the classifier's flagged sentences (`classified`, by document id:
    `classifier_flags`), for the classifier alone and for the pipeline (the classifier OR the rules)."""
    from pv.intelligence import adverse_event_sentences, assess_case

    screens: tuple[Screen, ...] = ("rules",) if classified is None else ("rules", "classifier", "pipeline")
    results: dict[Screen, Evaluation] = {screen: Evaluation() for screen in screens}
    for doc in documents:
        document = source_document(doc)
        by_rules = adverse_event_sentences(document, judge_document=judge_document)
        by_classifier = list((classified or {}).get(doc.id, []))
        flags: dict[Screen, bool] = {
            "rules": bool(by_rules),
            "classifier": bool(by_classifier),
            "pipeline": bool(by_classifier or by_rules),
        }
        # The case does not depend on which detector flagged: assess_case reads all screened text.
        facts = assess_case(document, [], extractor=extractor) if any(flags[s] for s in screens) else None
        reporter = reporter_reading(document, facts) if facts is not None and doc.label == "AE" else None
        for screen in screens:
            flagged = flags[screen]
            results[screen].add(
                doc,
                facts if flagged else None,
                reporter=reporter if flagged else None,
                keep_errors=keep_errors,
            )
    return results


def _tally(doc: Any, facts: Any, reporter: ReporterRead | None = None) -> Tally:
    """The counts of one document, flagged when `facts` (its case) is given; `reporter`: the
    case's `reporter_reading`, scored for a flagged AE document."""
    flagged = facts is not None
    tally = Tally()
    gold = doc.label == "AE"
    if gold:
        tally.tp, tally.fn = int(flagged), int(not flagged)
    else:
        tally.fp, tally.tn = int(flagged), int(not flagged)
    events: set[str] = set(facts.events) if flagged else set()
    mentions = (
        [
            m.text.lower()
            for m in facts.mentions
            if m.kind == "event" and m.role == "suspect" and not m.negated and not m.uncertain
        ]
        if flagged
        else []
    )
    ae_spans = [s for s in doc.spans if s.type == "AE"] if gold else []
    tally.ae_spans = len(ae_spans)
    tally.ae_spans_found = sum(_matches(s.text, s.norm.lower(), events, mentions) for s in ae_spans)
    if flagged:
        gold_terms = {s.norm.lower() for s in ae_spans} | {_term(s.norm) for s in ae_spans}
        tally.events = len(events)
        tally.events_right = sum(
            e in gold_terms or any(_matches(s.text, s.norm.lower(), {e}, []) for s in ae_spans)
            for e in events
        )
    indications = [s for s in doc.spans if s.type == "INDICATION"]
    tally.indications = len(indications)
    tally.indications_leaked = sum(_matches(s.text, s.norm.lower(), events, mentions) for s in indications)
    if gold and flagged:
        suspects = [
            _drug_name(s.norm or s.text) for s in doc.spans if s.type == "DRUG" and s.role == "suspect"
        ]
        gold_drugs = set(suspects)
        gold_drugs |= {_drug_name(s.text) for s in doc.spans if s.type == "DRUG" and s.role == "suspect"}
        if not any(s.type == "DRUG" for s in doc.spans):
            gold_drugs |= {_drug_name(p) for p in doc.product}
        tally.suspects = len(facts.suspect_drugs)
        tally.suspects_right = sum(d in gold_drugs for d in facts.suspect_drugs)
    if gold and flagged and reporter is not None:
        tally.reporters, tally.reporters_right = 1, int(reporter == doc.voice)
        expected = _PATIENT_IS_REPORTER.get(doc.voice)
        if expected is not None:  # for a caregiver, someone else: a relative or someone cared for
            right = facts.patient == "reporter" if expected else facts.patient not in (None, "reporter")
            tally.patients, tally.patients_right = 1, int(right)
    return tally


def load_part(lay_dir: Path, part: str) -> list[Any]:
    from pv_model.lay import load_lay

    if not lay_dir.is_dir():
        raise UsageError(f"no lay corpus at {lay_dir}")
    return load_lay(lay_dir, strict=False).part(part)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "evaluate-lay",
        help="screening (rules, and with --model the classifier and both) and case intelligence over "
        "the lay corpus, document by document",
    )
    parser.add_argument("--lay-dir", type=Path, default=Path("model/data/lay"))
    parser.add_argument("--part", default="dev", choices=["train", "dev", "test", "all"])
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--errors",
        type=Path,
        help="write the misses, the false alarms and the reporter misreads here (JSON Lines)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--model",
        type=Path,
        help="also screen with this trained classifier, served by the local endpoint server: the "
        "classifier alone, and the pipeline (classifier OR rules)",
    )
    source.add_argument(
        "--endpoint-url",
        help="also screen with the classifier of a running server with the SageMaker runtime contract",
    )
    parser.add_argument("--backend", default="torch", choices=["torch", "onnx", "onnx-int8"])
    parser.add_argument(
        "--threshold",
        type=float,
        help="classifier threshold (default: the model's training.json, as the local stack sets "
        "ClassifierThreshold; else the template's default)",
    )
    parser.add_argument(
        "--ablation", action="store_true", help="once per vocabulary configuration: what each source adds"
    )
    parser.add_argument(
        "--no-judgement",
        action="store_true",
        help="without the document-level judgement (pv.intelligence.judgement), to measure what it buys",
    )
    parser.add_argument(
        "--phrase-mapper",
        type=Path,
        help="phrase mapper folder (pv-model build-embedder), loaded in this process; see --floors",
    )
    parser.add_argument("--floors", default="", help="similarity floors to measure, e.g. 0.6,0.7,0.8")
    parser.set_defaults(func=_run)


@contextlib.contextmanager
def classifier_client(args: argparse.Namespace) -> Iterator[tuple[Any, float] | None]:
    """The classifier as ScreenFunction calls it (`ClassifierClient` through the sagemaker-runtime
    client) and its threshold, for `--model` (served here) or `--endpoint-url`; None without."""
    if args.model is None and args.endpoint_url is None:
        yield None
        return
    import boto3
    from pv.adapters.endpoint import ClassifierClient, EndpointInvoker

    from pv_local.stack import DEFAULT_TEMPLATE, THRESHOLD_PARAMETER
    from pv_local.template import load_template

    server = None
    url = args.endpoint_url
    threshold = args.threshold
    if args.model is not None:
        if not (args.model / "config.json").exists():
            raise UsageError(f"no trained model in {args.model}: `make model` trains one")
        from pv_model.serving.server import start_server

        server, url = start_server(args.model, port=0, backend=args.backend)
        training = args.model / "training.json"
        if threshold is None and training.is_file():
            threshold = json.loads(training.read_text()).get("threshold")
    if threshold is None:
        threshold = float(load_template(DEFAULT_TEMPLATE)["Parameters"][THRESHOLD_PARAMETER]["Default"])
    runtime = boto3.client(
        "sagemaker-runtime",
        endpoint_url=url,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    try:
        client = ClassifierClient(EndpointInvoker(runtime, "ae-classifier-local"), batch_size=32)
        yield client, float(threshold)
    finally:
        if server is not None:
            server.stop()


def _run(args: argparse.Namespace) -> int:
    with classifier_client(args) as classifier:
        return _evaluate_all(args, classifier)


def _evaluate_all(args: argparse.Namespace, classifier: tuple[Any, float] | None) -> int:
    from pv.intelligence.lexicon import SOURCES, Source, only_sources

    documents = load_part(args.lay_dir, args.part)
    classified = None
    if classifier is not None:
        client, threshold = classifier
        print(f"classifying the sentences of {len(documents)} documents (threshold {threshold:.4f}) ...")
        classified = classifier_flags(documents, client, threshold)
    configurations: tuple[tuple[str, frozenset[str]], ...] = (
        ABLATION if args.ablation else (("all sources", frozenset(SOURCES)),)
    )
    extractors: list[tuple[str, Any]] = [("", None)]
    if args.phrase_mapper:
        from pv.intelligence.phrases import PHRASE_FLOOR, PhraseMappingExtractor

        mapper = InProcessPhraseMapper(args.phrase_mapper)
        floors = [float(f) for f in args.floors.split(",") if f.strip()] or [PHRASE_FLOOR]
        extractors += [(f" + phrases >= {f}", PhraseMappingExtractor(mapper, floor=f)) for f in floors]
    results: dict[str, Any] = {"part": args.part, "documents": len(documents), "configurations": {}}
    if classifier is not None:
        results["threshold"] = classifier[1]
    errors: list[dict[str, Any]] = []
    detailed = not args.ablation and len(extractors) == 1
    for (base, sources), (suffix, extractor) in [(c, e) for c in configurations for e in extractors]:
        chosen: frozenset[Source] = frozenset(s for s in SOURCES if s in sources)
        with only_sources(chosen):
            evaluations = evaluate(
                documents,
                classified=classified,
                keep_errors=args.errors is not None,
                judge_document=not args.no_judgement,
                extractor=extractor,
            )
        for screen, evaluation in evaluations.items():
            name = base + suffix + (f" [{SCREEN_NAMES[screen]}]" if classified is not None else "")
            report = evaluation.report()
            results["configurations"][name] = report
            print(_line(name, report["overall"]))
            if detailed:
                for kind in ("by_register", "by_language", "by_voice"):
                    for group, figures in report[kind].items():
                        print(_line(f"  {group}", figures))
                print(
                    "  specificity by kind: "
                    + ", ".join(f"{k} {v}" for k, v in report["specificity_by_kind"].items())
                )
                print("  reporter read, by voice (flagged AE documents): " + _confusion(report))
            errors.extend({"configuration": name, **e} for e in evaluation.errors)
    if args.errors:
        args.errors.parent.mkdir(parents=True, exist_ok=True)
        args.errors.write_text("".join(json.dumps(e) + "\n" for e in errors), encoding="utf-8")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


def _line(name: str, figures: dict[str, Any]) -> str:
    shown = (
        "documents",
        "recall",
        "specificity",
        "f1",
        "event_recall",
        "event_precision",
        "suspect_precision",
        "indication_leak",
        "reporter_kind",
        "patient_is_reporter",
    )
    return f"{name:32} " + " ".join(f"{k}={figures[k]}" for k in shown)


def _confusion(report: dict[str, Any]) -> str:
    """The reporter confusion as one line: "patient: patient 80 caregiver 2 hcp 0 unknown 3; ..."."""
    return "; ".join(
        f"{voice}: " + " ".join(f"{read} {n}" for read, n in reads.items())
        for voice, reads in report["reporter_confusion"].items()
    )
