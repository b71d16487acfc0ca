"""E2B(R3) ICSR export: a confirmed case as an HL7 v3 `MCCI_IN200100UV01` batch wrapping one
`PORR_IN049016UV` message, written with lxml.

Element placement and OIDs follow the ICH E2B(R3) implementation guide (message structure of its
Appendix I; the ICH OID list and code lists under 2.16.840.1.113883.3.989.2.1): C.1.1 and N.2.r.1
ids under ...3.1, C.1.8.1 under ...3.2, batch ids ...3.22/...3.13/...3.14, message sender and
receiver ...3.11/...3.12; observation codes from code list 19 (...1.19), C.1.3 report type list 2,
C.1.8.2 first sender list 3, C.2.r.4 qualification list 6, C.3.1 sender type list 7, E.i.7 outcome
list 11, G.k.1 drug role list 13, organizers list 20, H.4 author list 21, investigation
relationships list 22, characteristics list 23; MedDRA is 2.16.840.1.113883.6.163, sex ISO 5218
(1.0.5218), countries ISO 3166 (1.0.3166.1.2.2).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from lxml import etree

from pv.case_models import Case, Mention
from pv.regulatory.models import EventCoding, RegulatoryRecord
from pv.regulatory.sender import Sender, safety_report_id

HL7 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NSMAP = {None: HL7, "xsi": XSI}

ICH = "2.16.840.1.113883.3.989.2.1"
OID_CODE_LIST = f"{ICH}.1"
OID_OBSERVATION = f"{OID_CODE_LIST}.19"
OID_REPORT_ID = f"{ICH}.3.1"  # C.1.1 and N.2.r.1
OID_WORLDWIDE_ID = f"{ICH}.3.2"  # C.1.8.1
OID_MESSAGE_SENDER = f"{ICH}.3.11"
OID_MESSAGE_RECEIVER = f"{ICH}.3.12"
OID_BATCH_SENDER = f"{ICH}.3.13"
OID_BATCH_RECEIVER = f"{ICH}.3.14"
OID_BATCH_NUMBER = f"{ICH}.3.22"
OID_MEDDRA = "2.16.840.1.113883.6.163"
OID_SEX = "1.0.5218"
OID_COUNTRY = "1.0.3166.1.2.2"
OID_INTERACTION = "2.16.840.1.113883.1.6"
OID_TRIGGER = "2.16.840.1.113883.1.18"

# E.i.3.2a-f: observation code (list 19) of each seriousness criterion.
SERIOUSNESS_CODES = {
    "death": "34",
    "life_threatening": "21",
    "hospitalisation": "33",
    "disability": "35",
    "congenital_anomaly": "12",
    "medically_important": "26",
}
DRUG_ROLES = {"suspect": "1", "concomitant": "2", "interacting": "3"}  # G.k.1, list 13
QUALIFICATIONS = {"physician": "1", "pharmacist": "2", "other_health_professional": "3", "consumer": "5"}
_LANGUAGES = {"en": "eng", "fr": "fra", "de": "deu", "es": "spa", "it": "ita", "pt": "por", "nl": "nld"}
EXPORTABLE_STATUSES = frozenset({"confirmed"})


class ExportRefused(Exception):
    """The case cannot be exported; `reasons` says why, in words a reviewer can act on."""

    def __init__(self, case_id: str, reasons: list[str]) -> None:
        super().__init__(f"{case_id} cannot be exported: " + "; ".join(reasons))
        self.case_id = case_id
        self.reasons = reasons


_ELEMENT_NAMES = {
    "reporter": "primary reporter (C.2.r)",
    "patient": "identifiable patient (D)",
    "suspect_drug": "suspect drug (G.k)",
    "adverse_event": "adverse reaction (E.i)",
}


def refusal_reasons(case: Case) -> list[str]:
    """Why a case may not be exported (empty when it may)."""
    reasons = []
    if case.status not in EXPORTABLE_STATUSES:
        reasons.append(f"the case is {case.status}, not confirmed by a reviewer")
    reasons += [f"missing valid-case element: {_ELEMENT_NAMES[e]}" for e in case.facts.missing_elements]
    regulatory = case.regulatory
    if regulatory is not None and regulatory.duplicate_of:
        reasons.append(f"a confirmed duplicate of {regulatory.duplicate_of}: export that case")
    return reasons


def export_icsr(
    case: Case,
    *,
    sender: Sender,
    history: Sequence[Case] = (),
    now: datetime,
    batch_id: str | None = None,
) -> bytes:
    """The ICSR of a confirmed case as XML bytes; `history`: the earlier versions (oldest first)
    of a confirmed follow-up, whose content the report carries too. Raises ExportRefused."""
    reasons = refusal_reasons(case)
    if reasons:
        raise ExportRefused(case.case_id, reasons)
    regulatory = case.regulatory or default_record(case, sender)
    versions = [*history, case]
    first = versions[0]
    message_id = f"{regulatory.safety_report_id}-V{regulatory.report_version}"

    root = _el(None, "MCCI_IN200100UV01", ITSVersion="XML_1.0")
    _el(root, "id", root=OID_BATCH_NUMBER, extension=batch_id or uuid.uuid4().hex)  # N.1.2
    _el(root, "creationTime", value=_ts(now))  # N.1.5
    _el(root, "responseModeCode", code="D")
    _el(root, "interactionId", root=OID_INTERACTION, extension="MCCI_IN200100UV01")
    _el(root, "name", code="1", codeSystem=f"{OID_CODE_LIST}.1", codeSystemVersion="1.0")  # N.1.1 ichicsr

    message = _el(root, "PORR_IN049016UV")
    _el(message, "id", root=OID_REPORT_ID, extension=message_id)  # N.2.r.1
    _el(message, "creationTime", value=_ts(now))  # N.2.r.4
    _el(message, "interactionId", root=OID_INTERACTION, extension="PORR_IN049016UV")
    _el(message, "processingCode", code="P")
    _el(message, "processingModeCode", code="T")
    _el(message, "acceptAckCode", code="AL")
    _device(message, "receiver", OID_MESSAGE_RECEIVER, sender.receiver)  # N.2.r.3
    _device(message, "sender", OID_MESSAGE_SENDER, sender.identifier)  # N.2.r.2
    act = _el(message, "controlActProcess", classCode="CACT", moodCode="EVN")
    _el(act, "code", code="PORR_TE049016UV", codeSystem=OID_TRIGGER)
    _el(act, "effectiveTime", value=_ts(now))  # C.1.2
    event = _el(
        _el(act, "subject", typeCode="SUBJ"), "investigationEvent", classCode="INVSTG", moodCode="EVN"
    )
    _el(event, "id", root=OID_REPORT_ID, extension=regulatory.safety_report_id)  # C.1.1
    _el(event, "id", root=OID_WORLDWIDE_ID, extension=regulatory.worldwide_case_id)  # C.1.8.1
    _el(event, "code", code="PAT_ADV_EVNT", codeSystem="2.16.840.1.113883.5.4")
    _el(event, "text", text=narrative(versions))  # H.1
    _el(event, "statusCode", code="active")
    _el(_el(event, "effectiveTime"), "low", value=_ts(first.received_at, day=True))  # C.1.4
    _el(event, "availabilityTime", value=_ts(case.received_at, day=True))  # C.1.5

    assessment = _el(
        _el(event, "component", typeCode="COMP"), "adverseEventAssessment", classCode="INVSTG", moodCode="EVN"
    )
    role = _el(_el(assessment, "subject1", typeCode="SBJ"), "primaryRole", classCode="INVSBJ")
    _patient(role, regulatory)
    criteria = _criteria(versions)
    for i, coding in enumerate(_reactions(versions)):
        _reaction(role, coding, i, criteria, case.facts.language)
    drugs = _drugs(versions, regulatory)
    organizer = _el(
        _el(role, "subjectOf2", typeCode="SBJ"), "organizer", classCode="CATEGORY", moodCode="EVN"
    )
    _el(
        organizer,
        "code",
        code="4",
        codeSystem=f"{OID_CODE_LIST}.20",
        codeSystemVersion="1.0",
        displayName="drugInformation",
    )
    for i, (name, reported, _role) in enumerate(drugs):
        administration = _el(
            _el(organizer, "component", typeCode="COMP"),
            "substanceAdministration",
            classCode="SBADM",
            moodCode="EVN",
        )
        _el(administration, "id", root=_drug_ref(i))
        product = _el(
            _el(_el(administration, "consumable", typeCode="CSM"), "instanceOfKind", classCode="INST"),
            "kindOfProduct",
            classCode="MMAT",
            determinerCode="KIND",
        )
        _el(product, "name", text=reported)  # G.k.2.2
        substance = _el(
            _el(product, "ingredient", classCode="ACTI"),
            "ingredientSubstance",
            classCode="MMAT",
            determinerCode="KIND",
        )
        _el(substance, "name", text=name)  # G.k.2.3.r.1
    for i, (_name, _reported, drug_role) in enumerate(drugs):
        causality = _el(
            _el(assessment, "component", typeCode="COMP"),
            "causalityAssessment",
            classCode="OBS",
            moodCode="EVN",
        )
        _el(
            causality,
            "code",
            code="20",
            codeSystem=OID_OBSERVATION,
            codeSystemVersion="1.1",
            displayName="interventionCharacterization",
        )
        _el(
            causality,
            "value",
            **{f"{{{XSI}}}type": "CE"},
            code=DRUG_ROLES[drug_role],
            codeSystem=f"{OID_CODE_LIST}.13",
            codeSystemVersion="1.0",
        )  # G.k.1
        reference = _el(
            _el(causality, "subject2", typeCode="SUBJ"),
            "productUseReference",
            classCode="SBADM",
            moodCode="EVN",
        )
        _el(reference, "id", root=_drug_ref(i))
    comments = sender_comments(case, regulatory, versions)
    if comments:
        observation = _el(
            _el(assessment, "component1", typeCode="COMP"),
            "observationEvent",
            classCode="OBS",
            moodCode="EVN",
        )
        _el(
            observation,
            "code",
            code="10",
            codeSystem=OID_OBSERVATION,
            codeSystemVersion="1.1",
            displayName="comment",
        )
        _el(observation, "value", **{f"{{{XSI}}}type": "ED"}, text=comments)  # H.4
        author = _el(_el(observation, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")
        _el(
            author,
            "code",
            code="1",
            codeSystem=f"{OID_CODE_LIST}.21",
            codeSystemVersion="1.0",
            displayName="sender",
        )

    _observation_event(event, "1", "BL", "false")  # C.1.6.1 additional documents: none held
    expedited = regulatory.due_rule is not None and regulatory.due_rule.days == 15
    _observation_event(event, "23", "BL", "true" if expedited else "false")  # C.1.7
    _related(
        event,
        "1",
        "22",
        lambda entity: _el(
            entity, "code", code="2", codeSystem=f"{OID_CODE_LIST}.3", codeSystemVersion="1.0"
        ),
    )  # C.1.8.2 first sender: other
    _primary_source(event, regulatory)
    _sender(event, sender)
    characteristic = _el(
        _el(event, "subjectOf2", typeCode="SUBJ"),
        "investigationCharacteristic",
        classCode="OBS",
        moodCode="EVN",
    )
    _el(
        characteristic,
        "code",
        code="1",
        codeSystem=f"{OID_CODE_LIST}.23",
        codeSystemVersion="1.0",
        displayName="ichReportType",
    )
    _el(
        characteristic,
        "value",
        **{f"{{{XSI}}}type": "CE"},
        code="1",
        codeSystem=f"{OID_CODE_LIST}.2",
        codeSystemVersion="1.0",
    )  # C.1.3 spontaneous

    _device(root, "receiver", OID_BATCH_RECEIVER, sender.receiver)  # N.1.4
    _device(root, "sender", OID_BATCH_SENDER, sender.identifier)  # N.1.3
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def default_record(case: Case, sender: Sender) -> RegulatoryRecord:
    """The regulatory record of a case stored before records were kept: ids from its case id."""
    report_id = safety_report_id(case.case_id, sender)
    return RegulatoryRecord(worldwide_case_id=report_id, safety_report_id=report_id)


def narrative(versions: Sequence[Case]) -> str:
    """H.1: each version's redacted summary, with its receipt date (no personal data)."""
    parts = []
    for i, version in enumerate(versions):
        label = "Initial report" if i == 0 else f"Follow-up {i}"
        received = version.received_at.date().isoformat()
        parts.append(f"{label} received {received} ({version.channel.value}): {version.facts.summary}")
    return "\n".join(parts)


