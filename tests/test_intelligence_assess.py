"""assess_case end to end on small written documents: drugs, events, context, seriousness, validity."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pv.case_models import CaseFacts
from pv.intelligence import adverse_event_sentences, assess_case
from pv.models import Channel, SentenceScore, SourceDocument, TextUnit


def _document(
    text: str,
    *,
    channel: Channel = Channel.EMAIL,
    metadata: dict[str, str] | None = None,
    units: list[TextUnit] | None = None,
    language: str | None = None,
) -> SourceDocument:
    return SourceDocument(
        document_id="d" * 64,
        channel=channel,
        source_key=f"{channel.value}/case.txt",
        received_at=datetime(2025, 3, 1, 9, 30, tzinfo=UTC),
        units=units or [TextUnit(kind="body", text=text)],
        language=language,
        metadata={"from": "Jane Doe <jane.doe@example.com>"} if metadata is None else metadata,
    )


def _assess(text: str, **kwargs: object) -> CaseFacts:
    return assess_case(_document(text, **kwargs), [])  # type: ignore[arg-type]


def test_brand_name_is_normalized_to_its_generic():
    """GIVEN a brand name WHEN assessed THEN the suspect drug is the lowercase generic."""
    facts = _assess("I started Lipitor two weeks ago and now my muscles ache.")
    assert facts.suspect_drugs == ["atorvastatin"]
    assert facts.events == ["myalgia"]


def test_negated_events_are_not_reactions():
    facts = _assess("Since starting Zestril I feel dizzy. No rash, and I deny any nausea or vomiting.")
    assert facts.suspect_drugs == ["lisinopril"]
    assert facts.events == ["dizziness"]
    negated = sorted(m.normalized for m in facts.mentions if m.negated)
    assert negated == ["nausea", "rash", "vomiting"]


def test_indication_is_not_a_reaction():
    facts = _assess("I take metformin for my diabetes and since last week I have had terrible diarrhoea.")
    assert facts.suspect_drugs == ["metformin"]
    assert facts.events == ["diarrhoea"]
    assert [m.normalized for m in facts.mentions if m.role == "indication"] == ["diabetes"]


def test_death_of_the_patient_is_serious_with_evidence():
    facts = _assess(
        "My mum was put on warfarin last month. She had a nosebleed that would not stop. She died on Tuesday."
    )
    assert facts.patient == "mother"
    assert facts.suspect_drugs == ["warfarin"]
    assert facts.events == ["epistaxis", "death"]
    assert facts.serious is True
    assert [(c.criterion, c.evidence) for c in facts.seriousness_criteria] == [
        ("death", "She died on Tuesday.")
    ]


def test_flagged_sentences_stand_in_when_the_document_has_no_screened_text():
    document = _document("", units=[TextUnit(kind="quoted", text="old text")])
    flagged = [SentenceScore(text="Advil gave me hives.", label="Adverse_Event", score=0.97)]
    facts = assess_case(document, flagged)
    assert facts.suspect_drugs == ["ibuprofen"]
    assert facts.events == ["urticaria"]


def test_question_about_a_possible_effect_is_uncertain_not_a_reaction():
    facts = _assess("Could Advil cause hair loss? I'm just wondering before I buy some.")
    assert facts.events == []
    assert [(m.normalized, m.uncertain) for m in facts.mentions if m.normalized == "alopecia"] == [
        ("alopecia", True)
    ]
    assert facts.missing_elements == ["adverse_event"]


def test_family_history_is_not_a_reaction_of_the_patient():
    facts = _assess(
        "My father had a stroke years ago. I started amlodipine last week and my ankles are swollen."
    )
    assert facts.events == ["oedema peripheral"]
    assert [(m.normalized, m.role) for m in facts.mentions if m.role == "family"] == [("stroke", "family")]


def test_relative_on_the_drug_is_the_patient_and_their_events_count():
    facts = _assess("My son is on Keppra and he has become very aggressive.")
    assert facts.patient == "son"
    assert facts.suspect_drugs == ["levetiracetam"]
    assert facts.events == ["aggression"]


@pytest.mark.parametrize(
    "text",
    [
        "I finished my prednisolone course and had no sleep problems at all.",
        "Down 18kg on Mounjaro, my nurse nearly cried.",
    ],
)
def test_a_denied_phrase_and_what_nearly_happened_are_no_reaction(text: str):
    """GIVEN "no sleep" followed by "problems", or "nearly cried" WHEN assessed THEN no event occurred."""
    assert _assess(text).events == []


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("For period cramps. One Mefenamic acid tablet and I can go to the office.", "indication"),
        ("Lansoprazole cured my reflux in a week.", "indication"),
        ("Zero drowsiness on cetirizine and I drive for work.", "denied"),
        ("Seizure free for 4 years on lamotrigine.", "denied"),
        ("Has anyone had hair loss from sertraline??", "hedged"),
    ],
)
def test_what_a_review_says_the_drug_is_for_did_or_spared_is_no_reaction(text: str, role: str):
    """GIVEN a review's "For X.", what the drug cured, "zero X", "X free", a question to anyone
    WHEN assessed THEN the event is an indication, denied or hedged, never a reaction."""
    facts = _assess(text)
    assert facts.events == []
    [event] = [m for m in facts.mentions if m.kind == "event"]
    read = {"indication": event.role == "indication", "denied": event.negated, "hedged": event.uncertain}
    assert read[role]


def test_a_class_word_is_no_suspect_beside_the_drug_it_stands_for():
    """GIVEN "her jabs, the MMR" WHEN assessed THEN the MMR vaccine is the suspect, not "vaccine"."""
    facts = _assess("My baby had her jabs on Monday, the MMR. On the tenth day she had a high fever.")
    assert facts.suspect_drugs == ["mmr vaccine"]


def test_past_history_is_not_a_reaction():
    facts = _assess("I had migraines years ago but since starting Microgynon I get headaches every day.")
    assert facts.events == ["headache"]
    assert [(m.normalized, m.role) for m in facts.mentions if m.role == "history"] == [
        ("migraine", "history")
    ]


def test_drug_taken_for_the_reaction_treats_it_and_is_not_a_suspect():
    facts = _assess("Lisinopril made me throw up all night. I took Zofran for the vomiting.")
    assert facts.suspect_drugs == ["lisinopril"]
    assert facts.events == ["vomiting"]
    assert [(m.normalized, m.role) for m in facts.mentions if m.normalized == "ondansetron"] == [
        ("ondansetron", "treatment")
    ]


def test_clinicians_patient_is_identified():
    facts = _assess("I am a GP. A 54 year old female patient developed a rash after starting lamotrigine.")
    assert facts.patient == "patient"
    assert facts.missing_elements == []
    assert facts.summary.startswith(
        "Email sender (a healthcare professional) reports rash in a patient after starting lamotrigine."
    )


@pytest.mark.parametrize(
    ("text", "patient", "opening"),
    [
        (
            "I'm a carer. He started lisinopril last week and now has a rash.",
            "patient",
            "Email sender (a carer) reports rash in a patient after starting lisinopril.",
        ),
        (
            "I look after a resident at our care home. She started amlodipine and her ankles are swollen.",
            "patient",
            "Email sender (a carer) reports oedema peripheral in a patient after starting amlodipine.",
        ),
        (
            "My mother started lisinopril and now has a rash.",
            "mother",
            "Email sender (a relative) reports rash in their mother after starting lisinopril.",
        ),
        (
            "My son is on Keppra and he has become very aggressive.",
            "son",
            "Email sender (a relative) reports aggression in their son with levetiracetam.",
        ),
        (
            "My husband started Ozempic and keeps throwing up.",
            "husband",
            "Email sender (a spouse) reports vomiting in their husband after starting semaglutide.",
        ),
        (
            "I'm a nurse. My patient developed a rash on amoxicillin.",
            "patient",
            "Email sender (a healthcare professional) reports rash in a patient with amoxicillin.",
        ),
        (
            "I started lisinopril last week and now I have a rash.",
            "reporter",
            "Email sender reports rash after starting lisinopril.",
        ),
    ],
)
def test_summary_says_what_the_reporter_is_to_the_patient(text: str, patient: str, opening: str):
    """GIVEN a carer, a relative, a spouse or a nurse reporting about someone else, or a patient
    about themselves WHEN assessed THEN the summary names the reporter as what they are: only a
    pharmacist, nurse, doctor or other clinician is a healthcare professional."""
    facts = _assess(text)
    assert facts.patient == patient
    assert facts.summary.startswith(opening)


@pytest.mark.parametrize(
    ("text", "criteria"),
    [
        ("On Ozempic I kept throwing up and they kept me in hospital for two nights.", ["hospitalisation"]),
        (
            "After Bactrim my skin peeled off; it was life-threatening and I was in intensive care.",
            ["life_threatening", "hospitalisation"],
        ),
        ("I had anaphylaxis after amoxicillin.", ["medically_important"]),
        ("Since Humira I can no longer walk and I'm in a wheelchair.", ["disability"]),
        ("I took Wegovy during pregnancy and my baby was born with a cleft palate.", ["congenital_anomaly"]),
        ("My husband took warfarin, had a massive bleed and died.", ["death"]),
    ],
)
def test_each_ich_seriousness_criterion_is_found(text: str, criteria: list[str]):
    facts = _assess(text)
    assert facts.serious is True
    assert [c.criterion for c in facts.seriousness_criteria] == criteria
    assert all(c.evidence == text for c in facts.seriousness_criteria)


@pytest.mark.parametrize(
    "text",
    [
        "I was not hospitalised, but the rash from the Bactrim was awful.",
        "We went to A&E with the hives after Calpol but she wasn't admitted.",
        "My father died of a heart attack years ago. I take Lipitor and have muscle pain.",
        "I'm worried Lipitor could put me in hospital; for now I just have a headache.",
    ],
)
def test_negated_hypothetical_or_family_criteria_do_not_make_a_case_serious(text: str):
    facts = _assess(text)
    assert facts.serious is False
    assert facts.seriousness_criteria == []


def test_summary_is_structured_and_names_only_what_was_extracted():
    said = (
        "I started lisinopril on Monday. Since then I get dizzy and I fainted at work. "
        "They kept me in hospital overnight. No chest pain."
    )
    document = _document("", channel=Channel.CALL, units=[TextUnit(kind="turn", speaker="caller", text=said)])
    facts = assess_case(document, [])
    assert facts.summary == (
        "Caller reports dizziness and syncope after starting lisinopril. Serious: hospitalisation. "
        "Denies chest pain."
    )


def test_a_drug_the_reporter_has_no_trouble_with_is_not_listed_as_a_denied_event():
    facts = _assess("Since starting atorvastatin I have muscle pain. No problems with the metformin itself.")
    assert [(m.normalized, m.kind) for m in facts.mentions if m.negated] == [("metformin", "drug")]
    assert "Denies" not in facts.summary
    assert facts.summary.startswith("Email sender reports myalgia after starting atorvastatin.")


def test_summary_names_the_suspect_after_starting_and_lists_concomitant_drugs_apart():
    """GIVEN metformin taken for diabetes and a rash since starting lisinopril WHEN assessed THEN the
    summary puts the rash after lisinopril only, and names metformin as concomitant."""
    facts = _assess("I take metformin for my diabetes and started lisinopril last month; now I have a rash.")
    assert facts.summary == (
        "Email sender reports rash after starting lisinopril. Not serious on the reported facts. "
        "Indication: diabetes. Concomitant: metformin."
    )


def test_summary_does_not_say_after_starting_for_a_drug_only_the_concomitant_was_started():
    """GIVEN metformin started years ago for diabetes and a cough from lisinopril WHEN assessed
    THEN the summary does not say the cough came after starting lisinopril."""
    facts = _assess("I started metformin for my diabetes years ago. Lisinopril gives me a cough.")
    assert facts.suspect_drugs == ["lisinopril"]
    assert facts.summary.startswith("Email sender reports cough with lisinopril.")


def test_missing_elements_are_listed_for_follow_up():
    """GIVEN an anonymous email that names an event but no drug or patient."""
    facts = _assess("Somebody got a terrible rash.", metadata={})
    assert facts.missing_elements == ["reporter", "patient", "suspect_drug"]
    assert facts.summary.endswith("Follow-up needed: reporter, patient, suspect drug.")


def test_reporter_is_identified_by_channel_metadata_or_a_caller_turn():
    social = _document("Lipitor gave me muscle pain", channel=Channel.SOCIAL, metadata={"author": "pat_123"})
    call = _document(
        "",
        channel=Channel.CALL,
        metadata={},
        units=[TextUnit(kind="turn", speaker="caller", text="Lipitor gave me muscle pain.")],
    )
    anonymous = _document("Lipitor gave me muscle pain", channel=Channel.SOCIAL, metadata={})
    assert "reporter" not in assess_case(social, []).missing_elements
    assert "reporter" not in assess_case(call, []).missing_elements
    assert "reporter" in assess_case(anonymous, []).missing_elements


def test_agent_turns_are_not_read_as_the_callers_events():
    document = _document(
        "",
        channel=Channel.CALL,
        metadata={},
        units=[
            TextUnit(kind="turn", speaker="agent", text="Any rash or vomiting with the Lipitor?"),
            TextUnit(kind="turn", speaker="caller", text="Just the muscle pain since I started Lipitor."),
        ],
    )
    facts = assess_case(document, [])
    assert facts.events == ["myalgia"]


def test_post_in_a_language_the_rules_do_not_read_keeps_drugs_drops_events_and_asks_for_review():
    """Italian post: drug names still match; the event rules do not run; review needed."""
    text = "Ho preso ibuprofene e Lipitor, adesso ho mal di testa e nausea da due giorni."
    document = _document(text, channel=Channel.SOCIAL, metadata={"author": "ana_r"})
    facts = assess_case(document, [])
    assert facts.language == "it"
    assert facts.suspect_drugs == ["ibuprofen", "atorvastatin"]  # "ibuprofene" is one edit away
    assert facts.events == []
    assert "adverse_event" in facts.missing_elements
    assert "Report in language 'it': events not extracted, needs human review." in facts.summary


def test_spanish_post_is_read_in_full():
    """GIVEN a Spanish post WHEN assessed THEN its events are read by the Spanish lay lexicon and
    its drugs by their Spanish spellings, and no review note is added for the language."""
    text = "Tomé ibuprofeno y Lipitor, ahora tengo dolor de cabeza y náuseas desde hace dos días."
    facts = assess_case(_document(text, channel=Channel.SOCIAL, metadata={"author": "ana_r"}), [])
    assert facts.language == "es"
    assert facts.suspect_drugs == ["ibuprofen", "atorvastatin"]
    assert facts.events == ["headache", "nausea"]
    assert "needs human review" not in facts.summary


def test_screening_flags_a_post_in_an_unread_language_that_names_a_drug_for_a_person_to_read():
    """GIVEN posts the rules cannot read WHEN screening's rules check them THEN one that names a
    drug is flagged by that sentence (a case for human review), one that names none is not."""
    italian = "Da quando ho iniziato Xarelto mi vengono lividi su tutto il corpo."
    flagged = adverse_event_sentences(_document(italian, channel=Channel.SOCIAL, metadata={"author": "x"}))
    assert flagged == [italian]
    weather = _document("Oggi fa bel tempo a Napoli, andiamo al mare con gli amici.", channel=Channel.SOCIAL)
    assert adverse_event_sentences(weather) == []


def test_screening_flags_a_callers_reaction_to_the_drug_only_the_agent_named():
    """GIVEN a safety callback where the agent names the drug and the caller only the reaction
    WHEN screening's rules check it THEN the caller's reaction sentence is flagged, as the case
    will take the agent's drug as the suspect; a caller with no reaction is not flagged."""
    units = [
        TextUnit(kind="turn", speaker="agent", text="I'm returning your call about the amoxicillin."),
        TextUnit(kind="turn", speaker="caller", text="Yes. The rash spread to her face this morning."),
    ]
    call = _document("", channel=Channel.CALL, units=units, metadata={})
    assert adverse_event_sentences(call) == ["The rash spread to her face this morning."]
    assert assess_case(call, []).suspect_drugs == ["amoxicillin"]
    calm = [units[0], TextUnit(kind="turn", speaker="caller", text="Yes, I wanted to ask about storage.")]
    assert adverse_event_sentences(_document("", channel=Channel.CALL, units=calm, metadata={})) == []


