"""Reconciliation: for a window, every object version received has a screening, every adverse-event
screening a case, and every case a sent alert. Knows nothing of Lambda.

ReconcileFunction runs it on a schedule and publishes the gaps as metrics (with an alarm);
`pv ops reconcile` runs it against the local stack or a deployed stack. A gap is not always a loss:
a document still being retried, or waiting in a dead-letter queue, is a gap until it is screened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Metric names of the three gaps (namespace and service as the handlers' other metrics).
UNSCREENED = "UnscreenedObjectVersions"
UNCASED = "UncasedAdverseEvents"
UNALERTED = "UnsentAlerts"


@dataclass(frozen=True)
class ObjectVersion:
    """One version of an object under a channel prefix, as ListObjectVersions gives it."""

    key: str
    version_id: str | None  # None in an unversioned bucket ("null")
    last_modified: datetime


@dataclass
class Gaps:
    """What a window lacks. Holds object keys (which may name a person): never log or publish
    them; the counts (`metrics`) and the ids are what leaves the function."""

    since: datetime
    until: datetime
    objects: int = 0
    unscreened: list[ObjectVersion] = field(default_factory=list)
    uncased: list[str] = field(default_factory=list)  # document ids
    unalerted: list[str] = field(default_factory=list)  # case ids

    def metrics(self) -> dict[str, int]:
        return {UNSCREENED: len(self.unscreened), UNCASED: len(self.uncased), UNALERTED: len(self.unalerted)}

    @property
    def holds_up(self) -> bool:
        return not any(self.metrics().values())

    def summary(self) -> dict[str, Any]:
        """Counts and ids, never keys: what a log line or a report may carry."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "object_versions": self.objects,
            **self.metrics(),
            "uncased_document_ids": self.uncased[:50],
            "unalerted_case_ids": self.unalerted[:50],
        }


def _delivery(ref: str) -> tuple[str, str | None]:
    """(object key, version) of a screening's key or a duplicate ref (`key?versionId=v`); a post
    of a JSON Lines file (`social/f.jsonl#p-1`) belongs to its file."""
    key, _, version = ref.partition("?versionId=")
    return key.split("#", 1)[0], version or None


def screened_deliveries(screenings: Iterable[Mapping[str, Any]]) -> set[tuple[str, str | None]]:
    """Every (key, version) the screenings account for: their own and their duplicates'."""
    found: set[tuple[str, str | None]] = set()
    for record in screenings:
        key, version = _delivery(str(record.get("source_key", "")))
        found.add((key, record.get("source_version") or version))
        for ref in record.get("duplicate_keys") or []:
            found.add(_delivery(str(ref)))
    return found


def find_gaps(
    *,
    since: datetime,
    until: datetime,
    objects: Iterable[ObjectVersion],
    screenings: Iterable[Mapping[str, Any]],
    existing_cases: Callable[[list[str]], set[str]],
    pending_alerts: Callable[[datetime], list[str]],
) -> Gaps:
    """The gaps of the window [since, until).

    `objects`: the channel prefixes' object versions (those outside the window are ignored);
    `screenings`: the records screened since `since` (a version received in the window is screened
    after it, so they may extend past `until`); `existing_cases(case_ids)`: which of these cases
    exist; `pending_alerts(created_before)`: the ids of cases whose alert is not sent.
    A screening recorded without a version (before versions were read) accounts for every version
    of its key.
    """
    from pv.cases import case_id_for  # not at import: the intake bucket adapter imports this module

    gaps = Gaps(since=since, until=until)
    records = list(screenings)
    screened = screened_deliveries(records)
    for version in objects:
        if not since <= version.last_modified < until:
            continue
        gaps.objects += 1
        if (version.key, version.version_id) not in screened and (version.key, None) not in screened:
            gaps.unscreened.append(version)
    # An AE screened in the last moments of the window may still have its case request in flight.
    flagged = sorted(
        {
            str(r["document_id"])
            for r in records
            if r.get("is_ae")
            and r.get("status") != "quarantined"
            and datetime.fromisoformat(str(r["screened_at"])) < until
        }
    )
    cased = existing_cases([case_id_for(d) for d in flagged])
    gaps.uncased = [d for d in flagged if case_id_for(d) not in cased]
    gaps.unalerted = sorted(pending_alerts(until))
    return gaps
