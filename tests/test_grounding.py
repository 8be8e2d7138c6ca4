"""The grounding check's parts: sentence and citation splitting, numbers, names, and the real model's verdicts."""

from __future__ import annotations

import pytest

from bot.language.text import read_document
from bot.llm.grounding import GroundingChecker, is_refusal, split_claims, unsupported_specifics
from bot.llm.numbers import numbers_in
from tests.conftest import ARTICLE

REFUSALS = ["The article does not answer this question.", "Het artikel geeft geen antwoord op deze vraag."]


def test_citations_written_after_the_full_stop_belong_to_the_sentence_before():
    claims = split_claims("War refugees get a B-status. [1] Family reunification is no option for them. [1][2]")
    assert [(c.plain, c.cites) for c in claims] == [
        ("War refugees get a B-status.", [1]),
        ("Family reunification is no option for them.", [1, 2]),
    ]


def test_bullets_markup_and_grouped_citations():
    claims = split_claims("**Answer:**\n- The talks resume on Friday [2, 3].\n- Uncited line")
    assert [(c.plain, c.cites) for c in claims] == [
        ("Answer:", []), ("The talks resume on Friday.", [2, 3]), ("Uncited line", [])]


def test_dutch_sentences_with_abbreviations_stay_whole():
    claims = split_claims("Volgens dhr. Rutte is het 's nachts besloten [1]. D66-leider Kaag zag geen reden [2].")
    assert [c.cites for c in claims] == [[1], [2]]


@pytest.mark.parametrize(("text", "values"), [
    ("tweehonderd vluchtelingen", {200}), ("two hundred refugees", {200}), ("maximaal 200 per maand", {200}),
    ("bijna vijf uur", {5}), ("five hours", {5}), ("eenentwintig", {21}), ("6.500 fietsen", {6500}),
    ("een stap in een proces", set()), ("ten minste", set()), ("D66-leider", set()),
])
def test_numbers_in_digits_and_words_of_both_languages(text, values):
    assert numbers_in(text) == values


def test_numbers_and_names_the_evidence_lacks():
    evidence = "De VVD zou voor schrijnende gevallen maximaal tweehonderd vluchtelingen per maand toelaten."
    assert unsupported_specifics("The VVD would admit at most two hundred refugees a month.", evidence) == []
    assert unsupported_specifics("The VVD would admit at most 300 refugees a month.", evidence) == ["300"]
    assert unsupported_specifics("D66 would admit two hundred refugees.", evidence) == ["D66"]
    assert unsupported_specifics("The UN agrees.", "Het kunnen er tweehonderd zijn.") == ["UN"]


def test_refusal_phrase_in_either_language():
    assert is_refusal("The article does not answer this question.", REFUSALS)
    assert is_refusal("het artikel geeft geen antwoord op deze vraag", REFUSALS)
    assert not is_refusal("The article says war refugees get a B-status.", REFUSALS)


@pytest.fixture(scope="module")
def checker(settings):
    from bot.model.embedding import BotEmbeddings

    return GroundingChecker(BotEmbeddings(settings), settings.grounding_threshold)


@pytest.fixture(scope="module")
def paragraphs():
    return [p.text for p in read_document(ARTICLE).paragraphs]


@pytest.mark.slow
def test_the_real_model_keeps_translations_and_drops_inventions(checker, paragraphs):
    passages = [paragraphs[8], paragraphs[3]]
    verdict = checker.check(
        "Oorlogsvluchtelingen krijgen een B-status, met minder rechten [1]. "
        "War refugees would get a B-status, with fewer rights [1]. "
        "The meeting on Thursday lasted almost five hours [2]. "
        "The meeting lasted twelve hours [2]. "  # a changed number
        "War refugees get a Dutch passport after three years [1]. "  # invented
        "The meeting lasted almost five hours [1].",  # the wrong passage
        passages, REFUSALS)
    assert [c.plain for c in verdict.kept] == [
        "Oorlogsvluchtelingen krijgen een B-status, met minder rechten.",
        "War refugees would get a B-status, with fewer rights.",
        "The meeting on Thursday lasted almost five hours.",
    ]
    assert len(verdict.dropped) == 3 and all(c.reason for c in verdict.dropped)
    assert verdict.kept[1].evidence == "Oorlogsvluchtelingen krijgen een B-status, met minder rechten."


@pytest.mark.slow
def test_only_the_refusal_phrase_is_a_refusal(checker, paragraphs):
    assert checker.check("The article does not answer this question.", [paragraphs[8]], REFUSALS).refusal
    mixed = checker.check("The article does not answer this question. War refugees would get a B-status, with "
                          "fewer rights [1].", [paragraphs[8]], REFUSALS)
    assert not mixed.refusal and len(mixed.kept) == 1