def test_language_given_by_the_channel_wins_over_detection():
    document = _document(
        "Lipitor gave me muscle pain.", channel=Channel.SOCIAL, language="it-IT", metadata={"author": "x"}
    )
    facts = assess_case(document, [])
    assert facts.language == "it"
    assert facts.events == []


def _roles(facts: CaseFacts, name: str) -> list[str]:
    return [m.role for m in facts.mentions if m.normalized == name]


@pytest.mark.parametrize(
    ("text", "suspects", "treatment"),
    [
        (
            "I started warfarin and had a big nosebleed. They gave me vitamin K.",
            ["warfarin"],
            "phytonadione",
        ),
        (
            "He took too much oxycodone and stopped breathing; the paramedics gave him naloxone.",
            ["oxycodone"],
            "naloxone",
        ),
        (
            "I had anaphylaxis after amoxicillin and got an adrenaline shot in A&E.",
            ["amoxicillin"],
            "epinephrine",
        ),
        ("Ibuprofen gave me a rash. I took an antihistamine for the rash.", ["ibuprofen"], "antihistamine"),
        (
            "I was given amoxicillin and came out in hives; they gave me cetirizine",
            ["amoxicillin"],
            "cetirizine",
        ),
        (
            "Lipitor gave me muscle pain so the GP gave me ibuprofen to ease it.",
            ["atorvastatin"],
            "ibuprofen",
        ),
        ("My lips swelled up after my new tablets and I used my EpiPen.", [], "epinephrine"),
        (
            "I came out in hives after amoxicillin. They gave me cetirizine. The cetirizine helped.",
            ["amoxicillin"],
            "cetirizine",
        ),
    ],
)
def test_drug_given_for_the_reaction_is_a_treatment_not_a_suspect(
    text: str, suspects: list[str], treatment: str
):
    """GIVEN a drug given or taken after a reaction to treat it (an antidote, adrenaline in A&E, an
    antihistamine for the rash, what they gave after the suspect drug) WHEN assessed THEN it is a
    treatment mention, in every later mention too, and not a suspect drug."""
    facts = _assess(text)
    assert facts.suspect_drugs == suspects
    assert set(_roles(facts, treatment)) == {"treatment"}
    assert facts.events


