"""Question terms across languages and accents, question types, follow-ups beyond persons (no model)."""

import numpy as np
import pytest

from bot.answering.decision import DecisionModel, committed_model
from bot.answering.features import CHOICE_ONLY, FEATURES, Vocabulary, WordVectors, analyse, vocabulary_words
from bot.language.linguistics import rewrite_follow_up
from bot.language.terms import beyond_question, content_terms, fold, has_type, question_type, term_in

SENTENCE = "De Tweede Kamer debatteert over Israël. Duitsland won twee gouden medailles; de Amerikaan werd tweede."


def test_folding_ignores_case_and_accents():
    assert fold("Israël") == fold("ISRAEL") == "israel"


@pytest.mark.parametrize("term", ["israel", "house", "germany", "american", "debate", "medals"])
def test_english_terms_find_their_dutch_forms(term):
    assert term_in(term, SENTENCE)


@pytest.mark.parametrize("term", ["dinner", "belgium", "netherlands", "union"])
def test_terms_the_text_does_not_have_are_not_found(term):
    assert not term_in(term, SENTENCE)


def test_christian_union_matches_the_compound_christenunie():
    assert all(term_in(t, "Voor de ChristenUnie is dit een rode lijn.") for t in ("christian", "union"))


def test_content_terms_leave_out_function_and_question_words():
    assert content_terms("What is the ChristenUnie's red line?") == ["christenunie", "red", "line"]
    assert content_terms("Wat is het?") == []


@pytest.mark.parametrize(("question", "kind"), [
    ("How old is Sigrid Kaag?", "age"),
    ("Hoe oud is de winnares?", "age"),
    ("How much did a ticket cost?", "money"),
    ("Wat kost een prik bij de GGD?", "money"),
    ("How much prize money did she get?", "money"),
    ("Roughly what time was code red issued?", "clock"),
    ("Hoe laat begonnen de toespraken?", "clock"),
    ("How many gold medals does Germany have?", "number"),
    ("What was the average inflation rate last year?", "number"),
    ("Welk rapportcijfer gaf het publiek?", "number"),
    ("Hoeveel uur duurde het overleg?", "number"),
    ("When will the cabinet meet again?", "time"),
    ("Wanneer praten ze verder?", "time"),
    ("Since when has Uber used the new contracts?", "time"),
    ("Tot wanneer is de tentoonstelling te zien?", "time"),
    ("How did the party react when the minister scrapped the link?", "other"),
    ("Who called it chaos?", "person"),
    ("Which American won the 5 km twice?", "person"),
    ("What was the name of the woman who died in Haarlem?", "person"),
    ("Hoe heet de nieuwe directeur?", "person"),
    ("Who were Taghi's lawyers when the verdict was read?", "person"),
    ("Why did the judge give a life sentence?", "reason"),
    ("Waarom stapte hij naar de rechter?", "reason"),
    ("Where did the farmers protest?", "place"),
    ("What is the ChristenUnie's red line?", "other"),
    # A date, a reason, a share or a count is asked for whatever money word the question also has.
    ("What share of its income does the city spend on housing?", "number"),
    ("How many visitors paid for a ticket?", "number"),
    ("Why did the council pay the fine?", "reason"),
    ("On which day was the new price announced?", "time"),
    ("Op welke dag werd de boete betaald?", "time"),
    # A yes-or-no question asks for no type.
    ("Did the minister pay the bill?", "other"),
    ("Krijgen huurders hun geld terug?", "other"),
])
def test_question_types(question, kind):
    assert question_type(question) == kind


def test_evidence_types():
    assert has_type("Het overleg duurde bijna vijf uur.", "number")
    assert not has_type("Rutte sprak van een stap in een proces.", "number")
    assert has_type("De kabinetsleden praten vrijdag na de ministerraad verder.", "time")
    assert has_type("Hij deed dat omdat de VVD druk zette.", "reason")
    assert has_type("Volgens minister Hugo de Jonge is er geen crisis.", "person")
    assert has_type("Anything at all.", "other")
    assert has_type("Er kwam geen apart debat, dus bracht de oppositie het later in.", "reason")


def test_a_name_of_a_team_or_country_answers_who_but_a_capital_that_starts_the_sentence_does_not():
    assert has_type("In de halve finale wacht Engeland.", "person")
    assert not has_type("Engeland wacht in de halve finale.", "person")


