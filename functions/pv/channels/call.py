"""Call-centre transcripts: Amazon Transcribe JSON, or plain text with speaker lines, to turns.

Speaker roles. Transcribe labels speakers spk_0, spk_1, ... in order of first speech, not by
role. A call centre answers the phone, so the first speaker is the agent and every other
speaker is a caller (the patient, a relative, a nurse on the line: all reporters, all screened).
When the call-centre export knows better it adds a top-level `"speaker_roles"` object
(`{"spk_0": "caller", "spk_1": "agent"}`) next to Transcribe's fields, and that wins.

Amazon Transcribe Call Analytics and Amazon Connect Contact Lens write their own JSON: a
top-level `Transcript` list of `{"Content", "ParticipantRole" | "ParticipantId", ...}` (Contact
Lens also lists `Participants` with each id's role). There the roles are known: `CUSTOMER` is
the caller; `AGENT`, `SUPERVISOR`, `SYSTEM` and `CUSTOM_BOT` speak for the company and are not
screened; a role of any other name is `unknown`, which is screened.

Plain text: lines starting `Agent:`, `Rep:`, `Representative:`, `Pharmacist:` are the agent;
`Caller:`, `Customer:`, `Patient:` the caller (any case, optionally after a `[00:01:02]`
timestamp). Unlabelled lines continue the current turn. Text with no labels at all is one
turn by an `unknown` speaker, which is screened.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pv.channels.base import ParseError, Reason, load_json
from pv.models import TextUnit

AGENT = "agent"
CALLER = "caller"
UNKNOWN = "unknown"

_TEXT_LABELS = {
    "agent": AGENT,
    "rep": AGENT,
    "representative": AGENT,
    "pharmacist": AGENT,
    "caller": CALLER,
    "customer": CALLER,
    "patient": CALLER,
}
_LABEL_LINE = re.compile(
    r"^\s*(?:[\[(]?\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?[\])]?\s*)?"
    r"(" + "|".join(_TEXT_LABELS) + r")\s*:\s?(.*)$",
    re.IGNORECASE,
)


def parse_text_transcript(text: str) -> tuple[list[TextUnit], dict[str, str]]:
    """Turns of a plain-text transcript with Agent:/Caller: lines."""
    turns: list[tuple[str, list[str]]] = []
    labelled = False
    for line in text.splitlines():
        match = _LABEL_LINE.match(line)
        if match:
            labelled = True
            turns.append((_TEXT_LABELS[match.group(1).lower()], [match.group(2)]))
        elif turns:
            turns[-1][1].append(line)
        elif line.strip():
            turns.append((UNKNOWN, [line]))
    if not labelled:
        turns = [(UNKNOWN, [text])] if text.strip() else []
    units = _units((speaker, "\n".join(lines)) for speaker, lines in turns)
    return units, {"format": "text", "labelled": str(labelled).lower()}


_COMPANY_ROLES = frozenset({"agent", "supervisor", "system", "custom_bot"})


def parse_transcribe_json(text: str) -> tuple[list[TextUnit], dict[str, str]]:
    """Turns of an Amazon Transcribe result (speaker labels, audio segments, or neither), or of a
    Transcribe Call Analytics / Contact Lens transcript (participant roles)."""
    data = load_json(text)
    if isinstance(data, dict) and isinstance(data.get("Transcript"), list):
        return _analytics_turns(data)
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise ParseError(Reason.MALFORMED_TRANSCRIPT)
    try:
        results = data["results"]
        labelled = _segment_turns(results) or _word_turns(results)
        if labelled:
            roles = _roles([label for label, _ in labelled], data.get("speaker_roles"))
            turns = [(roles[label], words) for label, words in labelled]
            source = "audio_segments" if results.get("audio_segments") else "speaker_labels"
        else:
            transcript = " ".join(str(t["transcript"]) for t in results.get("transcripts") or [])
            turns = [(UNKNOWN, transcript)]
            roles, source = {}, "transcripts"
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        raise ParseError(Reason.MALFORMED_TRANSCRIPT) from exc
    metadata = {"format": "transcribe_json", "speakers_from": source}
    if roles:
        metadata["speaker_roles"] = ",".join(f"{label}={role}" for label, role in sorted(roles.items()))
    if isinstance(data.get("jobName"), str):
        metadata["job_name"] = data["jobName"]
    return _units(turns), metadata


def _analytics_turns(data: dict[str, Any]) -> tuple[list[TextUnit], dict[str, str]]:
    """Turns of a Call Analytics / Contact Lens transcript, each by its participant's role."""
    listed = data.get("Participants")
    participants: list[Any] = listed if isinstance(listed, list) else []
    declared = {
        str(p.get("ParticipantId")): str(p.get("ParticipantRole"))
        for p in participants
        if isinstance(p, dict) and p.get("ParticipantId") and p.get("ParticipantRole")
    }
    turns: list[tuple[str, str]] = []
    for entry in data["Transcript"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("Content"), str):
            raise ParseError(Reason.MALFORMED_TRANSCRIPT)
        participant = str(entry.get("ParticipantId") or "")
        role = str(entry.get("ParticipantRole") or declared.get(participant) or participant).lower()
        speaker = CALLER if role == "customer" else AGENT if role in _COMPANY_ROLES else UNKNOWN
        turns.append((speaker, entry["Content"]))
    metadata = {"format": "call_analytics_json", "speakers_from": "participant_roles"}
    if isinstance(data.get("LanguageCode"), str):
        metadata["language_code"] = data["LanguageCode"]
    return _units(_merge(turns)), metadata


