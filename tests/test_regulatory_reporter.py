"""The E2B(R3) record's reporter qualification (C.2.r.4) and patient sex (D.5) and age (D.2.2) come
from case intelligence's reading of the document, in its language (examples invented for these
tests), and the export says the same."""

from __future__ import annotations

from datetime import UTC, datetime

import e2br3
import pytest
from pv.intelligence.context import LANGUAGES, cues
from pv.regulatory.e2b import export_icsr
from pv.regulatory.models import Qualification
from regulatory_inputs import SENDER, CaseDesk, email

NOW = datetime(2025, 3, 20, 14, 5, 9, tzinfo=UTC)
CODES = {"physician": "1", "pharmacist": "2", "other_health_professional": "3", "consumer": "5"}

PROFESSIONALS = [
    (
        "es",
        "pharmacist",
        "Soy farmacéutica en una farmacia de barrio. Una paciente de 70 años tomó amoxicilina y le "
        "salieron ronchas por todo el cuerpo.",
    ),
    (
        "es",
        "physician",
        "Soy médico de familia. Un paciente de 58 años empezó a tomar ramipril y desde entonces "
        "tiene tos seca.",
    ),
    (
        "es",
        "other_health_professional",
        "Trabajo como enfermera en un centro de salud. Una paciente mía tomó ibuprofeno y tuvo vómitos "
        "toda la noche.",
    ),
    (
        "fr",
        "pharmacist",
        "Bonjour, je suis pharmacienne d'officine. Une patiente de 45 ans sous amoxicilline a une "
        "éruption cutanée depuis hier.",
    ),
    (
        "fr",
        "physician",
        "Bonjour, je suis médecin généraliste. Un patient de 60 ans a une toux sèche sous ramipril "
        "depuis un mois.",
    ),
    (
        "fr",
        "other_health_professional",
        "Bonjour, je suis infirmière libérale. Une patiente sous ibuprofène a des vomissements "
        "depuis deux jours.",
    ),
    (
        "de",
        "pharmacist",
        "Guten Tag, ich bin Apothekerin. Eine Patientin, 70 Jahre alt, bekam unter Amoxicillin einen "
        "Ausschlag am ganzen Körper.",
    ),
    (
        "de",
        "physician",
        "Guten Tag, ich arbeite als Hausärztin. Ein Patient bekam unter Ramipril einen trockenen Reizhusten.",
    ),
    (
        "de",
        "other_health_professional",
        "Guten Tag, ich bin Krankenschwester. Eine Patientin nimmt Ibuprofen und hat seitdem "
        "starke Bauchschmerzen.",
    ),
    (
        "pt",
        "pharmacist",
        "Bom dia, sou farmacêutica. Uma paciente de 60 anos tomou dipirona e ficou com manchas "
        "vermelhas na pele.",
    ),
    ("pt", "physician", "Bom dia, sou médico. Um paciente tomou amoxicilina e teve urticária no corpo todo."),
    (
        "pt",
        "other_health_professional",
        "Bom dia, sou enfermeira. Uma paciente tomou ibuprofeno e teve vômitos a noite toda.",
    ),
]


def _exported(text: str, *, sender: str = "Jane Doe <jane.doe@example.com>"):
    """The case CaseFunction would open from an email with `text`, and its ICSR as `e2br3` reads it."""
    case = CaseDesk(None).open(email(text, sender=sender))
    [icsr] = e2br3.parse(export_icsr(case, sender=SENDER, now=NOW)).icsrs
    return case, icsr


def _qualification(text: str, *, sender: str = "Jane Doe <jane.doe@example.com>") -> Qualification:
    case = CaseDesk(None).open(email(text, sender=sender))
    assert case.regulatory is not None
    return case.regulatory.reporter_qualification


@pytest.mark.parametrize(("language", "qualification", "text"), PROFESSIONALS)
def test_a_pharmacist_a_physician_and_a_nurse_are_exported_with_their_qualification_in_each_language(
    language: str, qualification: Qualification, text: str
) -> None:
    """GIVEN a professional who says what they are, in Spanish, French, German or Portuguese WHEN the
    case is opened and exported THEN the record and the ICSR's primary source carry the C.2.r.4 code
    of that profession (a nurse: other health professional), and the case was read in the language."""
    case, icsr = _exported(text)
    assert case.facts.language == language
    assert case.regulatory is not None and case.regulatory.reporter_qualification == qualification
    [source] = icsr.primary_sources
    assert source.qualification.code == CODES[qualification]


