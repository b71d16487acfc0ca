"""An invented MedDRA release in the real ASCII file format (never MedDRA content).

Codes are random 8-digit numbers from a seed, the version is invented, and the hierarchy above the
preferred terms (HLT, HLGT, SOC) has made-up names: only plain English reaction words are shared
with the world, so the tests cannot lean on any real term or code.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class InventedTerm:
    """One LLT of the invented release: its name, its PT's name, and whether it is current."""

    llt: str
    pt: str
    current: bool = True
    soc: str = "Invented disorders of everything"


@dataclass
class InventedRelease:
    """The release as written: codes by name, for assertions."""

    folder: Path
    version: str
    llt_codes: dict[str, str] = field(default_factory=dict)
    pt_codes: dict[str, str] = field(default_factory=dict)
    soc_codes: dict[str, str] = field(default_factory=dict)


DEFAULT_TERMS = [
    InventedTerm("Rash", "Rash", soc="Invented skin class"),
    InventedTerm("Skin eruption", "Rash", soc="Invented skin class"),
    InventedTerm("Rashes itchy", "Rash", current=False, soc="Invented skin class"),
    InventedTerm("Vomiting", "Vomiting", soc="Invented gut class"),
    InventedTerm("Being sick (vomiting)", "Vomiting", soc="Invented gut class"),
    InventedTerm("Nausea", "Nausea", soc="Invented gut class"),
    InventedTerm("Headache", "Headache", soc="Invented head class"),
    InventedTerm("Dizziness", "Dizziness", soc="Invented head class"),
    InventedTerm("Diarrhea", "Diarrhoea", soc="Invented gut class"),
    InventedTerm("Anaphylactic reaction", "Anaphylactic reaction", soc="Invented immune class"),
    InventedTerm("Swelling of face", "Face swelling", soc="Invented skin class"),
    InventedTerm("Bleeding", "Haemorrhage", soc="Invented blood class"),
    InventedTerm("Bleeding", "Bleeding tendency", soc="Invented blood class"),
]


def write_release(
    folder: Path,
    terms: list[InventedTerm] | None = None,
    *,
    seed: int = 0,
    version: str | None = None,
    language: str = "English",
    encoding: str = "latin-1",
    subfolder: str | None = "MedAscii",
) -> InventedRelease:
    """Write llt, pt, hlt, hlgt, soc, mdhier and meddra_release .asc files (CRLF, trailing `$`)."""
    rng = random.Random(seed)
    terms = DEFAULT_TERMS if terms is None else terms
    version = version or f"{rng.randint(40, 99)}.{rng.randint(0, 1)}"
    root = folder / subfolder if subfolder else folder
    root.mkdir(parents=True, exist_ok=True)
    release = InventedRelease(folder=folder, version=version)
    used: set[str] = set()

    def new_code() -> str:
        while True:
            code = str(rng.randint(70_000_000, 79_999_999))
            if code not in used:
                used.add(code)
                return code

    for term in terms:
        release.soc_codes.setdefault(term.soc, new_code())
        release.pt_codes.setdefault(term.pt, new_code())
    llt_lines, llt_codes_by_key = [], {}
    for term in terms:
        pt_code = release.pt_codes[term.pt]
        # The PT's own LLT has the PT's code (as in MedDRA); other LLTs get codes of their own.
        code = pt_code if term.llt == term.pt else new_code()
        llt_codes_by_key[(term.llt, term.pt)] = code
        release.llt_codes.setdefault(term.llt, code)
        currency = "Y" if term.current else "N"
        llt_lines.append(f"{code}${term.llt}${pt_code}$$$$$$${currency}$$")
    for pt, pt_code in release.pt_codes.items():
        if not any(t.llt == pt and t.pt == pt for t in terms):
            llt_lines.append(f"{pt_code}${pt}${pt_code}$$$$$$$Y$$")
    soc_of_pt = {t.pt: t.soc for t in terms}
    hlt_code = {pt: new_code() for pt in release.pt_codes}
    hlgt_code = {soc: new_code() for soc in release.soc_codes}
    soc_abbrev = {soc: f"Inv{i}" for i, soc in enumerate(release.soc_codes)}
    files = {
        "llt.asc": llt_lines,
        "pt.asc": [
            f"{code}${pt}$${release.soc_codes[soc_of_pt[pt]]}$$$$$$$" for pt, code in release.pt_codes.items()
        ],
        "hlt.asc": [f"{hlt_code[pt]}$Invented group of {pt.lower()}$$$$$$$$" for pt in release.pt_codes],
        "hlgt.asc": [
            f"{hlgt_code[soc]}$Invented higher group of {soc.lower()}$$$$$$$$" for soc in release.soc_codes
        ],
        "soc.asc": [f"{code}${soc}${soc_abbrev[soc]}$$$$$$$$" for soc, code in release.soc_codes.items()],
        "mdhier.asc": [
            f"{code}${hlt_code[pt]}${hlgt_code[soc_of_pt[pt]]}${release.soc_codes[soc_of_pt[pt]]}${pt}$"
            f"Invented group of {pt.lower()}$Invented higher group of {soc_of_pt[pt].lower()}$"
            f"{soc_of_pt[pt]}${soc_abbrev[soc_of_pt[pt]]}$${release.soc_codes[soc_of_pt[pt]]}$Y$"
            for pt, code in release.pt_codes.items()
        ],
        "meddra_release.asc": [f"{version}${language}$$$"],
    }
    for name, lines in files.items():
        (root / name).write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return release