def _segment_turns(results: dict[str, Any]) -> list[tuple[str, str]]:
    """Turns from `audio_segments` (each has its own transcript and speaker label)."""
    segments = results.get("audio_segments") or []
    if not segments or not all(isinstance(s, dict) and s.get("speaker_label") for s in segments):
        return []
    if not all(isinstance(s.get("transcript"), str) for s in segments):
        raise ValueError("audio segment without a transcript")
    return _merge((str(s["speaker_label"]), s["transcript"]) for s in segments)


def _word_turns(results: dict[str, Any]) -> list[tuple[str, str]]:
    """Turns from the word `items`, each given its speaker by `speaker_labels` or its own label."""
    by_start: dict[str, str] = {}
    spans: list[tuple[float, float, str]] = []
    for segment in (results.get("speaker_labels") or {}).get("segments") or []:
        spans.append((float(segment["start_time"]), float(segment["end_time"]), segment["speaker_label"]))
        for item in segment.get("items") or []:
            by_start[str(item["start_time"])] = item["speaker_label"]
    items = results.get("items") or []
    if not spans and not any(isinstance(i, dict) and i.get("speaker_label") for i in items):
        return []
    turns: list[tuple[str, list[str]]] = []
    for item in items:
        word = str(item["alternatives"][0]["content"])
        if item.get("type") == "punctuation":
            if turns:
                turns[-1][1][-1] += word
            continue
        label = item.get("speaker_label") or _speaker_at(item, by_start, spans)
        if turns and turns[-1][0] == label:
            turns[-1][1].append(word)
        else:
            turns.append((label, [word]))
    return [(label, " ".join(words)) for label, words in turns]


def _merge(turns: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Consecutive turns of one speaker label as one turn."""
    merged: list[tuple[str, str]] = []
    for label, text in turns:
        if merged and merged[-1][0] == label:
            merged[-1] = (label, f"{merged[-1][1]}\n{text}")
        else:
            merged.append((label, text))
    return merged


def _speaker_at(item: dict[str, Any], by_start: dict[str, str], spans: list[tuple[float, float, str]]) -> str:
    start = str(item.get("start_time"))
    if start in by_start:
        return by_start[start]
    time = float(start)
    for begin, end, label in spans:
        if begin <= time <= end:
            return label
    return UNKNOWN


def _roles(labels: list[str], declared: Any) -> dict[str, str]:
    """Each speaker label's role: declared roles first, else the first speaker is the agent."""
    declared = declared if isinstance(declared, dict) else {}
    declared = {str(k): str(v).lower() for k, v in declared.items() if str(v).lower() in (AGENT, CALLER)}
    roles: dict[str, str] = {}
    for label in labels:
        if label in roles:
            continue
        if label in declared:
            roles[label] = declared[label]
        elif label == UNKNOWN:
            roles[label] = UNKNOWN
        else:
            has_agent = AGENT in declared.values() or AGENT in roles.values()
            roles[label] = CALLER if has_agent else AGENT
    return roles


def _units(turns: Iterable[tuple[str, str]]) -> list[TextUnit]:
    """Turn units, empty turns dropped."""
    return [
        TextUnit(kind="turn", speaker=speaker, text=text.strip()) for speaker, text in turns if text.strip()
    ]
