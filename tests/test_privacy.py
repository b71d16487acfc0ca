"""Personal data never leaves the encrypted stores: not in logs, not in metrics, not in alerts.

The sample documents of events/documents run through both handlers, with the error paths
exercised too (an endpoint error that echoes its input, throttling, a malformed post, a poison case
message); every personal-data string MANIFEST.json lists for them is then searched for in what
the functions wrote to their log stream (powertools JSON logs, as CloudWatch receives them), in
the EMF metrics on stdout, in any stdlib log record, and in the SNS messages the topic delivered;
so are the words of its names alone, and personal data of the samples MANIFEST does not list.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from endpoint_double import Fault

DOCUMENTS = Path(__file__).resolve().parents[1] / "events" / "documents"
MANIFEST = json.loads((DOCUMENTS / "MANIFEST.json").read_text())["documents"]


def personal_data() -> set[str]:
    found: set[str] = set()
    for spec in MANIFEST.values():
        found.update(spec.get("personal_data") or [])
        for post in (spec.get("posts") or {}).values():
            found.update(post.get("personal_data") or [])
    return found


PERSONAL = personal_data()
# Personal data in the samples that MANIFEST does not list: agents' and doctors' names, a call
# reference.
UNLISTED = {"Okafor", "Priya", "Anna", "Jordan", "CC-2025-03-12-0457"}


def name_parts(strings: set[str]) -> set[str]:
    """The words of the personal strings that are names: "Rosa" alone names Rosa Delgado too."""
    names = (s for s in strings if re.fullmatch(r"[^\W\d_]+(?:[ '-][^\W\d_]+)*", s))
    return {word for name in names for word in name.split() if len(word) >= 3}


# Searched for as whole words, case as written ("Lang" of Peter Lang is not "language").
PERSONAL_WORDS = name_parts(PERSONAL) | UNLISTED
NAMED_KEY = "email/Rosa Delgado - A&E 12 March.eml"


@pytest.fixture
def function_logs() -> Iterator[io.StringIO]:
    """What the functions' powertools logger writes (its handler, its JSON formatter)."""
    from pv.observability import logger

    stream = io.StringIO()
    handler = logger.registered_handler
    previous = handler.setStream(stream)  # type: ignore[attr-defined]
    yield stream
    handler.setStream(previous)  # type: ignore[attr-defined]


Handler = Callable[[dict[str, Any], Any], Any]


def run_samples(
    pipeline: Any, endpoint: Any, wrap: Callable[[str, Handler], Handler] = lambda name, h: h
) -> list[dict[str, Any]]:
    """Every sample document through both functions, with error paths on the way; the alerts.
    `wrap(name, handler)`: what each function's handler runs inside (a trace segment)."""
    from pv.handlers import case as case_module
    from pv.handlers import screen as screen_module

    screen = SimpleNamespace(handler=wrap("ScreenFunction", screen_module.handler))
    case = SimpleNamespace(handler=wrap("CaseFunction", case_module.handler))

    # The first call fails the way a model container might: echoing what it was sent.
    endpoint.faults.append(Fault(status=400, body=json.dumps({"message": f"cannot score {PERSONAL}"})))
    endpoint.faults.append(Fault(status=429, code="ThrottlingException"))
    for key in MANIFEST:
        pipeline.upload(key, (DOCUMENTS / key).read_bytes())
    # A file named after its patient, as mail-room scans and call notes often are.
    pipeline.upload(NAMED_KEY, (DOCUMENTS / "email/ae_hospitalisation.eml").read_bytes() + b"\n")
    pipeline.push_post({"id": "pii-1", "author": "@Helen Marchetti", "text": ""})  # quarantined: no text
    poison = {"document_id": "x", "source_key": "email/ae_hospitalisation.eml", "note": sorted(PERSONAL)}
    pipeline.sqs.send_message(QueueUrl=pipeline.r["case_queue"], MessageBody=json.dumps(poison))
    for _ in range(5):
        pipeline.deliver("intake_queue", screen.handler)
        pipeline.deliver("social_queue", screen.handler)
        pipeline.deliver("case_queue", case.handler)
    return pipeline.alerts()


def assert_clean(text: str, where: str) -> None:
    leaked = sorted(p for p in PERSONAL if p in text)
    leaked += sorted(w for w in PERSONAL_WORDS if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text))
    assert leaked == [], f"{where} contains personal data: {leaked}"


