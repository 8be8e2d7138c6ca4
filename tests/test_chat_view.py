"""bot.chat_view: what the chat shows, with every piece of document or user text escaped (no model needed)."""

import html
import re

import pytest

from bot.answering import Answer, Source
from bot.chat_view import (
    IndexedDocument,
    answer_html,
    documents_html,
    from_literal_markdown,
    highlighted_passage,
    literal_markdown,
    partial_answer_html,
    problem_html,
    reply_text,
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
    assert rendered.index("paragraph 9") < rendered.index("paragraph 8")  # numbered in the answer's order
    assert "nb-abstention" not in rendered


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
    rendered += documents_html([IndexedDocument("evil.txt", ATTACK, 3, uploaded=True)])
    rendered += problem_html("Problem", ATTACK) + partial_answer_html(ATTACK)
    assert "<script" not in rendered and "<img" not in rendered
    assert "&lt;script&gt;" in rendered and "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in rendered
    tags = set(re.findall(r"</?([a-zA-Z]+)", rendered))
    assert tags <= {"div", "span", "details", "summary", "p", "mark", "ul", "li"}


def test_highlight_marks_every_evidence_sentence_and_merges_overlaps():
    passage = "Een. Twee drie. Vier & vijf."
    assert highlighted_passage(passage, ["Twee drie.", "Vier & vijf."]) == (
        "Een. <mark>Twee drie.</mark> <mark>Vier &amp; vijf.</mark>"
    )
    assert highlighted_passage(passage, ["Twee drie. Vier", "Vier & vijf."]) == (
        "Een. <mark>Twee drie. Vier &amp; vijf.</mark>"
    )
    assert highlighted_passage(passage, ["not in it"]) == "Een. Twee drie. Vier &amp; vijf."


def test_reply_text_gives_back_what_answer_returned_for_follow_ups():
    assert reply_text(answer_html(RED_LINE)) == RED_LINE.text
    tricky = Answer("Volgens het artikel: «a < b & c > d» [1]", RED_LINE.sources[:1], False)
    assert reply_text(answer_html(tricky)) == tricky.text
    assert reply_text(problem_html("Please rephrase the question", "empty")) == ""
    assert reply_text("plain text from elsewhere") == ""


@pytest.mark.parametrize("typed", [
    ATTACK, "What is the ChristenUnie's red line?", r"a\b \\ \* 1. - # & &amp; &lt;", "", "“quotes” «guillemets»",
])
def test_literal_markdown_round_trips_and_has_no_markup(typed):
    shown = literal_markdown(typed)
    assert from_literal_markdown(shown) == typed
    assert "<" not in shown and ">" not in shown
    assert re.search(r"(?<!\\)[*_\[\]()`]", shown.replace("\\\\", "")) is None  # every Markdown special escaped
    assert html.unescape(shown).replace("\\", "") == typed.replace("\\", "")