@pytest.mark.parametrize(
    ("language", "text", "age"),
    [
        ("en", "I'm 45. I started ibuprofen on Monday and now I have a rash on my arms.", 45),
        ("es", "Tengo 45 años. Tomo ibuprofeno desde el lunes y me salieron ronchas en los brazos.", 45),
        (
            "fr",
            "J'ai 45 ans. Je prends de l'ibuprofène depuis lundi et j'ai des plaques rouges sur les bras.",
            45,
        ),
        (
            "de",
            "Ich bin 45 und nehme seit Montag Ibuprofen. Seitdem habe ich einen Ausschlag an den Armen.",
            45,
        ),
        (
            "pt",
            "Eu tenho 45 anos. Eu tomo ibuprofeno desde segunda e fiquei com manchas vermelhas nos braços.",
            45,
        ),
    ],
)
def test_a_patients_own_report_stays_consumer_with_the_age_they_give(
    language: str, text: str, age: int
) -> None:
    """GIVEN a patient writing about themselves, with their age WHEN exported THEN the reporter is a
    consumer and the patient's age is the one they give, in years."""
    case, icsr = _exported(text)
    assert case.facts.language == language and case.facts.patient == "reporter"
    [source] = icsr.primary_sources
    assert source.qualification.code == CODES["consumer"]
    assert int(icsr.patient.age.value) == age and icsr.patient.age.unit == "a"


@pytest.mark.parametrize(
    ("language", "text", "relative", "code"),
    [
        ("en", "My mum started amoxicillin on Monday and has a rash all over.", "mother", "2"),
        (
            "es",
            "Mi madre toma amoxicilina desde el lunes y le salieron ronchas por todo el cuerpo.",
            "mother",
            "2",
        ),
        ("fr", "Mon père prend du ramipril depuis un mois et il a une toux sèche.", "father", "1"),
        (
            "de",
            "Meine Mutter nimmt seit Montag Amoxicillin und hat einen Ausschlag am ganzen Körper.",
            "mother",
            "2",
        ),
        (
            "pt",
            "Meu pai toma amoxicilina desde segunda e ficou com manchas vermelhas na pele.",
            "father",
            "1",
        ),
    ],
)
def test_a_relatives_report_gives_the_relatives_sex(
    language: str, text: str, relative: str, code: str
) -> None:
    """GIVEN someone reporting about their mother or father WHEN exported THEN the reporter is a
    consumer and the patient's sex (ISO 5218: 1 male, 2 female) is the relative's."""
    case, icsr = _exported(text)
    assert case.facts.language == language and case.facts.patient == relative
    [source] = icsr.primary_sources
    assert source.qualification.code == CODES["consumer"]
    assert icsr.patient.sex.code == code


@pytest.mark.parametrize(
    ("text", "sex", "age"),
    [
        ("I'm a 45-year-old woman and ibuprofen gave me a rash.", "female", 45),
        ("Soy una mujer de 52 años. Tomo ibuprofeno y me salieron ronchas.", "female", 52),
        ("Je suis une femme de 38 ans. Depuis que je prends du ramipril j'ai une toux sèche.", "female", 38),
        ("Ich bin eine Frau, 61 Jahre alt. Seit ich Ramipril nehme, habe ich Reizhusten.", "female", 61),
        ("Sou um homem de 70 anos. Tomei amoxicilina e fiquei com manchas vermelhas na pele.", "male", 70),
    ],
)
def test_the_patients_sex_and_age_are_read_in_each_language(text: str, sex: str, age: int) -> None:
    """GIVEN a patient who gives their sex and age in their language WHEN the case is opened THEN the
    record's patient has both."""
    case = CaseDesk(None).open(email(text))
    assert case.regulatory is not None
    assert (case.regulatory.patient.sex, case.regulatory.patient.age_years) == (sex, age)