def sender_comments(case: Case, regulatory: RegulatoryRecord, versions: Sequence[Case]) -> str:
    """H.4: the report's version, and what is not coded in MedDRA and why."""
    notes = []
    if regulatory.report_version > 1:
        notes.append(
            f"Follow-up report: version {regulatory.report_version} of worldwide case "
            f"{regulatory.worldwide_case_id} (initial case {versions[0].case_id})."
        )
    if regulatory.coding_note:
        notes.append(f"MedDRA: {regulatory.coding_note}.")
    for coding in _reactions(versions):
        if coding.term is None and coding.status != "no_dictionary":
            notes.append(f"Reaction '{coding.verbatim}' is not coded in MedDRA ({coding.status}).")
    return " ".join(notes)


def _reactions(versions: Sequence[Case]) -> list[EventCoding]:
    """Every reaction of the case, each once (by PT when coded, else by its words), oldest first."""
    seen: dict[str, EventCoding] = {}
    for version in versions:
        for coding in reactions_of(version):
            key = f"pt:{coding.term.pt_code}" if coding.term is not None else f"v:{coding.event.lower()}"
            seen.setdefault(key, coding)
    return list(seen.values())


def reactions_of(case: Case) -> list[EventCoding]:
    """A case's reactions as coded, or as verbatims when it has no coding."""
    if case.regulatory is not None and case.regulatory.coding:
        return case.regulatory.coding
    return [
        EventCoding(event=e, verbatim=_verbatim(case.facts.mentions, e, "event"), status="no_dictionary")
        for e in case.facts.events
    ]


