"""ADE-Corpus-V2 loading, de-duplication and the two split protocols (`pmid`, `random`)."""

from __future__ import annotations

import hashlib
import random as _random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pv_model import LABELS

AE, NOT_AE = LABELS[1], LABELS[0]
CORPUS_FILES = ("DRUG-AE.rel", "ADE-NEG.txt")
OPTIONAL_FILES = ("DRUG-DOSE.rel", "README.txt")
DEFAULT_DATA_DIR = "../shared/data/ade-corpus-v2"
Protocol = Literal["pmid", "random"]
PROTOCOLS: tuple[Protocol, ...] = ("pmid", "random")
LEAKY_NOTE = "LEAKY: random sentence split (sentences of one abstract land in train and test)"


@dataclass(frozen=True)
class Example:
    """One de-duplicated sentence with its label and annotated drug / effect strings."""

    pmid: str
    text: str
    label: str
    drugs: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()

    @property
    def target(self) -> int:
        """1 for Adverse_Event, 0 for Not_AE."""
        return int(self.label == AE)


@dataclass
class Splits:
    """Train / validation / test lists of one protocol."""

    train: list[Example]
    validation: list[Example]
    test: list[Example]
    protocol: str = "pmid"
    seed: int = 42
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """Sizes and positive counts per part (ids only, no text)."""
        out: dict = {"protocol": self.protocol, "seed": self.seed, "notes": list(self.notes)}
        for name in ("train", "validation", "test"):
            part = getattr(self, name)
            out[name] = {
                "sentences": len(part),
                "adverse_event": sum(e.target for e in part),
                "pmids": len({e.pmid for e in part}),
            }
        return out


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _dedup_key(text: str) -> str:
    return _normalise(text).lower()