@pytest.mark.parametrize(
    ("text", "suspects"),
    [
        ("after the vitamin K my rash got worse", ["phytonadione"]),
        ("I had a rash on warfarin. After the vitamin K my rash got worse.", ["warfarin", "phytonadione"]),
        (
            "Amoxicillin gave me hives. They gave me cetirizine and it made me drowsy.",
            ["amoxicillin", "cetirizine"],
        ),
        (
            "Since starting Zestril I feel dizzy. The doctor gave me betahistine for the dizziness, "
            "but now I have a rash.",
            ["lisinopril", "betahistine"],
        ),
        ("I had a rash on Lipitor. The GP switched me to Crestor instead.", ["atorvastatin", "rosuvastatin"]),
        ("I had a bad cough for months. My GP gave me lisinopril.", ["lisinopril"]),
        ("I took Tylenol for the headache. Now my headache is worse.", ["acetaminophen"]),
    ],
)
def test_drug_the_reporter_blames_or_that_is_not_given_for_the_reaction_stays_suspect(
    text: str, suspects: list[str]
):
    """GIVEN a drug followed by a new or worse reaction, one that replaced the suspect, or one given
    with no suspect drug before it WHEN assessed THEN it is a suspect."""
    facts = _assess(text)
    assert facts.suspect_drugs == suspects