def test_english_names_of_international_bodies_find_their_dutch_forms():
    assert term_in("nato", "De NAVO-top in Den Haag")
    assert term_in("gdp", "Vijf procent van het bruto binnenlands product")
    assert term_in("prosecution", "Het Openbaar Ministerie eiste levenslang.")
    assert not term_in("nato", "De top in Den Haag")


def test_an_english_name_of_several_words_is_one_term_that_finds_its_dutch_form():
    question = "Did the Party for Freedom back the Public Prosecution Service?"
    assert content_terms(question) == ["party for freedom", "back", "public prosecution service"]
    assert term_in("party for freedom", "Ook de PVV stemde voor.")
    assert term_in("public prosecution service", "Het OM eiste levenslang.")
    assert term_in("great britain", "Kersten komt uit voor Groot-Brittannië.")
    assert not term_in("public prosecution service", "Hij eiste levenslang, omdat het moest.")  # 'om' is a word


def test_a_compound_is_found_when_each_of_its_parts_is():
    assert term_in("pvda-greenleft", "GroenLinks-PvdA wil zorg en onderwijs ontzien.")  # no table entry has it
    assert not term_in("pvda-greenleft", "GroenLinks wil zorg en onderwijs ontzien.")


@pytest.mark.parametrize(("term", "text"), [
    ("spain", "Spanje verzette zich tegen de verplichting."), ("dane", "De Deen Mads Pedersen werd vijfde."),
    ("guelders", "De provincie Gelderland gaf een vergunning."), ("mps", "De Tweede Kamer debatteert woensdag."),
    ("turkey", "Oranje won van Turkije."), ("swiss", "Nemo uit Zwitserland won."),
    ("greenleft", "Volgens GroenLinks-PvdA gaat het mis."), ("palace", "Trump sliep in het paleis."),
])
def test_english_names_of_countries_peoples_and_places_find_their_dutch_forms(term, text):
    assert term_in(term, text)


def test_specific_evidence_types_want_more_than_a_number():
    """An age, a sum of money and a clock time are numbers, but not every number is one of them: "How old is
    X?" is not answered by "X won 3 medals"."""
    assert has_type("De 46-jarige Taghi is schuldig bevonden.", "age")
    assert has_type("Hij is 71 jaar oud.", "age")
    assert has_type("Normaal zijn kinderen dan 14 maanden oud.", "age")
    assert not has_type("Leerdam won haar tweede wereldtitel in 1.13,30.", "age")
    assert has_type("Een kaartje kostte 30 euro.", "money")
    assert has_type("Het kabinet trekt 2,5 miljard uit voor defensie.", "money")
    assert not has_type("Binnen enkele dagen waren alle 450.000 toegangskaarten verkocht.", "money")
    assert has_type("Rond 13.30 uur trok het KNMI code rood weer in.", "clock")
    assert not has_type("Zomerstorm Poly heeft woensdag 5 juli grote schade aangericht.", "clock")
    assert has_type("In Leeuwarden was een groot feest voorbereid.", "place")


def test_what_a_question_asks_for_must_be_more_than_its_own_words():
    """A sentence that only repeats the question's name does not say who the trainer is, and one whose only
    number is the question's year does not say how many; the Dutch form of an English word counts as that
    word (the feature new_type_mismatch)."""
    trainer = "Wie is de trainer van Jordan Stolz?"
    assert has_type("Bij de mannen ging de titel naar Jordan Stolz.", "person")
    assert not has_type(beyond_question("Bij de mannen ging de titel naar Jordan Stolz.", trainer), "person")
    assert not has_type(beyond_question("De titel ging naar de trainer van Stolz.", trainer), "person")
    assert has_type(beyond_question("Stolz wordt al jaren getraind door Bob Corby.", trainer), "person")
    wolves = "Hoeveel wolven leefden er in 2019 op de Veluwe?"
    assert not has_type(beyond_question("In 2019 kwamen de eerste wolven naar de Veluwe.", wolves), "number")
    assert has_type(beyond_question("In 2019 leefden er twaalf wolven op de Veluwe.", wolves), "number")
    assert beyond_question("In de kwartfinale versloeg Nederland Turkije.", "Who did the Netherlands beat?") \
        == "In de kwartfinale versloeg x Turkije."
    uber = "In welke stad zit het Amerikaanse hoofdkantoor van Uber?"  # its 'in' still reads a place
    assert has_type(beyond_question("Die gingen naar het Amerikaanse hoofdkantoor in San Francisco.", uber), "place")
    assert not has_type(beyond_question("Uber heeft zijn Europese hoofdkantoor in Nederland.", "Waar zit Uber in "
                                        "Nederland?"), "place")