def alert_text(alerts: list[dict[str, Any]]) -> str:
    """What subscribers read of the alerts: each message's fields and attributes, unescaped."""
    parts = []
    for alert in alerts:
        parts += [str(value) for value in json.loads(alert["Message"]).values()]
        parts += [str(a.get("Value")) for a in alert.get("MessageAttributes", {}).values()]
    return "\n".join(parts)


def test_the_manifest_lists_personal_data_for_the_samples():
    """Guard: the privacy checks below search for something real."""
    assert len(PERSONAL) >= 60
    assert {"Helen Marchetti", "MRN 00482913", "+44 7700 900481", "@fitwithkayla"} <= PERSONAL
    assert {"Rosa", "Delgado", "Béatrice", "Morel", "Okafor"} <= PERSONAL_WORDS


def test_logs_metrics_and_alerts_of_the_samples_carry_no_personal_data(
    pipeline, endpoint, function_logs, capsys, caplog
):
    """GIVEN every sample document, an echoing endpoint error, a quarantined post and a poison case
    message WHEN both functions run THEN no personal-data string appears in the function logs, the
    EMF metrics, any stdlib log record, or the alerts; and the run did produce all of them."""
    caplog.set_level(logging.INFO)

    alerts = run_samples(pipeline, endpoint)

    logs = function_logs.getvalue()
    metrics = capsys.readouterr().out
    records = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert_clean(logs, "function logs")
    assert_clean(metrics, "EMF metrics")
    assert_clean(records, "stdlib log records")
    assert_clean(json.dumps(alerts, ensure_ascii=False), "alerts")
    assert_clean(alert_text(alerts), "alerts")
    # The run exercised what it claims to: AE cases alerted, documents logged, metrics emitted.
    # (The endpoint double's word list, not MANIFEST, decides which samples are AEs here.)
    assert len(alerts) == len(pipeline.cases()) >= len(MANIFEST) // 2
    assert logs.count('"document screened"') >= len(MANIFEST) - 2
    assert '"document quarantined"' in logs and '"case processed"' in logs
    assert '"CloudWatchMetrics"' in metrics and '"DocumentsScreened"' in metrics
    assert endpoint.faults == type(endpoint.faults)()  # both injected faults were served


def test_the_stored_case_keeps_the_facts_but_its_summary_is_redacted(pipeline, endpoint, function_logs):
    """GIVEN the hospitalisation email WHEN cased THEN the summary (the one free-text field that
    travels in alerts) names no one, while the parsed document stays in the bucket for reviewers."""
    pipeline.upload("email/ae_hospitalisation.eml", (DOCUMENTS / "email/ae_hospitalisation.eml").read_bytes())
    pipeline.run()

    (case,) = pipeline.cases()
    assert_clean(case["facts"]["summary"], "case summary")
    assert "warfarin" in case["facts"]["suspect_drugs"]
    parsed = pipeline.s3.list_objects_v2(Bucket=pipeline.r["bucket"], Prefix="parsed/")["Contents"]
    body = pipeline.s3.get_object(Bucket=pipeline.r["bucket"], Key=parsed[0]["Key"])["Body"].read().decode()
    assert "Helen Marchetti" in body  # kept where it belongs: the encrypted bucket


def _parrot(request: dict[str, Any]) -> list[dict[str, str]]:
    """A summarizer endpoint that answers with the document it was sent: the worst a model can do."""
    return [{"summary_text": text} for text in request["inputs"]]


def test_alerts_carry_no_personal_data_even_when_the_summarizer_repeats_the_document(
    pipeline, endpoint, monkeypatch
):
    """GIVEN a summarizer endpoint that answers with the document's own text (a forwarded message's
    From: line and bare signature, a doctor's accented name, a date of birth given in answer to the
    agent) WHEN every sample document is cased THEN no alert holds any personal string of the
    samples, nor a name's word alone; and the alerts do carry the documents' own words."""
    from pv import runtime
    from pv.intelligence import EndpointSummarizer

    summarizer = EndpointSummarizer(_parrot)
    monkeypatch.setattr(runtime, "intelligence_backends", lambda config: {"summarizer": summarizer})
    for key in MANIFEST:
        pipeline.upload(key, (DOCUMENTS / key).read_bytes())
    pipeline.run()

    alerts = pipeline.alerts()
    summaries = "\n".join(json.loads(alert["Message"])["summary"] for alert in alerts)
    assert len(alerts) >= len(MANIFEST) // 2
    assert "coughed up blood" in summaries and "[DOB]" in summaries  # the parrot's, redacted
    assert_clean(alert_text(alerts), "alerts")