def _verbatim(mentions: Iterable[Mention], normalized: str, kind: str) -> str:
    for mention in mentions:
        if mention.normalized == normalized and mention.kind in (kind, None) and not mention.negated:
            return mention.text
    return normalized


def _criteria(versions: Sequence[Case]) -> set[str]:
    return {c.criterion for v in versions for c in v.facts.seriousness_criteria}


def _drugs(versions: Sequence[Case], regulatory: RegulatoryRecord) -> list[tuple[str, str, str]]:
    """(substance, name as reported, role) of every suspect and concomitant drug, each once."""
    found: dict[str, tuple[str, str, str]] = {}
    for version in versions:
        for drug in version.facts.suspect_drugs:
            role = "interacting" if drug in regulatory.interacting_drugs else "suspect"
            found.setdefault(drug, (drug, _verbatim(version.facts.mentions, drug, "drug"), role))
        for mention in version.facts.mentions:
            if mention.kind == "drug" and mention.role == "concomitant" and not mention.negated:
                found.setdefault(mention.normalized, (mention.normalized, mention.text, "concomitant"))
    return list(found.values())


def _patient(role: Any, regulatory: RegulatoryRecord) -> None:
    patient = regulatory.patient
    unknown = "ASKU" if regulatory.report_version > 1 else "UNK"  # a follow-up asked and still lacks it
    person = _el(role, "player1", classCode="PSN", determinerCode="INSTANCE")
    _el(person, "name", nullFlavor="MSK" if patient.identifiable else unknown)  # D.1: never sent
    if patient.sex in ("male", "female"):
        _el(
            person, "administrativeGenderCode", code="1" if patient.sex == "male" else "2", codeSystem=OID_SEX
        )
    else:
        _el(person, "administrativeGenderCode", nullFlavor=unknown)  # D.5
    if patient.age_years is not None:
        observation = _el(
            _el(role, "subjectOf2", typeCode="SBJ"), "observation", classCode="OBS", moodCode="EVN"
        )
        _el(
            observation,
            "code",
            code="3",
            codeSystem=OID_OBSERVATION,
            codeSystemVersion="1.1",
            displayName="age",
        )
        _el(observation, "value", **{f"{{{XSI}}}type": "PQ"}, value=str(patient.age_years), unit="a")  # D.2.2


