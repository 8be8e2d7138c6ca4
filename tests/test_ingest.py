"""Ingestion into a real Chroma with the real model: idempotent, minimal, safe.

Every test that takes ``fresh_settings`` runs twice: on an embedded index and on a `chroma run` server.
"""

import shutil

import pytest

from bot.index import IndexOutdatedError, ModelMismatchError, open_index
from bot.ingest import chunk_document, ingest
from bot.language.text import DocumentError, read_document
from bot.model.embedding import BotEmbeddings
from tests.conftest import ARTICLE, SECOND_ARTICLE


def snapshot(store):
    got = store.chunks.get(include=["metadatas"])
    return {i: m["document"] for i, m in zip(got["ids"], got["metadatas"])}


@pytest.fixture()
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(ARTICLE, folder)
    shutil.copy(SECOND_ARTICLE, folder)
    return folder


@pytest.fixture()
def fresh_settings(mode_fresh_settings):
    """A private, empty index in this module's mode (embedded, then server)."""
    return mode_fresh_settings


def copy_index(source, target, documents: list[str]) -> None:
    """Copy the records (ids, vectors, texts, metadata) of some documents into another index, via Chroma's API."""
    for src, dst in ((source.chunks, target.chunks), (source.marker_collection, target.marker_collection)):
        got = src.get(where={"document": {"$in": documents}}, include=["embeddings", "documents", "metadatas"])
        for start in range(0, len(got["ids"]), 200):
            part = slice(start, start + 200)
            dst.upsert(ids=got["ids"][part], embeddings=got["embeddings"][part], documents=got["documents"][part],
                       metadatas=got["metadatas"][part])


@pytest.fixture()
def store_and_embeddings(fresh_settings, corpus, mode_indexed):
    """A private index holding the corpus. The session index of this mode was built from the same two files
    by a real ingest(); copying its records is what ingesting them again would write, without the minutes
    of embedding on a shared 2-core machine."""
    embeddings = BotEmbeddings(fresh_settings)
    store = open_index(fresh_settings, embeddings)
    names = sorted(p.name for p in corpus.iterdir())
    copy_index(mode_indexed, store, names)
    assert sorted(store.complete_documents()) == names
    assert store.chunks.count() == sum(m["chunks"] for m in store.complete_documents().values())
    return store, embeddings


def test_chunks_carry_their_metadata():
    chunks = chunk_document(read_document(ARTICLE))
    red_line = [c for c in chunks if c.metadata["sentence_text"].startswith("Voor de ChristenUnie is dit")]
    assert {c.metadata["view"] for c in red_line} == {"sentence", "context"}
    meta = red_line[0].metadata
    assert (meta["document"], meta["paragraph"], meta["sentence"]) == ("article-nl-migratie.txt", 9, 0)
    assert meta["title"].startswith("Nog geen akkoord")
    assert len({c.id for c in chunks}) == len(chunks)


@pytest.mark.slow
def test_ingesting_twice_computes_no_embedding_and_writes_nothing(store_and_embeddings, fresh_settings, corpus):
    store, _ = store_and_embeddings
    before = snapshot(store)
    second = BotEmbeddings(fresh_settings)  # a new process would start like this
    report = ingest(open_index(fresh_settings, second), second, [corpus], progress=False)
    assert report.unchanged == ["article-nl-fietsenstalling.txt", "article-nl-migratie.txt"]
    assert report.chunks_written == report.chunks_deleted == report.embedded == 0
    assert second.documents_embedded == 0
    assert not second.loaded  # the model was not even loaded
    assert snapshot(store) == before


@pytest.mark.slow
def test_editing_a_paragraph_changes_only_that_document(store_and_embeddings, corpus):
    store, embeddings = store_and_embeddings
    before = snapshot(store)
    path = corpus / SECOND_ARTICLE.name
    path.write_text(path.read_text(encoding="utf-8").replace("6500 fietsen", "7000 fietsen"), encoding="utf-8")
    embeddings.documents_embedded = 0
    report = ingest(store, embeddings, [corpus], progress=False)
    after = snapshot(store)
    assert report.added == [SECOND_ARTICLE.name]
    # one sentence changed: its two views, plus the context view of the sentence after it; and the contexts
    # embedded with the title of both sentences (schema.TITLED_VECTOR)
    assert (report.embedded, report.titled) == (3, 2) and embeddings.documents_embedded == 5
    unchanged = {i for i, doc in before.items() if doc == "article-nl-migratie.txt"}
    assert unchanged <= set(after)
    assert len(after) == len(before)
    assert not ({i for i, doc in before.items() if doc == SECOND_ARTICLE.name} & set(after))
    assert store.complete_documents()[SECOND_ARTICLE.name]["chunks"] == sum(
        1 for doc in after.values() if doc == SECOND_ARTICLE.name
    )


