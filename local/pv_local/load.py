"""`pv load`: many mixed documents through the local stack under injected faults, then a reconciliation.

The reconciliation answers the questions a safety team asks after an outage: did every document
end in exactly one terminal state (screened, quarantined with a reason, or in a dead-letter
queue), was any case or alert created twice, and was anything lost.
"""

from __future__ import annotations

import json
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

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
        owner = _owner(str(record.get("source_key", "")), expected)
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