def _reaction(role: Any, coding: EventCoding, index: int, criteria: set[str], language: str | None) -> None:
    observation = _el(_el(role, "subjectOf2", typeCode="SBJ"), "observation", classCode="OBS", moodCode="EVN")
    _el(observation, "id", root=f"{uuid.UUID(int=index + 1)}")
    _el(
        observation,
        "code",
        code="29",
        codeSystem=OID_OBSERVATION,
        codeSystemVersion="1.1",
        displayName="reaction",
    )
    if coding.term is not None:
        value = _el(
            observation,
            "value",
            **{f"{{{XSI}}}type": "CE"},
            code=coding.term.llt_code,
            codeSystem=OID_MEDDRA,
            codeSystemVersion=coding.term.version,
        )  # E.i.2.1a/b
    else:
        value = _el(
            observation, "value", **{f"{{{XSI}}}type": "CE"}, codeSystem=OID_MEDDRA, nullFlavor="NI"
        )  # not coded
    language_code = _LANGUAGES.get((language or "en").split("-")[0].lower())
    _el(
        value, "originalText", text=coding.verbatim, **({"language": language_code} if language_code else {})
    )  # E.i.1.1a/b
    for criterion, code in SERIOUSNESS_CODES.items():  # E.i.3.2a-f
        criterion_observation = _el(
            _el(observation, "outboundRelationship2", typeCode="PERT"),
            "observation",
            classCode="OBS",
            moodCode="EVN",
        )
        _el(criterion_observation, "code", code=code, codeSystem=OID_OBSERVATION, codeSystemVersion="1.1")
        if criterion in criteria:
            _el(criterion_observation, "value", **{f"{{{XSI}}}type": "BL"}, value="true")
        else:
            _el(criterion_observation, "value", **{f"{{{XSI}}}type": "BL"}, nullFlavor="NI")
    outcome = _el(
        _el(observation, "outboundRelationship2", typeCode="PERT"),
        "observation",
        classCode="OBS",
        moodCode="EVN",
    )
    _el(
        outcome, "code", code="27", codeSystem=OID_OBSERVATION, codeSystemVersion="1.1", displayName="outcome"
    )
    # E.i.7: fatal when the case reports a death, else unknown (the facts hold no outcome)
    _el(
        outcome,
        "value",
        **{f"{{{XSI}}}type": "CE"},
        code="5" if "death" in criteria else "0",
        codeSystem=f"{OID_CODE_LIST}.11",
        codeSystemVersion="1.0",
    )


