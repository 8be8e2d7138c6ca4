"""The cheap language rules: antecedents, names, follow-up questions, question language."""

from bot.language.linguistics import (
    language_of,
    leans_on_antecedent,
    missing_names,
    name_groups,
    names_in,
    person_names,
    question_parts,
    rewrite_follow_up,
)


def test_sentence_pointing_back_needs_its_antecedent():
    assert leans_on_antecedent("Voor de ChristenUnie is dit een rode lijn.")
    assert leans_on_antecedent("Dat zou dan gaan om maximaal tweehonderd vluchtelingen per maand.")
    assert leans_on_antecedent("Hij zette de boel daarom op scherp.")
    assert leans_on_antecedent('"Als het makkelijk was geweest, waren we er al uit geweest", zei ze na afloop.')


def test_self_contained_sentence_does_not():
    assert not leans_on_antecedent("Het overleg duurde donderdag bijna vijf uur.")
    assert not leans_on_antecedent("Oorlogsvluchtelingen krijgen een B-status, met minder rechten.")
    # a relative "die" deep in the sentence is not an antecedent
    assert not leans_on_antecedent("Mensen die gevlucht zijn omdat ze vervolgd worden krijgen een A-status.")


def test_names_absent_from_the_article_are_found():
    article = ["VVD-leider Mark Rutte en de ChristenUnie praten verder met D66."]
    assert missing_names("What does GroenLinks think of the plan?", article) == ["GroenLinks"]
    assert missing_names("What is the ChristenUnie's red line?", article) == []
    assert missing_names("What did Rutte promise the VVD?", article) == []
    # weekdays are capitalised in English but are not names, nor are question words after markup
    assert missing_names("<img src=x> What does the VVD want?", article) == []
    assert missing_names("When do the talks resume on Friday?", article) == []


def test_a_name_of_several_words_is_one_name_as_written():
    question = "What did Geert Wilders say about the World Wide Fund for Nature?"
    assert name_groups(question) == [("Geert Wilders", ("Geert", "Wilders")),
                                     ("World Wide Fund for Nature", ("World", "Wide", "Fund", "Nature"))]
    assert names_in(question) == ["Geert", "Wilders", "World", "Wide", "Fund", "Nature"]
    # the Dutch "van" between two names is a preposition, not part of one name
    groups = name_groups("Wat vindt GroenLinks van PVV en D66?")
    assert [written for written, _ in groups] == ["GroenLinks", "PVV", "D66"]
    assert [w for w, _ in name_groups("Did the Party for the Animals vote for the Senate bill?")] == [
        "Party for the Animals", "Senate"]


def test_person_names():
    assert person_names("zei minister Hugo de Jonge (CDA).") == ["Hugo de Jonge"]
    assert person_names("Vicepremier Carola Schouten (ChristenUnie) gaf aan") == ["Carola Schouten"]


def test_a_word_that_starts_the_sentence_before_a_name_is_not_part_of_it():
    # "In Amsterdam" and "Bij Shell" were once taken for persons, and "she" became "In Amsterdam"
    assert person_names("In Amsterdam daalde het tekort. Bij Shell is men blij.") == []
    assert person_names("Volgens Mark Rutte is het zo. In Hugo de Jonges plan staat het.") == ["Mark Rutte",
                                                                                          "Hugo de Jonges"]
    assert person_names("reden boeren naar het huis van Van der Wal. Van der Wal zei niets.") == ["Van der Wal"] * 2
    history = [{"role": "user", "content": "Who is the education alderman in Amsterdam?"},
               {"role": "assistant", "content": "...", "evidence": [
                   "In Amsterdam daalde het tekort.", "Wethouder Marjolein Moorman zei dat het beter gaat."]}]
    assert rewrite_follow_up("What did she say about spending?", history) == (
        "What did Marjolein Moorman say about spending?")


