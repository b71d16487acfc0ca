"""The patient and reporter rules read health professionals and carers in Spanish, French, German
and Portuguese, with their words in context_cues.tsv (examples invented for these tests)."""

from __future__ import annotations

import pytest
from pv.intelligence.context import cues
from pv.intelligence.patients import (
    PersonWords,
    find_patient,
    patient_sex,
    reporter_profession,
    reporter_qualification,
)
from pv.intelligence.text import fold


def read(language: str, sentences: list[str], drug_sentences: set[int]) -> tuple[str | None, str | None]:
    words = PersonWords.of(cues(language), language)
    folded = [fold(s) for s in sentences]
    patient = find_patient(folded, drug_sentences, words)
    return patient, reporter_qualification(folded, patient, words)


@pytest.mark.parametrize(
    ("language", "sentences"),
    [
        (
            "es",
            [
                "Soy enfermera en un centro de salud.",
                "Una paciente mía tomó amoxicilina y le salieron ronchas.",
            ],
        ),
        (
            "fr",
            ["Bonjour, je suis pharmacienne.", "Un patient sous ramipril a une toux sèche depuis un mois."],
        ),
        ("de", ["Ich arbeite als Hausärztin.", "Eine Patientin bekam unter Ramipril einen Reizhusten."]),
        ("pt", ["Sou farmacêutico.", "Um utente tomou dipirona e ficou com manchas vermelhas na pele."]),
    ],
)
def test_a_health_professional_reporting_about_a_patient_is_read_in_each_language(
    language: str, sentences: list[str]
) -> None:
    """GIVEN a professional who says what they are WHEN the patient rules read it THEN the patient is
    someone they care for and the reporter a healthcare professional."""
    assert read(language, sentences, {1}) == ("patient", "healthcare professional")


@pytest.mark.parametrize(
    ("language", "sentences"),
    [
        ("es", ["Trabajo en una residencia.", "Ella toma sertralina y tiene temblores."]),
        ("fr", ["Je suis aide-soignante.", "Elle prend du tramadol et elle vomit."]),
        ("de", ["Ich bin Altenpflegerin.", "Er nimmt seit Montag Tramadol und ist sehr verwirrt."]),
        ("pt", ["Sou cuidadora.", "Ela toma tramadol e anda muito tonta."]),
    ],
)
def test_a_lay_carer_speaking_of_someone_they_look_after_is_read_in_each_language(
    language: str, sentences: list[str]
) -> None:
    """GIVEN a carer and a third person taking the drug WHEN read THEN the patient is the person
    cared for and the reporter a carer."""
    assert read(language, sentences, {1}) == ("patient", "carer")


def test_a_patient_reporting_their_own_reaction_is_still_the_reporter() -> None:
    """GIVEN a patient who takes the drug themselves and sees a nurse WHEN read THEN the patient is
    the reporter (visiting a professional does not make one)."""
    assert read("es", ["Tomo enalapril y la enfermera me dijo que la tos es por eso."], {0}) == (
        "reporter",
        None,
    )


@pytest.mark.parametrize(
    ("language", "sentences", "drug_sentences"),
    [
        ("pt", ["Tomei sertralina por um mês e fiquei com muita náusea."], {0}),
        ("pt", ["Uso Ozempic há 2 meses.", "Tenho náusea todos os dias."], {0}),
        ("pt", ["Losartana para pressão.", "Comecei há um mês e tenho tosse seca."], {0}),
        ("es", ["Llevo 3 semanas con el Ozempic y no paro de vomitar."], {0}),
        ("es", ["Rivotril para la ansiedad.", "Cuando intenté bajarlo no dormí en 4 noches."], {0}),
    ],
)
def test_a_first_person_verb_without_a_pronoun_makes_the_patient_the_reporter(
    language: str, sentences: list[str], drug_sentences: set[int]
) -> None:
    """GIVEN a Portuguese or Spanish report whose verb alone says the writer took the drug ("tomei",
    "uso", "llevo"), in the drug's sentence or another WHEN read THEN the patient is the reporter."""
    assert read(language, sentences, drug_sentences) == ("reporter", None)


@pytest.mark.parametrize(
    ("sentences", "kind"),
    [
        (["Hospitalist here.", "Admitted an 80yo on lisinopril with a potassium of 7.1."], "physician"),
        (["ER doc.", "30s female, hives and wheeze within minutes of IM ceftriaxone."], "physician"),
        (["Clinical pharmacist, St. Mary's.", "A man on simvastatin was put on diltiazem."], "pharmacist"),
        (["I am a breast care nurse.", "A patient on exemestane has painful stiff hands."], "other"),
        (["Enfermera aquí.", "Una paciente con amoxicilina tiene ronchas."], "other"),
    ],
)
def test_a_professional_who_introduces_themselves_without_i_am_a_is_read(
    sentences: list[str], kind: str
) -> None:
    """GIVEN a reporter who names their profession as a heading ("Hospitalist here.", "ER doc."),
    before a comma, or with more than one word before it WHEN read THEN that is their profession."""
    language = "es" if sentences[0].startswith("Enfermera") else "en"
    words = PersonWords.of(cues(language), language)
    assert reporter_profession([fold(s) for s in sentences], words) == kind


