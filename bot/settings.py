"""One typed settings object, read from the environment (prefix ``BOT_``) and an optional ``.env``."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_MODEL_NAME = "embeddinggemma-300m"
# No calls home: no model hub, no telemetry, no analytics (the machine may be offline). Set by ui.py, the tests
# and the benchmarks for themselves and every process they start.
OFFLINE_ENVIRONMENT = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
                       "GRADIO_ANALYTICS_ENABLED": "False"}


def use_offline_environment() -> None:
    for key, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(key, value)


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "newsbot"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOT_", env_file=".env", extra="ignore")

    model: str = Field(
        DEFAULT_MODEL_NAME,
        description="Embedding model: 'embeddinggemma-300m' (assembled offline from its pinned wheels), "
        "or any sentence-transformers model folder or id already in the local cache.",
    )
    encoder: Literal["sentence-transformers", "lean"] = Field(
        "sentence-transformers", description="'sentence-transformers' (default): load the model with "
        "sentence-transformers; 'lean': run EmbeddingGemma-style model folders on bot.model.lean (the same vectors "
        "on torch alone, without importing sentence-transformers and transformers: a faster cold start).")
    cache_dir: Path = Field(default_factory=_default_cache_dir, description="Where the assembled model lives.")
    data_dir: Path = Field(PROJECT_DIR / "data", description="Documents ingested by default.")
    index_dir: Path = Field(PROJECT_DIR / "index", description="Persisted Chroma index (embedded mode).")
    collection: str = Field("articles", description="Chroma collection name.")
    chroma_url: str | None = Field(None, description="Use a Chroma server, e.g. http://127.0.0.1:8000.")
    chroma_tenant: str = Field("default_tenant", description="Chroma tenant (server mode).")
    chroma_database: str = Field("default_database", description="Chroma database (server mode).")
    chroma_token: str | None = Field(None, description="Bearer token for the Chroma server, if it asks.")
    top_k: int = Field(8, ge=1, le=100, description="Sentences retrieved per question.")
    min_score: float = Field(0.41, description="A passage that the answer does not quote is shown among its "
                             "sources (as related) when it scores at least this.")
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused.")
    max_upload_bytes: int = Field(2_000_000, ge=1, description="Largest document accepted for ingestion.")
    upload_dir: Path = Field(PROJECT_DIR / "uploads", description="Where documents uploaded in the chat are saved.")
    answerer: Literal["extractive", "openai", "ollama"] = Field("extractive", description="Who writes answers.")
    llm_base_url: str | None = Field(
        None, description="LLM server: an OpenAI-compatible base URL (e.g. http://127.0.0.1:8080/v1; unset: "
        "api.openai.com) or the Ollama URL (unset: http://127.0.0.1:11434).")
    llm_model: str = Field("", description="LLM model name (required when answerer is not 'extractive').")
    llm_api_key: SecretStr | None = Field(None, description="LLM API key, if the server asks for one.")
    llm_timeout: float = Field(60.0, gt=0, description="Seconds one LLM request may take, first byte to last.")
    llm_retries: int = Field(1, ge=0, le=5, description="Retries after a connection error, 429 or 5xx.")
    llm_max_tokens: int = Field(1000, ge=16, description="Longest LLM answer, in tokens (each sentence comes with "
                                "its quote and passage number, so about twice the answer's own length).")
    llm_json: Literal["auto", "on", "off"] = Field(
        "auto", description="Ask the LLM for structured output (OpenAI response_format json_schema, Ollama format): "
        "'on' always, 'off' never, 'auto' (default) until the server rejects it, then plain text.")
    llm_temperature: float = Field(0.0, ge=0, le=2, description="LLM sampling temperature.")
    grounding_threshold: float = Field(
        0.82, ge=-1, le=1, description="An LLM sentence is kept when its similarity to the verbatim quote it rests "
        "on reaches this, besides the quote's and the specifics' checks (calibrated: bench/quote_calibration.py).")
    host: str = Field("127.0.0.1", description="UI bind address.")
    port: int = Field(7860, description="UI port.")
    auth: SecretStr | None = Field(None, description="UI login as 'user:password' (off when unset).")
    concurrency: int = Field(4, ge=1, description="Chat requests served at once by the UI.")
    feedback_file: Path = Field(PROJECT_DIR / "feedback" / "votes.jsonl", description="Where the chat appends its "
                                "👍/👎 votes (JSONL; gitignored, and `make clean` leaves it).")

    @property
    def model_dir(self) -> Path:
        return self.cache_dir / "models" / DEFAULT_MODEL_NAME


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