@pytest.mark.parametrize(
    ("text", "suspects", "treatment"),
    [
        ("I got a rash after starting lisinopril and took Piriton for it.", ["lisinopril"], "chlorphenamine"),
        (
            "I started amlodipine and my ankles swelled so I took furosemide for the swelling.",
            ["amlodipine"],
            "furosemide",
        ),
        (
            "I got a rash after starting lisinopril and then took an antihistamine for the rash.",
            ["lisinopril"],
            "antihistamine",
        ),
        (
            "I got hives after amoxicillin and took cetirizine to help with the itching.",
            ["amoxicillin"],
            "cetirizine",
        ),
        ("I got hives after amoxicillin. I took cetirizine for the itching.", ["amoxicillin"], "cetirizine"),
    ],
)
def test_a_purpose_belongs_to_the_drug_of_its_own_verb_phrase(text: str, suspects: list[str], treatment: str):
    """GIVEN a suspect drug and its reaction, then "and took <drug> for it" (or "for the swelling",
    "to help with the itching") WHEN assessed THEN the purpose is the second drug's (a treatment),
    not the suspect's; what it treats is a reaction, and the case keeps its suspect and its event."""
    facts = _assess(text)
    assert facts.suspect_drugs == suspects
    assert _roles(facts, treatment) == ["treatment"]
    assert facts.events
    assert "suspect_drug" not in facts.missing_elements
    assert "adverse_event" not in facts.missing_elements