# --- An extraction model that takes personal data for drugs and events ---------------------------

GUARD_EMAIL = b"""From: Denise Carver <denise.carver@example.com>
To: Medical Information <medinfo@pharma.example>
Subject: Fwd: rash on new tablets
Date: Mon, 17 Mar 2025 08:01:12 +0000
Message-ID: <dc-170325@example.com>
Content-Type: text/plain; charset="utf-8"

Dear Medical Information,

Hi, I hope you can help. Dr Watanabe prescribed lisinopril for my blood pressure in January.
I started zorvastib last week and came out in a rash all over my arms.
My MRN is 00482913 and my DOB is 30/11/1952.
Please call me on 555-0139 if you need more about the rash.

Thank you,
Denise Carver
Flat 2, 14 Cotham Road, Bristol BS7 8QT
Tel: 555-0139
"""
# What the trained extractor tagged in the sample documents (names, contact details, record
# numbers, greetings), and one real drug the lexicon does not know.
JUNK_TAGS = [
    *(("DRUG", t) for t in ("Denise Carver", "Denise", "Watanabe", "555-0139", "BS7 8QT", "Bristol")),
    *(("DRUG", t) for t in ("00482913", "MRN", "DOB", "Cotham Road")),
    *(("AE", t) for t in ("Dear", "Hi", "Thank", "Fwd")),
    ("DRUG", "zorvastib"),
]
GUARD_PERSONAL = ["denise", "carver", "watanabe", "555-0139", "bs7 8qt", "bristol", "cotham", "00482913"]
GUARD_JUNK = ["mrn", "dob", "dear", "hi", "thank", "fwd"]


