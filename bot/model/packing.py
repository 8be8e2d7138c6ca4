"""Several short texts embedded in one forward pass: EmbeddingGemma's vectors, packed.

A new question embeds its terms as well as itself, with another prompt. On 2 cores each forward pass costs about
as much as the question's own (~100 ms, however short its texts), and batched with the question the terms are
padded to its length. Packed into one sequence in which each text attends only to itself and counts its
positions from 0, the texts cost one pass and get the vectors that separate calls give, to float rounding
(``tests/test_encoder.py`` checks it against ``SentenceTransformer.encode``).

It runs on both runtimes: transformers' Gemma3 model (under sentence-transformers), which takes prepared
per-layer-type masks and position ids, and :mod:`bot.model.lean`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.model import lean

if TYPE_CHECKING:
    import numpy as np


def packable(model: Any, folder: str | Path) -> bool:
    """Whether :func:`encode_packed` computes this model's vectors: an EmbeddingGemma-style folder run by the lean
    runtime, or by transformers with its ``sdpa`` attention (which reads boolean masks as these are)."""
    if not lean.supports(folder):
        return False
    if isinstance(model, lean.LeanEncoder):
        return True
    try:
        config = model[0].auto_model.config
    except (TypeError, IndexError, AttributeError, KeyError):
        return False
    return config.model_type == "gemma3_text" and config._attn_implementation == "sdpa"


def encode_packed(model: Any, texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of the texts (prompts already written into them), in order, from one forward pass."""
    import torch

    token_ids, window, hidden_states, head = _runtime(model)
    tokens = token_ids(texts)
    ids = torch.tensor([token for text in tokens for token in text]).unsqueeze(0)
    segments = torch.tensor([number for number, text in enumerate(tokens) for _ in text])
    positions = torch.tensor([position for text in tokens for position in range(len(text))]).unsqueeze(0)
    own = (segments[:, None] == segments[None, :])[None, None]
    with torch.inference_mode():
        hidden = hidden_states(ids, positions, lean.layer_masks(own, torch.arange(len(segments)), window))[0]
        # mean pooling per text, prompt tokens included (as sentence-transformers pools)
        sums = torch.zeros(len(tokens), hidden.shape[-1], dtype=hidden.dtype).index_add_(0, segments, hidden)
        return head(sums / torch.tensor([len(text) for text in tokens], dtype=hidden.dtype)[:, None]).numpy()


def _runtime(model: Any) -> tuple[Callable, int, Callable, Callable]:
    """The model's tokenizer (texts to token ids), sliding window, token-level forward pass (ids, positions and
    per-layer-type masks to hidden states) and head (pooled embeddings to unit vectors)."""
    if isinstance(model, lean.LeanEncoder):
        return model.token_ids, model.sliding_window, model.hidden_states, model.head
    transformer = model[0]

    def token_ids(texts: Sequence[str]) -> list[list[int]]:
        return transformer.tokenizer(list(texts), truncation=True, max_length=transformer.max_seq_length)["input_ids"]

    def hidden_states(ids: Any, positions: Any, masks: dict[str, Any]) -> Any:
        return transformer.auto_model(input_ids=ids, attention_mask=masks, position_ids=positions).last_hidden_state

    def head(pooled: Any) -> Any:  # the Dense layers and Normalize
        features = {"sentence_embedding": pooled}
        for module in list(model)[2:]:
            features = module(features)
        return features["sentence_embedding"]

    return token_ids, transformer.auto_model.config.sliding_window, hidden_states, head
