"""The suite's own set-up: every setting that changes behaviour is pinned (tests/conftest.py)."""

from __future__ import annotations

import os

from bot.settings import Settings
from tests.conftest import PINNED_SETTINGS


def test_every_setting_but_the_model_cache_is_pinned_for_the_tests():
    fields = {f"BOT_{name.upper()}" for name in Settings.model_fields} - {"BOT_CACHE_DIR"}
    assert fields == set(PINNED_SETTINGS), fields ^ set(PINNED_SETTINGS)
    assert all(os.environ[name] == value for name, value in PINNED_SETTINGS.items())


def test_the_pinned_values_are_the_defaults_except_where_the_tests_write():
    pinned = Settings()
    defaults = Settings.model_construct()  # the declared defaults: no environment, no .env
    differ = {name for name in Settings.model_fields if getattr(pinned, name) != getattr(defaults, name)}
    assert differ <= {"index_dir", "upload_dir", "chroma_url", "chroma_token", "auth", "llm_base_url",
                      "llm_api_key", "cache_dir", "feedback_file"}
    assert not (pinned.chroma_url or pinned.chroma_token or pinned.auth or pinned.llm_base_url or pinned.llm_api_key)
