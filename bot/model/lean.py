"""A lean runtime for EmbeddingGemma (opt-in: ``BOT_ENCODER=lean``): its sentence-transformers pipeline on torch.

This module runs the computation of sentence-transformers,
``Transformer(Gemma3TextModel) -> mean Pooling -> Dense -> Dense -> Normalize``, with ``torch``,
``tokenizers`` (the model's own ``tokenizer.json``) and the model's weights (read by ``safetensors``),
without importing sentence-transformers and transformers (which import far more than inference uses:
trainers, scikit-learn, scipy, pandas, ``torch._dynamo``; see the README's Benchmarks). It follows
transformers' Gemma3 code operation by operation (RMSNorm in float32 with ``1 + w``, scaled embeddings,
q/k norms, two RoPE bases, bidirectional attention with a sliding window, tanh-GELU) and
sentence-transformers' pooling, so vectors agree with ``SentenceTransformer.encode`` to float rounding
(``tests/test_encoder.py`` checks it).

Only a folder whose modules and config are exactly this architecture is accepted (:func:`supports`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import torch

_MODULE_TYPES = {
    "sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Dense", "sentence_transformers.models.Normalize",
}
_IDENTITY = "torch.nn.modules.linear.Identity"


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _layout(folder: Path) -> list[dict[str, Any]] | None:
    """The module list when it is Transformer, mean Pooling (with the prompt), Dense* (no activation), Normalize."""
    try:
        modules = _json(folder / "modules.json")
        types = [m["type"] for m in modules]
        if (len(types) < 3 or types[0] != "sentence_transformers.models.Transformer"
                or types[1] != "sentence_transformers.models.Pooling"
                or types[-1] != "sentence_transformers.models.Normalize"
                or any(t != "sentence_transformers.models.Dense" for t in types[2:-1]) or set(types) - _MODULE_TYPES):
            return None
        if modules[0].get("path", "") != "":
            return None
        pooling = _json(folder / modules[1]["path"] / "config.json")
        modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
        if modes != {"pooling_mode_mean_tokens"} or not pooling.get("include_prompt", True):
            return None
        for dense in modules[2:-1]:
            config = _json(folder / dense["path"] / "config.json")
            if config.get("bias", True) or config.get("activation_function") != _IDENTITY or config.get(
                    "use_residual", False) or not (folder / dense["path"] / "model.safetensors").is_file():
                return None
        return modules
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _rope_bases(config: dict[str, Any]) -> dict[str, float] | None:
    """RoPE base per layer type (both config formats), or None for any RoPE scaling this runtime lacks."""
    if config.get("rope_parameters"):
        params = config["rope_parameters"]
        if any((params.get(t) or {}).get("rope_type", "default") != "default" for t in params):
            return None
        return {t: float(p["rope_theta"]) for t, p in params.items() if p}
    if config.get("rope_scaling") is not None:
        return None
    return {"full_attention": float(config.get("rope_theta", 1_000_000.0)),
            "sliding_attention": float(config.get("rope_local_base_freq", 10_000.0))}


def supports(folder: str | Path) -> bool:
    """Whether ``folder`` holds a model this runtime computes exactly: EmbeddingGemma's architecture."""
    folder = Path(folder)
    if _layout(folder) is None:
        return False
    try:
        config = _json(folder / "config.json")
        bert = folder / "sentence_bert_config.json"
        st_config = _json(bert) if bert.is_file() else {}
        tokenizer_config = _json(folder / "tokenizer_config.json")
    except (OSError, ValueError):
        return False
    rope = _rope_bases(config)
    return (
        config.get("model_type") == "gemma3_text" and config.get("architectures") == ["Gemma3TextModel"]
        and config.get("use_bidirectional_attention") is True and config.get("hidden_activation") == "gelu_pytorch_tanh"
        and config.get("attn_logit_softcapping") is None and not config.get("attention_bias")
        and config.get("dtype", config.get("torch_dtype")) == "float32"
        and set(config.get("layer_types") or []) <= {"sliding_attention", "full_attention"}
        and rope is not None and set(config.get("layer_types") or []) <= set(rope)
        and not st_config.get("do_lower_case", False)
        and tokenizer_config.get("padding_side", "right") == "right"
        and (folder / "tokenizer.json").is_file() and (folder / "model.safetensors").is_file()
    )


