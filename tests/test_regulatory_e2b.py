"""E2B(R3) export: written with lxml, read back with the independent reader `e2br3`, every exported
field compared with the case."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import e2br3
import pytest
from e2br3.nullflavor import Null
from lxml import etree
from meddra_release import write_release
from pv.regulatory.e2b import (
    OID_MEDDRA,
    ExportRefused,
    export_icsr,
    validate,
)
from regulatory_inputs import SENDER, CaseDesk, email

NOW = datetime(2025, 3, 20, 14, 5, 9, tzinfo=UTC)
HOSPITAL_RASH = (
    "I'm a 67 year old woman. Two days after starting amoxicillin I got a rash all over and was "
    "vomiting so badly that I was admitted to hospital overnight. I also take metformin for my diabetes."
)


@pytest.fixture
def release(tmp_path: Path):
    return write_release(tmp_path / "meddra", seed=3)


def _read(xml: bytes):
    batch = e2br3.parse(xml)
    [icsr] = batch.icsrs
    return batch, icsr


def test_a_confirmed_case_exports_and_reads_back_with_every_field(release) -> None:
    case = CaseDesk(release.folder).open(email(HOSPITAL_RASH))
    regulatory = case.regulatory
    assert regulatory is not None
    xml = export_icsr(case, sender=SENDER, now=NOW, batch_id="B-1")
    batch, icsr = _read(xml)

    assert batch.batch_number == "B-1" and batch.sender == "INVPHARMA" and batch.receiver == "EVHUMAN"
    assert batch.batch_type.code == "1"
    [message] = batch.messages
    assert message.message_id == f"{regulatory.safety_report_id}-V1"
    assert icsr.safety_report_id == regulatory.safety_report_id == f"GB-INVPHARMA-{case.case_id}"
    assert icsr.worldwide_case_id == regulatory.worldwide_case_id
    assert icsr.creation_date.raw == "20250320140509+0000"
    assert icsr.report_type.code == "1" and icsr.report_type.code_system == "2.16.840.1.113883.3.989.2.1.1.2"
    assert icsr.first_received_date.raw == icsr.most_recent_date.raw == "20250301"
    [source] = icsr.primary_sources
    assert source.qualification.code == "5"  # consumer
    assert isinstance(icsr.patient.name, Null) and icsr.patient.name.null_flavor == "MSK"
    assert icsr.patient.sex.code == "2"
    assert int(icsr.patient.age.value) == 67 and icsr.patient.age.unit == "a"

    assert [(r.native_term, r.meddra_code, r.meddra_version) for r in icsr.reactions] == [
        (c.verbatim, c.term.llt_code, release.version) for c in regulatory.coding if c.term
    ]
    assert {c.event for c in regulatory.coding} == set(case.facts.events) == {"rash", "vomiting"}
    assert all(r.meddra.code_system == OID_MEDDRA for r in icsr.reactions)
    for reaction in icsr.reactions:
        assert reaction.hospitalisation is True
        assert isinstance(reaction.results_in_death, Null)
        assert reaction.outcome.code == "0"
    roles = {d.substances[0]: (d.role.code, d.product_name) for d in icsr.drugs}
    assert roles == {"amoxicillin": ("1", "amoxicillin"), "metformin": ("2", "metformin")}
    assert case.facts.summary in icsr.narrative


def test_reactions_carry_the_dictionarys_llt_and_pt(release) -> None:
    case = CaseDesk(release.folder).open(email(HOSPITAL_RASH))
    coded = {c.event: c.term for c in case.regulatory.coding}  # type: ignore[union-attr]
    assert coded["rash"].llt_code == release.llt_codes["Rash"]  # type: ignore[union-attr]
    assert coded["vomiting"].pt_code == release.pt_codes["Vomiting"]  # type: ignore[union-attr]
    assert coded["vomiting"].soc_name == "Invented gut class"  # type: ignore[union-attr]


def test_a_case_missing_a_valid_case_element_is_refused_with_the_reason(release) -> None:
    case = CaseDesk(release.folder).open(email("The amoxicillin box was crushed in the post."))
    with pytest.raises(ExportRefused) as refused:
        export_icsr(case, sender=SENDER, now=NOW)
    assert "missing valid-case element: adverse reaction (E.i)" in refused.value.reasons


def test_an_unconfirmed_case_is_refused(release) -> None:
    case = CaseDesk(release.folder).open(email(HOSPITAL_RASH), status="new")
    with pytest.raises(ExportRefused, match="not confirmed by a reviewer"):
        export_icsr(case, sender=SENDER, now=NOW)


def test_without_a_dictionary_the_export_says_reactions_are_not_coded() -> None:
    case = CaseDesk(None).open(email(HOSPITAL_RASH))
    xml = export_icsr(case, sender=SENDER, now=NOW)
    _, icsr = _read(xml)
    assert [r.native_term for r in icsr.reactions] == [c.verbatim for c in case.regulatory.coding]  # type: ignore[union-attr]
    assert all(isinstance(r.meddra, Null) and r.meddra.null_flavor == "NI" for r in icsr.reactions)
    comment = etree.fromstring(xml).xpath(
        "//h:component1/h:observationEvent/h:value/text()", namespaces={"h": "urn:hl7-org:v3"}
    )
    assert comment and "no MedDRA release configured" in comment[0]


def test_an_unknown_patient_is_unk_and_an_interacting_pair_is_role_3(release) -> None:
    text = (
        "My doctor says the warfarin interacted with the clarithromycin he added: two days later "
        "I had a nosebleed that would not stop."
    )
    case = CaseDesk(release.folder).open(email(text))
    _, icsr = _read(export_icsr(case, sender=SENDER, now=NOW))
    assert {d.substances[0]: d.role.code for d in icsr.drugs} == {"warfarin": "3", "clarithromycin": "3"}


def test_schema_validation_reports_errors_from_the_users_schema_set(release, tmp_path: Path) -> None:
    case = CaseDesk(release.folder).open(email(HOSPITAL_RASH))
    xml = export_icsr(case, sender=SENDER, now=NOW)
    lax = tmp_path / "lax" / "multicacheschemas"
    lax.mkdir(parents=True)
    (lax / "MCCI_IN200100UV01.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:hl7-org:v3" '
        'elementFormDefault="qualified"><xs:element name="MCCI_IN200100UV01"><xs:complexType>'
        '<xs:sequence><xs:any processContents="skip" maxOccurs="unbounded"/></xs:sequence>'
        '<xs:anyAttribute processContents="skip"/></xs:complexType></xs:element></xs:schema>'
    )
    assert validate(xml, tmp_path / "lax") == []
    strict = tmp_path / "strict"
    strict.mkdir()
    (strict / "MCCI_IN200100UV01.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:hl7-org:v3" '
        'elementFormDefault="qualified"><xs:element name="MCCI_IN200100UV01"><xs:complexType>'
        '<xs:sequence><xs:element name="id"/></xs:sequence><xs:anyAttribute processContents="skip"/>'
        "</xs:complexType></xs:element></xs:schema>"
    )
    errors = validate(xml, strict)
    assert errors and all(e.startswith("line ") for e in errors)
    with pytest.raises(FileNotFoundError):
        validate(xml, tmp_path / "nowhere")
