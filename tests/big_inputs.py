"""Big intake documents: a call note of some 620 KB whose caller turns report 3,000 reactions."""

from __future__ import annotations

_DRUGS = ("warfarin", "amoxicillin", "lisinopril", "metformin", "sertraline", "atorvastatin")
_REACTIONS = ("a rash", "dizziness", "nausea", "a headache", "itching", "swelling of the ankles")


def big_call_note(flagged: int = 3000, target_bytes: int = 620 * 1024) -> bytes:
    """A plain-text call note (`Agent:` / `Caller:` lines): `flagged` caller sentences that each
    name a drug and a reaction the endpoint double scores as an adverse event, between agent turns
    padded so that the note is about `target_bytes` long."""
    lines = []
    for n in range(flagged):
        drug, reaction = _DRUGS[n % len(_DRUGS)], _REACTIONS[(n // len(_DRUGS)) % len(_REACTIONS)]
        lines.append(f"Caller: On day {n + 1} after the {drug} dose I had {reaction} again.")
        lines.append("Agent: Thank you, I have noted that.")
    caller_bytes = sum(len(line) + 1 for line in lines if line.startswith("Caller"))
    agent_chars = max(len("Agent: ok."), (target_bytes - caller_bytes) // flagged - 1)
    filler = (
        "Agent: " + ("Noted for the record. " * (agent_chars // 22 + 1))[: agent_chars - 7].rstrip() + "."
    )
    return ("\n".join(line if line.startswith("Caller") else filler for line in lines) + "\n").encode()
