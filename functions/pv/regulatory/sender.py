"""The E2B sender: who sends the ICSRs (C.3) and the batch routing ids, from template parameters."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sender:
    """C.3 and the batch routing ids, from the deployment's parameters."""

    organization: str
    identifier: str
    country: str = ""
    receiver: str = ""
    sender_type: str = "1"  # pharmaceutical company (code list 7)


def safety_report_id(case_id: str, sender: Sender) -> str:
    """C.1.1 as ICH recommends it: country, sender, and the sender's own case number."""
    return "-".join(p for p in (sender.country.upper(), sender.identifier, case_id) if p)