@pytest.mark.parametrize(
    "sentences",
    [
        ["Dear doctor, I started amlodipine and my ankles swelled."],
        ["The pharmacist, who was lovely, said the rash was from the amoxicillin I took."],
        ["Doctor said stop the ramipril because of my cough."],
        ["GP here was useless.", "My doctor put me on ramipril and I cough all night."],
    ],
)
def test_a_patient_who_names_a_professional_is_not_one(sentences: list[str]) -> None:
    """GIVEN a patient who greets, quotes or complains about a professional WHEN read THEN the
    reporter names no profession of their own."""
    assert reporter_profession([fold(s) for s in sentences]) is None


def test_a_relative_who_took_the_drug_is_not_read_as_the_reporter_by_a_folded_verb() -> None:
    """GIVEN "mi madre tomó", whose folded verb is also "tomo" (I take) WHEN read THEN the patient
    is the mother."""
    assert read("es", ["Mi madre tomó ibuprofeno y le salieron ronchas."], {0}) == ("mother", "relative")


@pytest.mark.parametrize(
    ("language", "sentence", "relative", "sex"),
    [
        ("en", "My granddaughter was given amoxicillin and came out in a rash.", "granddaughter", "female"),
        ("es", "Mi nieto tomó ibuprofeno y le salieron ronchas.", "grandson", "male"),
        ("fr", "Mon petit-fils a pris du Doliprane et il a des plaques rouges.", "grandson", "male"),
        ("de", "Mein Enkel hat Ibuprofen genommen und hat einen Ausschlag.", "grandson", "male"),
        ("pt", "Minha neta tomou dipirona e ficou com manchas vermelhas.", "granddaughter", "female"),
    ],
)
def test_a_grandchild_taking_the_drug_is_the_patient_in_each_language(
    language: str, sentence: str, relative: str, sex: str
) -> None:
    """GIVEN a grandparent writing of their grandchild's reaction WHEN read THEN the grandchild is
    the patient, with the sex the relation gives, and the reporter a relative."""
    words = PersonWords.of(cues(language), language)
    assert read(language, [sentence], {0}) == (relative, "relative")
    assert patient_sex(fold(sentence), relative, words) == sex


def english(sentences: list[str], drug_sentences: set[int]) -> str | None:
    return find_patient([fold(s) for s in sentences], drug_sentences)


@pytest.mark.parametrize(
    ("sentences", "drug_sentences", "relative"),
    [
        (
            ["I'm calling about my brother.", "He's been on clozapine for years and now he's drooling."],
            {1},
            "brother",
        ),
        (["It's about my mum.", "She's on amlodipine and her ankles are huge."], {1}, "mother"),
        (["My 6yo came out in hives on day 3 of cefalexin."], {0}, "child"),
        (["My 18-month-old has diarrhoea since starting amoxicillin."], {0}, "child"),
        (["My 3 year old son was sick after the ibuprofen."], {0}, "son"),
        (["Daughter woke up covered in a rash after her second dose of Augmentin."], {0}, "daughter"),
        (["My grandson (4) swallowed some of my metformin."], {0}, "grandson"),
    ],
)
def test_a_relative_named_by_a_pronoun_an_age_or_without_my_is_the_patient(
    sentences: list[str], drug_sentences: set[int], relative: str
) -> None:
    """GIVEN a relative who takes the drug as "she's on", a child named by age ("my 6yo"), or a
    relative opening a sentence without "my" WHEN read THEN that relative is the patient."""
    assert english(sentences, drug_sentences) == relative


@pytest.mark.parametrize(
    ("sentences", "drug_sentences", "relative"),
    [
        (["I gave my 2-year-old Calpol and an hour later he had blotches."], {0}, "child"),
        (["My husband and I both gave our son a dose of Nurofen, so he had two."], {0}, "son"),
        (["Daughter was covered in hives.", "I gave her Piriton and it settled."], {1}, "daughter"),
    ],
)
def test_the_one_the_reporter_gives_a_drug_to_is_the_patient(
    sentences: list[str], drug_sentences: set[int], relative: str
) -> None:
    """GIVEN a parent who says "I gave my X" or "gave her" a drug WHEN read THEN the one given it
    is the patient, not the "I" of the sentence."""
    assert english(sentences, drug_sentences) == relative


