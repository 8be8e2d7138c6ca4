"""Ten questions at once give the same answers as asked one by one (the shared bot is thread-safe)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from bot import answer

pytestmark = pytest.mark.slow  # the real model

QUESTIONS = [
    "What is the ChristenUnie's red line?",
    "Wat is de rode lijn van de ChristenUnie?",
    "How long did the meeting last?",
    "Who is Carola Schouten?",
    "Wat had Rutte zijn partij beloofd?",
    "What does the PVV think of the plan?",
    "Hoeveel fietsen passen in de nieuwe stalling?",
    "Who opened the bicycle parking?",
    "What do the shopkeepers want?",
    "Wie werd er landskampioen voetbal?",
]


def view(result) -> tuple:
    return result.text, result.abstained, [(s.file, s.paragraph, s.highlight) for s in result.sources]


@pytest.mark.usefixtures("indexed")
def test_ten_concurrent_calls_all_succeed_with_the_sequential_answers():
    sequential = [view(answer(q)) for q in QUESTIONS]
    with ThreadPoolExecutor(max_workers=10) as pool:
        concurrent = list(pool.map(lambda q: view(answer(q)), QUESTIONS))
        twice = list(pool.map(lambda q: view(answer(q)), QUESTIONS * 2))
    assert concurrent == sequential
    assert twice == sequential * 2
