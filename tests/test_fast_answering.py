"""The fast tier: splitting, indexing, composing and abstaining, end to end on the fake encoder
(tests/fake_encoder.py) and a real embedded Chroma in a temporary folder. No model, seconds in all.

What is quoted, cited and said when abstaining is the answerer's plumbing; which sentence the real model and the
learned decision pick is tested with the real model (test_answer.py, marked slow) and by ``python -m bot.eval``.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from bot.answering.decision import DecisionModel
from bot.answering.extractive import ABOUT_ALL, MAX_QUOTED_CHARS, ExtractiveAnswerer
from bot.answering.features import CHOICE_ONLY, FEATURES, analyse
from bot.answering.phrases import PHRASES
from bot.answering.retrieval import Retriever
from bot.answering.types import Answer, Source
from bot.index import open_index
from bot.ingest import chunk_document, ingest
from bot.language.text import read_document, split_sentences
from tests.fake_encoder import FakeEmbeddings, fake_vector, simple_decision


@pytest.fixture()
def fake_settings(tmp_path, settings):
    return settings.model_copy(update={"index_dir": tmp_path / "index", "collection": "fast"})


def build(settings, paths):
    embeddings = FakeEmbeddings(settings)
    index = open_index(settings, embeddings)
    if paths:
        ingest(index, embeddings, paths, progress=False)
    answerer = ExtractiveAnswerer(Retriever(index, embeddings, settings.top_k), settings, decision=simple_decision())
    return index, embeddings, answerer


def quoted(text: str) -> list[str]:
    return re.findall(r"«(.*?)»", text)


# ---------------------------------------------------------------- the fake encoder itself


def test_the_fake_encoder_gives_deterministic_unit_vectors_that_follow_shared_words():
    embeddings = FakeEmbeddings()
    a, b, c = embeddings.embed_queries(["Wanneer is het loket open?", "Het loket is open op dinsdag.",
                                        "Het zwembad kostte twaalf miljoen euro."])
    assert isinstance(a, np.ndarray) and a.shape == (384,)
    np.testing.assert_allclose([np.linalg.norm(v) for v in (a, b, c)], 1.0)
    assert a @ b > a @ c + 0.2  # shared words and word pieces make texts similar
    np.testing.assert_array_equal(fake_vector("Wanneer is het loket open?"), a)  # the same text, the same vector
    assert embeddings.embed_query("?!") == pytest.approx(embeddings.embed_query("?!"))  # no words: still a unit vector
    assert np.linalg.norm(embeddings.embed_query("?!")) == pytest.approx(1.0)
    assert embeddings.embed_documents([]) == [] and embeddings.embed_queries([]).shape == (0, 384)
    assert FakeEmbeddings(None).identity != FakeEmbeddings(type("S", (), {"model": "other"})()).identity


# ---------------------------------------------------------------- splitting and indexing


def test_documents_are_split_into_sentence_and_context_views_with_their_positions(docs):
    chunks = chunk_document(read_document(docs / "loket.txt"))
    sentences = [c for c in chunks if c.metadata["view"] == "sentence"]
    assert [c.metadata["sentence_text"] for c in sentences] == [
        *split_sentences("De gemeente Zwolle opent een nieuw loket in het stadhuis. Het loket is elke dinsdag open "
                         "van negen tot twaalf."),
        *split_sentences("Aanmelden kan vanaf maandag bij de balie. Wethouder Jansen noemde het loket een goede stap."),
    ]
    assert [c.metadata["position"] for c in sentences] == [0, 1, 2, 3]
    assert [(c.metadata["paragraph"], c.metadata["sentence"]) for c in sentences] == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert {c.metadata["view"] for c in chunks} == {"sentence", "context"} and len(chunks) == 2 * len(sentences)
    assert all(c.metadata["title"] == "Nieuw loket in het stadhuis" for c in chunks)
    assert all(c.metadata["sentence_text"] in c.metadata["passage"] for c in chunks)


def test_ingesting_with_the_fake_encoder_embeds_once_and_reuses_vectors(fake_settings, docs):
    index, embeddings, _ = build(fake_settings, [docs])
    chunks = sum(len(chunk_document(read_document(docs / name))) for name in ("loket.txt", "zwembad.txt"))
    # two views per sentence, and each sentence's context once more with the title (schema.TITLED_VECTOR)
    assert embeddings.documents_embedded == chunks + chunks // 2 and index.chunks.count() == chunks
    assert sorted(index.markers()) == ["loket.txt", "zwembad.txt"]
    again = ingest(index, embeddings, [docs], progress=False)
    assert again.unchanged == ["loket.txt", "zwembad.txt"] and embeddings.documents_embedded == chunks + chunks // 2


def test_each_sentence_carries_its_context_embedded_with_the_title_reused_while_title_and_context_stay(
        fake_settings, docs):
    index, embeddings, answerer = build(fake_settings, [docs])
    marker = index.markers()["loket.txt"]
    chunks = chunk_document(read_document(docs / "loket.txt"))
    contexts = {c.metadata["position"]: c.page_content for c in chunks if c.metadata["view"] == "context"}
    sentences = index.sentences("loket.txt", marker.doc_hash)
    for position, record in sentences.items():
        expected = fake_vector(f"Nieuw loket in het stadhuis. {contexts[position]}")
        np.testing.assert_allclose(record.titled(), expected, atol=1e-3)  # float16
    assert all(not record.titled_vector for _, record in index.stored("loket.txt") if record.view == "context")
    # the retrieved candidates are scored against it
    hits = answerer.retriever.retrieve("Wanneer is het loket open?")
    query = embeddings.embed_queries(["Wanneer is het loket open?"])[0]
    for hit in hits:
        record = index.sentences(hit.file, hit.doc_hash)[hit.position]
        assert hit.titled_score == pytest.approx(float(record.titled() @ query))

    # one sentence edited, the last of its paragraph: its context alone is embedded with the title again
    path = docs / "loket.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("van negen tot twaalf", "van negen tot één"),
                    encoding="utf-8")
    report = ingest(index, embeddings, [docs], progress=False)
    assert report.added == ["loket.txt"] and (report.embedded, report.reused, report.titled) == (2, 6, 1)


def test_the_titled_scores_choose_the_sentence_but_whether_to_answer_is_the_abstention_models_call():
    def linear(features, weights, bias, threshold=0.5, **more):
        return DecisionModel(features=features, mean=(0.0,) * len(features), scale=(1.0,) * len(features),
                             weights=tuple(weights.get(f, 0.0) for f in features), bias=bias, threshold=threshold,
                             **more)

    answering = tuple(f for f in FEATURES if f not in CHOICE_ONLY)
    abstention = linear(answering, {"context_score": 40.0}, -20.0)  # answers from a context score of 0.5
    model = linear(FEATURES, {"titled_score": 40.0}, -20.0, threshold=abstention.threshold, abstention=abstention)
    rows = np.zeros((2, len(FEATURES)))
    rows[:, FEATURES.index("context_score")] = [0.6, 0.3]
    rows[:, FEATURES.index("titled_score")] = [0.3, 0.9]
    assert model.quoted(model.probabilities(rows)) == [1]  # the choice: by the titled score
    assert model.confidence(rows) == pytest.approx(abstention.probabilities(rows[:, :len(answering)]).max())
    assert model.confidence(rows) > model.threshold  # the best context score answers
    rows[:, FEATURES.index("context_score")] = [0.4, 0.3]
    assert model.confidence(rows) < model.threshold  # however high the titled score


def test_chunks_tied_at_the_kth_place_are_chosen_by_a_tie_break_not_by_the_order_chroma_returns_them(fake_settings,
                                                                                                       docs):
    index, embeddings, _ = build(fake_settings, [docs])
    # A paragraph's first sentence is the same text in both views, so the same vector: a tie.
    vector = embeddings.embed_documents(["Aanmelden kan vanaf maandag bij de balie."])[0]
    chroma = index.chunks

    class ReversedTies:  # Chroma returning the same results in the opposite order, as another process may
        def __getattr__(self, name):
            return getattr(chroma, name)

        def query(self, **kwargs):
            return {key: [list(reversed(value[0]))] if isinstance(value, list) and value else value
                    for key, value in chroma.query(**kwargs).items()}

    def top(k):
        return [(r.file, r.position, r.view, round(score, 6)) for r, score in index.query(vector, k)]

    first = {k: top(k) for k in (1, 2, 3)}
    assert first[1][0][:3] == ("loket.txt", 2, "context") and first[2][1][:3] == ("loket.txt", 2, "sentence")
    index.chunks = ReversedTies()
    assert {k: top(k) for k in (1, 2, 3)} == first


def test_an_index_built_with_chromas_default_search_settings_is_given_the_exhaustive_single_threaded_ones(
        fake_settings):
    from bot.index.store import SEARCH_CONFIGURATION

    index = open_index(fake_settings, FakeEmbeddings(fake_settings))
    index.chunks.modify(configuration={"hnsw": {"ef_search": 100, "num_threads": 2}})  # Chroma's defaults here
    hnsw = open_index(fake_settings, FakeEmbeddings(fake_settings)).chunks.configuration["hnsw"]
    assert {key: hnsw[key] for key in SEARCH_CONFIGURATION} == SEARCH_CONFIGURATION == {"ef_search": 512,
                                                                                         "num_threads": 1}


# ---------------------------------------------------------------- composing


def test_the_answer_quotes_the_best_sentence_with_the_one_before_and_cites_its_paragraph(fake_settings, docs):
    _, _, answerer = build(fake_settings, [docs])
    a = answerer.answer("Wanneer is het loket open?")
    assert isinstance(a, Answer) and not a.abstained and a.language == "nl"
    assert a.text.startswith(PHRASES["nl"]["lead"] + " «")
    assert quoted(a.text) == ["De gemeente Zwolle opent een nieuw loket in het stadhuis. "
                              "Het loket is elke dinsdag open van negen tot twaalf."]
    assert a.text.endswith("» [1]")
    first = a.sources[0]
    assert isinstance(first, Source) and first.cited and first.paragraph == 1
    assert first.file == "loket.txt" and first.document == "Nieuw loket in het stadhuis"  # file name vs title
    assert first.highlight == ["De gemeente Zwolle opent een nieuw loket in het stadhuis.",
                               "Het loket is elke dinsdag open van negen tot twaalf."]
    assert all(h in first.text for h in first.highlight)
    assert len(a.sources) <= 3 and all(not s.cited for s in a.sources[1:])
    assert a.evidence() == first.highlight


def test_english_questions_get_the_english_lead(fake_settings, docs):
    _, _, answerer = build(fake_settings, [docs])
    a = answerer.answer("When is the loket open on dinsdag?")
    assert a.language == "en" and not a.abstained and a.text.startswith(PHRASES["en"]["lead"])


def test_a_following_sentence_that_leans_on_the_answer_is_added_only_within_the_quote_cap(fake_settings, tmp_path):
    short = tmp_path / "raad.txt"
    short.write_text("Raad\n\nDe raad stemt dinsdag over de nieuwe parkeertarieven in het centrum. "
                     "Dat gebeurt na een lang debat.\n", encoding="utf-8")
    long_tail = "Dat gebeurt na een debat dat " + "heel erg lang en uitvoerig " * 12 + "was."
    long = tmp_path / "lang.txt"
    long.write_text("Lang\n\nDe gemeenteraad stemt woensdag over de hondenbelasting in de wijken. "
                    + long_tail + "\n", encoding="utf-8")

    _, _, answerer = build(fake_settings, [short])
    a = answerer.answer("Wanneer stemt de raad over de parkeertarieven?")
    assert quoted(a.text) == ["De raad stemt dinsdag over de nieuwe parkeertarieven in het centrum. "
                              "Dat gebeurt na een lang debat."]

    other = fake_settings.model_copy(update={"index_dir": tmp_path / "index2"})
    _, _, answerer = build(other, [long])
    a = answerer.answer("Wanneer stemt de gemeenteraad over de hondenbelasting?")
    assert quoted(a.text) == ["De gemeenteraad stemt woensdag over de hondenbelasting in de wijken."]
    assert sum(map(len, quoted(a.text))) <= MAX_QUOTED_CHARS < len(a.sources[0].text)


def test_a_follow_up_that_points_back_looks_first_where_the_last_answer_quoted(fake_settings, docs):
    """"Wanneer was dat?" after an answer about the swimming pool: the candidates in the quoted document carry the
    signal the learned decision weighs (in_followed_document), and only a question that points back gets it."""
    index, embeddings, answerer = build(fake_settings, [docs])
    first = answerer.answer("Hoeveel kostte de verbouwing van het zwembad?")
    assert first.sources[0].file == "zwembad.txt" and first.sources[0].cited
    history = [{"role": "user", "content": "Hoeveel kostte de verbouwing van het zwembad?"}, first]

    weights = dict.fromkeys(FEATURES, 0.0)
    weights.update(in_followed_document=40.0, context_score=1.0)
    follows_the_answer = DecisionModel(features=FEATURES, mean=(0.0,) * len(FEATURES),
                                       scale=(1.0,) * len(FEATURES), weights=tuple(weights[f] for f in FEATURES),
                                       bias=-20.0, threshold=0.5)
    follower = ExtractiveAnswerer(Retriever(index, embeddings, 8), fake_settings, decision=follows_the_answer)
    assert follower.answer("Wanneer opende dat loket?", history).sources[0].file == "zwembad.txt"
    # A question that does not point back is asked afresh: no candidate gets the signal, so none passes.
    assert follower.answer("Wanneer opent het loket?", history).abstained

    column = FEATURES.index("in_followed_document")
    deliberation = answerer.deliberate("Wanneer opende dat?", follows=(("zwembad.txt", 1),))
    assert [row[column] for row in deliberation.rows] == [float(h.file == "zwembad.txt") for h in deliberation.hits]
    assert {h.file for h in deliberation.hits} == {"zwembad.txt", "loket.txt"}


# ---------------------------------------------------------------- abstaining


def test_a_question_the_articles_do_not_answer_gets_an_abstention_that_names_what_they_are_about(fake_settings, docs):
    _, _, answerer = build(fake_settings, [docs / "loket.txt"])
    a = answerer.answer("Welke kleur heeft de fiets van de burgemeester?")
    assert a.abstained and a.sources == [] and a.evidence() == []
    about = PHRASES["nl"]["about"].format(titles="«Nieuw loket in het stadhuis»")
    assert a.text == f"{PHRASES['nl']['no_answer']} {about}"


def test_an_abstention_names_the_names_no_article_mentions(fake_settings, docs):
    _, _, answerer = build(fake_settings, [docs])
    a = answerer.answer("What does Rutte think of the loket?")
    assert a.abstained and a.sources == []
    say = PHRASES["en"]
    titles = "«Nieuw loket in het stadhuis»; «Zwembad heropend na verbouwing»"
    assert a.text == " ".join([say["no_answer_many"], say["no_mention_many"].format(names="Rutte"),
                               say["about_many"].format(titles=titles)])
    named = answerer.answer("Wat zei Jansen over het loket?")  # Jansen is in the article: never "not mentioned"
    assert "noemt Jansen niet" not in named.text


def test_a_compound_name_is_not_called_unmentioned_when_one_of_its_parts_is_mentioned(fake_settings, docs):
    """'Kade-directeur': the Kade is in the article, so 'They do not mention Kade-directeur' would be false."""
    _, _, answerer = build(fake_settings, [docs])
    mentioned = answerer.answer("Hoe oud is de Kade-directeur?")
    assert mentioned.abstained and "Kade-directeur" not in mentioned.text
    absent = answerer.answer("Hoe oud is de Volt-directeur?")
    assert absent.abstained and PHRASES["nl"]["no_mention_many"].format(names="Volt-directeur") in absent.text


def test_an_english_name_of_several_words_is_mentioned_when_its_dutch_form_is(fake_settings, tmp_path):
    """'Party for Freedom' has no word of 'PVV': the name is known whole, never called unmentioned word by word."""
    article = tmp_path / "motie.txt"
    article.write_text("Motie aangenomen\n\nOok de PVV stemde voor de motie.\n", encoding="utf-8")
    _, _, answerer = build(fake_settings, [article])
    known = answerer.answer("How old is the leader of the Party for Freedom?")
    assert known.abstained and "mention" not in known.text
    unknown = answerer.answer("How old is the leader of the Party for the Animals?")
    assert unknown.abstained and PHRASES["en"]["no_mention"].format(names="Party for the Animals") in unknown.text


def test_an_abstention_over_many_articles_names_only_the_closest_ones(fake_settings, docs):
    extra = {"trein": ("Treinen rijden weer", "De treinen rijden weer na een storing in Utrecht."),
             "markt": ("Markt verhuist", "De weekmarkt verhuist naar het plein bij de kerk."),
             "school": ("School krijgt nieuw dak", "De basisschool krijgt in de zomer een nieuw dak.")}
    for name, (title, text) in extra.items():
        (docs / f"{name}.txt").write_text(f"{title}\n\n{text}\n", encoding="utf-8")
    _, _, answerer = build(fake_settings, [docs])
    a = answerer.answer("Welke kleur heeft de fiets van de burgemeester?")
    assert a.abstained
    named = quoted(a.text)
    assert len(named) == ABOUT_ALL and len(set(named)) == ABOUT_ALL
    assert a.text.endswith(PHRASES["nl"]["closest_many"].format(count=5, titles="; ".join(f"«{t}»" for t in named)))
    deliberation = answerer.deliberate("Welke kleur heeft de fiets van de burgemeester?")
    assert named == list(dict.fromkeys(h.title for h in deliberation.hits))[:ABOUT_ALL]

def test_an_abstention_names_a_name_of_several_words_whole_and_only_when_none_of_its_words_is_found(fake_settings,
                                                                                                     docs):
    _, _, answerer = build(fake_settings, [docs])
    absent = answerer.answer("What did Geert Wilders say about the Kade?")
    assert absent.abstained and "They do not mention Geert Wilders." in absent.text
    # "Jansen" is in an article: "Piet Jansen" may be him, so the abstention does not say the name is missing
    partly = answerer.answer("What did Piet Jansen say about the swimming pool's colour?")
    assert partly.abstained and "mention" not in partly.text


def test_whether_missing_names_mean_no_answer_is_the_decision_models_call_not_a_hand_rule(fake_settings, docs):
    # An English name of a Dutch one ("Rotterdam Harbour" for de Rotterdamse haven) is missing in the literal sense,
    # so no rule abstains on missing names alone: the learned model weighs its names_missing signal.
    index, embeddings, _ = build(fake_settings, [docs])
    names_unweighed = replace(simple_decision(min_context=0.0, threshold=0.4),
                              weights=tuple(40.0 if f == "context_score" else 0.0 for f in FEATURES))
    blind_to_names = ExtractiveAnswerer(Retriever(index, embeddings, 8), fake_settings, decision=names_unweighed)
    assert not blind_to_names.answer("What does Rutte think of the loket?").abstained


def test_below_the_decision_threshold_the_bot_abstains_even_on_a_matching_sentence(fake_settings, docs):
    index, embeddings, _ = build(fake_settings, [docs])
    strict = ExtractiveAnswerer(Retriever(index, embeddings, 8), fake_settings, decision=simple_decision(0.99))
    assert strict.answer("Wanneer is het loket open?").abstained
    lenient = ExtractiveAnswerer(Retriever(index, embeddings, 8), fake_settings, decision=simple_decision(0.3))
    assert not lenient.answer("Wanneer is het loket open?").abstained


def test_an_answerer_deciding_with_another_model_shares_its_word_vectors(fake_settings, docs):
    index, embeddings, _ = build(fake_settings, [docs])
    embedded, queries, words = [], embeddings.embed_queries, embeddings.embed_words
    embeddings.embed_queries = lambda texts: embedded.append(list(texts)) or queries(texts)
    embeddings.embed_words = lambda texts: embedded.append(list(texts)) or words(texts)
    lenient = ExtractiveAnswerer(Retriever(index, embeddings, 8), fake_settings, decision=simple_decision(0.3))
    question = "Wanneer is het loket open?"
    assert not lenient.answer(question).abstained
    before = len(embedded)
    strict = lenient.deciding_with(simple_decision(0.99))  # the evaluation's folds: one answerer, many models
    assert strict.answer(question).abstained
    assert embedded[before:] == [[question]]  # only the question again: no term or document word re-embedded
    assert not lenient.answer(question).abstained  # the original keeps its own model


def test_a_new_questions_terms_are_embedded_in_the_questions_own_call_and_then_kept(fake_settings, docs):
    index, embeddings, _ = build(fake_settings, [docs])
    calls, embed, embed_words = [], embeddings.embed_query_and_words, embeddings.embed_words
    embeddings.embed_query_and_words = lambda query, words: calls.append((query, list(words))) or embed(query, words)
    embeddings.embed_words = lambda words: calls.append(("words", list(words))) or embed_words(words)
    answerer = ExtractiveAnswerer(Retriever(index, embeddings, 8), fake_settings, decision=simple_decision(0.3))

    def asked(question: str) -> tuple[list, list[str]]:
        del calls[:]
        answerer.answer(question)
        return [c for c in calls if c[0] != "words"], [w for c in calls if c[0] == "words" for w in c[1]]

    question = "Wanneer is het loket open?"
    terms = analyse(question).terms
    assert terms
    with_question, apart = asked(question)
    assert with_question == [(question, terms)]  # one call for the question and its terms (one forward pass, packed)
    assert not set(terms) & set(apart)  # and not again on their own (the document's words are, once)
    assert asked(question) == ([(question, [])], [])  # asked again: the terms' vectors are kept
    other = "Is het loket op zondag open?"
    assert asked(other) == ([(other, [t for t in analyse(other).terms if t not in terms])], [])


def test_an_empty_index_says_nothing_is_indexed(fake_settings):
    _, _, answerer = build(fake_settings, [])
    a = answerer.answer("Wanneer is het loket open?")
    assert a.abstained and a.text == PHRASES["nl"]["empty"] and a.sources == []


@pytest.mark.parametrize(("question", "message"), [
    ("", "Please type a question: this one is empty."),
    ("   \n\t ", "Please type a question: this one is empty."),
    ("?!? …", "Please type a question in words: this one has no letters or digits."),
    ("x" * 2001, "The question is 2,001 characters long; the limit is 2,000. Please shorten it."),
    (None, "The question must be text."),
])
def test_bad_questions_raise_the_documented_value_error(fake_settings, question, message):
    _, _, answerer = build(fake_settings, [])
    with pytest.raises(ValueError) as error:
        answerer.answer(question)
    assert str(error.value) == message


# ---------------------------------------------------------------- the service on the fake encoder


def test_the_service_answers_streams_adds_and_lists_documents(fake_bot, docs):
    import bot
    from bot.answering import get_bot
    from bot.index import IndexMissingError

    assert bot.documents() == []
    with pytest.raises(IndexMissingError, match=r"No index yet at .*: run `python -m bot ingest`"):
        bot.answer("Wanneer is het loket open?")
    added = bot.add_document(docs / "loket.txt")
    assert (added.file, added.title, added.unchanged) == ("loket.txt", "Nieuw loket in het stadhuis", False)
    assert bot.add_document(docs / "loket.txt").unchanged
    assert [(d.file, d.title) for d in bot.documents()] == [("loket.txt", "Nieuw loket in het stadhuis")]
    assert isinstance(get_bot().embeddings, FakeEmbeddings)

    whole = bot.answer("Wanneer is het loket open?")
    assert not whole.abstained and "dinsdag" in whole.text
    items = list(bot.stream("Wanneer is het loket open?"))
    pieces, final = items[:-1], items[-1]
    assert isinstance(final, Answer) and pieces and all(isinstance(p, str) for p in pieces)
    assert "".join(pieces).split() == final.text.split() and final.text == whole.text

    said = "Volgens het artikel: «Wethouder Jansen noemde het loket een goede stap.» [1]"
    follow = bot.answer("En wat zei hij erover?", history=[
        {"role": "user", "content": "Wie is wethouder Jansen?"}, {"role": "assistant", "content": said}])
    assert "Jansen" in follow.question  # the follow-up is understood with the name it points back to

    docs_found = bot.as_retriever(k=2).invoke("Wanneer is het loket open?")
    assert 1 <= len(docs_found) <= 2 and docs_found[0].metadata["file"] == "loket.txt"
    assert docs_found[0].metadata["document"] == "Nieuw loket in het stadhuis"


# ---------------------------------------------------------------- the runner-up


def test_the_runner_up_is_quoted_only_when_its_probability_is_near_the_best():
    near = simple_decision(runner_up_ratio=0.6)
    assert near.quoted(np.array([0.2, 0.9, 0.6])) == [1, 2]  # 0.6 >= 0.6 * 0.9
    assert near.quoted(np.array([0.2, 0.9, 0.5])) == [1]
    assert near.quoted(np.array([0.7])) == [0] and near.quoted(np.zeros(0)) == []
    assert simple_decision().quoted(np.array([0.9, 0.9])) == [0]  # the fast tier's stand-in: the best only


def test_two_facts_from_two_places_are_both_quoted_in_reading_order_each_with_its_citation(fake_settings, tmp_path):
    storm = tmp_path / "storm.txt"
    storm.write_text("Storm\n\nHet KNMI gaf kort voor acht uur code rood af voor Noord-Holland.\n\n"
                     "In Haarlem waaiden veel bomen om.\n\n"
                     "Rond half twee trok het KNMI code rood weer in.\n", encoding="utf-8")
    index, embeddings, best_only = build(fake_settings, [storm])
    question = "Wanneer gaf het KNMI code rood af, wanneer trok het KNMI code rood in?"  # one question to the answerer
    deliberation = best_only.deliberate(question)
    assert len(best_only.decision.quoted(best_only.decision.probabilities(deliberation.rows))) == 1

    both = ExtractiveAnswerer(Retriever(index, embeddings, 8), fake_settings,
                              decision=simple_decision(runner_up_ratio=0.5))
    a = both.answer(question)
    assert quoted(a.text) == ["Het KNMI gaf kort voor acht uur code rood af voor Noord-Holland.",
                              "Rond half twee trok het KNMI code rood weer in."]
    cited = {s.paragraph: n + 1 for n, s in enumerate(a.sources) if s.cited}
    assert set(cited) == {1, 3}
    assert a.text.endswith(f"«Het KNMI gaf kort voor acht uur code rood af voor Noord-Holland.» [{cited[1]}] "
                           f"«Rond half twee trok het KNMI code rood weer in.» [{cited[3]}]")


def test_a_term_the_quote_leaves_unsaid_brings_the_sentence_of_the_same_article_that_says_it(fake_settings, tmp_path):
    (tmp_path / "storm.txt").write_text("Storm\n\nHet KNMI gaf kort voor acht uur code rood af voor Noord-Holland.\n\n"
                                        "In Haarlem waaiden veel bomen om.\n\n"
                                        "Rond half twee trok het KNMI code rood weer in.\n", encoding="utf-8")
    (tmp_path / "hitte.txt").write_text("Hitte\n\nHet KNMI trok code oranje in voor Limburg.\n", encoding="utf-8")
    _, _, best_only = build(fake_settings, [tmp_path / "storm.txt", tmp_path / "hitte.txt"])  # no runner-up
    a = best_only.answer("Wanneer gaf het KNMI code rood af, wanneer trok het KNMI code rood in?")
    assert quoted(a.text) == ["Het KNMI gaf kort voor acht uur code rood af voor Noord-Holland.",
                              "Rond half twee trok het KNMI code rood weer in."]  # "trok": not the other article's
    assert {s.file for s in a.sources if s.cited} == {"storm.txt"}
    # A quote that says every term of the question is not extended.
    assert quoted(best_only.answer("Wanneer gaf het KNMI code rood af voor Noord-Holland?").text) == [
        "Het KNMI gaf kort voor acht uur code rood af voor Noord-Holland."]
    # A term only another article says brings nothing: one question is about one article.
    (tmp_path / "storm.txt").write_text("Storm\n\nHet KNMI gaf kort voor acht uur code rood af voor Noord-Holland.\n",
                                        encoding="utf-8")
    _, _, best_only = build(fake_settings.model_copy(update={"index_dir": tmp_path / "other"}),
                            [tmp_path / "storm.txt", tmp_path / "hitte.txt"])
    assert quoted(best_only.answer("Wanneer gaf het KNMI code rood af, wanneer trok het KNMI code rood in?").text) == [
        "Het KNMI gaf kort voor acht uur code rood af voor Noord-Holland."]


def test_the_runner_up_is_quoted_only_from_the_best_candidates_article(fake_settings, tmp_path):
    (tmp_path / "storm.txt").write_text("Storm\n\nHet KNMI gaf code rood af voor Noord-Holland.\n\n"
                                        "Rond half twee trok het KNMI code rood weer in.\n", encoding="utf-8")
    (tmp_path / "hitte.txt").write_text("Hitte\n\nHet KNMI gaf code oranje af voor Limburg.\n", encoding="utf-8")
    index, embeddings, _ = build(fake_settings, [tmp_path / "storm.txt", tmp_path / "hitte.txt"])
    answerer = ExtractiveAnswerer(Retriever(index, embeddings, 8), fake_settings,
                                  decision=simple_decision(runner_up_ratio=0.5))
    question = "Wanneer gaf het KNMI code af?"
    deliberation = answerer.deliberate(question)
    near_tie = answerer.decision.quoted(answerer.decision.probabilities(deliberation.rows))
    assert [deliberation.hits[i].file for i in near_tie] == ["hitte.txt", "storm.txt"]
    a = answerer.answer(question)
    assert quoted(a.text) == ["Het KNMI gaf code oranje af voor Limburg."]  # not a sentence of another article
    assert {s.file for s in a.sources if s.cited} == {"hitte.txt"}


def test_a_question_that_asks_two_things_quotes_the_answer_to_each_or_answers_as_one_question(fake_settings,
                                                                                              tmp_path):
    storm = tmp_path / "storm.txt"
    storm.write_text("Storm\n\nHet KNMI gaf kort voor acht uur code rood af voor Noord-Holland.\n\n"
                     "In Haarlem waaiden veel bomen om.\n\n"
                     "Rond half twee trok het KNMI code rood weer in.\n", encoding="utf-8")
    _, _, best_only = build(fake_settings, [storm])  # quotes one candidate per question
    question = "Wanneer gaf het KNMI code rood af voor Noord-Holland en wanneer trok het KNMI code rood weer in?"
    a = best_only.answer(question)
    assert not a.abstained and a.question == question
    assert quoted(a.text) == ["Het KNMI gaf kort voor acht uur code rood af voor Noord-Holland.",
                              "Rond half twee trok het KNMI code rood weer in."]
    assert {s.paragraph for s in a.sources if s.cited} == {1, 3}
    # A part the bot would abstain on (no Rutte here) sends the whole question back as one; when that abstains too,
    # the part that is answered is quoted and the other one named, not a half answer passed off as whole.
    half = best_only.answer("Wanneer gaf het KNMI code rood af voor Noord-Holland en wanneer sprak Rutte?")
    assert not half.abstained
    assert quoted(half.text) == ["Het KNMI gaf kort voor acht uur code rood af voor Noord-Holland."]
    assert half.text.endswith(PHRASES["nl"]["part_unanswered"].format(parts="“Wanneer sprak Rutte?”"))
    assert best_only.answer("Wanneer sprak Rutte en wanneer sprak Jansen?").abstained  # no part answered


def test_the_second_part_of_a_question_is_a_follow_up_of_the_first(fake_settings, tmp_path, monkeypatch):
    """"Who opened it, and when did he speak?": he is the person the first part's answer names, and the second part
    is looked for first where that answer was found. A part that would only quote the first part's answer again
    gets that article's best other sentence."""
    article = tmp_path / "loket.txt"
    article.write_text("Loket\n\nWethouder Pieter Jansen opende dinsdag het nieuwe loket in het stadhuis.\n\n"
                       "Het loket in het stadhuis is elke ochtend open.\n\n"
                       "Pieter Jansen sprak woensdag de gemeenteraad toe over de kosten.\n", encoding="utf-8")
    _, _, answerer = build(fake_settings, [article])
    asked: list[tuple[str, tuple]] = []
    deliberate = answerer.deliberate
    monkeypatch.setattr(answerer, "deliberate", lambda q, follows=(): asked.append((q, tuple(follows)))
                        or deliberate(q, follows))

    a = answerer.answer("Wie opende het nieuwe loket in het stadhuis, en wanneer sprak hij de gemeenteraad toe?")
    assert asked[0] == ("Wie opende het nieuwe loket in het stadhuis?", ())
    assert asked[1] == ("Wanneer sprak Pieter Jansen de gemeenteraad toe?", (("loket.txt", 1),))
    assert quoted(a.text) == ["Wethouder Pieter Jansen opende dinsdag het nieuwe loket in het stadhuis.",
                              "Pieter Jansen sprak woensdag de gemeenteraad toe over de kosten."]

    asked.clear()  # the first part names the person: a pronoun means that one, not one its answer names
    answerer.answer("Wanneer opende Jansen het loket, en wanneer sprak hij de gemeenteraad toe?")
    assert asked[1][0].startswith("Wanneer sprak hij de gemeenteraad toe?")

    # Asked alone, "Wanneer gaat het nieuwe loket in het stadhuis open?" quotes the opening (its words are all
    # there); as the second part of a question about the opening, it gets the other sentence.
    alone = answerer.answer("Wanneer gaat het nieuwe loket in het stadhuis open?")
    assert quoted(alone.text) == ["Wethouder Pieter Jansen opende dinsdag het nieuwe loket in het stadhuis."]
    b = answerer.answer("Wanneer opende het nieuwe loket in het stadhuis, en wanneer gaat het nieuwe loket in het "
                        "stadhuis open?")
    assert quoted(b.text) == ["Wethouder Pieter Jansen opende dinsdag het nieuwe loket in het stadhuis.",
                              "Het loket in het stadhuis is elke ochtend open."]