def layer_masks(attends: torch.Tensor, index: torch.Tensor, window: int) -> dict[str, torch.Tensor]:
    """Per layer type, which tokens each token attends to: ``attends`` ([batch, 1, length, length]), and for the
    sliding-window layers only where both lie closer than ``window`` (``index``: the tokens' places in the sequence)."""
    near = (index[:, None] - index[None, :]).abs() < window
    return {"full_attention": attends, "sliding_attention": attends & near}


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a safetensors file (read with the ``safetensors`` package)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt", device="cpu") as handle:
        return {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118 (not a dict)


class LeanEncoder:
    """The subset of ``SentenceTransformer`` the bot uses: ``prompts`` and ``encode``; same vectors."""

    def __init__(self, folder: str | Path) -> None:
        import torch
        from tokenizers import Tokenizer

        folder = Path(folder)
        modules = _layout(folder)
        if modules is None or not supports(folder):
            raise ValueError(f"{folder} is not an EmbeddingGemma-style sentence-transformers model")
        self.folder = folder
        self.config = config = _json(folder / "config.json")
        st_path = folder / "config_sentence_transformers.json"
        st_config = _json(st_path) if st_path.is_file() else {}
        self.prompts: dict[str, str] = dict(st_config.get("prompts") or {})
        self.default_prompt_name: str | None = st_config.get("default_prompt_name")
        bert_path = folder / "sentence_bert_config.json"
        max_length = (_json(bert_path) if bert_path.is_file() else {}).get("max_seq_length")
        tokenizer_config = _json(folder / "tokenizer_config.json")
        limits = [v for v in (max_length, tokenizer_config.get("model_max_length"), config["max_position_embeddings"])
                  if isinstance(v, int)]
        self.max_seq_length = min(limits)

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        pad_token = tokenizer_config.get("pad_token", "<pad>")
        pad_token = pad_token.get("content") if isinstance(pad_token, dict) else pad_token
        pad_id = self.tokenizer.token_to_id(pad_token)
        self.pad_id = int(pad_id if pad_id is not None else config.get("pad_token_id", 0))

        weights = _load_tensors(folder / "model.safetensors")
        self._w = {name.removeprefix("model."): tensor for name, tensor in weights.items()}
        self._dense = [_load_tensors(folder / m["path"] / "model.safetensors")["linear.weight"] for m in modules[2:-1]]
        self.hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.kv_heads = int(config["num_key_value_heads"])
        self.head_dim = int(config.get("head_dim") or self.hidden // self.heads)
        self.eps = float(config["rms_norm_eps"])
        self.scaling = float(config["query_pre_attn_scalar"]) ** -0.5
        # transformers' Gemma3 config turns the window of a bidirectional model into an exclusive bound
        # on |query - key| of ``window // 2 + 1``: 257 tokens for EmbeddingGemma's 512
        self.sliding_window = int(config["sliding_window"]) // 2 + 1
        self.layer_types: list[str] = list(config["layer_types"])[: int(config["num_hidden_layers"])]
        self.embed_scale = torch.tensor(self.hidden ** 0.5)
        bases = _rope_bases(config) or {}
        self.inv_freq = {
            kind: 1.0 / (bases[kind] ** (torch.arange(0, self.head_dim, 2, dtype=torch.float) / self.head_dim))
            for kind in set(self.layer_types)
        }

    # ------------------------------------------------------------------ the Gemma3 text model

    def _rms(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        import torch

        output = x.float()
        output = output * torch.rsqrt(output.pow(2).mean(-1, keepdim=True) + self.eps)
        return (output * (1.0 + weight.float())).type_as(x)

    @staticmethod
    def _rotate_half(x: torch.Tensor) -> torch.Tensor:
        import torch

        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    def hidden_states(self, input_ids: torch.Tensor, positions: torch.Tensor,
                      masks: dict[str, torch.Tensor]) -> torch.Tensor:
        """Token embeddings (last hidden state): ``positions`` [batch, length], and per layer type a boolean mask
        [batch, 1, length, length] of which tokens each token attends to."""
        import torch
        import torch.nn.functional as F

        w = self._w
        batch, length = input_ids.shape
        hidden = F.embedding(input_ids, w["embed_tokens.weight"]) * self.embed_scale.to(w["embed_tokens.weight"].dtype)
        rope = {}
        for kind, inv_freq in self.inv_freq.items():
            freqs = positions[..., None].float() * inv_freq
            emb = torch.cat((freqs, freqs), dim=-1)
            rope[kind] = (emb.cos().to(hidden.dtype).unsqueeze(1), emb.sin().to(hidden.dtype).unsqueeze(1))
        groups = self.heads // self.kv_heads
        for number, kind in enumerate(self.layer_types):
            p = f"layers.{number}."
            residual = hidden
            x = self._rms(hidden, w[p + "input_layernorm.weight"])
            q = F.linear(x, w[p + "self_attn.q_proj.weight"]).view(batch, length, -1, self.head_dim).transpose(1, 2)
            k = F.linear(x, w[p + "self_attn.k_proj.weight"]).view(batch, length, -1, self.head_dim).transpose(1, 2)
            v = F.linear(x, w[p + "self_attn.v_proj.weight"]).view(batch, length, -1, self.head_dim).transpose(1, 2)
            q = self._rms(q, w[p + "self_attn.q_norm.weight"])
            k = self._rms(k, w[p + "self_attn.k_norm.weight"])
            cos, sin = rope[kind]
            q = (q * cos) + (self._rotate_half(q) * sin)
            k = (k * cos) + (self._rotate_half(k) * sin)
            if groups > 1:
                k = k[:, :, None].expand(batch, self.kv_heads, groups, length, self.head_dim).reshape(
                    batch, self.heads, length, self.head_dim)
                v = v[:, :, None].expand(batch, self.kv_heads, groups, length, self.head_dim).reshape(
                    batch, self.heads, length, self.head_dim)
            attn = F.scaled_dot_product_attention(q, k, v, attn_mask=masks[kind], dropout_p=0.0,
                                                  scale=self.scaling, is_causal=False)
            attn = attn.transpose(1, 2).contiguous().reshape(batch, length, -1).contiguous()
            x = F.linear(attn, w[p + "self_attn.o_proj.weight"])
            x = self._rms(x, w[p + "post_attention_layernorm.weight"])
            hidden = residual + x
            residual = hidden
            x = self._rms(hidden, w[p + "pre_feedforward_layernorm.weight"])
            gate = F.gelu(F.linear(x, w[p + "mlp.gate_proj.weight"]), approximate="tanh")
            x = F.linear(gate * F.linear(x, w[p + "mlp.up_proj.weight"]), w[p + "mlp.down_proj.weight"])
            x = self._rms(x, w[p + "post_feedforward_layernorm.weight"])
            hidden = residual + x
        return self._rms(hidden, w["norm.weight"])

    def _embed_batch(self, texts: list[str]) -> torch.Tensor:
        import torch

        encodings = self.tokenizer.encode_batch(texts)
        length = max(len(e.ids) for e in encodings)
        ids = torch.full((len(texts), length), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(texts), length), dtype=torch.long)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = torch.tensor(encoding.ids, dtype=torch.long)
            mask[row, : len(encoding.ids)] = 1
        valid = mask.bool()[:, None, None, :].expand(len(texts), 1, length, length)
        masks = layer_masks(valid, torch.arange(length), self.sliding_window)
        tokens = self.hidden_states(ids, torch.arange(length).unsqueeze(0), masks)
        # sentence-transformers' mean Pooling (prompt tokens included), then the Dense layers and Normalize.
        weights = mask.unsqueeze(-1).expand_as(tokens).to(tokens.dtype)
        pooled = (tokens * weights).sum(dim=1, dtype=tokens.dtype) / torch.clamp(
            weights.sum(dim=1, dtype=tokens.dtype), min=1e-9)
        return self.head(pooled)

    def head(self, pooled: torch.Tensor) -> torch.Tensor:
        """The Dense layers and Normalize, over pooled token embeddings."""
        import torch.nn.functional as F

        for dense in self._dense:
            pooled = F.linear(pooled, dense)
        return F.normalize(pooled, p=2, dim=-1)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """The texts' token ids as ``encode`` reads them (special tokens added, truncated to the maximum length)."""
        return [encoding.ids for encoding in self.tokenizer.encode_batch(list(texts))]

    # ------------------------------------------------------------------ the SentenceTransformer API we use

    def encode(self, sentences: str | Sequence[str], batch_size: int = 32, show_progress_bar: bool | None = None,
               convert_to_numpy: bool = True, normalize_embeddings: bool = False, prompt_name: str | None = None,
               prompt: str | None = None, **_: Any) -> np.ndarray:
        """Like ``SentenceTransformer.encode``: batches of similar length, results in input order."""
        import numpy as np
        import torch
        import torch.nn.functional as F

        single = isinstance(sentences, str)
        texts = [sentences] if single else list(sentences)
        if prompt is None:
            name = prompt_name if prompt_name is not None else self.default_prompt_name
            if name is not None:
                if name not in self.prompts:
                    raise ValueError(f"Prompt name '{name}' not found in the model's prompts: {sorted(self.prompts)}")
                prompt = self.prompts[name]
        order = np.argsort([-len(t) for t in texts])  # as sentence-transformers sorts (ties included)
        if prompt:
            texts = [prompt + t for t in texts]
        vectors: list[torch.Tensor] = [None] * len(texts)  # type: ignore[list-item]
        batches = range(0, len(texts), max(1, batch_size))
        bar = None
        if show_progress_bar:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="Batches", unit="text")
        with torch.inference_mode():
            for start in batches:
                chosen = order[start:start + batch_size]
                embedded = self._embed_batch([texts[i] for i in chosen])
                if normalize_embeddings:
                    embedded = F.normalize(embedded, p=2, dim=1)
                for i, vector in zip(chosen, embedded):
                    vectors[int(i)] = vector
                if bar:
                    bar.update(len(chosen))
        if bar:
            bar.close()
        if not texts:
            return np.zeros((0, self._dense[-1].shape[0] if self._dense else self.hidden), dtype=np.float32)
        stacked = torch.stack(vectors)
        if not convert_to_numpy:
            return stacked[0] if single else stacked  # type: ignore[return-value]
        result = stacked.numpy()
        return result[0] if single else result

    def encode_query(self, sentences: str | Sequence[str], **kwargs: Any) -> np.ndarray:
        kwargs.setdefault("prompt_name", "query" if "query" in self.prompts else None)
        return self.encode(sentences, **kwargs)

    def encode_document(self, sentences: str | Sequence[str], **kwargs: Any) -> np.ndarray:
        kwargs.setdefault("prompt_name", "document" if "document" in self.prompts else None)
        return self.encode(sentences, **kwargs)
