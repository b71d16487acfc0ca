"""Drug and event vocabularies: brand to generic, case, misspellings, slang, words that are not drugs."""

from __future__ import annotations

import pytest
from pv.intelligence import LexiconExtractor


def _drugs(sentence: str) -> list[str]:
    [entities] = LexiconExtractor().extract([sentence])
    return [e.normalized or "" for e in entities if e.type == "DRUG"]


def _events(sentence: str) -> list[str]:
    [entities] = LexiconExtractor().extract([sentence])
    return [e.normalized or "" for e in entities if e.type == "AE"]


@pytest.mark.parametrize(
    ("brand", "generic"),
    [
        ("Lipitor", "atorvastatin"),
        ("TYLENOL", "acetaminophen"),
        ("paracetamol", "acetaminophen"),
        ("Advil", "ibuprofen"),
        ("motrin", "ibuprofen"),
        ("Glucophage", "metformin"),
        ("Zestril", "lisinopril"),
        ("Prinivil", "lisinopril"),
        ("Coumadin", "warfarin"),
        ("Ozempic", "semaglutide"),
        ("Wegovy", "semaglutide"),
        ("Bactrim", "sulfamethoxazole-trimethoprim"),
        ("salbutamol", "albuterol"),
        ("Depakote", "valproate"),
        ("vitamin K", "phytonadione"),
        ("Konakion", "phytonadione"),
        ("an antihistamine", "antihistamine"),
        ("antihistamines", "antihistamine"),
    ],
)
def test_brand_and_us_names_map_to_the_generic(brand: str, generic: str):
    assert _drugs(f"I was given {brand} yesterday.") == [generic]


@pytest.mark.parametrize(
    ("misspelt", "generic"),
    [
        ("Lipiter", "atorvastatin"),
        ("ibuprofin", "ibuprofen"),
        ("metforman", "metformin"),
        ("paracetamole", "acetaminophen"),
        ("lisinipril", "lisinopril"),
        ("seroquell", "quetiapine"),
        ("amoxycillin", "amoxicillin"),
        ("atorvastain", "atorvastatin"),
        ("zoloff", "sertraline"),
        ("sertaline", "sertraline"),
        ("levothyroxin", "levothyroxine"),
    ],
)
def test_misspelt_drug_names_are_recognised(misspelt: str, generic: str):
    assert _drugs(f"I take {misspelt} every morning.") == [generic]


@pytest.mark.parametrize(
    "sentence",
    [
        "The singular problem is the ambient noise.",
        "A different program would help my ability to cope.",
        "Our efficient team could regain clarity.",
        "I went to a concert with my sister.",
    ],
)
def test_english_words_near_drug_names_are_not_drugs(sentence: str):
    assert _drugs(sentence) == []


@pytest.mark.parametrize(
    ("heard", "generic"),
    [
        ("the met formin", "metformin"),
        ("the jar dance", "empagliflozin"),
        ("the true licity", "dulaglutide"),
        ("the zarelto", "rivaroxaban"),
        ("my co-codomol", "acetaminophen-codeine"),
    ],
)
def test_a_drug_name_heard_apart_sound_alike_or_hyphenated_is_recognised(heard: str, generic: str):
    """GIVEN a name speech-to-text split after "the" ("jar dance"), a first letter that sounds alike
    ("zarelto") or a hyphenated misspelling WHEN matched THEN the drug is found."""
    assert _drugs(f"I'm calling about {heard}, I take it daily.") == [generic]


def test_words_after_the_are_joined_only_into_a_drug():
    assert _drugs("I went to the jar shop and the true story is long.") == []


def test_short_words_are_never_fuzzy_matched():
    """Five letters or fewer must match exactly: "Advel" is not corrected to Advil."""
    assert _drugs("I took Advel.") == []


@pytest.mark.parametrize(
    ("slang", "generic"),
    [("xannies", "alprazolam"), ("percs", "oxycodone"), ("flu jab", "influenza vaccine")],
)
def test_street_and_lay_names_map_to_the_generic(slang: str, generic: str):
    assert _drugs(f"Had some {slang} last night.") == [generic]


