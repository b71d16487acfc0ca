"""Call transcripts: Transcribe JSON (speaker labels, audio segments, none) and Agent/Caller text."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pv.channels import parse_object
from pv.models import Quarantined, SourceDocument

LANDED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def _parse(key: str, raw: bytes) -> SourceDocument | Quarantined:
    [result] = parse_object(key, raw, LANDED, 1_000_000)
    return result


def _turns(result: SourceDocument | Quarantined) -> list[tuple[str | None, str]]:
    assert isinstance(result, SourceDocument)
    return [(u.speaker, u.text) for u in result.units]


def _word(content: str, start: float, speaker: str | None = None) -> dict:
    item = {
        "start_time": f"{start:.2f}",
        "end_time": f"{start + 0.3:.2f}",
        "alternatives": [{"confidence": "0.99", "content": content}],
        "type": "pronunciation",
    }
    if speaker:
        item["speaker_label"] = speaker
    return item


def _punct(content: str) -> dict:
    return {"alternatives": [{"confidence": "0.0", "content": content}], "type": "punctuation"}


def _speaker_labels_result(extra: dict | None = None) -> bytes:
    items = [_word("Hello", 0.0), _punct(","), _word("how", 0.4), _word("can", 0.8), _punct("?")]
    items += [_word("My", 2.0), _word("legs", 2.4), _word("ache", 2.8), _punct(".")]
    items += [_word("Sorry", 4.0), _punct(".")]
    segments = [
        {
            "start_time": "0.00",
            "end_time": "1.10",
            "speaker_label": "spk_0",
            "items": [{"start_time": "0.00"}],
        },
        {"start_time": "2.00", "end_time": "3.10", "speaker_label": "spk_1", "items": []},
        {"start_time": "4.00", "end_time": "4.30", "speaker_label": "spk_0", "items": []},
    ]
    for segment in segments:
        segment["items"] = [{**i, "speaker_label": segment["speaker_label"]} for i in segment["items"]]
    doc = {
        "jobName": "call-1",
        "results": {
            "transcripts": [{"transcript": "..."}],
            "speaker_labels": {"segments": segments},
            "items": items,
        },
    }
    doc.update(extra or {})
    return json.dumps(doc).encode()


def test_speaker_labels_become_turns_with_the_first_speaker_as_agent():
    result = _parse("call/c1.json", _speaker_labels_result())
    assert _turns(result) == [("agent", "Hello, how can?"), ("caller", "My legs ache."), ("agent", "Sorry.")]
    assert isinstance(result, SourceDocument)
    assert result.metadata["speaker_roles"] == "spk_0=agent,spk_1=caller"
    assert result.text == "My legs ache."


def test_speaker_roles_in_the_export_override_the_first_speaker_rule():
    raw = _speaker_labels_result({"speaker_roles": {"spk_0": "caller", "spk_1": "agent"}})
    assert [speaker for speaker, _ in _turns(_parse("call/c2.json", raw))] == ["caller", "agent", "caller"]


def test_audio_segments_become_turns_and_consecutive_segments_of_one_speaker_merge():
    doc = {
        "results": {
            "transcripts": [{"transcript": "ignored"}],
            "audio_segments": [
                {"id": 0, "transcript": "Support line, hello.", "speaker_label": "spk_0"},
                {"id": 1, "transcript": "Ozempic makes me vomit.", "speaker_label": "spk_1"},
                {"id": 2, "transcript": "Every day.", "speaker_label": "spk_1"},
                {"id": 3, "transcript": "Someone else on the line.", "speaker_label": "spk_2"},
            ],
        }
    }
    assert _turns(_parse("call/c3.json", json.dumps(doc).encode())) == [
        ("agent", "Support line, hello."),
        ("caller", "Ozempic makes me vomit.\nEvery day."),
        ("caller", "Someone else on the line."),
    ]


def test_item_level_speaker_labels_are_used_without_segments():
    items = [_word("Hi", 0.0, "spk_0"), _word("Rash", 1.0, "spk_1"), _punct("!")]
    raw = json.dumps({"results": {"items": items}}).encode()
    assert _turns(_parse("call/c4.json", raw)) == [("agent", "Hi"), ("caller", "Rash!")]


def test_transcribe_result_without_speaker_labels_is_one_unknown_screened_turn():
    raw = json.dumps({"results": {"transcripts": [{"transcript": "I feel dizzy since the pills."}]}}).encode()
    result = _parse("call/c5.json", raw)
    assert _turns(result) == [("unknown", "I feel dizzy since the pills.")]
    assert isinstance(result, SourceDocument)
    assert result.text == "I feel dizzy since the pills."


def test_json_that_is_not_a_transcribe_result_is_malformed_transcript():
    for raw in (
        b"[1, 2]",
        b'{"results": []}',
        b'{"results": {"audio_segments": [{"speaker_label": "spk_0"}]}}',
    ):
        result = _parse("call/bad.json", raw)
        assert isinstance(result, Quarantined)
        assert result.reason == "malformed_transcript"
    result = _parse("call/bad.json", b'{"results": {"items": [{"speaker_label": "spk_0"}]}}')
    assert isinstance(result, Quarantined)
    assert result.reason == "malformed_transcript"


def test_transcribe_result_with_an_empty_transcript_has_no_text():
    result = _parse("call/silent.json", b'{"results": {"transcripts": [{"transcript": ""}], "items": []}}')
    assert isinstance(result, Quarantined)
    assert result.reason == "no_text"


def test_agent_caller_text_lines_become_turns_and_continuation_lines_join():
    raw = b"Agent: Hello.\nCaller: My mum bled\nafter warfarin.\nAGENT: I see.\ncaller:Thanks\nCaller: Bye\n"
    assert _turns(_parse("call/t1.txt", raw)) == [
        ("agent", "Hello."),
        ("caller", "My mum bled\nafter warfarin."),
        ("agent", "I see."),
        ("caller", "Thanks"),
        ("caller", "Bye"),
    ]


def test_customer_patient_rep_pharmacist_labels_and_timestamps_map_to_roles():
    raw = b"[00:00:04] Pharmacist: Any side effects?\n00:10 Patient: None.\nRep: ok\nCustomer: bye\n"
    assert _turns(_parse("call/t2.txt", raw)) == [
        ("agent", "Any side effects?"),
        ("caller", "None."),
        ("agent", "ok"),
        ("caller", "bye"),
    ]


def test_lines_before_the_first_label_are_an_unknown_screened_turn():
    assert _turns(_parse("call/t3.txt", b"Call ref 12\nAgent: Hello\nCaller: Hi\n"))[0] == (
        "unknown",
        "Call ref 12",
    )


def test_text_without_labels_is_one_unknown_turn():
    raw = b"Note: patient says the rash started after the second dose.\nHe is fine now.\n"
    assert _turns(_parse("call/t4.txt", raw)) == [
        ("unknown", "Note: patient says the rash started after the second dose.\nHe is fine now.")
    ]


def test_windows_1252_text_transcript_decodes_and_records_the_encoding():
    result = _parse("call/t5.txt", "Caller: I can’t sleep since the tablets".encode("cp1252"))
    assert _turns(result) == [("caller", "I can’t sleep since the tablets")]
    assert isinstance(result, SourceDocument)
    assert result.metadata["encoding"] == "cp1252"


def test_transcript_with_only_agent_turns_has_no_text():
    result = _parse("call/t6.txt", b"Agent: Hello?\nAgent: Anyone there?\n")
    assert isinstance(result, Quarantined)
    assert result.reason == "no_text"


def _analytics(transcript: list[dict], **extra: object) -> bytes:
    return json.dumps(
        {"JobStatus": "COMPLETED", "LanguageCode": "en-US", "Transcript": transcript, **extra}
    ).encode()


def test_a_call_analytics_transcript_takes_each_turns_participant_role():
    """GIVEN a Transcribe Call Analytics result WHEN parsed THEN CUSTOMER turns are the caller's
    (screened), AGENT turns the agent's (not screened), consecutive turns of one role joined."""
    raw = _analytics(
        [
            {
                "ParticipantRole": "AGENT",
                "Content": "Drug safety line, how can I help?",
                "BeginOffsetMillis": 0,
            },
            {
                "ParticipantRole": "CUSTOMER",
                "Content": "I started Eliquis last week.",
                "BeginOffsetMillis": 900,
            },
            {"ParticipantRole": "CUSTOMER", "Content": "Now my gums bleed.", "BeginOffsetMillis": 2100},
        ]
    )
    doc = _parse("call/analytics.json", raw)
    assert _turns(doc) == [
        ("agent", "Drug safety line, how can I help?"),
        ("caller", "I started Eliquis last week.\nNow my gums bleed."),
    ]
    assert isinstance(doc, SourceDocument)
    assert [u.is_screened for u in doc.units] == [False, True]
    assert doc.metadata["format"] == "call_analytics_json"
    assert doc.language == "en-US"