@pytest.mark.slow
def test_prune_removes_documents_that_are_gone(store_and_embeddings, corpus):
    store, embeddings = store_and_embeddings
    (corpus / SECOND_ARTICLE.name).unlink()
    report = ingest(store, embeddings, [corpus], prune=True, progress=False)
    assert report.removed == [SECOND_ARTICLE.name]
    assert set(snapshot(store).values()) == {"article-nl-migratie.txt"}
    assert list(store.complete_documents()) == ["article-nl-migratie.txt"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.txt", b""), ("binary.txt", b"\x89PNG\x00\x00"), ("latin1.txt", "Één café".encode("latin-1")),
     ("notes.pdf", b"%PDF-1.4")],
)
def test_a_bad_file_changes_nothing(store_and_embeddings, corpus, name, content):
    store, embeddings = store_and_embeddings
    before = snapshot(store)
    (corpus / "new.txt").write_text("Een nieuw artikel\n\nDit zou er anders bij komen.", encoding="utf-8")
    bad = corpus / name
    bad.write_bytes(content)
    with pytest.raises(DocumentError, match="Nothing was ingested"):
        ingest(store, embeddings, [corpus / "new.txt", bad], progress=False)
    assert snapshot(store) == before


@pytest.mark.slow
def test_another_model_gets_a_clear_message(store_and_embeddings, fresh_settings):
    other = fresh_settings.model_copy(update={"model": "sentence-transformers/all-MiniLM-L6-v2"})
    expected = r"built with the embedding model 'embeddinggemma-300m \(document prompt.*--rebuild"
    with pytest.raises(ModelMismatchError, match=expected):
        open_index(other, BotEmbeddings(other))


@pytest.mark.slow
def test_half_ingested_document_is_not_served_and_is_completed_next_run(fresh_settings, corpus):
    embeddings = BotEmbeddings(fresh_settings)
    store = open_index(fresh_settings, embeddings)
    doc = read_document(corpus / SECOND_ARTICLE.name)
    chunks = chunk_document(doc)[:6]  # as if the process died after the first batch
    store.chunks.upsert(ids=[c.id for c in chunks], documents=[c.page_content for c in chunks],
                        metadatas=[c.metadata for c in chunks],
                        embeddings=embeddings.embed_documents([c.page_content for c in chunks]))
    assert store.complete_documents() == {}
    from bot.answering.retrieval import Retriever

    assert Retriever(store, embeddings, 8).retrieve("Hoeveel fietsen passen erin?") == []
    embeddings.documents_embedded = 0
    report = ingest(store, embeddings, [corpus / SECOND_ARTICLE.name], progress=False)
    assert report.reused == 0 and report.chunks_written == len(chunk_document(doc)) - 6
    # the titled contexts of the three sentences whose views were written (without them) are embedded too
    assert report.titled == len(chunk_document(doc)) // 2 - 3
    assert embeddings.documents_embedded == len(chunk_document(doc)) - 6 + report.titled
    assert store.chunks.count() == len(chunk_document(doc))


@pytest.mark.slow
def test_an_index_of_the_previous_schema_is_refused_and_rebuild_makes_it_usable(fresh_settings, corpus, monkeypatch):
    """An index written by the code before schema 3 (schema "2": sentence views without their titled vectors) is
    refused with the rebuild command; `bot ingest --rebuild` rebuilds it."""
    import chromadb  # the test writes the old collections as the old code did

    from bot.cli import main
    from bot.index.schema import SCHEMA_VERSION
    from bot.index.store import make_client

    old = {"embedding_model": BotEmbeddings(fresh_settings).identity, "schema": "2"}
    client = make_client(fresh_settings)
    chunks = client.get_or_create_collection(fresh_settings.collection, metadata=old,
                                             configuration={"hnsw": {"space": "cosine"}})
    client.get_or_create_collection(f"{fresh_settings.collection}-documents", metadata=old)
    embeddings = BotEmbeddings(fresh_settings)
    doc = read_document(corpus / SECOND_ARTICLE.name)
    few = chunk_document(doc)[:2]
    chunks.upsert(ids=[c.id for c in few], documents=[c.page_content for c in few], metadatas=[c.metadata for c in few],
                  embeddings=[[0.0] * 768 for _ in few])
    assert isinstance(client, chromadb.api.ClientAPI)
    for create in (True, False):
        with pytest.raises(IndexOutdatedError, match=r"index schema 2.*rebuild with `python -m bot ingest --rebuild`"):
            open_index(fresh_settings, embeddings, create=create)

    from bot import settings as settings_module

    monkeypatch.setattr(settings_module, "get_settings", lambda: fresh_settings)
    monkeypatch.setattr("bot.cli.get_settings", lambda: fresh_settings)
    assert main(["ingest", "--quiet", str(corpus / SECOND_ARTICLE.name)]) == 1  # refused, nothing written
    assert main(["ingest", "--rebuild", "--quiet", str(corpus / SECOND_ARTICLE.name)]) == 0
    index = open_index(fresh_settings, embeddings)
    assert index.status().schema == SCHEMA_VERSION == "3" and list(index.markers()) == [SECOND_ARTICLE.name]
    assert all(r.titled() is not None for _, r in index.stored(SECOND_ARTICLE.name) if r.view == "sentence")


def test_an_article_without_sentences_is_refused_with_a_reason(tmp_path):
    from bot.ingest import read_all

    headings = tmp_path / "headings.txt"
    headings.write_text("Alleen een titel\n\nEn een kopje\n\nNog een kopje\n", encoding="utf-8")
    with pytest.raises(DocumentError, match="no sentences to answer from"):
        read_all([headings], None)
