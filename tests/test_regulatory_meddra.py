"""MedDRA: a release read from its ASCII files (folder or S3 prefix), and reactions coded to it."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from meddra_release import InventedTerm, write_release
from moto import mock_aws
from pv.regulatory.coding import MeddraCoder, fold, uncoded_without_dictionary, variant_key
from pv.regulatory.meddra import MeddraReleaseError, release_from_folder, release_from_s3
from template_stack import provision_template


@pytest.fixture
def invented(tmp_path: Path):
    return write_release(tmp_path / "release", seed=7)


def test_release_is_read_from_the_medascii_folder_with_version_and_primary_soc(invented) -> None:
    release = release_from_folder(invented.folder)
    assert release.version == invented.version
    assert release.language == "English"
    term = release.term(invented.llt_codes["Skin eruption"])
    assert term is not None
    assert (term.pt_code, term.pt_name) == (invented.pt_codes["Rash"], "Rash")
    assert (term.soc_code, term.soc_name) == (
        invented.soc_codes["Invented skin class"],
        "Invented skin class",
    )
    assert term.version == invented.version
    assert not release.llts[invented.llt_codes["Rashes itchy"]].current


def test_release_in_utf8_with_accents_is_read(tmp_path: Path) -> None:
    written = write_release(
        tmp_path, [InventedTerm("Éruption cutanée", "Éruption cutanée")], encoding="utf-8", subfolder=None
    )
    release = release_from_folder(tmp_path)
    assert release.llts[written.llt_codes["Éruption cutanée"]].name == "Éruption cutanée"


def test_a_folder_without_the_release_files_is_refused_with_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "llt.asc").write_text("1$x$1$$$$$$$Y$$\n")
    with pytest.raises(MeddraReleaseError, match=r"pt\.asc.*missing"):
        release_from_folder(tmp_path)


def test_release_is_read_from_an_s3_prefix(invented) -> None:
    with mock_aws():
        bucket = provision_template().physical("IntakeBucket")  # MEDDRA_BUCKET's default
        s3 = boto3.client("s3", region_name="eu-west-1")
        for path in (invented.folder / "MedAscii").iterdir():
            s3.put_object(Bucket=bucket, Key=f"meddra/v1/MedAscii/{path.name}", Body=path.read_bytes())
        release = release_from_s3(s3, bucket, "meddra/v1")
    assert release.version == invented.version
    assert len(release.llts) == len(
        {
            line
            for line in (invented.folder / "MedAscii/llt.asc").read_text(encoding="latin-1").splitlines()
            if line
        }
    )


def test_exact_match_folds_case_and_punctuation(invented) -> None:
    coder = MeddraCoder(release_from_folder(invented.folder))
    coding = coder.code("skin eruption", ["SKIN-ERUPTION!"])
    assert coding.status == "coded" and coding.method == "exact"
    assert coding.term is not None and coding.term.llt_code == invented.llt_codes["Skin eruption"]
    assert coding.verbatim == "SKIN-ERUPTION!"


def test_lexical_variants_word_order_plural_and_spelling_reach_the_term(invented) -> None:
    coder = MeddraCoder(release_from_folder(invented.folder))
    spelled = coder.code("diarrhea-like", ["diarrhoeas"])
    assert spelled.method == "variant"
    assert spelled.term is not None and spelled.term.pt_code == invented.pt_codes["Diarrhoea"]
    face = coder.code("swollen-face", ["my face swelling"])
    assert face.method == "variant"
    assert face.term is not None and face.term.pt_code == invented.pt_codes["Face swelling"]
    assert coder.code("headaches").term.llt_code == invented.llt_codes["Headache"]  # type: ignore[union-attr]
    assert variant_key("Swelling of the face") == variant_key("face swelling")


def test_lay_words_are_coded_through_the_synonym_step(invented) -> None:
    coder = MeddraCoder(release_from_folder(invented.folder))
    coding = coder.code("threw up", ["threw up"])
    assert coding.method == "synonym"
    assert coding.term is not None and coding.term.pt_code == invented.pt_codes["Vomiting"]


def test_a_name_under_two_preferred_terms_is_ambiguous_with_both_offered(invented) -> None:
    coder = MeddraCoder(release_from_folder(invented.folder))
    coding = coder.code("bleeding")
    assert coding.status == "ambiguous" and coding.needs_review
    assert {c.pt_code for c in coding.candidates} == {
        invented.pt_codes["Haemorrhage"],
        invented.pt_codes["Bleeding tendency"],
    }


def test_a_non_current_term_is_never_coded_and_its_pts_current_terms_are_offered(invented) -> None:
    coder = MeddraCoder(release_from_folder(invented.folder))
    coding = coder.code("rashes itchy")
    assert coding.status == "ambiguous" and coding.term is None
    assert coding.candidates[0].llt_code == invented.pt_codes["Rash"]
    assert all(release_from_folder(invented.folder).llts[c.llt_code].current for c in coding.candidates)


def test_an_unknown_reaction_is_uncoded_and_flagged(invented) -> None:
    coder = MeddraCoder(release_from_folder(invented.folder))
    coding = coder.code("legs feeling like concrete")
    assert coding.status == "uncoded" and coding.needs_review and coding.term is None


def test_the_phrase_mapper_is_asked_once_for_what_lexical_steps_miss(invented) -> None:
    asked: list[list[str]] = []

    def nearest(phrases: list[str]) -> list[list[tuple[str, float]]]:
        asked.append(phrases)
        return [[("Dizziness", 0.91), ("Headache", 0.6)] for _ in phrases]

    coder = MeddraCoder(release_from_folder(invented.folder), nearest_terms=nearest)
    codings = coder.code_many([("rash", ["rash"]), ("head spinning", ["my head spinning"])])
    assert asked == [["my head spinning"]]
    assert codings[0].method == "exact"
    assert codings[1].method == "embedding"
    assert codings[1].term is not None and codings[1].term.llt_code == invented.llt_codes["Dizziness"]


def test_close_nearest_terms_of_different_pts_are_ambiguous(invented) -> None:
    coder = MeddraCoder(
        release_from_folder(invented.folder),
        nearest_terms=lambda phrases: [[("Nausea", 0.88), ("Vomiting", 0.875)] for _ in phrases],
    )
    coding = coder.code("queasy")
    assert coding.status == "ambiguous" and len(coding.candidates) == 2


def test_weak_nearest_terms_leave_the_reaction_uncoded(invented) -> None:
    coder = MeddraCoder(release_from_folder(invented.folder), nearest_terms=lambda p: [[("Nausea", 0.4)]])
    assert coder.code("queasy").status == "uncoded"


def test_without_a_dictionary_reactions_stay_verbatims_and_say_so() -> None:
    [coding] = uncoded_without_dictionary([("rash", ["a red rash"])])
    assert coding.status == "no_dictionary" and coding.verbatim == "a red rash"
    assert "no MedDRA release" in (coding.note or "")


def test_fold_removes_accents_and_punctuation() -> None:
    assert fold("  Éruption   CUTANÉE (généralisée) ") == "eruption cutanee generalisee"