def test_a_term_matches_the_word_that_translates_it():
    words = vocabulary_words(["Duitsland won twee gouden medailles."])
    assert "gouden" in words and "twee" in words and "won" in words
    vectors = np.eye(len(words))
    vocabulary = Vocabulary({w: i for i, w in enumerate(words)}, vectors)
    gold = vectors[[words.index("gouden")]]
    assert vocabulary.similarities(gold, "twee gouden medailles")[0] == pytest.approx(1.0)
    assert vocabulary.similarities(gold, "twee medailles")[0] == pytest.approx(0.0)
    assert vocabulary.similarities(gold, "niets bekends")[0] == 0.0


def test_the_question_is_analysed_into_terms_and_a_type():
    analysis = analyse("How many gold medals does Germany have?")
    assert analysis.terms == ["gold", "medals", "germany"]
    assert analysis.kind == "number"


def test_each_word_is_embedded_once():
    calls = []

    def embed(words):
        calls.append(list(words))
        return np.ones((len(words), 2))

    words = WordVectors(embed)
    assert words.of(["gold", "medals"]).shape == (2, 2)
    assert words.of(["medals", "germany", "gold"]).shape == (3, 2)
    assert calls == [["gold", "medals"], ["germany"]]


def test_the_committed_decision_model_fits_the_current_features(tmp_path):
    model = committed_model()
    assert model.features == FEATURES
    assert 0.0 < model.threshold < 1.0
    rows = np.zeros((3, len(FEATURES)))
    assert model.probabilities(rows).shape == (3,)
    # whether to answer is decided without the signals that only choose, at the model's threshold
    assert model.abstention is not None and model.abstention.threshold == model.threshold
    assert model.abstention.features == tuple(f for f in FEATURES if f not in CHOICE_ONLY)
    model.save(tmp_path / "decision.json")
    assert DecisionModel.load(tmp_path / "decision.json") == model


def test_a_model_fitted_on_other_features_is_refused(tmp_path):
    model = committed_model()
    stale = DecisionModel(**{**model.__dict__, "features": (*FEATURES, "removed")})
    stale.save(tmp_path / "decision.json")
    with pytest.raises(ValueError, match="refit"):
        DecisionModel.load(tmp_path / "decision.json")


HISTORY = [
    {"role": "user", "content": "Which exhibition broke the Rijksmuseum's visitor record?"},
    {"role": "assistant", "content": "«De Vermeer-tentoonstelling trok 650.000 bezoekers.» [1]",
     "evidence": ["De Vermeer-tentoonstelling trok 650.000 bezoekers."],
     "question": "Which exhibition broke the Rijksmuseum's visitor record?"},
]


@pytest.mark.parametrize("follow_up", ["When did it close?", "How many people went there?",
                                       "Wanneer sloot die?", "What did they sell out?"])
def test_a_pointer_carries_the_previous_topic_over(follow_up):
    topic = "Which exhibition broke the Rijksmuseum's visitor record?"
    assert rewrite_follow_up(follow_up, HISTORY) == f"{follow_up} ({topic})"


def test_a_person_pronoun_still_becomes_the_person():
    history = [{"role": "user", "content": "Who leads D66?"},
               {"role": "assistant", "content": "x", "evidence": ["Volgens D66-leider Sigrid Kaag was er geen reden."]}]
    assert rewrite_follow_up("What did she say?", history) == "What did Sigrid Kaag say?"


def test_topics_do_not_pile_up_over_turns():
    history = [*HISTORY, {"role": "user", "content": "When did it close? (Which exhibition broke the record?)"},
               {"role": "assistant", "content": "x", "evidence": [],
                "question": "When did it close? (Which exhibition)"}]
    assert rewrite_follow_up("Why did it close?", history) == "Why did it close? (When did it close?)"


def test_no_pointer_no_rewrite():
    assert rewrite_follow_up("How many tickets were sold?", HISTORY) == "How many tickets were sold?"
