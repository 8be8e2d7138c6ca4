"""bot.chat_view: what the chat shows, with every piece of document or user text escaped (no model needed)."""

import html
import re

import pytest

from bot.answering import Answer, Article, Source
from bot.answering.service import ArticleParagraph
from bot.chat_view import (
    IndexedDocument,
    announcement,
    answer_html,
    article_html,
    documents_html,
    highlighted_passage,
    in_citation_order,
    input_error_html,
    partial_answer_html,
    problem_html,
    question_html,
)

ATTACK = '<script>alert(1)</script><img src=x onerror="alert(2)"> **bold** [link](javascript:alert(3)) $$x$$'

RED_LINE = Answer(
    text="According to the article: «Voor deze groep is gezinshereniging dan ook geen optie.» [2] "
         "«Voor de ChristenUnie is dit een rode lijn.» [1]",
    sources=[
        Source("Voor de ChristenUnie is dit een rode lijn. De VVD zou nog hebben voorgesteld…",
               ["Voor de ChristenUnie is dit een rode lijn."], "Nog geen akkoord", 9, 0.61, "article-nl-migratie.txt"),
        Source("Oorlogsvluchtelingen krijgen een B-status. Voor deze groep is gezinshereniging dan ook geen optie.",
               ["Voor deze groep is gezinshereniging dan ook geen optie."], "Nog geen akkoord", 8, 0.5,
               "article-nl-migratie.txt"),
    ],
    abstained=False,
)


def test_answer_shows_text_markers_and_numbered_sources_with_the_evidence_highlighted():
    rendered = answer_html(RED_LINE)
    assert "\n" not in rendered  # one HTML block: Markdown leaves it alone
    assert rendered.count('<span class="nb-marker">[1]</span>') == 2  # in the text and on source 1
    assert rendered.count('<span class="nb-marker">[2]</span>') == 2
    assert '<details class="nb-sources" open>' in rendered and "Sources" in rendered
    assert "<mark>Voor de ChristenUnie is dit een rode lijn.</mark> De VVD" in rendered
    assert "nb-abstention" not in rendered


def test_sources_are_numbered_in_order_of_first_citation_and_the_answer_is_unchanged():
    text, sources = in_citation_order(RED_LINE)  # the answer cites [2] first, then [1]
    assert text == ("According to the article: «Voor deze groep is gezinshereniging dan ook geen optie.» [1] "
                    "«Voor de ChristenUnie is dit een rode lijn.» [2]")
    assert [s.paragraph for s in sources] == [8, 9]
    assert RED_LINE.text.endswith("[1]") and RED_LINE.sources[0].paragraph == 9  # the API's Answer as it was
    rendered = answer_html(RED_LINE)
    assert rendered.index("paragraph 8") < rendered.index("paragraph 9")
    related = Source("Nog een alinea.", ["Nog een alinea."], "Nog geen akkoord", 3, 0.3, "a.txt", cited=False)
    _, with_related = in_citation_order(Answer(RED_LINE.text, [*RED_LINE.sources, related], False))
    assert [s.paragraph for s in with_related] == [8, 9, 3]  # uncited sources after the cited ones
    assert partial_answer_html("«a» [3] «b» [1]").count("[1]") == 1 and "[2]" in partial_answer_html("«a» [3] «b» [1]")


def test_dutch_quotes_and_passages_carry_their_language():
    rendered = answer_html(RED_LINE)
    assert '<div class="nb-reply nb-answer" lang="en">' in rendered
    assert '<span lang="nl">«Voor deze groep is gezinshereniging dan ook geen optie.»' in rendered
    assert rendered.count('<p class="nb-passage" lang="nl">') == 2
    dutch = answer_html(Answer(RED_LINE.text.replace("According to the article:", "Volgens het artikel:"),
                               RED_LINE.sources, False, language="nl"))
    assert '<span lang="nl">' not in dutch  # already the answer's language


def test_the_announcement_is_plain_text_then_the_number_of_sources():
    said = announcement(RED_LINE)
    assert said == ("According to the article: «Voor deze groep is gezinshereniging dan ook geen optie.» "
                    "«Voor de ChristenUnie is dit een rode lijn.» 2 sources.")
    assert f'<div class="nb-announce" hidden>{html.escape(said)}</div></div>' in answer_html(RED_LINE)
    assert announcement(Answer("Volgens het artikel: «x» [1]", RED_LINE.sources[:1], False, language="nl")).endswith(
        "1 bron.")
    abstention = Answer("The article does not answer this question.", [], True)
    assert announcement(abstention) == "The article does not answer this question."


