"""`pv load`: many mixed documents through the local stack under injected faults, then a reconciliation.

The reconciliation answers the questions a safety team asks after an outage: did every document
end in exactly one terminal state (screened, quarantined with a reason, or in a dead-letter
queue), was any case or alert created twice, and was anything lost. It knows what was sent; the
report's `production_check` is what the deployed stack's ReconcileFunction (the same code,
`pv.runtime.reconcile_stack`) finds in the stack without knowing it, and the two must agree.

The endpoint faults come from `EndpointProxy`, an HTTP server with the SageMaker runtime route in
front of the model server: it counts every InvokeEndpoint call and answers a share of them with
throttling, 5xx, malformed or short responses instead of forwarding them. Without a model it
scores sentences with a fixed list of reaction words (`KeywordScorer`), which exercises every part
of the pipeline but the model; the report says which endpoint ran.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pv_local.cli import UsageError, add_stack_arguments, console

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DOCUMENTS = PROJECT_ROOT / "events" / "documents"
DEFAULT_REPORT = Path(".artifacts/bench/load.json")

SCREENED_AE = "screened_ae"
SCREENED_NOT_AE = "screened_not_ae"
QUARANTINED = "quarantined"
DEAD_LETTER = "dead_letter"


def object_keys_in(body: str) -> list[str]:
    """The source keys a queue message stands for: S3 objects, or `social/queue#<id>` for a post."""
    try:
        payload = json.loads(body)
    except ValueError:
        return []
    if not isinstance(payload, dict):
        return []
    if "Records" in payload:
        return [
            urllib.parse.unquote_plus(r["s3"]["object"]["key"])
            for r in payload["Records"]
            if isinstance(r, dict) and "s3" in r
        ]
    if "source_key" in payload:  # a CaseRequest
        return [str(payload["source_key"])]
    post_id = payload.get("id", payload.get("post_id"))
    return [f"social/queue#{post_id}"] if post_id is not None else []


def _owner(source_key: str, expected: Mapping[str, int]) -> str | None:
    """The expected object a screening record belongs to (a post of `social/f.jsonl` is `...#id`)."""
    source_key = source_key.split("?versionId=", 1)[0]  # another version of the same key
    if source_key in expected:
        return source_key
    head = source_key.split("#", 1)[0]
    return head if head in expected else None


def reconcile(
    expected: Mapping[str, int],
    screenings: Iterable[Mapping[str, Any]],
    dead_letters: Iterable[tuple[str, str]],
    cases: Iterable[Mapping[str, Any]],
    alerts: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """Account for every expected document.

    `expected` maps each object key sent in (an S3 key, or `social/queue#<id>` for a pushed post)
    to the number of documents it holds (the posts and bad lines of a JSON Lines file, else 1).
    `dead_letters` are (dead-letter queue kind: "intake" | "social" | "case", message body).
    """
    records: dict[str, list[Mapping[str, Any]]] = {key: [] for key in expected}
    strays = 0
    for record in screenings:
        # A record stands for its own key and for every key that delivered the same bytes again.
        for key in [record.get("source_key", ""), *record.get("duplicate_keys", [])]:
            owner = _owner(str(key), expected)
            if owner is None:
                strays += 1
            else:
                records[owner].append(record)

    screen_dlq: Counter[str] = Counter()
    case_dlq: set[str] = set()
    for kind, body in dead_letters:
        for key in object_keys_in(body):
            if kind == "case":
                case_dlq.add(key)
            else:
                owner = _owner(key, expected)
                if owner is not None:
                    screen_dlq[owner] += 1

    states: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    # Objects (not pushed posts) whose screening message is dead-lettered: what the production
    # reconciliation (pv.reconciliation) must report as unscreened object versions.
    dead_objects = sum(1 for key in screen_dlq if not key.startswith("social/queue#"))
    lost: list[str] = []
    several: list[str] = []
    for key, count in expected.items():
        found = records[key]
        if screen_dlq[key]:
            states[DEAD_LETTER] += count
            if found:
                several.append(key)
            continue
        for record in found[:count]:
            if record.get("status") == QUARANTINED:
                states[QUARANTINED] += 1
                reasons[str(record.get("quarantine_reason"))] += 1
            else:
                states[SCREENED_AE if record.get("is_ae") else SCREENED_NOT_AE] += 1
        if len(found) < count:
            lost.extend([key] * (count - len(found)))
        elif len(found) > count:
            several.append(key)

    case_list = list(cases)
    cases_per_document = Counter(str(c.get("document_id")) for c in case_list)
    alert_list = list(alerts)
    alerts_per_case = Counter(str(a.get("case_id")) for a in alert_list)
    case_ids = {str(c.get("case_id")) for c in case_list}
    cased_documents = set(cases_per_document)
    ae_without_case = [
        str(r.get("source_key"))
        for found in records.values()
        for r in found
        if r.get("is_ae")
        and r.get("document_id") not in cased_documents
        and r.get("source_key") not in case_dlq
    ]
    return {
        "documents": sum(expected.values()),
        "objects": len(expected),
        "terminal_states": dict(sorted(states.items())),
        "quarantine_reasons": dict(sorted(reasons.items())),
        "lost": len(lost),
        "lost_keys": sorted(lost)[:20],
        "in_several_states": len(several),
        "stray_records": strays,
        "cases": len(case_list),
        "alerts": len(alert_list),
        "duplicate_cases": sum(n - 1 for n in cases_per_document.values() if n > 1),
        "duplicate_alerts": sum(n - 1 for n in alerts_per_case.values() if n > 1),
        "alerts_without_case": sum(1 for case_id in alerts_per_case if case_id not in case_ids),
        "cases_without_alert": len(case_ids - set(alerts_per_case)),
        "ae_without_case": len(ae_without_case),
        "case_dead_letters": len(case_dlq),
        "dead_lettered_objects": dead_objects,
    }


def holds_up(report: Mapping[str, Any]) -> bool:
    """Whether a reconciliation shows nothing lost, nothing twice and every AE cased and alerted."""
    return all(
        report[name] == 0
        for name in (
            "lost",
            "in_several_states",
            "stray_records",
            "duplicate_cases",
            "duplicate_alerts",
            "alerts_without_case",
            "cases_without_alert",
            "ae_without_case",
        )
    )


# --- the endpoint: a counting, fault-injecting proxy ------------------------------------------

# (kind, HTTP status, x-amzn-ErrorType, body, weight): how a failing endpoint really answers.
FAULTS: tuple[tuple[str, int, str | None, str, float], ...] = (
    ("throttling", 429, "ThrottlingException", '{"message": "Rate exceeded"}', 0.4),
    ("server_error", 500, None, '{"message": "injected internal error"}', 0.2),
    ("unavailable", 503, "ServiceUnavailable", '{"message": "injected: scaling"}', 0.2),
    ("malformed", 200, None, "<html>502 Bad Gateway</html>", 0.1),
    ("short", 200, None, "", 0.1),  # one prediction fewer than inputs (body built per request)
)

_REACTION = re.compile(
    r"\b(rash\w*|hives|itch\w*|swell\w*|bleed\w*|bruis\w*|dizz\w*|faint\w*|vomit\w*|nause\w*|"
    r"diarrh\w*|headaches?|migraines?|seizures?|palpitations|hospitali[sz]\w*|pain\w*|aches?|"
    r"cramps?|fatigue|insomnia|sweats?|tremors?|died|anaphyla\w*|jaundice|numb\w*)\b",
    re.IGNORECASE,
)


class KeywordScorer:
    """A model-free stand-in for the classifier: a sentence naming a reaction word is an AE."""

    version = "keyword-scorer"

    def __call__(self, sentences: list[str]) -> list[dict[str, Any]]:
        return [
            {"label": "Adverse_Event", "score": 0.9}
            if _REACTION.search(s)
            else {"label": "Not_AE", "score": 0.9}
            for s in sentences
        ]


@dataclass
class EndpointStats:
    calls: int = 0
    sentences: int = 0
    forwarded: int = 0
    faults: Counter[str] = field(default_factory=Counter)


class EndpointProxy:
    """The SageMaker runtime route on 127.0.0.1: forwards to `upstream` (or scores with the keyword
    scorer), counts calls and sentences, and answers `fault_rate` of the calls with a fault."""

    def __init__(self, upstream: str | None = None, fault_rate: float = 0.0, seed: int = 0) -> None:
        self.upstream = upstream.rstrip("/") if upstream else None
        self.fault_rate = fault_rate
        self.stats = EndpointStats()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._scorer = KeywordScorer()
        self._server: ThreadingHTTPServer | None = None

    @property
    def kind(self) -> str:
        return f"model server at {self.upstream}" if self.upstream else "keyword scorer (no model)"

    def start(self) -> str:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # /ping
                self._reply(200, b"{}", {})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, payload, headers = proxy.answer(self.path, body, self.headers.get("Content-Type"))
                self._reply(status, payload, headers)

            def _reply(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="pv-endpoint-proxy", daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def answer(self, path: str, body: bytes, content_type: str | None) -> tuple[int, bytes, dict[str, str]]:
        """The reply to one InvokeEndpoint request: a fault, or the real (or keyword) answer."""
        try:
            inputs = json.loads(body).get("inputs", [])
        except (ValueError, AttributeError):
            inputs = []
        with self._lock:
            self.stats.calls += 1
            self.stats.sentences += len(inputs)
            fault = self._pick_fault()
            if fault is not None:
                self.stats.faults[fault[0]] += 1
        if fault is not None:
            kind, status, code, text, _ = fault
            if kind == "short":
                text = json.dumps(self._scorer(inputs[:-1]) if inputs else [{"label": "Not_AE", "score": 1}])
            return status, text.encode(), {"x-amzn-ErrorType": code} if code else {}
        if self.upstream is None:
            variant = {"X-Amzn-Invoked-Production-Variant": self._scorer.version}
            return 200, json.dumps(self._scorer(inputs)).encode(), variant
        return self._forward(path, body, content_type)

    def _pick_fault(self) -> tuple[str, int, str | None, str, float] | None:
        if self.fault_rate <= 0 or self._random.random() >= self.fault_rate:
            return None
        return self._random.choices(FAULTS, weights=[f[4] for f in FAULTS])[0]

    def _forward(self, path: str, body: bytes, content_type: str | None) -> tuple[int, bytes, dict[str, str]]:
        request = urllib.request.Request(
            f"{self.upstream}{path}",
            data=body,
            method="POST",
            headers={"Content-Type": content_type or "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, payload, headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, payload, headers = error.code, error.read(), error.headers
        with self._lock:
            self.stats.forwarded += 1
        keep = ("X-Amzn-Invoked-Production-Variant", "x-amzn-ErrorType")
        return status, payload, {k: headers[k] for k in keep if headers.get(k)}


# --- the documents: sample documents made unique, plus bad ones ---------------------------------


@dataclass(frozen=True)
class Item:
    """One thing sent in: an S3 object (key, bytes) or a post pushed to SocialQueue (key None)."""

    expected_key: str
    documents: int
    body: bytes
    key: str | None = None  # S3 key; None for a pushed post


def sample_files(root: Path = SAMPLE_DOCUMENTS) -> list[tuple[str, bytes]]:
    """(key, bytes) of every sample document under root's channel folders."""
    return [
        (p.relative_to(root).as_posix(), p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] in ("email", "call", "social")
    ]