def _primary_source(event: Any, regulatory: RegulatoryRecord) -> None:
    relationship = _el(event, "outboundRelationship", typeCode="SPRT")
    _el(relationship, "priorityNumber", value="1")  # C.2.r.5: the primary source for regulatory purposes
    investigation = _el(relationship, "relatedInvestigation", classCode="INVSTG", moodCode="EVN")
    _el(
        investigation,
        "code",
        code="2",
        codeSystem=f"{OID_CODE_LIST}.22",
        codeSystemVersion="1.0",
        displayName="sourceReport",
    )
    entity = _author_entity(investigation, "subjectOf2")
    person = _el(entity, "assignedPerson", classCode="PSN", determinerCode="INSTANCE")
    _el(person, "name", nullFlavor="MSK")  # C.2.r.1: the reporter's name stays in the case
    qualification = _el(person, "asQualifiedEntity", classCode="QUAL")
    _el(
        qualification,
        "code",
        code=QUALIFICATIONS[regulatory.reporter_qualification],
        codeSystem=f"{OID_CODE_LIST}.6",
        codeSystemVersion="1.0",
    )  # C.2.r.4


def _sender(event: Any, sender: Sender) -> None:
    entity = _author_entity(event, "subjectOf1")
    _el(
        entity, "code", code=sender.sender_type, codeSystem=f"{OID_CODE_LIST}.7", codeSystemVersion="1.0"
    )  # C.3.1
    if sender.country:
        person = _el(entity, "assignedPerson", classCode="PSN", determinerCode="INSTANCE")
        location = _el(
            _el(person, "asLocatedEntity", classCode="LOCE"),
            "location",
            classCode="COUNTRY",
            determinerCode="INSTANCE",
        )
        _el(location, "code", code=sender.country.upper(), codeSystem=OID_COUNTRY)  # C.3.4.5
    organization = _el(entity, "representedOrganization", classCode="ORG", determinerCode="INSTANCE")
    inner = _el(
        _el(organization, "assignedEntity", classCode="ASSIGNED"),
        "representedOrganization",
        classCode="ORG",
        determinerCode="INSTANCE",
    )
    _el(inner, "name", text=sender.organization)  # C.3.2


