"""What happened to each uploaded file: one result per document (per post for social files).

Read back from where the pipeline put it: the Screenings and Cases tables (through the
pipeline's own stores), the alerts the safety topic delivered, and the dead-letter queues.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pv.adapters.case_store import CaseStore
from pv.adapters.stores import ScreeningStore
from pv.case_models import Case
from pv.channels.base import Reason
from pv.channels.intake import channel_for
from pv.models import Screening

from pv_local.stack import CASES_TABLE, SCREENINGS_TABLE, LocalStack, ReceivedAlert, s3_keys_in

CHANNELS = ("email", "call", "social")


def keys_for(root: Path, files: list[Path]) -> dict[str, Path]:
    """S3 keys for files under `root`: the path relative to `root`.

    A file below a channel folder deeper inside `root` (`root/documents/email/x.eml`) is keyed
    from that folder (`email/x.eml`), so a tree that holds channel folders can be screened as a
    whole; where that would give two files one key, both keep their full relative paths.
    """
    relative = {path: path.relative_to(root).as_posix() for path in files}
    rebased = {}
    for path, key in relative.items():
        parts = key.split("/")
        first = next((i for i, part in enumerate(parts[:-1]) if part in CHANNELS), 0)
        rebased[path] = "/".join(parts[first:])
    counts: dict[str, int] = {}
    for key in rebased.values():
        counts[key] = counts.get(key, 0) + 1
    return {(rebased[p] if counts[rebased[p]] == 1 else relative[p]): p for p in sorted(files)}


def _line(key: str, **fields: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "key": key,
        "document_id": None,
        "status": "unprocessed",
        "reason": None,
        "is_ae": None,
        "score": None,
        "suspect_drugs": [],
        "events": [],
        "serious": None,
        "seriousness_criteria": [],
        "case_id": None,
        "case_status": None,
        "due_date": None,
        "summary": None,
        "alert": None,
        "unread_attachments": 0,
    }
    line.update(fields)
    return line


def _screened_line(key: str, screening: Screening, case: Case | None, alert: Any) -> dict[str, Any]:
    line = _line(
        key,
        document_id=screening.document_id,
        status=screening.status,
        reason=screening.quarantine_reason,
        is_ae=screening.is_ae if screening.status == "screened" else None,
        score=screening.max_score,
        alert=alert,
        unread_attachments=screening.unread_attachments,
    )
    if case is not None:
        facts = case.facts
        line.update(
            suspect_drugs=facts.suspect_drugs,
            events=facts.events,
            serious=facts.serious,
            seriousness_criteria=[c.criterion for c in facts.seriousness_criteria],
            case_id=case.case_id,
            case_status=case.status,
            due_date=case.due_date.isoformat(),
            summary=facts.summary,
        )
    return line


def collect_results(stack: LocalStack, uploaded: Mapping[str, str]) -> list[dict[str, Any]]:
    """One result per uploaded document (per post of a social file), in key order.

    `uploaded` maps each key to the sha256 of its bytes (a document's id).
    """
    screenings = ScreeningStore(stack.table(SCREENINGS_TABLE)).list()
    cases = {c.document_id: c for c in CaseStore(stack.table(CASES_TABLE)).list()}
    alerts = {_alert_case_id(a): a.message for a in stack.alerts()}
    dead_letters = stack.dead_letters()
    dead = {key: d.queue for d in dead_letters for key in s3_keys_in(d.body)}
    dead_documents = {d.body for d in dead_letters}  # CaseQueue bodies name the document
    by_key = {s.source_key: s for s in screenings}
    by_document = {s.document_id: s for s in screenings}

    def line_for(key: str, screening: Screening) -> dict[str, Any]:
        case = cases.get(screening.document_id)
        alert = alerts.get(case.case_id) if case is not None else None
        line = _screened_line(key, screening, case, alert)
        if screening.is_ae and case is None:
            failed = any(screening.document_id in body for body in dead_documents)
            line.update(reason="case creation failed: in CaseDLQ" if failed else "no case stored")
        return line

    lines: list[dict[str, Any]] = []
    for key in sorted(uploaded):
        if channel_for(key) is None:
            # S3 notifies only the channel prefixes: the pipeline never sees this object.
            lines.append(_line(key, status="quarantined", reason=Reason.UNKNOWN_PREFIX))
            continue
        posts = sorted(
            (s for s in screenings if s.source_key.startswith(f"{key}#")), key=lambda s: s.source_key
        )
        if posts:
            lines.extend(line_for(post.source_key, post) for post in posts)
            continue
        document_id = uploaded[key]
        screening = by_key.get(key) or by_document.get(document_id)
        if screening is not None:
            line = line_for(key, screening)
            if screening.source_key != key:
                line["duplicate_of"] = screening.source_key
            lines.append(line)
        elif key in dead:
            lines.append(_line(key, status="dead_letter", reason=f"failed after retries: in {dead[key]}"))
        else:
            lines.append(_line(key, document_id=document_id, reason="no screening record"))
    return lines


def _alert_case_id(alert: ReceivedAlert) -> str | None:
    return alert.message.get("case_id") if isinstance(alert.message, dict) else None