def test_the_drug_taken_for_a_headache_does_not_take_the_blame_for_a_rash_put_down_to_another():
    """GIVEN ibuprofen for a headache, then "the rash from lisinopril got worse" WHEN assessed THEN
    lisinopril is the suspect, ibuprofen a concomitant drug and the headache its indication."""
    facts = _assess("I took ibuprofen for the headache and then the rash from lisinopril got worse.")
    assert facts.suspect_drugs == ["lisinopril"]
    assert facts.events == ["rash"]
    assert _roles(facts, "ibuprofen") == ["concomitant"]
    assert _roles(facts, "headache") == ["indication"]


@pytest.mark.parametrize(
    ("text", "suspects", "concomitant"),
    [
        (
            "I take metformin for my diabetes and started lisinopril last month; now I have a rash.",
            ["lisinopril"],
            ["metformin"],
        ),
        (
            "I take metformin for my diabetes. Since starting lisinopril I have a rash.",
            ["lisinopril"],
            ["metformin"],
        ),
        (
            "Warfarin made my gums bleed. The doctor also gave me omeprazole for my stomach.",
            ["warfarin"],
            ["omeprazole"],
        ),
        (
            "I take amlodipine to control my blood pressure. Since starting simvastatin my muscles ache.",
            ["simvastatin"],
            ["amlodipine"],
        ),
        (
            "I take metformin and gliclazide for my diabetes. Since starting lisinopril I have a rash.",
            ["lisinopril"],
            ["metformin", "gliclazide"],
        ),
        ("I had a rash on Lipitor. I take metformin for diabetes.", ["atorvastatin"], ["metformin"]),
    ],
)
def test_a_drug_taken_for_another_condition_is_concomitant_when_another_is_suspected(
    text: str, suspects: list[str], concomitant: list[str]
):
    """GIVEN a drug taken for a condition that is not a reaction, and another drug the reporter
    started or blames WHEN assessed THEN the first is recorded as a concomitant drug, not a suspect."""
    facts = _assess(text)
    assert facts.suspect_drugs == suspects
    assert [m.normalized for m in facts.mentions if m.role == "concomitant"] == concomitant
    assert facts.events