@pytest.mark.parametrize(
    "text",
    [
        "Seit drei Jahren nehme ich Ramipril. Im 5. Monat bekam ich Reizhusten.",
        "I've been on ramipril for a while and got a cough in month 5.",
        "I have been on lisinopril for 3 years and now have a dry cough.",
        "Empecé ramipril hace 2 años y ahora tengo tos seca.",
        "Ich nehme Ramipril seit 4 Jahren und habe Reizhusten.",
    ],
)
def test_a_number_that_is_no_age_gives_none(text: str) -> None:
    """GIVEN a report whose numbers are no age ("im 5. Monat": in the fifth month) WHEN the case is
    opened THEN the record gives no age."""
    case = CaseDesk(None).open(email(text))
    assert case.regulatory is not None and case.regulatory.patient.age_years is None


def test_an_age_after_a_duration_is_still_read() -> None:
    """GIVEN "on lisinopril for 3 years" and then "I'm 54" WHEN the case is opened THEN the age is the
    one the patient gives, not the duration."""
    case = CaseDesk(None).open(
        email("I have been on lisinopril for 3 years. I'm 54 and now have a dry cough.")
    )
    assert case.regulatory is not None and case.regulatory.patient.age_years == 54


def test_a_word_that_names_the_reporters_spouse_is_not_the_reporters_sex() -> None:
    """GIVEN a man who writes that his wife ("ma femme") told him to stop WHEN the case is opened THEN
    the patient (the reporter) has no sex from that word, nor from a midwife ("sage-femme")."""
    case = CaseDesk(None).open(
        email(
            "Je prends du ramipril depuis un mois et j'ai une toux sèche. Ma femme me dit d'arrêter "
            "et ma sage-femme aussi."
        )
    )
    assert case.facts.patient == "reporter"
    assert case.regulatory is not None and case.regulatory.patient.sex is None


@pytest.mark.parametrize(
    ("text", "qualification"),
    [
        ("Since my doctor (Dr. Morel) started me on metformin I feel dizzy every afternoon.", "consumer"),
        ("Her GP, Dr. Okafor, increased my mother's warfarin and now she bleeds from her gums.", "consumer"),
        ("I took ibuprofen as doctor said and got a rash.", "consumer"),
        ("I took ibuprofen as the doctor said and got a rash.", "consumer"),
        ("As a community pharmacist I saw a customer who got a rash on amoxicillin.", "pharmacist"),
        ("A customer of our pharmacy got a rash on amoxicillin.", "pharmacist"),
        ("I am a practice nurse. A patient got a rash on amoxicillin.", "other_health_professional"),
        ("My patient got a rash two days after starting amoxicillin.", "other_health_professional"),
        ("Dear team, a patient of mine got a rash on amoxicillin.\nRegards,\nDr A. Hale, GP", "physician"),
        ("I work in a care home. One of our residents got a rash on amoxicillin.", "consumer"),
    ],
)
def test_what_an_english_reporter_says_they_are_gives_the_qualification(
    text: str, qualification: Qualification
) -> None:
    """GIVEN an English report WHEN the case is opened THEN the reporter is what they say they are
    (a self-description, "as a ...", "our pharmacy", "my patient", a sign-off as Dr), not what the
    doctor they name is, and a lay carer is a consumer."""
    assert _qualification(text) == qualification


def test_a_sender_who_signs_as_dr_is_a_physician() -> None:
    """GIVEN an email from "Dr Priya Nair" about one of her patients WHEN exported THEN the primary
    source is a physician."""
    _, icsr = _exported(
        "Please find our report: one of our patients got a rash on amoxicillin.",
        sender="Dr Priya Nair <p.nair@riverside-medical.example>",
    )
    [source] = icsr.primary_sources
    assert source.qualification.code == CODES["physician"]


def test_each_profession_word_has_one_e2b_kind_and_together_they_are_the_professionals() -> None:
    """GIVEN the profession rows of context_cues.tsv WHEN read for each language THEN no word is in
    two kinds, and the professionals the patient rules read are the three kinds together."""
    from pv.intelligence.patients import PersonWords

    for language in sorted(LANGUAGES):
        c = cues(language)
        kinds = [set(c.physician_phrases), set(c.pharmacist_phrases), set(c.other_professional_phrases)]
        assert all(not (a & b) for i, a in enumerate(kinds) for b in kinds[i + 1 :]), language
        assert set(PersonWords.of(c, language).professionals) == set().union(*kinds)