def unique_variant(key: str, body: bytes, copy: int) -> tuple[str, bytes, int]:
    """Copy number `copy` of a sample: a new key and bytes (so a new document id), same text.

    Returns (key, bytes, number of documents the object holds).
    """
    stem, _, suffix = key.rpartition(".")
    new_key = f"{stem}-{copy:05d}.{suffix}"
    if key.endswith(".jsonl"):
        lines = body.split(b"\n")
        out = []
        for number, line in enumerate(lines, 1):
            try:
                post = json.loads(line)
            except ValueError:
                out.append(line)
                continue
            if isinstance(post, dict):
                post["id"] = f"{post.get('id', post.get('post_id', f'line{number}'))}-c{copy}"
                line = json.dumps(post, ensure_ascii=False).encode()
            out.append(line)
        return new_key, b"\n".join(out), sum(1 for line in lines if line.strip())
    if key.endswith(".eml"):
        return new_key, f"X-Load-Copy: {copy}\r\n".encode() + body, 1
    if key.endswith(".json"):
        transcript = json.loads(body)
        transcript["jobName"] = f"{transcript.get('jobName', 'call')}-copy-{copy}"
        return new_key, json.dumps(transcript).encode(), 1
    # A plain-text transcript: the copy number as trailing whitespace (spaces and tabs), which
    # changes the bytes but not one screened word.
    code = format(copy, "b").replace("0", " ").replace("1", "\t").encode()
    return new_key, body.rstrip() + b"\n" + code + b"\n", 1