@pytest.mark.parametrize(
    ("text", "suspects", "events"),
    [
        ("I take metformin for diabetes and get diarrhoea.", ["metformin"], ["diarrhoea"]),
        (
            "I take metformin for my diabetes and ramipril for my blood pressure, and now I have a rash.",
            ["metformin", "ramipril"],
            ["rash"],
        ),
        (
            "I take metformin for my diabetes and lisinopril. I have had a rash for a week.",
            ["metformin", "lisinopril"],
            ["rash"],
        ),
        (
            "I take metformin for my diabetes and it gives me diarrhoea; "
            "I also started lisinopril last month.",
            ["metformin", "lisinopril"],
            ["diarrhoea"],
        ),
        (
            "I take metformin for my diabetes. I started lisinopril and got a rash. The metformin gives me "
            "diarrhoea.",
            ["metformin", "lisinopril"],
            ["rash", "diarrhoea"],
        ),
    ],
)
def test_a_drug_taken_for_a_condition_stays_suspect_when_no_other_is_suspected_or_it_is_blamed(
    text: str, suspects: list[str], events: list[str]
):
    """GIVEN a drug taken for a condition that is the only drug, or no other drug is started or
    blamed, or the reporter blames it too WHEN assessed THEN it stays a suspect."""
    facts = _assess(text)
    assert facts.suspect_drugs == suspects
    assert facts.events == events
    assert not [m for m in facts.mentions if m.role == "concomitant"]


def test_a_treatment_the_reporter_later_blames_is_both():
    """GIVEN cetirizine given for hives and later blamed for drowsiness WHEN assessed THEN its first
    mention is a treatment, the second a suspect, and it is a suspect drug."""
    facts = _assess(
        "I came out in hives after amoxicillin. They gave me cetirizine. "
        "I think the cetirizine made me drowsy."
    )
    assert facts.suspect_drugs == ["amoxicillin", "cetirizine"]
    assert _roles(facts, "cetirizine") == ["treatment", "suspect"]
    assert facts.events == ["urticaria", "somnolence"]


def test_a_drug_taken_before_the_reaction_stays_suspect_when_given_again_to_treat_it():
    """GIVEN cetirizine taken for hay fever, then given again for hives after amoxicillin WHEN
    assessed THEN it stays a suspect (taken before the reaction) and the later mention is a treatment."""
    facts = _assess(
        "I take cetirizine every day. I came out in hives after amoxicillin and they gave me more cetirizine."
    )
    assert facts.suspect_drugs == ["cetirizine", "amoxicillin"]
    assert _roles(facts, "cetirizine") == ["suspect", "treatment"]


def test_a_drug_given_to_a_relative_who_is_not_the_patient_is_not_a_suspect():
    """GIVEN the reporter's father given vitamin K years ago WHEN assessed THEN it is his, not a suspect."""
    facts = _assess("My dad went to A&E years ago and they gave him vitamin K. I take warfarin and bruise.")
    assert facts.suspect_drugs == ["warfarin"]
    assert _roles(facts, "phytonadione") == ["family"]
    assert facts.serious is False


@pytest.mark.parametrize(
    "text",
    [
        "I'm a pharmacist. A customer of ours started Lipitor and now has muscle pain.",
        "I'm a community pharmacist. A customer came in today; she started amlodipine and her ankles swell.",
        "I'm a district nurse. I visit an elderly gentleman; he started apixaban and now has black stools.",
        "I'm a nurse. My patient developed a rash on amoxicillin.",
        "I look after a resident at our care home. She takes donepezil and has been falling.",
        "One of my clients started sertraline and since then she cannot sleep.",
    ],
)
def test_third_party_reporter_writes_about_the_person_they_care_for(text: str):
    """GIVEN a pharmacist, nurse or carer writing about their customer, patient or client, or about
    "he" or "she" after saying what they are WHEN assessed THEN that person is the patient."""
    assert _assess(text).patient == "patient"