def _related(event: Any, code: str, code_list: str, fill: Any) -> None:
    investigation = _el(
        _el(event, "outboundRelationship", typeCode="SPRT"),
        "relatedInvestigation",
        classCode="INVSTG",
        moodCode="EVN",
    )
    _el(investigation, "code", code=code, codeSystem=f"{OID_CODE_LIST}.{code_list}", codeSystemVersion="1.0")
    entity = _author_entity(investigation, "subjectOf2")
    fill(entity)


def _author_entity(parent: Any, via: str) -> Any:
    """parent/<via>/controlActEvent/author/assignedEntity: who reported or sent (C.2.r, C.1.8.2, C.3)."""
    act = _el(_el(parent, via, typeCode="SUBJ"), "controlActEvent", classCode="CACT", moodCode="EVN")
    return _el(_el(act, "author", typeCode="AUT"), "assignedEntity", classCode="ASSIGNED")


def _observation_event(event: Any, code: str, kind: str, value: str) -> None:
    observation = _el(
        _el(event, "component", typeCode="COMP"), "observationEvent", classCode="OBS", moodCode="EVN"
    )
    _el(observation, "code", code=code, codeSystem=OID_OBSERVATION, codeSystemVersion="1.1")
    _el(observation, "value", **{f"{{{XSI}}}type": kind}, value=value)


def _device(parent: Any, role: str, root_oid: str, extension: str) -> None:
    device = _el(
        _el(parent, role, typeCode="RCV" if role == "receiver" else "SND"),
        "device",
        classCode="DEV",
        determinerCode="INSTANCE",
    )
    if extension:
        _el(device, "id", root=root_oid, extension=extension)
    else:
        _el(device, "id", root=root_oid, nullFlavor="UNK")


def _drug_ref(index: int) -> str:
    return str(uuid.UUID(int=(1 << 64) + index + 1))


def _el(parent: Any, tag: str, text: str | None = None, **attributes: str) -> Any:
    qualified = f"{{{HL7}}}{tag}"
    element = (
        etree.Element(qualified, nsmap=_NSMAP) if parent is None else etree.SubElement(parent, qualified)
    )
    for name, value in attributes.items():
        element.set(name, value)
    if text is not None:
        element.text = text
    return element


def _ts(moment: datetime | date, *, day: bool = False) -> str:
    if day or not isinstance(moment, datetime):
        return moment.strftime("%Y%m%d")
    return moment.strftime("%Y%m%d%H%M%S") + (moment.strftime("%z") or "")


def validate(xml: bytes, schemas: str | Path) -> list[str]:
    """Errors against the ICH schema set in `schemas` (its MCCI_IN200100UV01.xsd); [] when valid."""
    folder = Path(schemas)
    found = sorted(
        folder.rglob("MCCI_IN200100UV01.xsd"),
        key=lambda p: ("multicacheschemas" not in p.parts, len(p.parts)),
    )
    if not found:
        raise FileNotFoundError(f"no MCCI_IN200100UV01.xsd under {folder} (the ICH ICSR schema set)")
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    schema = etree.XMLSchema(etree.parse(str(found[0]), parser))
    document = etree.fromstring(xml, parser)
    if schema.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]
