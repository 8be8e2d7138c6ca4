"""Reading documents and splitting Dutch text into paragraphs and sentences."""

import pytest

from bot.language.text import DocumentError, parse_text, read_document, split_sentences


def test_splits_at_sentence_ends_only():
    assert split_sentences("Het overleg duurde vijf uur. Rond twee uur kwamen ze naar buiten.") == [
        "Het overleg duurde vijf uur.",
        "Rond twee uur kwamen ze naar buiten.",
    ]


def test_elided_article_starts_a_sentence():
    assert split_sentences("Ze praatten lang. 's Nachts kwamen ze naar buiten.") == [
        "Ze praatten lang.",
        "'s Nachts kwamen ze naar buiten.",
    ]


def test_elided_article_inside_a_sentence_is_not_a_boundary():
    text = "Rond twee uur 's nachts kwamen de kabinetsleden naar buiten."
    assert split_sentences(text) == [text]


def test_hyphenated_party_names_and_initials_stay_whole():
    text = "Volgens D66-leider S. Kaag en dhr. M. Rutte is er o.a. geen reden tot zorg."
    assert split_sentences(text) == [text]


def test_quote_ending_a_sentence_keeps_its_closing_mark():
    assert split_sentences('Hij was positief. "We zijn er ook nog niet." Daarna ging hij.') == [
        "Hij was positief.",
        '"We zijn er ook nog niet."',
        "Daarna ging hij.",
    ]


def test_quote_followed_by_attribution_is_one_sentence():
    text = '"Als het makkelijk was geweest, waren we er al uit geweest", zei ze na afloop.'
    assert split_sentences(text) == [text]


def test_question_and_exclamation_marks_end_sentences():
    assert split_sentences("Komt er een akkoord? Niemand weet het! Vrijdag meer.") == [
        "Komt er een akkoord?", "Niemand weet het!", "Vrijdag meer.",
    ]


def test_paragraph_zero_is_the_title():
    doc = parse_text("# Titel van het stuk\n\nEerste alinea. Tweede zin.\n\nTweede alinea.", "x.md")
    assert doc.title == "Titel van het stuk"
    assert [p.number for p in doc.paragraphs] == [0, 1, 2]
    assert doc.paragraphs[1].sentences == ["Eerste alinea.", "Tweede zin."]


def test_the_article_has_eleven_paragraphs_like_the_eval_set(tmp_path):
    from tests.conftest import ARTICLE

    doc = read_document(ARTICLE)
    assert len(doc.paragraphs) == 11
    assert doc.paragraphs[9].sentences[0] == "Voor de ChristenUnie is dit een rode lijn."


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"  \n\n ", "empty"),
        ("binary.txt", b"\x00\x01\x02PNG", "binary"),
        ("latin1.txt", "café".encode("latin-1"), "not UTF-8"),
        ("picture.png", b"whatever", "only .txt, .md"),
    ],
)
def test_bad_files_get_a_clear_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=reason):
        read_document(path)


def test_unreadable_file_gets_a_clear_reason(tmp_path):
    with pytest.raises(DocumentError, match="cannot be read"):
        read_document(tmp_path / "missing.txt")


def test_size_limit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("Zin. " * 1000, encoding="utf-8")
    with pytest.raises(DocumentError, match="larger than the limit"):
        read_document(path, max_bytes=1000)