@pytest.mark.parametrize(
    ("text", "patient"),
    [
        ("I am a loyal customer. Lipitor gave me muscle pain.", "reporter"),
        (
            "FYI, a customer sent this to our sales inbox. Since I started Xarelto I get nosebleeds.",
            "reporter",
        ),
        (
            "I'm a nurse and I started Lipitor last month; my GP said she thinks the pain is from it.",
            "reporter",
        ),
        ("I read the patient leaflet for Lipitor and I have muscle pain.", "reporter"),
        ("I'm a patient at the clinic and Lipitor gave me muscle pain.", "reporter"),
        ("My mum is a patient at St Mary's. She was put on warfarin and had a bleed.", "mother"),
        ("I care for my husband. He takes donepezil and has been falling.", "husband"),
    ],
)
def test_reporter_who_is_a_customer_patient_or_carer_of_a_relative_is_not_a_third_party(
    text: str, patient: str
):
    """GIVEN a reporter who is themselves a customer or a patient, a nurse who takes the drug, a
    company forwarding a customer's message, or a carer of a relative WHEN assessed THEN the
    patient is the reporter or the relative."""
    assert _assess(text).patient == patient


def test_hay_fever_is_the_indication_of_an_antihistamine_not_a_fever():
    """GIVEN cetirizine taken for hay fever that makes the reporter drowsy WHEN assessed THEN the
    only event is the drowsiness, and hay fever is the indication."""
    facts = _assess("I take cetirizine for my hay fever and it makes me drowsy.")
    assert facts.suspect_drugs == ["cetirizine"]
    assert facts.events == ["somnolence"]
    assert _roles(facts, "allergic rhinitis") == ["indication"]
    assert _roles(facts, "fever") == []
    assert "Indication: allergic rhinitis." in facts.summary


def test_a_painkiller_taken_for_a_headache_after_starting_a_drug_leaves_the_headache_an_indication():
    """GIVEN "I started lisinopril and took ibuprofen for the headache" WHEN assessed THEN the
    headache is what ibuprofen was taken for, not said to follow lisinopril: the case has no event
    and is stored incomplete for a human to read (the words do not say more)."""
    facts = _assess("I started lisinopril and took ibuprofen for the headache.")
    assert facts.suspect_drugs == ["lisinopril"]
    assert facts.events == []
    assert _roles(facts, "headache") == ["indication"]
    assert "adverse_event" in facts.missing_elements


@pytest.mark.parametrize(
    "text",
    [
        "I started lisinopril last week and got a bad headache, so I took ibuprofen for it.",
        "Since starting lisinopril I've had headaches and took ibuprofen for the headache.",
        "I started lisinopril and got a headache, took ibuprofen for the headache.",
        "I started lisinopril and took ibuprofen for the headache it gave me.",
        "I started lisinopril and took ibuprofen for the headaches it causes.",
        "I took ibuprofen for the headache lisinopril gives me.",
        "I started lisinopril and took ibuprofen for the headache from the lisinopril.",
    ],
)
def test_a_headache_said_to_follow_a_drug_is_its_event_and_the_painkiller_treats_it(text: str):
    """GIVEN a headache that came after lisinopril or is put down to it, and ibuprofen taken for
    the headache WHEN assessed THEN the headache is an event, lisinopril the suspect and ibuprofen
    a treatment."""
    facts = _assess(text)
    assert facts.suspect_drugs == ["lisinopril"]
    assert facts.events == ["headache"]
    assert _roles(facts, "ibuprofen") == ["treatment"]


@pytest.mark.parametrize(
    "text",
    [
        "They gave me cetirizine. Since then I've been drowsy.",
        "I came out in hives after amoxicillin. They gave me cetirizine. Since then I've been drowsy.",
        "I started amoxicillin and came out in hives. They gave me cetirizine. Ever since I've been drowsy.",
    ],
)
def test_a_drug_followed_by_since_then_and_a_new_reaction_is_a_suspect(text: str):
    """GIVEN a drug given (perhaps to treat a reaction) and a next sentence going back to it with a
    new reaction ("Since then I've been drowsy") WHEN assessed THEN the drug is a suspect."""
    facts = _assess(text)
    assert "cetirizine" in facts.suspect_drugs
    assert _roles(facts, "cetirizine") == ["suspect"]
    assert "somnolence" in facts.events


def test_a_treatment_followed_by_since_then_and_the_reaction_it_treats_stays_a_treatment():
    """GIVEN cetirizine given for hives and "Since then the hives are still there" WHEN assessed
    THEN cetirizine is still a treatment: no new reaction follows it."""
    facts = _assess(
        "I got hives after amoxicillin. They gave me cetirizine for the hives. "
        "Since then the hives are still there."
    )
    assert facts.suspect_drugs == ["amoxicillin"]
    assert _roles(facts, "cetirizine") == ["treatment"]


