"""sentence-transformers is the default; the opt-in lean runtime (bot.model.lean) computes the same vectors, and a
cold answer on it imports neither sentence-transformers nor transformers."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from bot.ingest import chunk_document
from bot.language.text import read_document
from bot.model.lean import LeanEncoder, supports
from bot.model.packing import packable
from tests.conftest import ARTICLE, ROOT, SECOND_ARTICLE

ODD = ["", " ", "  dubbele   spaties\n en\tnieuwe regels ", "émoji 🚲🇳🇱 “quotes” «guillemets» — 's nachts",
       "<bos> <pad> <eos> tekst", "A" * 3000]


@pytest.fixture(scope="module")
def both(settings):
    from sentence_transformers import SentenceTransformer

    folder = settings.model_dir
    return LeanEncoder(folder), SentenceTransformer(str(folder), device="cpu", local_files_only=True)


@pytest.mark.slow
def test_same_tokens_and_vectors_as_sentence_transformers(both):
    lean, reference = both
    chunks = [c.page_content for doc in (ARTICLE, SECOND_ARTICLE) for c in chunk_document(read_document(doc))]
    long_text = " ".join(chunks)  # > 2048 tokens: truncation, and the sliding window (257) matters
    questions = ["What is the ChristenUnie's red line?", "Wie krijgt een A-status?", long_text[:1500]]
    for text in [*questions, *ODD, long_text]:
        expected = reference[0].tokenizer(lean.prompts["query"] + text, truncation=True, max_length=2048)["input_ids"]
        assert lean.tokenizer.encode(lean.prompts["query"] + text).ids == expected
    for texts, prompt_name, batch_size in ((questions + ODD, "query", 1), (chunks, "document", 16),
                                           ([*ODD, long_text], "document", 4)):
        ours = lean.encode(texts, batch_size=batch_size, prompt_name=prompt_name, normalize_embeddings=True)
        theirs = reference.encode(texts, batch_size=batch_size, prompt_name=prompt_name, normalize_embeddings=True)
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    single = lean.encode("Wat is de rode lijn?", prompt_name="query")
    assert single.shape == (768,)
    np.testing.assert_allclose(single, reference.encode("Wat is de rode lijn?", prompt_name="query"), atol=1e-5)


@pytest.mark.slow
def test_titled_contexts_are_embedded_with_the_title_in_the_document_prompt(both, settings):
    from bot.model.embedding import BotEmbeddings

    lean, reference = both
    texts = ["Het kabinet praat vrijdag verder.", "De ChristenUnie noemt dit een rode lijn."]
    expected = reference.encode(texts, prompt="title: Kabinet praat verder over migratie | text: ",
                                normalize_embeddings=True)
    titled = BotEmbeddings(settings).embed_titled(texts, "Kabinet praat verder over migratie")
    np.testing.assert_allclose(titled, expected, atol=1e-5)
    np.testing.assert_allclose(lean.encode(texts, prompt="title: Kabinet praat verder over migratie | text: ",
                                           normalize_embeddings=True), expected, atol=1e-5)
    assert not np.allclose(expected, reference.encode(texts, prompt_name="document", normalize_embeddings=True),
                           atol=1e-3)  # the title changes the vectors


@pytest.mark.slow
@pytest.mark.parametrize("encoder", ["sentence-transformers", "lean"])
def test_a_question_and_its_terms_packed_in_one_pass_get_the_vectors_of_separate_calls(settings, encoder, monkeypatch):
    """A new question's terms are embedded in the question's own forward pass (bot.model.packing), each text
    attending only to itself: the vectors are those of ``embed_queries`` and ``embed_words``, also for a question
    longer than the sliding window (257 tokens) and for odd words."""
    from bot.model.embedding import BotEmbeddings

    embeddings = BotEmbeddings(settings.model_copy(update={"encoder": encoder}))
    long_question = " ".join(c.page_content for c in chunk_document(read_document(ARTICLE)))[:1500] + "?"
    words = ["christian union", "red", "line", "Israël", "house of representatives", "🚲", " ", "A" * 300]
    asked = ["What is the Christian Union's red line?", long_question]
    with monkeypatch.context() as patched:  # no call of the model's own encode: one packed pass
        patched.setattr(embeddings.model, "encode", lambda *args, **kwargs: pytest.fail("encode was called"))
        packed = [embeddings.embed_query_and_words(question, words) for question in asked]
        alone, none = embeddings.embed_query_and_words("Wie?", [])  # no new terms: packed alone, as fast
    for question, (query, word_vectors) in zip(asked, packed):
        np.testing.assert_allclose(query, embeddings.embed_queries([question])[0], atol=1e-5)
        np.testing.assert_allclose(word_vectors, embeddings.embed_words(words), atol=1e-5)
    assert none.shape == (0, len(alone))
    np.testing.assert_allclose(alone, embeddings.embed_queries(["Wie?"])[0], atol=1e-5)


@pytest.mark.slow  # reads the assembled model's configs: on a new machine the fast tier runs before the model exists
def test_other_layouts_are_left_to_sentence_transformers(settings, tmp_path):
    assert supports(settings.model_dir)
    folder = tmp_path / "model"
    shutil.copytree(settings.model_dir, folder,
                    ignore=shutil.ignore_patterns("*.safetensors", "tokenizer.json", "tokenizer.model", "*.ipynb"))
    for weights in ("model.safetensors", "2_Dense/model.safetensors", "3_Dense/model.safetensors", "tokenizer.json"):
        (folder / weights).touch()  # supports() reads configs only
    assert supports(folder)
    pooling = json.loads((folder / "1_Pooling" / "config.json").read_text())
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({**pooling, "pooling_mode_cls_token": True}))
    assert not supports(folder)
    assert not packable(None, folder)  # nor packed into one pass (bot.model.packing): their own encode, per call
    assert not supports(tmp_path / "nowhere")


@pytest.mark.slow
def test_sentence_transformers_by_default_and_the_lean_encoder_when_asked(settings):
    from bot.model.embedding import BotEmbeddings

    assert settings.encoder == "sentence-transformers"
    assert type(BotEmbeddings(settings).model).__name__ == "SentenceTransformer"
    asked = settings.model_copy(update={"encoder": "lean"})
    assert isinstance(BotEmbeddings(asked).model, LeanEncoder)


@pytest.mark.slow
def test_sentence_transformers_loads_without_scikit_learn_until_it_is_used(settings):
    """scikit-learn (with scipy.stats and pandas) is imported only when sentence-transformers calls it."""
    probe = (
        "import json, sys\n"
        "import numpy as np\n"
        "from bot.model.embedding import BotEmbeddings\n"
        "from bot.settings import get_settings\n"
        "embeddings = BotEmbeddings(get_settings())\n"
        "vector = embeddings.embed_query('Wat is de rode lijn?')\n"
        "before = 'sklearn' in sys.modules\n"
        "from sentence_transformers.util.similarity import pairwise_distances\n"
        "a, b = np.array([[0.0, 1.0], [2.0, 2.0]]), np.array([[1.0, 1.0]])\n"
        "print(json.dumps({'type': type(embeddings.model).__name__, 'dims': len(vector), 'before': before,\n"
        "                  'distances': pairwise_distances(a, b, metric='manhattan').ravel().tolist(),\n"
        "                  'after': 'sklearn' in sys.modules}))\n"
    )
    env = {**os.environ, "BOT_ENCODER": "sentence-transformers"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"type": "SentenceTransformer", "dims": 768, "before": False, "distances": [1.0, 2.0],
                      "after": True}


@pytest.mark.slow
@pytest.mark.parametrize(("encoder", "expected"), [
    ("sentence-transformers", ["sentence_transformers", "transformers"]),
    ("lean", []),
])
def test_a_cold_answer_imports_only_what_it_uses(indexed, settings, encoder, expected):
    """scikit-learn and langchain_chroma cost seconds and are never needed; the lean runtime needs neither
    sentence-transformers nor transformers."""
    probe = (
        "import json, sys\n"
        "from bot import answer\n"
        "text = answer('Wat is de rode lijn van de ChristenUnie?').text\n"
        "heavy = ['sentence_transformers', 'transformers', 'sklearn', 'langchain_chroma']\n"
        "print(json.dumps({'text': text, 'imported': [m for m in heavy if m in sys.modules]}))\n"
    )
    env = {**os.environ, "BOT_INDEX_DIR": str(settings.index_dir), "BOT_COLLECTION": settings.collection,
           "BOT_ENCODER": encoder}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "gezinshereniging" in result["text"]
    assert result["imported"] == expected


@pytest.mark.slow
def test_reingesting_unchanged_documents_imports_no_model_runtime(indexed, settings):
    probe = (
        "import json, sys\n"
        "from bot.cli import main\n"
        f"code = main(['ingest', '--quiet', {str(ARTICLE)!r}, {str(SECOND_ARTICLE)!r}])\n"
        "print(json.dumps({'code': code, 'imported': [m for m in ('torch', 'sentence_transformers', 'tokenizers')"
        " if m in sys.modules]}))\n"
    )
    env = {**os.environ, "BOT_INDEX_DIR": str(settings.index_dir), "BOT_COLLECTION": settings.collection}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600, check=True)
    assert "0 embedded" in done.stdout
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"code": 0, "imported": []}


@pytest.mark.slow
def test_bot_ask_prints_the_answer_and_exits_with_its_status(indexed, settings):
    """`python -m bot ask` leaves without the interpreter's teardown: the answer must still be out, in full."""
    env = {**os.environ, "BOT_INDEX_DIR": str(settings.index_dir), "BOT_COLLECTION": settings.collection}
    done = subprocess.run([sys.executable, "-m", "bot", "ask", "Wat is de rode lijn van de ChristenUnie?"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "gezinshereniging" in done.stdout.splitlines()[0]
    assert done.stdout.rstrip().splitlines()[-1].lstrip().startswith(">")  # the last source's evidence line
    refused = subprocess.run([sys.executable, "-m", "bot", "ask", "x" * (settings.max_question_chars + 1)],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: ") and refused.stdout == ""


@pytest.mark.slow
def test_a_reader_that_goes_away_gets_no_traceback(indexed, settings):
    """`python -m bot status | head -1`: the closed pipe ends the command quietly."""
    env = {**os.environ, "BOT_INDEX_DIR": str(settings.index_dir), "BOT_COLLECTION": settings.collection}
    process = subprocess.Popen([sys.executable, "-m", "bot", "status"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # before the command writes anything
    stderr = process.stderr.read()
    assert process.wait(timeout=600) == 1
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr


# English words of the development corpus's questions and the Dutch words of its articles that translate them.
WORD_PAIRS = [("inflation", "inflatie"), ("prices", "prijzen"), ("rents", "huren"), ("beef", "rundvlees"),
              ("budget", "begroting"), ("seats", "zetels"), ("coalition", "coalitie"), ("defence", "defensie"),
              ("summit", "top"), ("allies", "bondgenoten"), ("exhibition", "tentoonstelling"),
              ("visitors", "bezoekers"), ("tickets", "kaarten"), ("jobs", "banen"), ("loss", "verlies"),
              ("revenue", "omzet"), ("investors", "beleggers"), ("climate", "klimaat"), ("appeal", "beroep"),
              ("ruling", "uitspraak"), ("council", "gemeenteraad"), ("penalty", "dwangsom"), ("resident", "bewoner"),
              ("song", "nummer"), ("complaint", "klacht"), ("teachers", "leraren"), ("shortage", "tekort"),
              ("cocaine", "cocaine"), ("bananas", "bananen"), ("customs", "douane"), ("sentence", "straf"),
              ("witness", "getuige"), ("skating", "schaatsen"), ("title", "titel"), ("outage", "storing"),
              ("trains", "treinen"), ("travellers", "reizigers"), ("fine", "boete"), ("privacy", "privacy"),
              ("storm", "storm"), ("trees", "bomen"), ("equaliser", "gelijkmaker"), ("semi-final", "halve"),
              ("sea", "zee"), ("level", "zeespiegel"), ("cyclist", "renner"), ("race", "koers"),
              ("tenants", "huurders"), ("law", "wet"), ("minister", "minister")]


@pytest.mark.slow
def test_a_word_is_nearest_to_the_dutch_word_that_translates_it(settings):
    """Word vectors (a question's terms, a document's words) match a term with its translation: among 50 Dutch
    words, an English word's nearest is its translation for 0.72 of them (0.62 with the search prompt)."""
    from bot.model.embedding import BotEmbeddings

    english, dutch = zip(*WORD_PAIRS)
    embeddings = BotEmbeddings(settings)
    similarities = embeddings.embed_words(english) @ embeddings.embed_words(dutch).T
    translated = similarities.argmax(axis=1) == np.arange(len(WORD_PAIRS))
    assert translated.mean() >= 0.68
