"""``bot.answer``: the public API, with the real model and a real index.

Every test runs twice: through ``bot.answer`` on the embedded session index, and through a
``Bot`` whose settings point at a real `chroma run` server (BOT_CHROMA_URL) holding the same articles.
"""

import pytest

from bot import Answer, Source, answer
from bot.answering.phrases import PHRASES

pytestmark = pytest.mark.slow  # the real model and index, embedded and on a `chroma run` server


@pytest.fixture(scope="module")
def ask(mode, mode_indexed, mode_settings):
    """The answer function of this mode: the public bot.answer, or a server-mode Bot's answer."""
    if mode == "embedded":
        return answer
    from bot.answering import Bot

    return Bot(mode_settings).answer


def test_red_line_in_english_resolves_the_hop_to_family_reunification(ask):
    a = ask("What is the ChristenUnie's red line?")
    assert isinstance(a, Answer) and not a.abstained
    assert "gezinshereniging" in a.text
    assert a.text.startswith("According to the article:")
    assert a.sources[0].paragraph == 9
    assert any("rode lijn" in h for h in a.sources[0].highlight)
    assert all(isinstance(s, Source) and s.highlight[0] in s.text for s in a.sources)


def test_red_line_in_dutch(ask):
    a = ask("Wat is de rode lijn van de ChristenUnie?")
    assert "gezinshereniging" in a.text
    assert a.text.startswith("Volgens het artikel:")


def test_every_quote_carries_a_marker_into_the_sources(ask):
    import re

    a = ask("How long did the meeting last?")
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", a.text)]
    assert markers and all(1 <= n <= len(a.sources) for n in markers)
    assert "vijf uur" in a.text
    assert len(a.text) < 400
    # a source is marked cited exactly when the text points to it
    assert {n - 1 for n in markers} == {i for i, source in enumerate(a.sources) if source.cited}


def test_follow_up_resolves_the_person_from_history(ask):
    first = ask("Who is Carola Schouten?")
    history = [{"role": "user", "content": "Who is Carola Schouten?"}, {"role": "assistant", "content": first.text}]
    follow = ask("And what did she say after the meeting?", history=history)
    assert "Carola Schouten" in follow.question
    assert "makkelijk" in follow.text


def test_question_about_something_absent_abstains_and_says_what_the_article_is_about(ask):
    a = ask("What does the PVV think of the plan?")
    assert a.abstained and a.sources == []
    assert "do not mention PVV" in a.text and "Nog geen akkoord" in a.text


def test_unrelated_question_abstains_in_dutch(ask):
    a = ask("Wie werd er landskampioen voetbal?")
    assert a.abstained
    assert "geen antwoord op deze vraag" in a.text


def test_second_article_answers_come_from_it(ask):
    a = ask("Hoeveel fietsen passen in de nieuwe stalling?")
    assert not a.abstained
    assert "6500" in a.text
    assert a.sources[0].file == "article-nl-fietsenstalling.txt"


def test_second_article_in_english_with_a_hop(ask):
    a = ask("Who opened the bicycle parking?")
    assert "Lot van Hooijdonk" in a.text
    b = ask("What do the shopkeepers want?")
    assert "vergoeding" in b.text


@pytest.mark.parametrize("question", ["", "   \n\t ", "x" * 100_000, "?!?"])
def test_bad_questions_raise_a_clear_value_error(ask, question):
    with pytest.raises(ValueError, match=r"(?i)question|empty|letters|characters"):
        ask(question)


def test_control_characters_and_emoji_get_a_sane_answer(ask):
    a = ask("What is the\x00 ChristenUnie's red line? 🤔")
    assert "gezinshereniging" in a.text