def bad_input(n: int) -> tuple[str, bytes]:
    """The n-th bad input (unique bytes, so each is its own document): key and bytes."""
    tag = f"{n:05d}".encode()
    kinds = (
        ("call/binary-{}.json", bytes(range(256)) * 4 + tag),
        ("call/broken-{}.json", b'{"results": {"transcripts": [' + tag),
        ("call/bad-encoding-{}.txt", b"Caller: \x81\x8d\x8f\x90\x9d " + tag),
        ("social/not-json-{}.jsonl", b"{not json " + tag + b"}\n"),
    )
    if n == 0:  # every empty file is the same document (sha256 of nothing): send one
        return "email/empty.eml", b""
    pattern, body = kinds[n % len(kinds)]
    return pattern.format(tag.decode()), body


def mixed_documents(
    total: int, bad_share: float = 0.05, push_share: float = 0.1, seed: int = 0
) -> list[Item]:
    """About `total` documents: copies of every sample (all three channels), posts pushed to
    SocialQueue, and bad inputs; every one unique."""
    rng = random.Random(seed)
    samples = sample_files()
    posts = [
        json.loads(line)
        for key, body in samples
        if key.endswith(".jsonl")
        for line in body.splitlines()
        if _is_post(line)
    ]
    items: list[Item] = []
    count = copy = bad = 0
    while count < total:
        roll = rng.random()
        if roll < bad_share:
            key, body = bad_input(bad)
            bad += 1
            items.append(Item(key, 1, body, key))
            count += 1
        elif roll < bad_share + push_share and posts:
            post = dict(posts[copy % len(posts)])
            post["id"] = f"{post.get('id', 'post')}-pushed-{copy}"
            items.append(Item(f"social/queue#{post['id']}", 1, json.dumps(post).encode()))
            count += 1
        else:
            key, body = samples[copy % len(samples)]
            new_key, new_body, documents = unique_variant(key, body, copy)
            items.append(Item(new_key, documents, new_body, new_key))
            count += documents
        copy += 1
    return items