def _read_lines(path: Path) -> list[str]:
    return [line.rstrip("\r\n") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_corpus(data_dir: str | Path) -> list[Example]:
    """Read an ADE-Corpus-V2 folder into de-duplicated examples.

    DRUG-AE.rel holds one line per drug-effect pair, so a sentence repeats once per pair: its
    pairs are merged into one example. A sentence in both files counts as Adverse_Event. The
    same sentence text under several PMIDs is kept once (the first PMID in sorted order), so
    identical boilerplate ("A case report.") cannot sit on both sides of a split.
    """
    root = Path(data_dir)
    missing = [name for name in CORPUS_FILES if not (root / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{root} is not an ADE-Corpus-V2 folder: missing {', '.join(missing)}")

    positives: dict[str, dict] = {}
    for number, line in enumerate(_read_lines(root / "DRUG-AE.rel"), start=1):
        parts = line.split("|")
        if len(parts) != 8:
            raise ValueError(f"DRUG-AE.rel line {number}: expected 8 '|' fields, got {len(parts)}")
        pmid, sentence, effect, drug = parts[0].strip(), parts[1], parts[2].strip(), parts[5].strip()
        key = _dedup_key(sentence)
        entry = positives.setdefault(
            key, {"pmids": set(), "text": _normalise(sentence), "drugs": [], "effects": []}
        )
        entry["pmids"].add(pmid)
        if drug and drug not in entry["drugs"]:
            entry["drugs"].append(drug)
        if effect and effect not in entry["effects"]:
            entry["effects"].append(effect)

    negatives: dict[str, dict] = {}
    for number, line in enumerate(_read_lines(root / "ADE-NEG.txt"), start=1):
        parts = line.split(" ", 2)
        if len(parts) != 3 or parts[1] != "NEG":
            raise ValueError(f"ADE-NEG.txt line {number}: expected 'PMID NEG sentence'")
        key = _dedup_key(parts[2])
        if key in positives:
            continue
        negatives.setdefault(key, {"pmids": set(), "text": _normalise(parts[2])})["pmids"].add(parts[0])

    examples = [
        Example(min(v["pmids"]), v["text"], AE, tuple(v["drugs"]), tuple(v["effects"]))
        for v in positives.values()
    ]
    examples += [Example(min(v["pmids"]), v["text"], NOT_AE) for v in negatives.values()]
    examples.sort(key=lambda e: (e.pmid, e.text))
    return examples


def data_sha256(data_dir: str | Path) -> str:
    """sha256 over the corpus files (names and bytes), to record what a model was trained on."""
    digest = hashlib.sha256()
    root = Path(data_dir)
    for name in CORPUS_FILES + OPTIONAL_FILES:
        path = root / name
        if path.is_file():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def split(
    examples: list[Example],
    protocol: Protocol = "pmid",
    seed: int = 42,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
) -> Splits:
    """Split examples by `protocol`.

    `pmid` (honest): whole PubMed ids go to one part; ids are stratified by whether they hold
    any Adverse_Event sentence, and shuffled with `seed`. `random` (leaky, only to compare with
    published numbers): an 80/20 random sentence split, validation carved out of the 80.
    """
    if protocol == "pmid":
        return _split_by_pmid(examples, seed, validation_fraction, test_fraction)
    if protocol == "random":
        return _split_random(examples, seed, validation_fraction)
    raise ValueError(f"unknown split protocol {protocol!r}; expected one of {PROTOCOLS}")


def _split_by_pmid(examples: list[Example], seed: int, val_frac: float, test_frac: float) -> Splits:
    by_pmid: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_pmid[example.pmid].append(example)
    rng = _random.Random(seed)
    parts: dict[str, list[Example]] = {"train": [], "validation": [], "test": []}
    for has_ae in (True, False):
        pmids = sorted(p for p, group in by_pmid.items() if any(e.target for e in group) == has_ae)
        rng.shuffle(pmids)
        n_test = round(len(pmids) * test_frac)
        n_val = round(len(pmids) * val_frac)
        for index, pmid in enumerate(pmids):
            name = "test" if index < n_test else "validation" if index < n_test + n_val else "train"
            parts[name].extend(by_pmid[pmid])
    return Splits(parts["train"], parts["validation"], parts["test"], protocol="pmid", seed=seed)


def _split_random(examples: list[Example], seed: int, val_frac: float) -> Splits:
    shuffled = list(examples)
    _random.Random(seed).shuffle(shuffled)
    n_test = round(len(shuffled) * 0.2)
    test, rest = shuffled[:n_test], shuffled[n_test:]
    n_val = round(len(rest) * val_frac)
    return Splits(rest[n_val:], rest[:n_val], test, protocol="random", seed=seed, notes=[LEAKY_NOTE])


def write_corpus(examples: list[Example], data_dir: str | Path) -> Path:
    """Write examples as an ADE-Corpus-V2 folder (DRUG-AE.rel, ADE-NEG.txt).

    Offsets are written relative to the sentence (the original's are document-level and
    cannot be rebuilt from a sentence); readers here find the strings in the text anyway.
    """
    root = Path(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    rel_lines, neg_lines = [], []
    for example in examples:
        text = _normalise(example.text)
        if example.label == AE:
            pairs = [(effect, drug) for effect in example.effects or ("",) for drug in example.drugs or ("",)]
            for effect, drug in pairs:
                e_at, d_at = max(text.find(effect), 0), max(text.find(drug), 0)
                fields = [example.pmid, text, effect, e_at, e_at + len(effect), drug, d_at, d_at + len(drug)]
                rel_lines.append("|".join(str(f) for f in fields))
        else:
            neg_lines.append(f"{example.pmid} NEG {text}")
    (root / "DRUG-AE.rel").write_text("".join(line + "\n" for line in rel_lines), encoding="utf-8")
    (root / "ADE-NEG.txt").write_text("".join(line + "\n" for line in neg_lines), encoding="utf-8")
    return root


def synthetic_examples(n_pmids: int = 60, seed: int = 0) -> list[Example]:
    """A small, learnable corpus in the ADE shape for tests and smoke runs (not for training).

    Each PMID holds two or three sentences; roughly half the PMIDs hold an Adverse_Event.
    """
    rng = _random.Random(seed)
    drugs = ["aspirin", "warfarin", "lithium", "amiodarone", "cisplatin", "metformin", "heparin"]
    effects = ["rash", "hepatitis", "bleeding", "neutropenia", "seizures", "pancreatitis", "tremor"]
    diseases = ["hypertension", "arthritis", "asthma", "epilepsy", "diabetes", "lymphoma"]
    out = []
    for index in range(n_pmids):
        pmid = str(1000000 + index)
        for sentence in range(rng.randint(2, 3)):
            drug, effect, disease = rng.choice(drugs), rng.choice(effects), rng.choice(diseases)
            if index % 2 == 0 and sentence == 0:
                text = f"In case {index}, the patient developed severe {effect} after treatment with {drug}."
                out.append(Example(pmid, text, AE, (drug,), (effect,)))
            else:
                age = rng.randint(20, 80)
                text = f"In case {index}, a {age}-year-old with {disease} was seen {sentence + 2} times."
                out.append(Example(pmid, text, NOT_AE))
    return out