def test_follow_up_from_a_structured_answer_in_history_reads_its_evidence_not_its_display(ask):
    first = ask("Who is Carola Schouten?")
    # the Answer itself as the assistant turn (as the UI keeps it); its display text is not parsed
    assert any("Carola Schouten" in sentence for sentence in first.evidence())
    shown = Answer(**{**first.__dict__, "text": "(shown otherwise: no quotes, no names)"})
    follow = ask("And what did she say after the meeting?", history=[shown])
    assert "Carola Schouten" in follow.question
    plain = ask("And what did she say after the meeting?", history=[{"role": "assistant", "content": shown.text}])
    assert "Carola Schouten" not in plain.question  # a dict's text is all there is
    as_text = ask("And what did she say after the meeting?", history=[
        {"role": "user", "content": "Who is Carola Schouten?"}, {"role": "assistant", "content": first.text}])
    assert as_text.question == follow.question  # the display text is read for the person, not for the answer
    said_after = "zei ze na afloop"
    assert said_after in as_text.text and said_after in follow.text
    # From the Answer it is known that this sentence was just quoted: a follow-up asks something new, so the
    # article's best other sentence joins it when likely enough (bot/answering/extractive.py, _evidence).
    assert set(first.evidence()) <= set(follow.evidence())


def test_the_documents_and_the_langchain_retriever_in_a_chain(mode, mode_indexed, mode_settings):
    from langchain_core.documents import Document
    from langchain_core.runnables import RunnableLambda, RunnablePassthrough

    import bot
    from bot.answering import Bot

    service = Bot(mode_settings)
    files = [d.file for d in service.documents()]
    assert "article-nl-migratie.txt" in files
    if mode == "embedded":
        assert [d.file for d in bot.documents()] == files
    retriever = service.as_retriever(k=3)

    def prompt(inputs: dict) -> str:
        docs: list[Document] = inputs["context"]
        return f"Q: {inputs['question']}\n" + "\n".join(f"[{d.metadata['paragraph']}] {d.page_content}" for d in docs)

    chain = {"context": retriever, "question": RunnablePassthrough()} | RunnableLambda(prompt)
    text = chain.invoke("Wat is de rode lijn van de ChristenUnie?")
    assert text.startswith("Q: Wat is de rode lijn") and "[9] " in text and "rode lijn" in text
    docs = retriever.invoke("Wat is de rode lijn van de ChristenUnie?")
    assert 1 <= len(docs) <= 3 and docs[0].metadata["file"] == "article-nl-migratie.txt"
    assert set(docs[0].metadata) == {"document", "file", "paragraph", "score", "highlight"}
    assert docs[0].metadata["document"].startswith("Nog geen akkoord")
    assert all(h in docs[0].page_content for h in docs[0].metadata["highlight"])


@pytest.mark.parametrize("question", [
    "Rutte?",  # only a name
    "Wat is het?",  # only stop words
    "Wat is the red line van de ChristenUnie?",  # mixed languages
    "Waht is the ChristenUnei's red lien?",  # typos
    "How old is Sigrid Kaag?",  # on topic, but the article does not say
])
def test_odd_questions_get_an_answer_or_a_clear_abstention(ask, question):
    a = ask(question)
    assert isinstance(a, Answer)
    if a.abstained:  # the plain abstention of its language, for one article or several
        say = PHRASES[a.language]
        assert a.sources == [] and a.text.startswith((say["no_answer"], say["no_answer_many"]))
    else:
        assert a.sources and "«" in a.text


def test_an_abstention_names_only_what_no_article_mentions(ask):
    a = ask("What does Volt think of the plan?")  # no indexed article mentions Volt
    assert a.abstained and "mention Volt" in a.text
    b = ask("How many asylum seekers came to the Netherlands last year?")
    assert "Netherlands" not in b.text.split("They are about")[0].split("It is about")[0]


def eval_questions() -> list[str]:
    import json
    from pathlib import Path

    data = json.loads((Path(__file__).resolve().parent.parent / "bot" / "eval_sets" / "questions.json").read_text())
    questions = []
    for item in data["items"]:
        questions += [item["q"]] if "q" in item else [t["q"] for t in item.get("turns", []) if "q" in t]
    return questions


def test_quoted_text_stays_within_the_cap_on_every_evaluation_question(ask):
    """The README's "at most 400 characters are quoted": the best evidence (at most 300, the sentence before
    included), the runner-up's and the complement's together."""
    import re

    from bot.answering.extractive import MAX_ANSWER_CHARS

    questions = eval_questions()
    assert len(questions) >= 25
    too_long = {}
    for question in questions:
        a = ask(question)
        quoted = sum(len(q) for q in re.findall(r"«(.*?)»", a.text))
        if quoted > MAX_ANSWER_CHARS:
            too_long[question] = quoted
    assert not too_long, f"quoted more than {MAX_ANSWER_CHARS} characters: {too_long}"