def test_dutch_answer_uses_dutch_labels():
    rendered = answer_html(Answer(RED_LINE.text, RED_LINE.sources, False, language="nl"))
    assert "Bronnen" in rendered and "alinea 9" in rendered and "Sources" not in rendered


def test_abstention_is_shown_as_such_without_sources():
    abstention = Answer("The article does not answer this question. It does not mention PVV.", [], True)
    rendered = answer_html(abstention)
    assert "nb-abstention" in rendered and "Not in the article" in rendered
    assert "nb-sources" not in rendered and "nb-answer" not in rendered
    assert "Niet in het artikel" in answer_html(Answer(abstention.text, [], True, language="nl"))


def test_markup_in_documents_and_answers_is_escaped_everywhere():
    evil = Source(f"Intro. {ATTACK} Slot.", [ATTACK], f"Titel {ATTACK}", 1, 0.9, "evil.txt")
    rendered = answer_html(Answer(f"Volgens het artikel: «{ATTACK}» [1]", [evil], False, language="nl"))
    rendered += documents_html([IndexedDocument(ATTACK, ATTACK, 3, uploaded=True)], removable=True)
    rendered += article_html(Article(ATTACK, ATTACK, [ArticleParagraph(1, ATTACK, heading=True),
                                                      ArticleParagraph(2, f"Intro. {ATTACK}")]), 2, [ATTACK])
    rendered += problem_html("Problem", ATTACK) + partial_answer_html(ATTACK) + question_html(ATTACK)
    rendered += input_error_html(ATTACK)
    assert "<script" not in rendered and "<img" not in rendered
    assert "&lt;script&gt;" in rendered and "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in rendered
    tags = set(re.findall(r"</?([a-zA-Z][a-zA-Z0-9]*)", rendered))
    assert tags <= {"div", "span", "details", "summary", "p", "mark", "ul", "li", "br", "button", "article", "h2", "h3"}
    assert rendered.count("<div") == rendered.count("</div>")


def test_highlight_marks_every_evidence_sentence_and_merges_overlaps():
    passage = "Een. Twee drie. Vier & vijf."
    assert highlighted_passage(passage, ["Twee drie.", "Vier & vijf."]) == (
        "Een. <mark>Twee drie.</mark> <mark>Vier &amp; vijf.</mark>"
    )
    assert highlighted_passage(passage, ["Twee drie. Vier", "Vier & vijf."]) == (
        "Een. <mark>Twee drie. Vier &amp; vijf.</mark>"
    )
    assert highlighted_passage(passage, ["not in it"]) == "Een. Twee drie. Vier &amp; vijf."


@pytest.mark.parametrize("typed", [
    ATTACK, "What is the ChristenUnie's red line?", r"a\b \\ \* 1. - # & &amp; &lt;", "“quotes” «guillemets»",
    "line one\n\n**line three** <b>x</b>",
])
def test_a_question_is_shown_as_typed_in_one_html_block(typed):
    shown = question_html(typed)
    assert "\n" not in shown and "<b>" not in shown and "<script" not in shown
    assert html.unescape(re.sub(r"<[^>]+>", "\n", shown)).strip("\n").replace("\n\n", "\n") == (
        typed.replace("\n\n", "\n"))
    assert question_html(typed, "nl").startswith('<div class="nb-question" lang="nl">')


def test_an_llm_answer_highlights_exactly_the_quoted_span_escaped():
    passage = 'Hij zei: "<b>Dit</b> is geen optie" & ging weg. Daarna niets.'
    quoted = '"<b>Dit</b> is geen optie"'
    llm = Answer(text="He said it was no option [1].", answerer="openai", abstained=False,
                 sources=[Source(passage, [quoted], "Doc", 1, 0.5, "doc.txt")])
    html_out = answer_html(llm)
    assert f"<mark>{html.escape(quoted, quote=True)}</mark>" in html_out
    assert "<b>" not in html_out and "Hij zei: " in html_out and "ging weg" in html_out