def _is_post(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


# --- the run ------------------------------------------------------------------------------------


@contextlib.contextmanager
def endpoint_for(args: argparse.Namespace, fault_rate: float, seed: int) -> Iterator[EndpointProxy]:
    """The proxy, in front of the model server `--model` starts (or `--endpoint-url`, or none)."""
    server = None
    upstream = getattr(args, "endpoint_url", None)
    if getattr(args, "model", None) is not None:
        if not (args.model / "config.json").exists():
            raise UsageError(f"no trained model in {args.model}: `make model` trains one")
        from pv_model.serving.server import start_server

        server, upstream = start_server(args.model, port=0, backend=args.backend)
    proxy = EndpointProxy(upstream, fault_rate=fault_rate, seed=seed)
    try:
        yield proxy
    finally:
        proxy.stop()
        if server is not None:
            server.stop()


def send(stack: Any, items: Iterable[Item]) -> None:
    """Upload the objects and push the posts."""
    for item in items:
        if item.key is None:
            stack.send("SocialQueue", item.body.decode())
        else:
            stack.upload(item.key, item.body)


@contextlib.contextmanager
def sending(stack: Any, items: Iterable[Item]) -> Iterator[threading.Event]:
    """`send` on a thread of its own while the caller pumps: the event is set once every item is
    sent (or the sending failed, whose error is raised when the block ends)."""
    sent = threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            send(stack, items)
        except BaseException as exc:  # re-raised on the caller's thread
            failed.append(exc)
        finally:
            sent.set()

    sender = threading.Thread(target=run, name="sender", daemon=True)
    sender.start()
    try:
        yield sent
    finally:
        sender.join()
    if failed:
        raise failed[0]


def collect(stack: Any, expected: Mapping[str, int], since: datetime | None = None) -> dict[str, Any]:
    """Reconcile what the stack holds against what was sent; with `since`, also ReconcileFunction's
    own check of the stack since then (`production_check`: pv.runtime.reconcile_stack, the code the
    deployed stack runs on its schedule), which knows nothing of what was sent."""
    from pv.adapters.stores import scan_items
    from pv.runtime import reconcile_stack

    from pv_local.stack import CASES_TABLE, SCREENINGS_TABLE

    screenings = scan_items(stack.table(SCREENINGS_TABLE))
    cases = scan_items(stack.table(CASES_TABLE))
    letters = [("case" if d.source_queue == "CaseQueue" else "screen", d.body) for d in stack.dead_letters()]
    alerts = [a.message for a in stack.alerts() if isinstance(a.message, dict)]
    report = reconcile(expected, screenings, letters, cases, alerts)
    if since is not None:
        dynamodb = stack.session().resource("dynamodb", endpoint_url=stack.moto_url)
        gaps = reconcile_stack(
            stack.client("s3"),
            dynamodb,
            stack.bucket,
            stack.physical(SCREENINGS_TABLE),
            stack.physical(CASES_TABLE),
            since,
            datetime.now(UTC) + timedelta(seconds=1),
        )
        report["production_check"] = gaps.metrics()
    return report


def run_load(
    documents: int,
    fault_rate: float,
    *,
    args: argparse.Namespace,
    seed: int = 0,
    timeout_s: float = 1800.0,
    progress: Any = None,
) -> dict[str, Any]:
    """Send about `documents` mixed documents through the local stack under faults; the report."""
    from pv_local.stack import DEFAULT_TEMPLATE, LocalStack

    items = mixed_documents(documents, seed=seed)
    expected = {item.expected_key: item.documents for item in items}
    with endpoint_for(args, fault_rate, seed) as proxy:
        url = proxy.start()
        with LocalStack(
            endpoint_url=url,
            template=getattr(args, "template", None) or DEFAULT_TEMPLATE,
            retry_delay_s=getattr(args, "retry_delay", 1),
            function_log=getattr(args, "function_log", None),
        ) as stack:
            started = time.perf_counter()
            since = datetime.now(UTC) - timedelta(seconds=1)
            send(stack, items)
            sent_s = time.perf_counter() - started
            stats = stack.run_until_idle(timeout_s=timeout_s, on_progress=progress)
            elapsed = time.perf_counter() - started
            report = collect(stack, expected, since)
    report.update(
        docs_per_s=round(report["documents"] / elapsed, 2),
        elapsed_s=round(elapsed, 1),
        send_s=round(sent_s, 1),
        fault_rate=fault_rate,
        endpoint=proxy.kind,
        endpoint_calls=proxy.stats.calls,
        endpoint_faults=dict(sorted(proxy.stats.faults.items())),
        injected_fault_share=round(sum(proxy.stats.faults.values()) / max(1, proxy.stats.calls), 3),
        function_invocations=stats.invocations,
        failed_deliveries=stats.failed,
        handler_errors=stats.handler_errors,
        holds_up=holds_up(report),
    )
    return report


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    load = subparsers.add_parser(
        "load", help="many mixed documents through the local stack with injected endpoint faults"
    )
    load.add_argument("--documents", type=int, default=2000, help="documents to send (posts count one each)")
    load.add_argument("--fault-rate", type=float, default=0.1, help="share of endpoint calls that fail")
    load.add_argument("--seed", type=int, default=0)
    load.add_argument("--timeout", type=float, default=1800.0, help="seconds before the run gives up")
    load.add_argument("--json", type=Path, default=DEFAULT_REPORT, help="where to write the report")
    add_stack_arguments(load, extractor=False)  # its proxy and faults speak the classifier contract
    load.set_defaults(func=run_load_command)


def run_load_command(args: argparse.Namespace) -> int:
    out = console()
    if args.model is None and args.endpoint_url is None:
        out.print("[yellow]No --model: the endpoint is a keyword scorer, not the classifier.[/]")
    log_path = Path(".artifacts/local/load-functions.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log:
        args.function_log = log
        with out.status("Sending documents and pumping the queues...") as status:

            def progress(stats: Any, pending: int) -> None:
                status.update(f"{stats.invocations} invocations, {stats.delivered} messages delivered")

            report = run_load(
                args.documents,
                args.fault_rate,
                args=args,
                seed=args.seed,
                timeout_s=args.timeout,
                progress=progress,
            )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print_report(out, report)
    out.print(f"Report written to {args.json}")
    return 0 if report["holds_up"] else 1


def print_report(out: Any, report: Mapping[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="Reconciliation", show_header=False)
    for name in (
        "documents",
        "objects",
        "terminal_states",
        "quarantine_reasons",
        "lost",
        "duplicate_cases",
        "duplicate_alerts",
        "cases",
        "alerts",
        "docs_per_s",
        "elapsed_s",
        "endpoint",
        "endpoint_calls",
        "endpoint_faults",
        "holds_up",
    ):
        value = report.get(name)
        table.add_row(name, json.dumps(value) if isinstance(value, dict | list) else str(value))
    out.print(table)