def test_a_contact_lens_transcript_finds_roles_through_its_participants():
    """GIVEN a Contact Lens transcript (turns carry a ParticipantId, Participants give the roles)
    WHEN parsed THEN the customer is the caller, and a bot or another unknown role is not the agent."""
    raw = _analytics(
        [
            {"ParticipantId": "BOT-1", "Content": "Press one for drug safety."},
            {"ParticipantId": "C-1", "Content": "My son got a rash from the amoxicillin."},
            {"ParticipantId": "A-7", "Content": "I'm sorry to hear that."},
            {"ParticipantId": "X-9", "Content": "Hello?"},
        ],
        Participants=[
            {"ParticipantId": "BOT-1", "ParticipantRole": "CUSTOM_BOT"},
            {"ParticipantId": "C-1", "ParticipantRole": "CUSTOMER"},
            {"ParticipantId": "A-7", "ParticipantRole": "AGENT"},
        ],
    )
    assert [speaker for speaker, _ in _turns(_parse("call/lens.json", raw))] == [
        "agent",
        "caller",
        "agent",
        "unknown",
    ]


def test_a_call_analytics_turn_without_text_content_is_a_malformed_transcript():
    raw = _analytics([{"ParticipantRole": "CUSTOMER", "Content": {"text": "rash"}}])
    result = _parse("call/bad.json", raw)
    assert isinstance(result, Quarantined) and result.reason == "malformed_transcript"