def test_two_drugs_in_one_sentence_are_both_found():
    assert _drugs("I take Coumadin and Advil.") == ["warfarin", "ibuprofen"]


@pytest.mark.parametrize(
    ("phrase", "term"),
    [
        ("I threw up twice", "vomiting"),
        ("my muscles ache", "myalgia"),
        ("then I passed out", "syncope"),
        ("I fainted", "syncope"),
        ("I came out in hives", "urticaria"),
        ("there is hair loss", "alopecia"),
        ("my gums are bleeding", "gingival bleeding"),
        ("she had a nosebleed", "epistaxis"),
        ("I bled a lot", "bleeding"),
        ("I get headaches", "headache"),
        ("a nasty rash", "rash"),
        ("I've been light-headed", "dizziness"),
    ],
)
def test_lay_terms_map_to_preferred_terms(phrase: str, term: str):
    assert _events(phrase) == [term]


@pytest.mark.parametrize(
    ("phrase", "term"),
    [
        ("I've been really bunged up", "constipation"),
        ("haven't opened my bowels since Monday", "constipation"),
        ("water is like sucking on a penny", "taste disturbance"),
        ("I'm a total zombie on it", "sedation"),
        ("cotton mouth all day", "dry mouth"),
        ("can't get to sleep", "insomnia"),
        ("cant get to sleep", "insomnia"),
        ("my pee is dark", "chromaturia"),
        ("I'm so grumpy", "irritability"),
        ("I get dizzy when I stand up", "dizziness postural"),
    ],
)
def test_patient_wording_maps_to_preferred_terms(phrase: str, term: str):
    """GIVEN slang, polite bowel talk, "can't ..." with or without its apostrophe WHEN matched THEN
    the lay lexicon names the reaction (events.tsv, mined from the lay corpus's train part)."""
    assert _events(phrase) == [term]


@pytest.mark.parametrize(
    ("phrase", "term"),
    [
        ("my heart keeps doing a weird skipping thing", "palpitations"),
        ("my ankles have swollen up", "oedema peripheral"),
        ("my BP has crept up", "blood pressure increased"),
        ("i cant really sleep", "insomnia"),
        ("my hair has got thin on top", "alopecia"),
    ],
)
def test_a_body_part_and_what_it_does_a_few_words_apart_is_an_event(phrase: str, term: str):
    """GIVEN a body part or measure and, a few words later, what it does WHEN matched THEN the
    pattern (event_patterns.tsv) names the reaction."""
    assert _events(phrase) == [term]


@pytest.mark.parametrize(
    "phrase", ["my heart isn't racing", "my hair's stopped falling out", "my heart is fine and racing along"]
)
def test_a_pattern_never_reads_across_a_negation_a_stop_or_a_clause(phrase: str):
    assert _events(phrase) == []