def test_a_follow_up_that_would_only_quote_the_last_answer_again_also_quotes_the_articles_best_other_sentence(
        fake_settings, tmp_path):
    article = tmp_path / "loket.txt"
    article.write_text("Loket\n\nWethouder Pieter Jansen opende dinsdag het nieuwe loket in het stadhuis.\n\n"
                       "Het loket in het stadhuis is elke ochtend open.\n\n"
                       "Pieter Jansen sprak woensdag de gemeenteraad toe over de kosten.\n", encoding="utf-8")
    _, _, answerer = build(fake_settings, [article])
    question = "Wanneer opende de wethouder het nieuwe loket in het stadhuis?"
    first = answerer.answer(question)
    assert quoted(first.text) == ["Wethouder Pieter Jansen opende dinsdag het nieuwe loket in het stadhuis."]

    follow_up = "En wanneer kan ik daar terecht?"  # carries the topic over, so it would quote the opening again
    as_text = answerer.answer(follow_up, [{"role": "user", "content": question},
                                          {"role": "assistant", "content": first.text}])
    assert quoted(as_text.text) == quoted(first.text)  # a plain-text history: what was quoted is not known
    again = answerer.answer(follow_up, [{"role": "user", "content": question}, first])
    assert quoted(again.text) == ["Wethouder Pieter Jansen opende dinsdag het nieuwe loket in het stadhuis.",
                                  "Het loket in het stadhuis is elke ochtend open."]


def test_a_how_old_question_is_answered_only_by_a_quote_that_gives_an_age(fake_settings, tmp_path):
    article = tmp_path / "gemeente.txt"
    article.write_text("Nieuwe burgemeester\n\nJan de Vries is de nieuwe burgemeester van Zwolle.\n\n"
                       "De raad koos hem donderdag unaniem.\n", encoding="utf-8")
    _, _, answerer = build(fake_settings, [article])
    assert not answerer.answer("Wie is Jan de Vries?").abstained  # the sentence about him answers this one
    assert answerer.answer("Hoe oud is Jan de Vries?").abstained  # but it gives no age

    article.write_text("Nieuwe burgemeester\n\nDe 52-jarige Jan de Vries is de nieuwe burgemeester van Zwolle.\n\n"
                       "De raad koos hem donderdag unaniem.\n", encoding="utf-8")
    _, _, answerer = build(fake_settings.model_copy(update={"collection": "aged"}), [article])
    a = answerer.answer("Hoe oud is Jan de Vries?")
    assert not a.abstained and "52-jarige" in a.text