def _tagger(request: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """An extractor endpoint that tags every occurrence of JUNK_TAGS, at the measured model's score."""
    return [
        [
            {"type": kind, "text": text, "start": m.start(), "end": m.end(), "score": 0.986}
            for kind, text in JUNK_TAGS
            for m in re.finditer(re.escape(text), sentence)
        ]
        for sentence in request["inputs"]
    ]


def _published(alert: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The alert message, and what subscribers see of it (message and attributes) in lowercase."""
    message = json.loads(alert["Message"])
    return message, json.dumps([message, alert.get("MessageAttributes", {})]).lower()


def _words_in(text: str, words: list[str]) -> list[str]:
    return [w for w in words if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]


def _case_with_extractor(pipeline: Any, monkeypatch: pytest.MonkeyPatch, extractor: Any) -> dict[str, Any]:
    from pv import runtime

    monkeypatch.setattr(runtime, "intelligence_backends", lambda config: {"extractor": extractor})
    pipeline.upload("email/guard.eml", GUARD_EMAIL)
    pipeline.run()
    (case,) = pipeline.cases()
    return case


def test_an_extractor_that_tags_personal_data_puts_none_in_the_alert(pipeline, endpoint, monkeypatch):
    """GIVEN the extractor endpoint tags names, phone, postcode, record numbers and greetings, and an
    unknown drug, in a realistic email WHEN the case is opened THEN the guarded extraction keeps
    only the drug: the stored case and the alert hold no personal data and none of the junk, and
    the alert still reports the model's zorvastib as the suspect and the lexicon's event."""
    from pv.intelligence import CombinedExtractor, EndpointExtractor

    case = _case_with_extractor(pipeline, monkeypatch, CombinedExtractor(EndpointExtractor(_tagger)))

    (alert,) = pipeline.alerts()
    message, published = _published(alert)
    # lisinopril was prescribed "for my blood pressure" before zorvastib was started: concomitant
    assert message["suspect_drugs"] == ["zorvastib"]
    assert message["events"] == ["rash"]
    assert _words_in(published, GUARD_PERSONAL + GUARD_JUNK) == []
    stored = json.dumps(case["facts"]).lower()
    assert _words_in(stored, GUARD_PERSONAL + GUARD_JUNK) == []


def test_the_alert_holds_no_personal_data_even_when_the_extractor_is_not_guarded(
    pipeline, endpoint, monkeypatch
):
    """GIVEN the same endpoint with no guard in front of it (a wrong extractor) WHEN the case is
    opened THEN the stored case holds what it said (the encrypted table), but the alert leaves out
    every drug or event name that is personal data and its summary names none of them."""
    from pv.intelligence import EndpointExtractor, LexiconExtractor
    from pv.intelligence.extraction import _merged

    class Unguarded:
        def extract(self, sentences: Any, *, known_names: Any = ()) -> list[list[Any]]:
            found = EndpointExtractor(_tagger).extract(sentences)
            return [_merged(b, e) for b, e in zip(LexiconExtractor().extract(sentences), found, strict=True)]

    case = _case_with_extractor(pipeline, monkeypatch, Unguarded())

    stored = case["facts"]["suspect_drugs"] + case["facts"]["events"]
    assert {"watanabe", "00482913", "555-0139"} <= set(stored)  # the extractor was wrong
    (alert,) = pipeline.alerts()
    message, published = _published(alert)
    assert _words_in(published, GUARD_PERSONAL) == []
    assert message["suspect_drugs"] == ["zorvastib"]  # "mrn", "dob" went with their numbers
    assert "rash" in message["events"]
    assert "[REDACTED]" in message["summary"]


@pytest.fixture
def traces(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """X-Ray on, as in Lambda: AWS calls traced the way pv.observability traces them when tracing
    is on, and every segment and subsegment the recorder emits captured in process (the SDK's
    emitter interface), as the daemon would receive it."""
    import aws_xray_sdk
    import botocore.client
    import botocore.endpoint
    from aws_xray_sdk.core import xray_recorder
    from pv import observability

    sent: list[dict[str, Any]] = []

    class CapturingEmitter:
        def send_entity(self, entity: Any) -> None:
            sent.append(json.loads(entity.serialize()))

        def set_daemon_address(self, address: str) -> None:  # the recorder's emitter interface
            pass

    # Undone after the test: the patch, the recorder's emitter and sampling, the SDK switch.
    monkeypatch.setattr(
        botocore.client.BaseClient, "_make_api_call", botocore.client.BaseClient._make_api_call
    )
    monkeypatch.setattr(
        botocore.endpoint.Endpoint, "prepare_request", botocore.endpoint.Endpoint.prepare_request
    )
    monkeypatch.setattr(botocore.client, "_pv_traced", False, raising=False)
    monkeypatch.setattr(xray_recorder, "_emitter", CapturingEmitter())
    monkeypatch.setattr(xray_recorder, "_sampling", False)  # every request traced
    aws_xray_sdk.global_sdk_config.set_sdk_enabled(True)
    observability.trace_aws_calls()
    assert not hasattr(botocore.client, "_xray_enabled")  # the SDK's own botocore patch is not used
    yield sent
    aws_xray_sdk.global_sdk_config.set_sdk_enabled(False)


def _in_segment(name: str, handler: Handler) -> Handler:
    from aws_xray_sdk.core import xray_recorder

    def traced(event: dict[str, Any], context: Any) -> Any:
        with xray_recorder.in_segment(name):
            return handler(event, context)

    return traced


def _subsegments(entity: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for sub in entity.get("subsegments", []):
        yield sub
        yield from _subsegments(sub)


def test_traces_of_the_samples_carry_no_object_key_and_no_model_error_text(pipeline, endpoint, traces):
    """GIVEN tracing on, the samples, a file named after its patient and an endpoint error that
    echoes its input WHEN both functions run THEN no X-Ray segment holds an object key or any
    personal data (finding 7 of issue 15: the SDK's botocore patch records S3 keys and whole
    ClientError messages); and the traces did record the calls, the failed one by its code."""
    run_samples(pipeline, endpoint, wrap=_in_segment)

    text = json.dumps(traces, ensure_ascii=False)
    assert_clean(text, "X-Ray segments")
    for key in [*MANIFEST, NAMED_KEY]:
        assert key not in text and key.rsplit("/", 1)[-1] not in text, key
    assert "cannot score" not in text
    calls = [
        sub for entity in traces for sub in [entity, *_subsegments(entity)] if sub.get("namespace") == "aws"
    ]
    assert {c["name"] for c in calls} >= {"s3", "dynamodb", "sqs", "runtime.sagemaker", "sns"}
    assert {c["aws"]["operation"] for c in calls} >= {"GetObject", "PutItem", "InvokeEndpoint", "Publish"}
    failed = [c for c in calls if c["name"] == "runtime.sagemaker" and c["aws"].get("error_code")]
    assert failed and all("cause" not in c for c in failed)  # no exception, no message, a code
    assert {e["name"] for e in traces if "trace_id" in e and "parent_id" not in e} == {
        "ScreenFunction",
        "CaseFunction",
    }