def test_a_person_named_like_an_abbreviation_is_no_event_of_the_case():
    """GIVEN a pharmacist called Aki (AKI: acute kidney injury, an important medical event) WHEN
    assessed THEN the name is no event and the case is not serious; "AKI" in capitals still is."""
    facts = _assess("Aki at the pharmacy said my muscle pain could be the Lipitor.")
    assert (facts.events, facts.serious) == (["myalgia"], False)
    facts = _assess("Since starting ibuprofen I was told I have an AKI.")
    assert (facts.events, facts.serious) == (["renal failure"], True)


@pytest.mark.parametrize(
    "text",
    [
        "I took some pain killers.",
        "I've had two pain killers today.",
        "The pain relief from the chemist did nothing.",
        "Can I take pain medication with Xarelto?",
    ],
)
def test_pain_killers_pain_relief_and_pain_medication_are_no_pain_event(text: str):
    """GIVEN "pain killers", "pain relief" or "pain medication" (a drug, not a reaction) WHEN
    assessed THEN no "pain" event is read in them."""
    assert "pain" not in _assess(text).events


@pytest.mark.parametrize(
    ("text", "suspects"),
    [
        ("I take paracetamol for pain relief and it gave me a rash.", ["acetaminophen"]),
        ("I was given morphine for pain relief and was sick all night.", ["morphine"]),
        ("I took some pain relief and came out in hives.", ["analgesic"]),
    ],
)
def test_a_drug_class_named_as_what_another_drug_is_for_is_not_a_suspect(text: str, suspects: list[str]):
    """GIVEN "paracetamol for pain relief" WHEN assessed THEN pain relief says what paracetamol is
    for, not a second drug; taken by itself ("I took some pain relief") it is the suspect."""
    assert _assess(text).suspect_drugs == suspects


@pytest.mark.parametrize(
    "text",
    [
        "Ibuprofen for the headache caused stomach pain.",
        "Ibuprofen for my headache gave me stomach pain.",
        "The ibuprofen to treat my headache caused stomach pain.",
    ],
)
def test_a_reaction_after_what_a_drug_was_for_is_its_event_not_an_indication(text: str):
    """GIVEN "Ibuprofen for the headache caused stomach pain" WHEN assessed THEN the purpose phrase
    ends at "caused": the stomach pain is ibuprofen's event and the headache its indication."""
    facts = _assess(text)
    assert (facts.suspect_drugs, facts.events) == (["ibuprofen"], ["abdominal pain"])
    assert _roles(facts, "headache") == ["indication"]


@pytest.mark.parametrize(
    ("text", "condition"),
    [
        ("I've got a bad back and paracetamol isn't doing much.", "back pain"),
        ("Paracetamol isn't helping my headache.", "headache"),
        ("I have a headache and the ibuprofen doesn't really help.", "headache"),
        ("My back hurts but co-codamol hasn't helped.", "back pain"),
        ("I get a rash every spring and cetirizine does nothing for it.", "rash"),
        ("Naproxen is not touching my back pain.", "back pain"),
    ],
)
def test_a_condition_a_drug_does_nothing_for_is_its_indication_not_a_reaction(text: str, condition: str):
    """GIVEN a condition named beside a drug that "isn't doing much", "isn't helping", "hasn't
    helped" or "does nothing for it" WHEN assessed THEN the condition is what the drug is taken
    for (its indication, not denied), and no reaction."""
    facts = _assess(text)
    assert facts.events == []
    assert [(m.role, m.negated) for m in facts.mentions if m.normalized == condition] == [
        ("indication", False)
    ]


@pytest.mark.parametrize(
    ("text", "event"),
    [
        ("Since starting Xarelto I've had a bad back.", "back pain"),
        ("Since starting Xarelto I've had a bad back and paracetamol isn't doing much.", "back pain"),
        ("Lipitor gave me muscle pain and paracetamol isn't helping.", "myalgia"),
        ("I started Lipitor last month. Now I have muscle pain and paracetamol isn't helping.", "myalgia"),
        ("Paracetamol isn't helping my headache and now I have a rash.", "rash"),
    ],
)
def test_a_reaction_stays_a_reaction_beside_a_drug_that_does_nothing_for_it(text: str, event: str):
    """GIVEN a reaction said to follow a drug, or one the condition-and-useless-drug reading does not
    cover WHEN assessed THEN it is still an event."""
    assert event in _assess(text).events