def test_every_row_of_a_preferred_term_carries_the_same_flags():
    """GIVEN events.tsv, where a preferred term may have several rows WHEN its rows are read THEN
    they agree on the flags (ime, cond, under:), so a phrase's row never changes what the event is."""
    from importlib import resources

    text = resources.files("pv.resources").joinpath("events.tsv").read_text(encoding="utf-8")
    flags: dict[str, set[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            row = line.split("\t")
            flags.setdefault(row[0], set()).add(row[2] if len(row) > 2 else "")
    assert {term: found for term, found in flags.items() if len(found) > 1} == {}


def test_longest_phrase_wins_over_its_parts():
    """ "iron deficiency" is the condition, not the drug iron."""
    assert _drugs("I have iron deficiency.") == []
    assert _events("I have iron deficiency.") == ["iron deficiency anaemia"]


def test_entity_offsets_point_into_the_sentence():
    sentence = "Since Zestril I feel dizzy."
    [entities] = LexiconExtractor().extract([sentence])
    assert [(e.type, sentence[e.start : e.end]) for e in entities] == [("DRUG", "Zestril"), ("AE", "dizzy")]


@pytest.mark.parametrize(
    ("sentence", "condition"),
    [
        ("I get bad hay fever every June.", "allergic rhinitis"),
        ("My hayfever is awful this year.", "allergic rhinitis"),
        ("I had scarlet fever as a child.", "scarlet fever"),
        ("She had glandular fever last spring.", "glandular fever"),
        ("He had rheumatic fever years ago.", "rheumatic fever"),
    ],
)
def test_a_named_condition_containing_an_event_word_is_not_that_event(sentence: str, condition: str):
    """GIVEN "hay fever", "scarlet fever" ... WHEN matched THEN the condition, never "fever"."""
    assert _events(sentence) == [condition]


def test_a_yellow_fever_jab_is_a_vaccine_not_a_fever():
    assert (_drugs("I had my yellow fever jab."), _events("I had my yellow fever jab.")) == (
        ["yellow fever vaccine"],
        [],
    )


def test_heart_burn_written_as_two_words_is_dyspepsia():
    assert _events("I've had terrible heart burn since Monday.") == ["dyspepsia"]


@pytest.mark.parametrize(
    ("abbreviation", "term"),
    [
        ("AKI", "renal failure"),
        ("ILD", "interstitial lung disease"),
        ("DVT", "thrombosis"),
        ("UTI", "urinary tract infection"),
        ("CVA", "stroke"),
        ("SJS", "stevens-johnson syndrome"),
        ("NMS", "neuroleptic malignant syndrome"),
        ("DKA", "ketoacidosis"),
        ("HIV", "hiv infection"),
    ],
)
def test_an_event_abbreviation_matches_only_when_written_in_capitals(abbreviation: str, term: str):
    """GIVEN a short abbreviation of an event ("AKI") WHEN written in capitals THEN it is the event;
    WHEN written as a name or a word ("Aki", "aki") THEN it is nothing."""
    assert _events(f"The letter said {abbreviation} last week.") == [term]
    assert _events(f"The letter said {abbreviation}s last week.") == [term]
    assert _events(f"{abbreviation.title()} said to call back.") == []
    assert _events(f"the letter said {abbreviation.lower()} last week.") == []


@pytest.mark.parametrize(
    ("abbreviation", "generic"),
    [
        ("GTN", "nitroglycerin"),
        ("PTU", "propylthiouracil"),
        ("MTX", "methotrexate"),
        ("INH", "isoniazid"),
        ("EPO", "epoetin alfa"),
        ("MMR", "mmr vaccine"),
    ],
)
def test_a_drug_abbreviation_matches_only_when_written_in_capitals(abbreviation: str, generic: str):
    assert _drugs(f"I was given {abbreviation} yesterday.") == [generic]
    assert _drugs(f"{abbreviation.title()} gave me a lift yesterday.") == []


@pytest.mark.parametrize(("brand", "generic"), [("LIPITOR", "atorvastatin"), ("XARELTO", "rivaroxaban")])
def test_a_brand_written_in_capitals_still_matches(brand: str, generic: str):
    assert _drugs(f"I TAKE {brand} EVERY DAY.") == [generic]


@pytest.mark.parametrize(
    "sentence",
    [
        "I took some pain killers.",
        "I took some painkillers last night.",
        "I bought pain relief at the chemist.",
        "The pain medication helped.",
        "I asked for pain meds.",
    ],
)
def test_pain_killers_relief_and_medication_are_a_drug_not_the_event_pain(sentence: str):
    """GIVEN "pain killers", "pain relief", "pain medication" WHEN matched THEN the longest match
    reads an analgesic, never the event "pain" inside it."""
    assert (_drugs(sentence), _events(sentence)) == (["analgesic"], [])


def test_a_specific_bleeding_is_a_kind_of_bleeding_and_every_broader_term_is_defined():
    """GIVEN the event vocabulary WHEN its `under:` flags are read THEN epistaxis, gingival
    bleeding and haematochezia are kinds of bleeding, and each broader term is an event itself."""
    from pv.intelligence.lexicon import lexicon

    broader = lexicon().broader
    assert {t: broader[t] for t in ("epistaxis", "gingival bleeding", "haematochezia")} == dict.fromkeys(
        ("epistaxis", "gingival bleeding", "haematochezia"), "bleeding"
    )
    assert "bleeding" not in broader
