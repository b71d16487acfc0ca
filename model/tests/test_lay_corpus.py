"""The lay corpus tooling on tiny corpora the tests write: validation, family splits, the sentences
the models learn from (as the pipeline screens them), counts and the datasheet block."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pv_model.cli import main
from pv_model.lay import (
    STATS_BEGIN,
    STATS_END,
    LayCorpusError,
    document_scores,
    document_sentences,
    family_split,
    load_lay,
    sentence_examples,
    stats,
    synthetic_lay_documents,
    token_sentences,
    write_lay_corpus,
)


def post(**changes: Any) -> dict[str, Any]:
    """One valid review-style AE post; `changes` replace its fields."""
    doc = {
        "id": "b001-0001",
        "batch": "b001",
        "family": "b-statin-muscle",
        "register": "social",
        "voice": "patient",
        "lang": "en",
        "product": "Lipitor",
        "label": "AE",
        "kind": "ae",
        "text": "2 weeks on this and my legs ache like ive run a marathon. cant climb stairs",
        "spans": [
            {"type": "AE", "text": "legs ache", "norm": "myalgia"},
            {"type": "AE", "text": "cant climb stairs", "norm": "muscle weakness"},
        ],
        "serious": False,
        "seriousness": [],
    }
    return doc | changes


def problems_of(tmp_path: Path, *docs: dict[str, Any], writer: str = "i14b") -> list[str]:
    return load_lay(write_lay_corpus(docs, tmp_path / "lay", writer=writer), strict=False).problems


def test_a_valid_document_loads_with_its_spans_found_in_the_text(tmp_path: Path) -> None:
    corpus = load_lay(write_lay_corpus([post()], tmp_path / "lay"))
    [doc] = corpus.documents
    assert corpus.problems == [] and doc.writer == "i14b" and doc.product == ("Lipitor",)
    assert [doc.text[s.start : s.end] for s in doc.spans] == ["legs ache", "cant climb stairs"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"spans": [{"type": "AE", "text": "leg ache", "norm": "myalgia"}]}, "is not in the text"),
        (
            {"spans": [{"type": "AE", "text": "legs ache", "norm": "myalgia", "occurrence": 2}]},
            "occurrence 2",
        ),
        ({"label": "not_AE", "kind": "negated"}, "has no AE span"),
        ({"spans": [], "label": "AE"}, "needs an AE span"),
        ({"product": None}, "needs a suspect DRUG span or a product"),
        ({"kind": "joke"}, "kind 'ae'"),
        ({"serious": True}, "serious is True but seriousness lists []"),
        ({"register": "email"}, "product is for social posts only"),
        ({"family": "c-statin-muscle"}, "does not start with 'b-'"),
        ({"id": "b002-0001"}, "id must be b001-<4 digits>"),
        ({"voice": "doctor"}, "voice 'doctor'"),
        ({"spamz": []}, "unknown field(s) spamz"),
        (
            {
                "spans": [
                    {"type": "AE", "text": "legs ache", "norm": "myalgia"},
                    {"type": "AE", "text": "ache like", "norm": "pain"},
                ]
            },
            "overlap",
        ),
        (
            {"spans": [{"type": "DRUG", "text": "this", "norm": "Atorvastatin", "role": "suspect"}]},
            "lowercase",
        ),
        ({"spans": [{"type": "OTHER_EVENT", "text": "legs ache", "norm": "myalgia"}]}, "OTHER_EVENT why"),
    ],
)
def test_each_rule_of_the_format_is_checked(tmp_path: Path, changes: dict, expected: str) -> None:
    problems = problems_of(tmp_path, post(**changes))
    assert any(expected in p for p in problems), problems


def test_a_later_occurrence_of_a_repeated_string_is_the_one_labelled(tmp_path: Path) -> None:
    text = "rash on my arm, then a rash on my face"
    spans = [{"type": "AE", "text": "rash", "norm": "rash", "occurrence": 2}]
    [doc] = load_lay(write_lay_corpus([post(text=text, spans=spans)], tmp_path / "lay")).documents
    assert doc.spans[0].start == text.rindex("rash")


def test_ids_are_unique_and_a_family_has_one_writer(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, post(), post())
    assert any("b001-0001 is used twice" in p for p in problems)
    root = write_lay_corpus([post()], tmp_path / "two", writer="i14b")
    write_lay_corpus([post(id="c050-0001", batch="c050", family="b-statin-muscle")], root, writer="i14c")
    problems = load_lay(root, strict=False).problems
    assert "family b-statin-muscle is written by i14b, i14c: a family has one writer" in problems
    with pytest.raises(LayCorpusError):
        load_lay(root)


def test_a_batch_needs_its_meta_file_with_five_shots_and_a_brief(tmp_path: Path) -> None:
    root = write_lay_corpus([post()], tmp_path / "lay")
    meta_path = root / "batches" / "b001.meta.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps(meta | {"shots": meta["shots"][:3], "instructions": ""}))
    problems = load_lay(root, strict=False).problems
    assert any("5 seed examples" in p for p in problems) and any("the brief" in p for p in problems)
    meta_path.unlink()
    assert "b001: no b001.meta.json" in load_lay(root, strict=False).problems


def test_families_split_by_a_stable_hash_about_70_15_15() -> None:
    names = [f"b-family-{i}" for i in range(3000)]
    shares = {
        part: sum(family_split(n) == part for n in names) / len(names) for part in ("train", "dev", "test")
    }
    assert shares["train"] == pytest.approx(0.70, abs=0.03)
    assert shares["dev"] == pytest.approx(0.15, abs=0.03) and shares["test"] == pytest.approx(0.15, abs=0.03)
    assert [family_split(n) for n in names[:50]] == [family_split(n) for n in names[:50]]


def test_every_document_of_a_family_lands_in_its_split(tmp_path: Path) -> None:
    corpus = load_lay(write_lay_corpus(synthetic_lay_documents(30), tmp_path / "lay"))
    for part in ("train", "dev", "test"):
        for doc in corpus.part(part):
            assert family_split(doc.family) == part
    assert sum(len(corpus.part(p)) for p in ("train", "dev", "test")) == len(corpus.documents)


def call_doc() -> dict[str, Any]:
    text = (
        "Agent: Thanks for calling, is this about the amoxicillin?\n"
        "Caller: yes, my daughter started it monday.\n"
        "Agent: And what happened?\n"
        "Caller: she came out in hives all over. Her lips swelled up too"
    )
    return post(
        register="call",
        voice="caregiver",
        product=None,
        text=text,
        spans=[
            {"type": "DRUG", "text": "amoxicillin", "norm": "amoxicillin", "role": "suspect"},
            {"type": "AE", "text": "hives all over", "norm": "urticaria"},
            {"type": "AE", "text": "lips swelled up", "norm": "lip swelling"},
        ],
    )


def test_a_call_is_learnt_from_its_caller_turns_only(tmp_path: Path) -> None:
    [doc] = load_lay(write_lay_corpus([call_doc()], tmp_path / "lay")).documents
    sentences = document_sentences(doc)
    assert [s.text for s in sentences] == [
        "yes, my daughter started it monday.",
        "she came out in hives all over.",
        "Her lips swelled up too",
    ]
    assert [s.target for s in sentences] == [0, 1, 1]
    # the agent named the drug: no caller sentence holds its span
    assert [s.text[sp.start : sp.end] for s in sentences for sp in s.spans] == [
        "hives all over",
        "lips swelled up",
    ]


def test_an_email_is_learnt_from_its_subject_and_new_text_not_its_signature(tmp_path: Path) -> None:
    text = (
        "Subject: Rash after Augmentin\n"
        "Hello, I was given Augmentin for a chest infection and on day 3 I got an itchy\n"
        "rash on my back.\n\n"
        "Kind regards,\nMaria Keller\n07700 900123"
    )
    doc = post(
        register="email",
        product=None,
        text=text,
        spans=[
            {"type": "AE", "text": "Rash", "norm": "rash"},
            {
                "type": "DRUG",
                "text": "Augmentin",
                "norm": "amoxicillin-clavulanate",
                "role": "suspect",
                "occurrence": 2,
            },
            {"type": "INDICATION", "text": "chest infection", "norm": "chest infection"},
            {"type": "AE", "text": "itchy\nrash", "norm": "pruritic rash"},
        ],
    )
    [loaded] = load_lay(write_lay_corpus([doc], tmp_path / "lay")).documents
    sentences = document_sentences(loaded)
    assert [s.text for s in sentences] == [
        "Rash after Augmentin",
        "Hello, I was given Augmentin for a chest infection and on day 3 I got an itchy rash on my back.",
    ]
    [examples_first, examples_second] = sentence_examples([loaded])
    assert examples_second.label == "Adverse_Event" and examples_second.effects == ("itchy rash",)
    tagged = token_sentences([loaded])[1]
    assert [(tagged.text[s.start : s.end], s.type) for s in tagged.spans] == [
        ("Augmentin", "DRUG"),
        ("itchy rash", "AE"),
    ]  # the indication is not a tag
    assert examples_first.pmid == "lay:b001-0001"


def test_a_span_the_splitter_cuts_is_warned_about_and_not_tagged(tmp_path: Path) -> None:
    doc = post(text="my legs. ache so bad", spans=[{"type": "AE", "text": "legs. ache", "norm": "myalgia"}])
    corpus = load_lay(write_lay_corpus([doc], tmp_path / "lay"))
    assert any("cuts a AE span" in w for w in corpus.warnings)
    assert all(s.spans == () for s in token_sentences(corpus.documents))
    assert [e.label for e in sentence_examples(corpus.documents)] == ["Adverse_Event", "Adverse_Event"]


def test_a_document_scores_the_highest_of_its_sentences() -> None:
    assert document_scores([0.1, 0.9, 0.3, 0.2], [0, 0, 1, 1], 3) == [0.9, 0.3, 0.0]


def test_stats_count_documents_and_sentences_by_label_register_and_split(tmp_path: Path) -> None:
    corpus = load_lay(
        write_lay_corpus([post(), call_doc() | {"id": "b002-0001", "batch": "b002"}], tmp_path / "lay")
    )
    summary = stats(corpus)
    assert summary["documents"] == 2 and summary["sentences"] == 2 + 3
    assert summary["by_register"]["call"] == {
        "documents": 1,
        "ae_documents": 1,
        "sentences": 3,
        "ae_sentences": 2,
    }
    assert summary["review_style_posts"] == 1 and summary["distinct_reactions"] == 4
    assert sum(r["documents"] for r in summary["by_split"].values()) == 2


def test_cli_validate_fails_on_a_problem_and_stats_rewrite_the_datasheet_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_lay_corpus(synthetic_lay_documents(12), tmp_path / "lay")
    assert main(["lay", "validate", "--lay", str(root)]) == 0
    sheet = tmp_path / "DATASHEET.md"
    sheet.write_text(f"# Datasheet\n\nbefore\n{STATS_BEGIN}\nold counts\n{STATS_END}\nafter\n")
    assert main(["lay", "stats", "--lay", str(root), "--datasheet", str(sheet)]) == 0
    written = sheet.read_text()
    assert "old counts" not in written and "36 documents" in written and written.endswith("after\n")
    broken = copy.deepcopy(synthetic_lay_documents(12))
    broken[0]["spans"][0]["text"] = "not there"
    write_lay_corpus(broken, tmp_path / "broken")
    capsys.readouterr()
    assert main(["lay", "validate", "--lay", str(tmp_path / "broken")]) == 1
    assert "is not in the text" in capsys.readouterr().out


def test_a_drug_name_tagged_in_one_document_and_left_untagged_in_another_is_warned_about(
    tmp_path: Path,
) -> None:
    tagged = post(
        product=None,
        text="my Lipitor gave me sore legs",
        spans=[
            {"type": "DRUG", "text": "Lipitor", "norm": "atorvastatin", "role": "suspect"},
            {"type": "AE", "text": "sore legs", "norm": "myalgia"},
        ],
    )
    untagged = post(
        id="b001-0002",
        label="not_AE",
        kind="no_event",
        product=None,
        text="Is Lipitor cheaper now?",
        spans=[],
    )
    corpus = load_lay(write_lay_corpus([tagged, untagged], tmp_path / "lay"))
    assert "b001-0002: 'Lipitor' is tagged DRUG elsewhere but not here" in corpus.warnings
