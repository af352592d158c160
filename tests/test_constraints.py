import pytest

from teamsrl_graph.constraints import TYPES, sentences, verify, words

# (id, kwargs, a response that passes, a response that fails), strict verifier
CASES = [
    ("length_constraints:number_words", {"relation": "at least", "num_words": 5}, "one two three four five", "one two three four"),
    ("length_constraints:number_words", {"relation": "at most", "num_words": 4}, "Don't go, well-known friend.", "Do not go, well known friend."),
    ("length_constraints:number_words", {"relation": "exactly", "num_words": 3}, "Pi is 3.14.", "Pi is 3. 14."),
    ("length_constraints:number_sentences", {"relation": "at least", "num_sentences": 3}, "Dr. Smith came. He sat. He left.", "Dr. Smith came, e.g. here. He left."),
    ("length_constraints:number_sentences", {"relation": "exactly", "num_sentences": 2}, "Is it? Yes!", "One. Two. Three."),
    ("length_constraints:number_sentences", {"relation": "at most", "num_sentences": 2}, "1. First step.\n2. Second step.", "First.\nSecond.\nThird."),
    ("length_constraints:number_paragraphs", {"relation": "exactly", "num_paragraphs": 3}, "A.\n***\nB.\n\n***\nC.", "A.\n***\n\n***\nC."),
    ("length_constraints:number_paragraphs", {"relation": "at least", "num_paragraphs": 2}, "A. *** B.", "A.\n\nB."),
    ("keywords:existence", {"keywords": ["garden", "river"]}, "The Garden by the river.", "The gardens by the riverbank."),
    ("keywords:forbidden_words", {"forbidden_words": ["very", "stuff"]}, "Every day is fine.", "It is Very good."),
    ("keywords:frequency", {"keyword": "storm", "relation": "at least", "frequency": 2}, "A storm, then a Storm.", "A storm, then stormy."),
    ("keywords:frequency", {"keyword": "storm", "relation": "at most", "frequency": 1}, "A storm, then stormy.", "A storm, then a storm."),
    ("keywords:letter_frequency", {"letter": "z", "let_relation": "at most", "let_frequency": 2}, "A pizza.", "Zoo and jazz."),
    ("keywords:letter_frequency", {"letter": "e", "let_relation": "at least", "let_frequency": 5}, "Eee, eee!", "eeee"),
    ("change_case:english_lowercase", {}, "all lowercase here, 42.", "Not lowercase."),
    ("change_case:english_capital", {}, "ALL CAPS, 42.", "ALL CAPs."),
    ("change_case:capital_word_frequency", {"capital_relation": "at least", "capital_frequency": 2}, "NASA and ESA.", "NASA and I.\nP.S. Bye"),
    ("change_case:capital_word_frequency", {"capital_relation": "at most", "capital_frequency": 1}, "NASA and I.", "NASA and ESA."),
    ("detectable_format:title", {}, "<<Ode to Joy>>\nText.", "<<  >> <Ode> text."),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "Intro:\n* one\n- two\n***", "* one\n* two\n  * three"),
    ("detectable_format:number_bullet_lists", {"num_bullets": 1}, "* one", "*one* is in italics."),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*one* and **two**", "*one* and * two * and ** "),
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 2}, "SECTION 1\nA\nSECTION 2\nB", "Section 1\nA\nSection 2\nB"),
    ("detectable_format:multiple_sections", {"section_spliter": "PART", "num_sections": 2}, "PART 1 A PART 2 B", "PART 1 A PART 2 B PART 3 C"),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "Meet [name] at [address].", "Meet [name] via [link](http://x) or [ ]."),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Body.\n**P.S.** More.", "Body. P.S. inline only."),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S."}, "Body.\np. p.s. more", "Body.\nP.S. more"),
    ("detectable_format:json_format", {}, "```json\n[1, 2]\n```", "Here: {\"a\": 1}"),
    ("detectable_format:json_format", {}, "{\"a\": {\"b\": 1}}", "\"just a string\""),
    ("detectable_format:constrained_response", {}, "Sure. My answer is yes.", "My answer is yes. My answer is no."),
    ("startend:quotation", {}, "\"Hello.\"", "Hello.\""),
    ("startend:quotation", {}, " “Hi there” \n", "\""),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Text. Any other   questions?\n", "Any other questions? Bye."),
    ("startend:first_word", {"first_word": "Imagine"}, "**imagine** a world.", "Just imagine."),
    ("punctuation:no_comma", {}, "No commas here.", "Yes, commas."),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Explain tides."}, "explain tides.  Tides are...", "Tides: explain tides."),
    ("combination:two_responses", {}, "A.\n******\nB.", "A.\n******\nA."),
    ("combination:two_responses", {}, "******\nA\n******\nB\n******", "A.\n******\nB.\n******\nC."),
]