def test_a_name_starts_after_an_article_and_a_noun_and_ends_before_what_the_person_is_of():
    assert person_names("De Belg Wout van Aert kwam als tweede over de streep.") == ["Wout van Aert"]
    assert person_names("De Italiaan Alberto Bettiol reed weg.") == ["Alberto Bettiol"]
    assert person_names("Minister Ruben Brekelmans van Defensie sprak.") == ["Ruben Brekelmans"]
    # a particle between a first name and a surname stays, at a sentence's start too
    assert person_names("Wout van Aert won. Mark van den Oever, voorman van de actiegroep.") == [
        "Wout van Aert", "Mark van den Oever"]
    assert person_names("De Jonge zei niets.") == ["De Jonge"]
    # an article and an adjective are no name, nor is an adjective after a word that starts the sentence
    assert person_names("De Amerikaanse president Donald Trump eiste het.") == ["Donald Trump"]
    assert person_names("Volgens de Europese afspraken moet het. De Franse chauffeurs klaagden.") == []
    assert person_names("De Nederlandsche Bank waarschuwt.") == ["De Nederlandsche Bank"]  # a name that ends in a noun
    history = [{"role": "user", "content": "Who demanded it?"}, {"role": "assistant", "content": "...", "evidence": [
        "Het was een eis van de Amerikaanse president Donald Trump."]}]
    assert rewrite_follow_up("Where did he sleep?", history) == "Where did Donald Trump sleep?"
    history = [{"role": "user", "content": "Wie is de Nederlandse minister van Defensie?"},
               {"role": "assistant", "content": "...", "evidence": [
                   "Minister Ruben Brekelmans van Defensie sprak van een historisch moment."]}]
    assert rewrite_follow_up("Hoe omschreef hij het akkoord?", history) == "Hoe omschreef Ruben Brekelmans het akkoord?"


def test_the_dutch_verb_zijn_is_no_pronoun():
    history = [{"role": "user", "content": "Hoeveel mensen werken er bij Philips in Nederland?"},
               {"role": "assistant", "content": "...", "evidence": ["Bij Philips Nederland werken 4000 mensen."]}]
    # the verb: nothing is replaced, the topic is carried over for "dat"
    assert rewrite_follow_up("En hoeveel zijn dat er wereldwijd?", history) == (
        "En hoeveel zijn dat er wereldwijd? (Hoeveel mensen werken er bij Philips in Nederland?)")
    # the possessive before a noun still points at a person
    assert rewrite_follow_up("Wat is zijn mening?", [{"role": "user", "content": "Wie is Frans van Houten?"}]) == (
        "Wat is Frans van Houten mening?")


def test_follow_up_pronoun_resolves_to_the_last_person_named():
    history = [
        {"role": "user", "content": "Who is Carola Schouten?"},
        {"role": "assistant", "content": "According to the article: «Vicepremier Carola Schouten ...» [1]"},
    ]
    assert rewrite_follow_up("And what did she say after the meeting?", history) == (
        "And what did Carola Schouten say after the meeting?"
    )


def test_question_without_pronoun_or_history_is_unchanged():
    assert rewrite_follow_up("Who is Sigrid Kaag?", [{"role": "user", "content": "Who is Mark Rutte?"}]) == (
        "Who is Sigrid Kaag?"
    )
    assert rewrite_follow_up("What did she say?", None) == "What did she say?"


def test_language_of_question():
    assert language_of("Wat is de rode lijn van de ChristenUnie?") == "nl"
    assert language_of("What is the ChristenUnie's red line?") == "en"


def test_a_question_too_short_to_stand_alone_carries_the_topic_over():
    history = [{"role": "user", "content": "Met welk nummer won Zwitserland?"}]
    assert rewrite_follow_up("Wie zong het?", history) == "Wie zong het? (Met welk nummer won Zwitserland?)"
    assert rewrite_follow_up("En in 2021?", history) == "En in 2021? (Met welk nummer won Zwitserland?)"
    assert rewrite_follow_up("Who won", history) == "Who won (Met welk nummer won Zwitserland?)"
    assert rewrite_follow_up("Thanks!", history) == "Thanks!"  # no question at all
    # a question that says what it is about stands alone
    assert rewrite_follow_up("Wat vindt de VVD van het plan?", history) == "Wat vindt de VVD van het plan?"
    assert rewrite_follow_up("Hoe oud is Rutte?", history) == "Hoe oud is Rutte?"



def test_a_question_that_asks_two_things_is_two_questions_the_second_about_the_first():
    assert question_parts("Who won the contest, and in which city was it held?") == [
        "Who won the contest?", "In which city was it held? (Who won the contest?)"]
    assert question_parts("Hoeveel omzet haalde Philips in 2022 en hoeveel in het vierde kwartaal?") == [
        "Hoeveel omzet haalde Philips in 2022?",
        "Hoeveel in het vierde kwartaal? (Hoeveel omzet haalde Philips in 2022?)"]
    # a second question that stands alone keeps to itself
    assert question_parts("Wanneer begon de zaak en op welke datum volgde de uitspraak van het hof?") == [
        "Wanneer begon de zaak?", "Op welke datum volgde de uitspraak van het hof?"]
    # "and" between two names, or two things of one question, is one question
    assert question_parts("What did GroenLinks and the PVV say?") == []
    assert question_parts("Which rose faster in 2025, rents or food prices?") == []
    assert question_parts("Who won?") == []