@pytest.mark.parametrize(
    ("sentences", "drug_sentences"),
    [
        (["My dad went to A&E and they gave him vitamin K.", "I take warfarin."], {0, 1}),
        (["Mum here.", "I started sertraline and can't sleep."], {1}),
        (["Husband and I both had the flu jab.", "I got a sore arm."], {0}),
        (["My midwife put me on ferrous fumarate.", "Since then my poo is black.", "Baby is fine."], {0}),
        (["I've been on lithium for my 10 years of bipolar and my hands shake."], {0}),
    ],
)
def test_a_first_person_report_that_names_a_relative_stays_the_reporters(
    sentences: list[str], drug_sentences: set[int]
) -> None:
    """GIVEN a reporter who takes the drug and names a relative (who treated someone, who they
    are, who is with them) or a number of years WHEN read THEN the patient is the reporter."""
    assert english(sentences, drug_sentences) == "reporter"


@pytest.mark.parametrize(
    ("language", "sentences", "relative"),
    [
        ("en", ["Gave my 3yo the recommended dose and she was bouncing off the walls."], "child"),
        ("es", ["Le di el jarabe a mi bebé de 8 meses y le salió un sarpullido."], "baby"),
        ("pt", ["Minha mãe começou há um mês e está com tosse seca."], "mother"),
    ],
)
def test_a_post_that_names_no_drug_is_read_as_about_its_product_in_every_sentence(
    language: str, sentences: list[str], relative: str
) -> None:
    """GIVEN a post whose only drug is the product it was collected for (no sentence names one)
    WHEN read THEN a relative it names is the patient as if its sentences named the drug."""
    assert read(language, sentences, set())[0] == relative


@pytest.mark.parametrize(
    ("language", "sentences", "relative"),
    [
        (
            "en",
            [
                "I'm calling about my dad.",
                "I think the amlodipine I take is fine, but the GP put him on it too.",
            ],
            "father",
        ),
        ("es", ["Llamo por mi madre, ella tomó ibuprofeno y yo la llevé a urgencias."], "mother"),
        ("fr", ["Bonjour, j'appelle pour mon fils de 5 ans, il a pris de l'Advil."], "son"),
        ("de", ["Ich rufe wegen meiner Tochter an, ich habe ihr Ibuprofen gegeben."], "daughter"),
        ("pt", ["Estou ligando sobre minha mãe, eu dei dipirona para ela."], "mother"),
    ],
)
def test_the_relative_a_caller_calls_about_is_the_patient_over_their_i(
    language: str, sentences: list[str], relative: str
) -> None:
    """GIVEN a reporter who calls or writes about a relative ("j'appelle pour mon fils") and also
    says "I" WHEN read THEN the relative is the patient and the reporter a relative."""
    assert read(language, sentences, {len(sentences) - 1}) == (relative, "relative")


def _says_they_are_reference(sentences, words, what):  # type: ignore[no-untyped-def]
    """The reading before it skipped positions (every position tried against every phrase)."""
    from pv.intelligence.patients import _few_words_then, _introduces_as, starts_with

    for ws in sentences:
        if _introduces_as(ws, words, what):
            return True
        for i in range(len(ws)):
            for phrase in words.self_descriptions:
                if tuple(ws[i : i + len(phrase)]) != phrase:
                    continue
                after = ws[i + len(phrase) :]
                if starts_with(after, what) or (
                    after[:1] and after[0] in words.articles and _few_words_then(after[1:], what, 2)
                ):
                    return True
            if any(
                tuple(ws[i : i + len(p)]) == p and starts_with(ws[i + len(p) :], what) for p in words.as_words
            ) or any(
                tuple(ws[i : i + len(p)]) == p and _few_words_then(ws[i + len(p) :], what, 1)
                for p in words.as_article_words
            ):
                return True
    return False


@pytest.mark.parametrize("language", ["en", "es", "fr", "de", "pt"])
def test_a_self_description_is_read_as_before_with_positions_skipped(language: str) -> None:
    """GIVEN random sentences made of the language's own self-description, article, 'as' and
    profession words among filler WHEN each kind of profession (and carers) is looked for THEN the
    answer is the one of trying every position against every phrase."""
    import random

    from pv.intelligence.patients import _says_they_are, person_words

    words = person_words(language)
    kinds = [words.physicians, words.pharmacists, words.other_professionals, words.carers]
    pieces = (
        [
            list(p)
            for group in (words.self_descriptions, words.as_words, words.as_article_words, *kinds)
            for p in group
        ]
        + [[a] for a in words.articles]
        + [["today"], ["my"], ["the"], ["and"], ["doctor"], ["x"]]
    )
    rng = random.Random(18)
    found = 0
    for _ in range(400):
        sentences = [
            [w for _ in range(rng.randint(1, 8)) for w in rng.choice(pieces)]
            for _ in range(rng.randint(1, 3))
        ]
        for what in kinds:
            expected = _says_they_are_reference(sentences, words, what)
            assert _says_they_are(sentences, words, what) == expected, (sentences, what)
            found += expected
    assert found > 50  # the sentences do say it often enough for the comparison to mean something