def test_every_type_has_cases():
    assert {case[0] for case in CASES} == set(TYPES)
    assert len(TYPES) >= 20


@pytest.mark.parametrize("type_id, kwargs, good, bad", CASES)
def test_strict_verifier(type_id, kwargs, good, bad):
    check = TYPES[type_id].check
    assert check(good, **kwargs) is True
    assert check(bad, **kwargs) is False
    constraint = [{"id": type_id, "kwargs": kwargs}]
    assert verify(good, constraint)["strict"] is True
    assert verify(bad, constraint)["strict"] is False


# (id, kwargs, response, strict, loose): where the loose reading (first/last line dropped, `*` removed) differs
LOOSE = [
    ("change_case:english_lowercase", {}, "Title Line\nall lowercase here", False, True),
    ("detectable_format:json_format", {}, "Sure:\n{\"a\": 1}", False, True),
    ("startend:quotation", {}, "Here you go:\n\"Hello.\"", False, True),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Text. Any other questions?\n(Note)", False, True),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Text. *Any other questions?*", False, True),
    ("keywords:existence", {"keywords": ["river"]}, "Intro\nriverbank\nOutro", False, False),
    ("detectable_format:title", {}, "No title.", False, False),
]


@pytest.mark.parametrize("type_id, kwargs, response, strict, loose", LOOSE)
def test_loose_verifier(type_id, kwargs, response, strict, loose):
    result = verify(response, [{"id": type_id, "kwargs": kwargs}])
    assert result["results"][0] == {"id": type_id, "strict": strict, "loose": loose}
    assert (result["strict"], result["loose"]) == (strict, loose)


def test_verify_prompt_level_and_empty_response():
    constraints = [{"id": "punctuation:no_comma", "kwargs": {}}, {"id": "change_case:english_lowercase", "kwargs": {}}]
    both = verify("fine, thanks", constraints)
    assert [r["strict"] for r in both["results"]] == [False, True] and both["strict"] is False and both["loose"] is False
    assert verify("fine thanks", constraints)["strict"] is True
    empty = verify("  \n", constraints)
    assert empty["strict"] is False and empty["loose"] is False
    assert verify("  \n", constraints[:1])["results"][0] == {"id": "punctuation:no_comma", "strict": False, "loose": False}
    assert verify("anything", []) == {"strict": True, "loose": True, "results": []}


@pytest.mark.parametrize("response, constraints, field", [
    (None, [{"id": "punctuation:no_comma", "kwargs": {}}], "response"),
    ("fine", 5, "constraints"),
    ("fine", [{"id": "nope", "kwargs": {}}], "constraints[0].id"),
    ("fine", [{"kwargs": {}}], "constraints[0].id"),
    ("fine", ["punctuation:no_comma"], "constraints[0]"),
])
def test_verify_names_a_bad_response_or_constraint(response, constraints, field):
    from teamsrl_graph.common.errors import InputError

    with pytest.raises(InputError) as error:
        verify(response, constraints)
    assert error.value.field == field


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hello there. How are you? I am fine!", ["Hello there.", "How are you?", "I am fine!"]),
        ("Dr. Smith met J. K. Rowling. They talked.", ["Dr. Smith met J. K. Rowling.", "They talked."]),
        ("Use tools, e.g. hammers. Then rest.", ["Use tools, e.g. hammers.", "Then rest."]),
        ("1. First step.\n2. Second step", ["1. First step.", "2. Second step"]),
        ("He said \"Stop.\" Then he left...", ["He said \"Stop.\"", "Then he left..."]),
        ("Pi is 3.14. It costs $1,000.", ["Pi is 3.14.", "It costs $1,000."]),
        ("Wait... what? No!", ["Wait... what?", "No!"]),
        ("* one\n* two\n\n***\nEnd.", ["* one", "* two", "End."]),
        ("apples, pears, etc. Then more.", ["apples, pears, etc.", "Then more."]),
        ("", []),
    ],
)
def test_sentences(text, expected):
    assert sentences(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("It is well-known. Don't go.", ["It", "is", "well-known", "Don't", "go"]),
        ("Pi: 3.14, or 1,000 — *bold* [x]", ["Pi", "3.14", "or", "1,000", "bold", "x"]),
        ("naïve café_au_lait", ["naïve", "café", "au", "lait"]),
        ("*** --- !!!", []),
    ],
)
def test_words(text, expected):
    assert words(text) == expected
